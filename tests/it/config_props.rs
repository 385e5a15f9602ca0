//! The config checker never panics, whatever an admin (or a broken editor) writes.

use crate::support::fixtures::AGENCIES;
use nhacviec::config::{analyze, Source, Sources};
use proptest::prelude::*;

fn sources(plan: String) -> Sources {
    Sources::in_memory(
        None,
        Source::new("agencies.toml", AGENCIES),
        vec![Source::new("plans/p.toml", plan)],
    )
}

const PIECES: &[&str] = &[
    "[plan]\n",
    "[[task]]\n",
    "number = \"1/KH\"\n",
    "title = \"T\"\n",
    "issuer = \"U\"\n",
    "issued = 2022-03-24\n",
    "issued = 2022-03-24T10:00:00\n",
    "id = \"1\"\n",
    "id = 1.5\n",
    "lead = [\"Sở A\"]\n",
    "lead = [\"Sở B\"]\n",
    "lead = []\n",
    "support = [\"a\"]\n",
    "time = \"Quý II/2022\"\n",
    "time = \"Quý V/2022\"\n",
    "time = \"\"\n",
    "time = \"\\u00e9\\\"x\"\n",
    "due = 2022-01-01\n",
    "recurrence = \"FREQ=MONTHLY\"\n",
    "recurrence = \"x\"\n",
    "done_by = { \"a\" = 2022-05-01 }\n",
    "done_by = { \"zz\" = 2022-05-01 }\n",
    "\"",
    "=",
    "ổ",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn analyze_never_panics(parts in prop::collection::vec(prop::sample::select(PIECES), 0..16)) {
        let analysis = analyze(&sources(parts.concat()));
        for d in &analysis.diagnostics {
            prop_assert!(!d.message.is_empty());
            let _ = d.render();
        }
    }

    #[test]
    fn analyze_never_panics_on_any_text(text in any::<String>()) {
        let _ = analyze(&sources(text));
    }
}
