//! Properties of the deadline parser over arbitrary input: it never panics, error spans are
//! valid places in the text, and whatever it reads is consistent.

use nhacviec::deadline::{parse, Context, Deadline, LevelNames};
use proptest::prelude::*;

fn ctx() -> Context {
    Context {
        plan_year: 2022,
        levels: vec![
            LevelNames {
                id: "tinh".into(),
                names: vec!["cấp tỉnh".into(), "tỉnh".into()],
            },
            LevelNames {
                id: "huyen".into(),
                names: vec!["cấp huyện".into()],
            },
        ],
    }
}

/// Words and symbols the parser cares about, so random texts reach deep into its grammar.
const VOCAB: &[&str] = &[
    "ngày",
    "tháng",
    "năm",
    "Quý",
    "Quí",
    "I",
    "II",
    "III",
    "IV",
    "V",
    "trước",
    "từ",
    "đến",
    "hết",
    "chậm",
    "nhất",
    "trong",
    "hằng",
    "hàng",
    "định",
    "kỳ",
    "thường",
    "xuyên",
    "khi",
    "có",
    "yêu",
    "cầu",
    "đầu",
    "cuối",
    "giữa",
    "6",
    "9",
    "0",
    "1",
    "12",
    "13",
    "15",
    "20",
    "29",
    "30",
    "31",
    "32",
    "2022",
    "2023",
    "99999999999",
    "22",
    "/",
    "-",
    "–",
    ",",
    ";",
    ":",
    ".",
    "(",
    ")",
    "tức",
    "thứ",
    "Bảy",
    "chủ",
    "nhật",
    "cấp",
    "tỉnh",
    "huyện",
    "đợt",
    "và",
    "sau",
    "sáu",
    "giai",
    "đoạn",
    "các",
    "tiếp",
    "theo",
    "\u{301}",
    "\u{a0}",
    "Đ",
];

fn vocab_text() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(VOCAB), prop::bool::ANY), 0..14).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(w, space)| {
                if space {
                    format!("{w} ")
                } else {
                    w.to_string()
                }
            })
            .collect()
    })
}

fn check_invariants(text: &str) {
    match parse(text, &ctx()) {
        Ok(parsed) => {
            if let Deadline::Dated(ms) = &parsed.deadline {
                assert!(!ms.is_empty(), "{text:?}: dated without milestones");
                for m in ms {
                    if let Some(start) = m.start {
                        assert!(start <= m.due, "{text:?}: range ends before it starts");
                    }
                }
            }
            for note in &parsed.notes {
                assert!(
                    text.get(note.span.clone()).is_some(),
                    "{text:?}: note span {:?}",
                    note.span
                );
            }
        }
        Err(e) => {
            assert!(
                text.get(e.span.clone()).is_some(),
                "{text:?}: error span {:?}",
                e.span
            );
            assert!(!e.message.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_any_string(text in any::<String>()) {
        check_invariants(&text);
    }

    #[test]
    fn never_panics_on_deadline_like_text(text in vocab_text()) {
        check_invariants(&text);
    }

    #[test]
    fn every_valid_date_reads_back(y in 1900i32..2200, m in 1u32..=12, d in 1u32..=31) {
        let text = format!("Chậm nhất ngày {d}/{m}/{y}");
        let expected = chrono::NaiveDate::from_ymd_opt(y, m, d);
        match (parse(&text, &ctx()), expected) {
            (Ok(p), Some(date)) => prop_assert_eq!(p.deadline.last_due(), Some(date)),
            (Err(_), None) => {}
            (got, want) => prop_assert!(false, "{}: got {:?}, want {:?}", text, got, want),
        }
    }
}
