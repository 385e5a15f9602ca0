//! Agency references on the command line (`--agency`), resolved as plan files resolve `lead`,
//! `support` and `done_by`: an id, a name or an alias, compared by [`name_key`] (NFC, case,
//! spaces, tone-mark placement, "UBND" spelled out). The validator's own table is built while
//! checking for clashes and not kept; this looks the same keys up in the checked config.

use super::model::{Agency, Config, Group, Plan};
use crate::text::{ascii_fold, name_key, search_hit, search_key};

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

    /// The agencies a reference that names none exactly ([`Config::resolve_name`] first) may
    /// mean, as the dashboard's search finds them ([`search_key`], no diacritics nor case):
    /// those whose id, name or alias is the reference, else those containing it. One is the
    /// agency meant; several are for the admin to choose from.
    pub fn search_agencies(&self, reference: &str) -> Vec<&Agency> {
        let key = search_key(reference);
        if key.is_empty() {
            return Vec::new();
        }
        let texts = |a: &'_ Agency| -> Vec<String> {
            std::iter::once(&a.id)
                .chain(std::iter::once(&a.name))
                .chain(a.aliases.iter())
                .cloned()
                .collect()
        };
        let equal: Vec<&Agency> = self
            .agencies
            .iter()
            .filter(|a| texts(a).iter().any(|t| search_key(t) == key))
            .collect();
        if !equal.is_empty() {
            return equal;
        }
        self.agencies
            .iter()
            .filter(|a| texts(a).iter().any(|t| search_hit(t, &key)))
            .collect()
    }

    /// The plans a `--plan` that is not exactly a number may mean, the same way: the number
    /// without diacritics nor case ("12/kh-hdnd"), else the numbers and titles containing it.
    pub fn search_plans(&self, reference: &str) -> Vec<&Plan> {
        let key = search_key(reference);
        if key.is_empty() {
            return Vec::new();
        }
        let equal: Vec<&Plan> = self
            .plans
            .iter()
            .filter(|p| search_key(&p.number) == key)
            .collect();
        if !equal.is_empty() {
            return equal;
        }
        self.plans
            .iter()
            .filter(|p| search_hit(&p.number, &key) || search_hit(&p.title, &key))
            .collect()
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
