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
            // The words left unread are spans of the text. (That each is named by a warning
            // is checked over the corpus and the phrase tables, not over random text.)
            for span in nhacviec::deadline::unread(text, &ctx()) {
                assert!(
                    text.get(span.clone()).is_some(),
                    "{text:?}: unread span {span:?}"
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

    /// What is not a date (a document's number and date, a count, an hour, a lunar gloss) is
    /// skipped without changing the deadline, and named in a note.
    #[test]
    fn what_is_not_a_date_does_not_move_the_deadline(
        y in 2000i32..2100,
        m in 1u32..=12,
        d in 1u32..=28,
        number in 1u32..2000,
        doc_day in 1u32..=28,
        doc_month in 1u32..=12,
        hour in 0u32..=23,
        count in 1u32..100,
        kind in 0usize..5,
    ) {
        let date = format!("{d}/{m}/{y}");
        let text = match kind {
            0 => format!("Công văn số {number}/UBND-VP, chậm nhất ngày {date}"),
            1 => format!("Thông báo số {number} ngày {doc_day}/{doc_month} của UBND tỉnh, chậm nhất ngày {date}"),
            2 => format!("{count}.500 hồ sơ, chậm nhất ngày {date}"),
            3 => format!("trước {hour} giờ ngày {date}"),
            _ => format!("ngày {date} (tức {doc_day} tháng Chạp)"),
        };
        let p = parse(&text, &ctx());
        let want = chrono::NaiveDate::from_ymd_opt(y, m, d);
        prop_assert!(p.is_ok(), "{}: {:?}", text, p);
        let p = p.unwrap();
        prop_assert_eq!(p.deadline.last_due(), want, "{}", text);
        prop_assert!(
            p.notes.iter().any(|n| n.kind.to_string().starts_with("đã bỏ qua")),
            "{}: {:?}", text, p.notes
        );
    }

    /// Numeric and written weekdays give the same weekly rule, alone or in a list.
    #[test]
    fn numeric_weekdays_agree_with_words(a in 2u32..=7, b in 2u32..=7) {
        const WORDS: [&str; 6] = ["Hai", "Ba", "Tư", "Năm", "Sáu", "Bảy"];
        let word = |n: u32| WORDS[(n - 2) as usize];
        let numeric = parse(&format!("thứ {a} và thứ {b} hằng tuần"), &ctx()).unwrap();
        let written = parse(&format!("thứ {} và thứ {} hằng tuần", word(a), word(b)), &ctx()).unwrap();
        prop_assert_eq!(&numeric.deadline, &written.deadline);
        let Deadline::Recurring { rrule, .. } = &numeric.deadline else {
            return Err(TestCaseError::fail(format!("{:?}", numeric.deadline)));
        };
        prop_assert!(rrule.starts_with("FREQ=WEEKLY;BYDAY="), "{}", rrule);
        let days = rrule.trim_start_matches("FREQ=WEEKLY;BYDAY=").split(',').count();
        prop_assert_eq!(days, if a == b { 1 } else { 2 });
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
