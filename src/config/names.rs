//! Agency references on the command line (`--agency`), resolved as plan files resolve `lead`,
//! `support` and `done_by`: an id, a name or an alias, compared by [`name_key`] (NFC, case,
//! spaces, tone-mark placement, "UBND" spelled out). The validator's own table is built while
//! checking for clashes and not kept; this looks the same keys up in the checked config.

use super::model::{Agency, Config, Group};
use crate::text::{ascii_fold, name_key};

/// What a reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named<'a> {
    Agency(&'a Agency),
    Group(&'a Group),
}

impl Config {
    /// The agency or group `reference` names (its id, name or an alias), if any.
    pub fn resolve_name(&self, reference: &str) -> Option<Named<'_>> {
        let key = name_key(reference);
        if key.is_empty() {
            return None;
        }
        let matches = |id: &str, name: &str, aliases: &[String]| {
            name_key(id) == key
                || name_key(name) == key
                || aliases.iter().any(|a| name_key(a) == key)
        };
        // The validator refuses a name claimed twice, so the first match is the only one.
        self.agencies
            .iter()
            .find(|a| matches(&a.id, &a.name, &a.aliases))
            .map(Named::Agency)
            .or_else(|| {
                self.groups
                    .iter()
                    .find(|g| matches(&g.id, &g.name, &g.aliases))
                    .map(Named::Group)
            })
    }

    /// The `n` agencies nearest to `reference`, as "name (id)": those whose id, name or alias
    /// contains it (without diacritics) first, then by edit distance; never empty while there
    /// are agencies, so an unknown name always comes with something to pick.
    pub fn nearest_agencies(&self, reference: &str, n: usize) -> Vec<String> {
        let folded = ascii_fold(reference);
        let mut scored: Vec<(f64, &Agency)> = self
            .agencies
            .iter()
            .map(|a| {
                let best = std::iter::once(&a.id)
                    .chain(std::iter::once(&a.name))
                    .chain(a.aliases.iter())
                    .map(|s| {
                        let f = ascii_fold(s);
                        let contains = !folded.is_empty() && f.contains(&folded);
                        let sim = strsim::normalized_damerau_levenshtein(&folded, &f);
                        if contains {
                            1.0 + sim
                        } else {
                            sim
                        }
                    })
                    .fold(0.0, f64::max);
                (best, a)
            })
            .collect();
        scored.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| x.1.id.cmp(&y.1.id)));
        scored
            .into_iter()
            .take(n)
            .map(|(_, a)| format!("{} ({})", a.name, a.id))
            .collect()
    }
}
