//! Table tests: every form of "Thời gian" the parser must read, and every error it must give.

use chrono::NaiveDate;

use nhacviec::deadline::{parse, Context, Deadline, NoteKind};

fn ctx() -> Context {
    crate::support::deadline::ctx(2022)
}

fn show(text: &str) -> String {
    crate::support::deadline::show(text, 2022)
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%d/%m/%Y").unwrap()
}

#[test]
fn plan_50_forms() {
    let cases = [
        ("Năm 2022", "31/12/2022"),
        ("Quý I/2022", "31/03/2022"),
        ("Quý II/2022", "30/06/2022"),
        ("Tháng 3/2022", "31/03/2022"),
        ("Tháng 6/2022", "30/06/2022"),
        ("trong tháng 4 năm 2022", "30/04/2022"),
        ("Thường xuyên", "continuous"),
        ("Khi có yêu cầu", "on_request"),
        ("Theo định kỳ", "periodic"),
        (
            "Tại Bộ phận một cửa tỉnh từ ngày 01/6/2022; cấp huyện từ ngày 01/12/2022; cấp xã từ ngày 01/6/2023",
            "tinh:31/05/2022 | huyen:30/11/2022 | xa:31/05/2023",
        ),
    ];
    check_all(&cases);
}

#[test]
fn years_and_longer() {
    check_all(&[
        ("Trong năm 2022", "31/12/2022"),
        ("Cả năm 2022", "31/12/2022"),
        ("Hoàn thành trong năm 2022", "31/12/2022"),
        (
            "Năm 2022 và các năm tiếp theo",
            "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31",
        ),
        ("Giai đoạn 2021-2025", "01/01/2021..31/12/2025"),
        ("Đến năm 2025", "31/12/2025"),
        ("Cuối năm 2022", "31/12/2022"),
        ("Đầu năm 2022", "31/03/2022"),
    ]);
}

#[test]
fn quarters_and_parts_of_a_year() {
    check_all(&[
        ("Quý III/2022", "30/09/2022"),
        ("Quý IV/2022", "31/12/2022"),
        ("Trong Quý II/2022", "30/06/2022"),
        ("Quý II năm 2022", "30/06/2022"),
        ("Quý 2/2022", "30/06/2022"),
        ("Quí II/2022", "30/06/2022"),
        ("Quý II-III/2022", "01/04/2022..30/09/2022"),
        ("Quý III, IV/2022", "30/09/2022 | 31/12/2022"),
        ("Từ Quý II/2022", "31/03/2022"),
        ("Trước Quý III/2022", "30/06/2022"),
        ("6 tháng đầu năm 2022", "30/06/2022"),
        ("6 tháng cuối năm 2022", "31/12/2022"),
        ("9 tháng đầu năm 2022", "30/09/2022"),
        ("QUÝ IV/2022", "31/12/2022"),
    ]);
}

#[test]
fn months() {
    check_all(&[
        ("Tháng 10/2022", "31/10/2022"),
        ("Trong tháng 10/2022", "31/10/2022"),
        ("Tháng 5, 6/2022", "31/05/2022 | 30/06/2022"),
        ("Tháng 11-12/2022", "01/11/2022..31/12/2022"),
        ("Từ tháng 4/2022", "31/03/2022"),
        ("Từ tháng 3 đến tháng 12/2022", "01/03/2022..31/12/2022"),
        ("Tháng 3 - 11/2022", "01/03/2022..30/11/2022"),
        ("trong tháng 5", "31/05/2022"),
        ("Tháng 2/2024", "29/02/2024"),
        ("tháng 6-2022", "30/06/2022"),
    ]);
}

#[test]
fn dates() {
    check_all(&[
        ("Trước ngày 15/12/2022", "14/12/2022"),
        ("Trước 30/6/2022", "29/06/2022"),
        ("Chậm nhất ngày 31/3/2022", "31/03/2022"),
        ("Trước ngày 31 tháng 3 năm 2022", "30/03/2022"),
        ("Hoàn thành trước ngày 31/12/2022", "30/12/2022"),
        ("Từ ngày 01/7/2022", "30/06/2022"),
        ("30/6/2022", "30/06/2022"),
        ("30/06/2022", "30/06/2022"),
        ("30-6-2022", "30/06/2022"),
        ("30.6.2022", "30/06/2022"),
        ("ngày 30 tháng 6 năm 2022", "30/06/2022"),
        ("Đến ngày 30/6/2022", "30/06/2022"),
        ("đến hết ngày 30/6/2022", "30/06/2022"),
        ("Trước ngày 01/01/2023", "31/12/2022"),
        ("Không quá ngày 15/8/2022", "15/08/2022"),
    ]);
}

#[test]
fn ranges() {
    check_all(&[
        (
            "Từ ngày 15/3/2022 đến ngày 15/4/2022",
            "15/03/2022..15/04/2022",
        ),
        ("Từ 01/3 - 30/4/2022", "01/03/2022..30/04/2022"),
        ("Ngày 8 - 15/10", "08/10/2022..15/10/2022"),
        (
            "Từ ngày 01/12/2022 đến hết ngày 15/01/2023",
            "01/12/2022..15/01/2023",
        ),
        (
            "Từ thứ Bảy, ngày 27/4/2024 đến hết ngày 01/5/2024 (tức 19 tháng Ba năm Giáp Thìn)",
            "27/04/2024..01/05/2024",
        ),
    ]);
}

#[test]
fn recurring() {
    check_all(&[
        (
            "Hằng quý",
            "rrule:FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1",
        ),
        (
            "Hàng quý",
            "rrule:FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1",
        ),
        ("Hằng tháng", "rrule:FREQ=MONTHLY;BYMONTHDAY=-1"),
        ("Hằng năm", "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=-1"),
        (
            "Định kỳ hằng quý, 6 tháng, năm",
            "rrule:FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1",
        ),
        (
            "Định kỳ hằng tháng trước ngày 18",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=17",
        ),
        (
            "Trước ngày 20 hằng tháng",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=19",
        ),
        (
            "Định kỳ hằng quý (trước ngày 15 của tháng cuối quý)",
            "rrule:FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=14",
        ),
        ("Định kỳ, đột xuất", "periodic"),
        ("Thường xuyên, liên tục", "continuous"),
        (
            "Định kỳ 6 tháng",
            "rrule:FREQ=YEARLY;BYMONTH=6,12;BYMONTHDAY=-1",
        ),
        (
            "Trước ngày 15/12 hằng năm",
            "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=14",
        ),
        (
            "Hằng tháng, trước ngày 30",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=28,29;BYSETPOS=-1",
        ),
        ("Hằng tuần", "rrule:FREQ=WEEKLY;BYDAY=FR"),
        ("Định kỳ theo quy định", "periodic"),
    ]);
}

#[test]
fn event_triggered() {
    check_all(&[
        ("Theo yêu cầu", "on_request"),
        ("Khi có phát sinh", "on_request"),
        ("Đột xuất khi cần thiết", "on_request"),
        ("Ngay sau khi có Quyết định công bố", "on_request"),
        ("Kể từ ngày ký", "on_request"),
        (
            "Trong thời hạn 05 ngày làm việc kể từ ngày nhận được yêu cầu",
            "on_request",
        ),
    ]);
}

#[test]
fn staged_and_phases() {
    check_all(&[
        (
            "Cấp tỉnh: Quý II/2022; cấp huyện: Quý III/2022; cấp xã: Quý IV/2022",
            "tinh:30/06/2022 | huyen:30/09/2022 | xa:31/12/2022",
        ),
        (
            "tỉnh từ ngày 01/6/2022, cấp huyện từ ngày 01/12/2022",
            "tinh:31/05/2022 | huyen:30/11/2022",
        ),
        (
            "Đợt 1: trước ngày 30/6/2022; đợt 2: trước ngày 30/11/2022",
            "29/06/2022 | 29/11/2022",
        ),
        // One level alone is not a stage.
        ("Trình UBND tỉnh trước ngày 30/6/2022", "29/06/2022"),
    ]);
}

#[test]
fn word_document_text() {
    use unicode_normalization::UnicodeNormalization;
    let nfd: String = "Tại Bộ phận một cửa tỉnh từ ngày 01/6/2022; cấp huyện từ ngày 01/12/2022"
        .nfd()
        .collect();
    assert_eq!(show(&nfd), "tinh:31/05/2022 | huyen:30/11/2022");
    assert_eq!(show("  quý   ii /  2022 "), "30/06/2022");
    assert_eq!(show("THÁNG 3/2022"), "31/03/2022");
    assert_eq!(show("Tháng\u{a0}3/2022"), "31/03/2022");
    assert_eq!(show("Quý II–III/2022"), "01/04/2022..30/09/2022");
    // Full-width digits and slash, Roman-numeral characters, zero-width spaces.
    assert_eq!(show("Tháng ６/2022"), "30/06/2022");
    assert_eq!(show("Quý Ⅱ／2022"), "30/06/2022");
    assert_eq!(show("Quý\u{200b} II/2022"), "30/06/2022");
    assert_eq!(
        show("Trước 31/12/2022, sau đó hằng năm"),
        "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=30"
    );
}

#[test]
fn errors_point_at_the_problem() {
    let cases: &[(&str, &str, &str)] = &[
        ("31/02/2022", "31/02", "không tồn tại"),
        ("Quý V/2022", "V", "Quý V"),
        ("Quý 5/2022", "5", "quý 5"),
        ("Tháng 13/2022", "13", "tháng 13"),
        ("Sớm nhất có thể", "Sớm nhất có thể", "không đọc được"),
        ("", "", "để trống"),
        ("Sau ngày 30/6/2022", "Sau", "không phải là thời hạn"),
        (
            "Từ ngày 15/4/2022 đến ngày 15/3/2022",
            "ngày 15/4/2022 đến ngày 15/3/2022",
            "trước khi bắt đầu",
        ),
        ("Năm 22022", "22022", "4 chữ số"),
        ("ngày 32/1/2022", "32", "ngày 32"),
        ("Trước ngày 35 hằng tháng", "35", "ngày 35"),
    ];
    for (text, at, msg) in cases {
        let err = parse(text, &ctx()).expect_err(text);
        assert!(
            err.message.contains(msg),
            "{text:?}: message {:?} lacks {msg:?}",
            err.message
        );
        assert!(
            text[err.span.clone()].starts_with(at),
            "{text:?}: span points at {:?}, expected {at:?}",
            &text[err.span.clone()]
        );
        if !text.is_empty() && !text.contains("hằng") {
            assert!(!err.suggestions.is_empty(), "{text:?}: no suggestions");
        }
    }
}

#[test]
fn notes_tell_what_was_assumed() {
    let p = parse("trong tháng 5", &ctx()).unwrap();
    assert!(p
        .notes
        .iter()
        .any(|n| n.kind == NoteKind::YearAssumed(2022)));
    let p = parse("Quý II/2022 sau khi có hướng dẫn", &ctx()).unwrap();
    assert_eq!(
        p.deadline,
        Deadline::Dated(vec![nhacviec::deadline::Milestone {
            label: Some("sau khi có hướng dẫn".into()),
            ..nhacviec::deadline::Milestone::on(d("30/06/2022"))
        }])
    );
    assert!(p
        .notes
        .iter()
        .any(|n| matches!(&n.kind, NoteKind::Ignored(t) if t == "sau khi có hướng dẫn")));
    let p = parse("thứ Sáu, ngày 27/4/2024", &ctx()).unwrap();
    assert!(p
        .notes
        .iter()
        .any(|n| matches!(n.kind, NoteKind::WeekdayMismatch { .. })));
    let p = parse("thứ Bảy, ngày 27/4/2024", &ctx()).unwrap();
    assert!(p.notes.is_empty(), "{:?}", p.notes);
}

fn check_all(cases: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (text, expected) in cases {
        let got = show(text);
        // "error: ..." expects an error whose message starts so; "error" any error.
        let ok = got == *expected || (expected.starts_with("error") && got.starts_with(expected));
        let dropped = crate::support::deadline::silently_dropped(text, 2022);
        if !dropped.is_empty() {
            failures.push(format!(
                "{text:?}: not read and named by no warning: {dropped:?}"
            ));
        }
        if !ok {
            failures.push(format!(
                "{text:?}\n    expected {expected}\n    got      {got}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_precise_date_inside_the_period_replaces_it() {
    check_all(&[
        ("Năm 2023 (hoàn thành trước 30/11/2023)", "29/11/2023"),
        ("Quý II/2022, chậm nhất ngày 15/6/2022", "15/06/2022"),
        (
            "Báo cáo trước ngày 10/6 và 10/12",
            "09/06/2022 | 09/12/2022",
        ),
        // Not nested: both stay.
        ("Quý II/2022; Quý IV/2022", "30/06/2022 | 31/12/2022"),
    ]);
}

/// Forms from other provinces' and ministries' plans (see tests/it/deadline_corpus.rs for more).
#[test]
fn other_provinces_forms() {
    check_all(&[
        // Month/year without "Tháng" (Nghị quyết 03/NQ-CP, Phụ lục II), abbreviations.
        ("6/2025", "30/06/2025"),
        ("02/2024", "29/02/2024"),
        ("12/2028", "31/12/2028"),
        ("T6/2023", "30/06/2023"),
        ("Q2/2023", "30/06/2023"),
        // A tighter date in parentheses replaces the period it refines.
        ("Quý III/2023 (trước ngày 15/9/2023)", "14/09/2023"),
        ("Tháng 12/2023 (trước ngày 15/12/2023)", "14/12/2023"),
        // ... but commentary in parentheses is not a deadline of this task.
        (
            "Trước ngày 15/11/2023 (để tổng hợp, báo cáo UBND tỉnh trước ngày 30/11/2023)",
            "14/11/2023",
        ),
        // The year after the plan's.
        ("Trước ngày 15/01 năm sau", "14/01/2023"),
        ("Cả năm", "31/12/2022"),
        // Levels named after the date, or several levels in one label.
        (
            "Quý I/2023 (đối với cấp tỉnh), Quý II/2023 (đối với cấp huyện)",
            "tinh:31/03/2023 | huyen:30/06/2023",
        ),
        (
            "Cấp tỉnh: Quý II/2023; cấp huyện, cấp xã: Quý IV/2023",
            "tinh:30/06/2023 | huyen:31/12/2023 | xa:31/12/2023",
        ),
        // Yearly rules with their months.
        (
            "Tháng 6 hằng năm",
            "rrule:FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=-1",
        ),
        (
            "Trước ngày 30 tháng 6 hằng năm",
            "rrule:FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=29",
        ),
        (
            "Quý IV hằng năm",
            "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=-1",
        ),
        (
            "Quý II và Quý IV hằng năm",
            "rrule:FREQ=YEARLY;BYMONTH=6,12;BYMONTHDAY=-1",
        ),
        (
            "Trước ngày 15/6 và 15/12 hằng năm",
            "rrule:FREQ=YEARLY;BYMONTH=6,12;BYMONTHDAY=14",
        ),
        (
            "Định kỳ 03 tháng",
            "rrule:FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1",
        ),
        (
            "Trước ngày 18 của tháng cuối quý",
            "rrule:FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=17",
        ),
        (
            "Định kỳ 6 tháng, hằng năm",
            "rrule:FREQ=YEARLY;BYMONTH=6,12;BYMONTHDAY=-1",
        ),
        // Different days per period, or a deadline in the next year: not one RRULE.
        (
            "định kỳ 6 tháng (trước ngày 05/7) và hằng năm (trước ngày 10/01 năm sau)",
            "periodic",
        ),
        // No date of their own.
        ("Theo tiến độ của Trung ương", "on_request"),
        ("Theo lộ trình của Trung ương", "on_request"),
        ("Theo chỉ đạo của UBND tỉnh", "on_request"),
        (
            "Trong vòng 10 ngày kể từ ngày Kế hoạch được ban hành",
            "on_request",
        ),
    ]);
    // Never a silently wrong date for a lunar anchor.
    assert!(
        show("Trước Tết Nguyên đán Quý Mão 2023").starts_with("error: chưa tính được hạn theo Tết")
    );
}

/// Reporting regimes (Nghị định 09/2019/NĐ-CP and the circulars under it): a day of a month
/// named relative to the reporting period.
#[test]
fn day_of_period_rules() {
    check_all(&[
        (
            "Báo cáo tháng: ngày 5 của tháng kế tiếp",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=5",
        ),
        (
            "Hằng tháng, trước ngày 10 của tháng tiếp theo",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=9",
        ),
        (
            "Báo cáo quý gửi trước ngày 12 của tháng sau kỳ báo cáo",
            "rrule:FREQ=YEARLY;BYMONTH=1,4,7,10;BYMONTHDAY=11",
        ),
        (
            "Định kỳ 6 tháng, ngày 15 của tháng kế tiếp",
            "rrule:FREQ=YEARLY;BYMONTH=1,7;BYMONTHDAY=15",
        ),
        (
            "Báo cáo hằng quý: ngày 18 của tháng cuối kỳ báo cáo",
            "rrule:FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=18",
        ),
        (
            "Báo cáo 6 tháng: trước ngày 20 của tháng cuối kỳ",
            "rrule:FREQ=YEARLY;BYMONTH=6,12;BYMONTHDAY=19",
        ),
        (
            "Vào ngày 25 các tháng 2, 5, 8, 11",
            "rrule:FREQ=YEARLY;BYMONTH=2,5,8,11;BYMONTHDAY=25",
        ),
        (
            "trước ngày 10 các tháng 1, 4, 7 và 10",
            "rrule:FREQ=YEARLY;BYMONTH=1,4,7,10;BYMONTHDAY=9",
        ),
        (
            "Ngày 27 hằng tháng, riêng tháng Hai là ngày cuối tháng",
            "rrule:FREQ=MONTHLY;BYMONTH=1,3,4,5,6,7,8,9,10,11,12;BYMONTHDAY=27 | FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1",
        ),
        (
            "Trước ngày 25 hằng tháng; riêng tháng 12 trước ngày 20",
            "rrule:FREQ=MONTHLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11;BYMONTHDAY=24 | FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=19",
        ),
        (
            "Chậm nhất vào ngày 10 của tháng đầu quý sau",
            "rrule:FREQ=YEARLY;BYMONTH=1,4,7,10;BYMONTHDAY=10",
        ),
        (
            "Báo cáo tháng gửi trước ngày 20 của tháng báo cáo",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=19",
        ),
        // Each period's report in the month after it, the year's in January.
        (
            "Báo cáo định kỳ 6 tháng: trước ngày 15 tháng 7; báo cáo năm: trước ngày 15 tháng 01 năm sau",
            "rrule:FREQ=YEARLY;BYMONTH=1,7;BYMONTHDAY=14",
        ),
        // The days the figures cover are not when the report is due.
        (
            "Trước ngày 20 hằng tháng (số liệu tính từ ngày 15 tháng trước đến ngày 14 tháng báo cáo)",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=19",
        ),
        (
            "Ngày 30 hằng tháng, riêng tháng 2 là ngày cuối tháng",
            "rrule:FREQ=MONTHLY;BYMONTH=1,3,4,5,6,7,8,9,10,11,12;BYMONTHDAY=30 | FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1",
        ),
        // An exception that cannot be read is not dropped.
        (
            "Ngày 27 hằng tháng, riêng dịp lễ thì sớm hơn",
            "error: không đọc được ngoại lệ",
        ),
        // The year after the period, for a yearly report: still one date a year.
        (
            "Báo cáo hằng năm trước ngày 15/01 năm liền kề",
            "rrule:FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=14",
        ),
        (
            "Hằng năm, chậm nhất ngày 31 tháng 01 năm tiếp theo",
            "rrule:FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=-1",
        ),
    ]);
    // The regime is not named: the assumption is said.
    let p = parse("ngày 5 của tháng kế tiếp", &ctx()).unwrap();
    assert_eq!(p.deadline, Deadline::recurring("FREQ=MONTHLY;BYMONTHDAY=5"));
    assert!(p
        .notes
        .iter()
        .any(|n| matches!(&n.kind, NoteKind::Periodic(t) if t.contains("hằng tháng"))));
    let p = parse("ngày 18 của tháng cuối kỳ báo cáo", &ctx()).unwrap();
    assert_eq!(
        p.deadline,
        Deadline::recurring("FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=18")
    );
    // "tháng sáu" is June, not "the next month".
    assert!(!show("ngày 15 tháng Sáu").starts_with("rrule"));
}

#[test]
fn windows_that_repeat() {
    check_all(&[
        (
            "Từ ngày 2 đến ngày 6 hằng tháng",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=6 (from day 2)",
        ),
        (
            "từ ngày 01 - 05 hằng tháng",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=5 (from day 1)",
        ),
        (
            "Hằng quý, từ ngày 10 đến hết ngày 15 của tháng cuối quý",
            "rrule:FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=15 (from day 10)",
        ),
    ]);
}

#[test]
fn a_window_that_repeats_starts_each_occurrence_on_its_first_day() {
    let dir = tempfile::tempdir().unwrap();
    crate::support::copy_dir(&crate::support::repo().join("config"), dir.path());
    let plan = dir.path().join("plans/50-KH-UBND-2022.toml");
    let text = std::fs::read_to_string(&plan).unwrap();
    // Task 1's time made a window that repeats.
    let at = text.find("[[task]]\nid = \"1\"").unwrap();
    let time = at + text[at..].find("time = \"").unwrap();
    let end = time + text[time..].find('\n').unwrap();
    let text = format!(
        "{}time = \"Từ ngày 2 đến ngày 6 hằng tháng\"{}",
        &text[..time],
        &text[end..]
    );
    std::fs::write(&plan, text).unwrap();
    let out = assert_cmd::Command::cargo_bin("nhacviec")
        .unwrap()
        .arg("--config")
        .arg(dir.path())
        .args(["check"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("định kỳ: từ ngày 2 đến hạn mỗi kỳ; 06/04/2022"),
        "{shown}"
    );
}

/// Numbers repeated in words, as legal texts write them.
#[test]
fn numbers_written_twice() {
    check_all(&[
        ("ngày 08 (tám) tháng 7 năm 2022", "08/07/2022"),
        ("Trước ngày 08 (tám) tháng 7", "07/07/2022"),
        (
            "Định kỳ 06 (sáu) tháng",
            "rrule:FREQ=YEARLY;BYMONTH=6,12;BYMONTHDAY=-1",
        ),
        (
            "Trong thời hạn 15 (mười lăm) ngày kể từ ngày nhận được văn bản",
            "on_request",
        ),
        (
            "Trước ngày 25 (hai mươi lăm) tháng 12 năm 2022",
            "24/12/2022",
        ),
        // The word contradicts the number: one of them is wrong, say which two.
        (
            "ngày 08 (chín) tháng 7 năm 2022",
            "error: số \"08\" không khớp với chữ \"chín\" (9)",
        ),
        // "(năm)" may be the word "year": not a contradiction.
        ("Trước ngày 15/12 (năm)", "14/12/2022"),
    ]);
}

/// Years named by words, relative to the period written before them or to the plan's year.
#[test]
fn year_words() {
    check_all(&[
        ("Trước ngày 31/8 năm nay", "30/08/2022"),
        ("31-8 năm nay", "31/08/2022"),
        ("31-8", "31/08/2022"),
        ("Trước 15-7", "14/07/2022"),
        ("Chậm nhất ngày 15/01 năm sau", "15/01/2023"),
        ("Trước ngày 31/3 năm tiếp theo", "30/03/2023"),
        ("ngày 20/12 năm trước", "20/12/2021"),
        ("Trong năm nay", "31/12/2022"),
        ("Năm sau", "31/12/2023"),
        // Relative to the period just named, not to the plan.
        (
            "Báo cáo năm 2024 gửi trước ngày 15/01 năm liền kề",
            "14/01/2025",
        ),
        (
            "Quý IV/2023; báo cáo trước ngày 10/01 năm tiếp theo",
            "31/12/2023 | 09/01/2024",
        ),
        // A dash between days of one month is still a range.
        ("Ngày 8-15/10", "08/10/2022..15/10/2022"),
        ("Tháng 3-5", "01/03/2022..31/05/2022"),
        (
            "Báo cáo năm gửi trước ngày 31/01 của năm liền kề năm báo cáo",
            "30/01/2023",
        ),
    ]);
    let p = parse("31-8", &ctx()).unwrap();
    assert!(p
        .notes
        .iter()
        .any(|n| n.kind == NoteKind::YearAssumed(2022)));
}

/// Within one clause a date to the day beats a coarser period, and words around a date that
/// are not this task's deadline do not add milestones.
#[test]
fn clause_precedence() {
    check_all(&[
        // "trước" a named day is the day before it, as "trước ngày".
        ("Năm 2024 (trước Quốc khánh 02/9/2024)", "01/09/2024"),
        ("Năm 2024, trước Quốc khánh 02/9/2024", "01/09/2024"),
        (
            "Quý IV/2024 (hoàn thành trước kỳ họp HĐND tỉnh ngày 10/12/2024)",
            "09/12/2024",
        ),
        // ... but a remark with another date outside the period is not one.
        (
            "Quý II/2023 (báo cáo UBND tỉnh trước ngày 15/7/2023)",
            "30/06/2023",
        ),
        // The period a report covers is what is reported, not when.
        ("Báo cáo quý III gửi trước ngày 10/10", "09/10/2022"),
        (
            "Báo cáo kết quả thực hiện 6 tháng đầu năm 2023 trước ngày 15/6/2023",
            "14/06/2023",
        ),
        ("Trước ngày 10/10 (báo cáo quý III)", "09/10/2022"),
        ("Báo cáo quý III, quý IV", "30/09/2022 | 31/12/2022"),
        // A horizon after a dated action is not a milestone.
        (
            "Trước 30/6/2025 để hoàn thành mục tiêu đến năm 2030",
            "29/06/2025",
        ),
        (
            "Hoàn thành trước 31/12/2025, giai đoạn 2026-2030 tiếp tục duy trì",
            "30/12/2025",
        ),
        ("Quý IV/2025, định hướng đến năm 2030", "31/12/2025"),
        ("Giai đoạn 2026-2030", "01/01/2026..31/12/2030"),
        ("Đến năm 2030", "31/12/2030"),
        // A dependent clause does not add one.
        (
            "Hoàn thành lắp đặt trước 15/8/2025 để vận hành từ ngày 01/9/2025",
            "14/08/2025",
        ),
        ("Trình Đề án trước ngày 30/6/2022", "29/06/2022"),
    ]);
    // The words dropped are named.
    assert_eq!(
        ignored("Trước 15/8/2025 để vận hành từ ngày 01/9/2025"),
        ["để vận hành từ ngày 01/9/2025"]
    );
    assert_eq!(
        ignored("Trước 30/6/2025, giai đoạn 2026-2030"),
        ["giai đoạn 2026-2030"]
    );
    assert_eq!(
        ignored("Quý III/2024 (trước ngày 20/9/2024 để trình HĐND tỉnh tại kỳ họp cuối năm)"),
        ["để trình HĐND tỉnh tại kỳ họp cuối năm"]
    );
    let p = parse("Năm 2024 (trước Quốc khánh 02/9/2024)", &ctx()).unwrap();
    assert!(p.notes.is_empty(), "{:?}", p.notes);
    // A weekday in parentheses after the date is checked, not skipped.
    let p = parse("Ngày 10/10/2024 (thứ Năm)", &ctx()).unwrap();
    assert!(p.notes.is_empty(), "{:?}", p.notes);
    let p = parse("Ngày 12/10/2024 (thứ Năm)", &ctx()).unwrap();
    assert!(p
        .notes
        .iter()
        .any(|n| matches!(n.kind, NoteKind::WeekdayMismatch { .. })));
}

/// The words a reading skipped, each as written.
fn ignored(text: &str) -> Vec<String> {
    let p = parse(text, &ctx()).unwrap();
    p.notes
        .into_iter()
        .filter_map(|n| match n.kind {
            NoteKind::Ignored(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// Stages named by agency rather than by level: a milestone each, labelled with the agency.
#[test]
fn staged_by_agency() {
    check_all(&[
        (
            "UBND cấp huyện: trước 30/6; Sở Nội vụ: trước 31/7",
            "29/06/2022 | 30/07/2022",
        ),
        (
            "Sở Tài chính: Quý III/2022; Sở Kế hoạch và Đầu tư: Quý IV/2022",
            "30/09/2022 | 31/12/2022",
        ),
    ]);
    let p = parse("UBND cấp huyện: trước 30/6; Sở Nội vụ: trước 31/7", &ctx()).unwrap();
    let Deadline::Dated(ms) = &p.deadline else {
        panic!("{:?}", p.deadline)
    };
    let labels: Vec<Option<&str>> = ms.iter().map(|m| m.label.as_deref()).collect();
    assert_eq!(labels, vec![Some("UBND cấp huyện"), Some("Sở Nội vụ")]);
    assert!(ignored("UBND cấp huyện: trước 30/6; Sở Nội vụ: trước 31/7").is_empty());
    // One name with a colon is a label, not a stage: its words are still named.
    assert_eq!(
        ignored("Sở Nội vụ chủ trì: trước 31/7"),
        ["Sở Nội vụ chủ trì:"]
    );
}

// Issue 32: forms that were misread silently.

#[test]
fn numeric_weekdays_in_weekly_rules() {
    check_all(&[
        (
            "họp giao ban vào thứ 3 hằng tuần",
            "rrule:FREQ=WEEKLY;BYDAY=TU",
        ),
        (
            "Họp giao ban sáng thứ 2 hằng tuần",
            "rrule:FREQ=WEEKLY;BYDAY=MO",
        ),
        ("Báo cáo vào thứ 6 hàng tuần", "rrule:FREQ=WEEKLY;BYDAY=FR"),
        ("Thứ 7 hằng tuần", "rrule:FREQ=WEEKLY;BYDAY=SA"),
        ("họp vào Chủ nhật hằng tuần", "rrule:FREQ=WEEKLY;BYDAY=SU"),
        ("trực vào CN hằng tuần", "rrule:FREQ=WEEKLY;BYDAY=SU"),
        // The textual forms read the same.
        (
            "họp giao ban vào thứ Ba hằng tuần",
            "rrule:FREQ=WEEKLY;BYDAY=TU",
        ),
        ("Thứ Năm mỗi tuần", "rrule:FREQ=WEEKLY;BYDAY=TH"),
    ]);
}

#[test]
fn several_days_in_one_rule() {
    check_all(&[
        (
            "chiều thứ Hai và thứ Tư hằng tuần",
            "rrule:FREQ=WEEKLY;BYDAY=MO,WE",
        ),
        (
            "thứ 2, thứ 4 và thứ 6 hằng tuần",
            "rrule:FREQ=WEEKLY;BYDAY=MO,WE,FR",
        ),
        (
            "Thứ Ba và Chủ nhật hằng tuần",
            "rrule:FREQ=WEEKLY;BYDAY=TU,SU",
        ),
        (
            "vào ngày 10 và ngày 25 hằng tháng",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=10,25",
        ),
        (
            "ngày 5, ngày 15 và ngày 25 hằng tháng",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=5,15,25",
        ),
        (
            "Hằng tháng, vào ngày 1 và ngày 15",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=1,15",
        ),
    ]);
}

#[test]
fn a_weekly_rule_without_its_day_is_warned() {
    let p = parse("Báo cáo hằng tuần", &ctx()).unwrap();
    assert_eq!(p.deadline, Deadline::recurring("FREQ=WEEKLY;BYDAY=FR"));
    assert!(
        p.notes
            .iter()
            .any(|n| n.kind.to_string().contains("không ghi thứ")),
        "{:?}",
        p.notes
    );
    // With its day, no such warning; the words of the activity are named (issue 32's rule).
    let p = parse("họp giao ban vào thứ 3 hằng tuần", &ctx()).unwrap();
    let notes: Vec<String> = p.notes.iter().map(|n| n.kind.to_string()).collect();
    assert_eq!(
        notes,
        ["đã bỏ qua phần không hiểu: \"họp giao ban\""],
        "{:?}",
        p.notes
    );
}

#[test]
fn rules_with_several_days_give_every_day() {
    use nhacviec::deadline::recur::occurrences;
    let dates = occurrences(
        "FREQ=MONTHLY;BYMONTHDAY=10,25",
        d("01/03/2022"),
        d("30/04/2022"),
        10,
    )
    .unwrap();
    assert_eq!(
        dates,
        [
            d("10/03/2022"),
            d("25/03/2022"),
            d("10/04/2022"),
            d("25/04/2022")
        ]
    );
    let dates = occurrences(
        "FREQ=WEEKLY;BYDAY=MO,WE",
        d("07/03/2022"),
        d("12/03/2022"),
        10,
    )
    .unwrap();
    assert_eq!(dates, [d("07/03/2022"), d("09/03/2022")]);
}

#[test]
fn a_date_near_request_words_is_a_deadline() {
    check_all(&[
        (
            "UBND tỉnh yêu cầu các sở hoàn thành trước ngày 15-8",
            "14/08/2022",
        ),
        ("Theo yêu cầu, trước ngày 15/8", "14/08/2022"),
        ("yêu cầu hoàn thành trước 30-9", "29/09/2022"),
        ("khi phát sinh, chậm nhất ngày 20/11/2022", "20/11/2022"),
        // No date: still on request.
        ("Khi có yêu cầu", "on_request"),
        ("Khi có phát sinh", "on_request"),
        // "tháng sau tháng phát sinh": the month after, not six months.
        (
            "nộp chậm nhất ngày 10 của tháng sau tháng phát sinh",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=10",
        ),
        (
            "Chậm nhất ngày 20 của tháng sau tháng phát sinh nghĩa vụ",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=20",
        ),
        // Still six months when written so.
        (
            "Định kỳ sáu tháng",
            "rrule:FREQ=YEARLY;BYMONTH=6,12;BYMONTHDAY=-1",
        ),
    ]);
}

/// Each text reads as expected, and one of its notes contains the given words ("" for none).
fn check_noted(cases: &[(&str, &str, &str)]) {
    let mut failures = Vec::new();
    for (text, expected, noted) in cases {
        let got = show(text);
        let notes: Vec<String> = parse(text, &ctx())
            .map(|p| p.notes.iter().map(|n| n.kind.to_string()).collect())
            .unwrap_or_default();
        let note_ok = if noted.is_empty() {
            notes.is_empty()
        } else {
            notes.iter().any(|n| n.contains(noted))
        };
        let dropped = crate::support::deadline::silently_dropped(text, 2022);
        if !dropped.is_empty() {
            failures.push(format!(
                "{text:?}: not read and named by no warning: {dropped:?}"
            ));
        }
        if got != *expected || !note_ok {
            failures.push(format!(
                "{text:?}\n    expected {expected} [{noted}]\n    got      {got} {notes:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn document_numbers_and_dates_are_not_deadlines() {
    check_noted(&[
        (
            "theo mẫu tại Thông tư 12/2019/TT-BTC, trước ngày 30/6/2022",
            "29/06/2022",
            "văn bản: \"theo mẫu tại Thông tư 12/2019/TT-BTC\"",
        ),
        (
            "Công văn số 45/UBND-KT, hoàn thành trước 30/9/2022",
            "29/09/2022",
            "\"Công văn số 45/UBND-KT\"",
        ),
        (
            "Thông báo số 45 ngày 3/7 của UBND tỉnh, hoàn thành trước 30/9",
            "29/09/2022",
            "\"Thông báo số 45 ngày 3/7\"",
        ),
        (
            "Thực hiện Kế hoạch số 120/KH-UBND ngày 15 tháng 3 năm 2022, hoàn thành trước ngày 31/5/2022",
            "30/05/2022",
            "ngày 15 tháng 3 năm 2022\"",
        ),
        (
            "Nghị quyết 80-NQ/TW, trước 30/6/2022",
            "29/06/2022",
            "\"Nghị quyết 80-NQ/TW\"",
        ),
        (
            "Quyết định số 1291/QĐ-TTg ngày 07/10/2019; chậm nhất ngày 15/12/2022",
            "15/12/2022",
            "ngày 07/10/2019\"",
        ),
    ]);
}

#[test]
fn words_around_a_single_level_are_named() {
    check_noted(&[
        (
            "UBND tỉnh yêu cầu các sở hoàn thành trước ngày 15-8",
            "14/08/2022",
            "đã bỏ qua phần không hiểu: \"UBND tỉnh yêu cầu các sở\"",
        ),
        (
            "Trình UBND tỉnh trước ngày 30/6/2022",
            "29/06/2022",
            "\"Trình UBND tỉnh\"",
        ),
    ]);
    // Stages by level are read, not skipped.
    let p = parse(
        "Cấp tỉnh từ ngày 01/6/2022; cấp huyện từ ngày 01/12/2022",
        &ctx(),
    )
    .unwrap();
    assert!(p.notes.is_empty(), "{:?}", p.notes);
}

#[test]
fn counts_and_hours_are_not_dates() {
    check_noted(&[
        (
            "20 xã, phường hoàn thành trước 30/9/2022",
            "29/09/2022",
            "số lượng: \"20 xã, phường\"",
        ),
        (
            "1.500 hồ sơ trước 30/9/2022",
            "29/09/2022",
            "số lượng: \"1.500 hồ sơ\"",
        ),
        (
            "Số hóa 12.000 hồ sơ, hoàn thành trong Quý III/2022",
            "30/09/2022",
            "\"12.000 hồ sơ\"",
        ),
        // An hour before a date: due on that day, not the day before.
        (
            "trước 16 giờ ngày 5/10/2022",
            "05/10/2022",
            "giờ (hạn tính theo ngày): \"trước 16 giờ\"",
        ),
        (
            "trước 16h30 ngày 5/10/2022",
            "05/10/2022",
            "\"trước 16h30\"",
        ),
        (
            "lúc 8 giờ 30 phút sáng ngày 12/11/2022",
            "12/11/2022",
            "\"lúc 8 giờ 30 phút sáng\"",
        ),
        // A date with its day and month: not a count.
        ("ngày 15.12.2022", "15/12/2022", ""),
    ]);
    assert!(show("1.500 hồ sơ").starts_with("error: không có thời hạn"));
}

#[test]
fn tet_words_and_glosses() {
    check_noted(&[
        ("Tết Dương lịch 2023", "01/01/2023", ""),
        ("trước Tết Dương lịch năm 2023", "31/12/2022", ""),
        // No year: the one after the plan's, said.
        ("Tết Dương lịch", "01/01/2023", "coi là ngày 01/01/2023"),
        (
            "ngày 27/1/2025 (28 tháng Chạp)",
            "27/01/2025",
            "âm lịch ghi kèm: \"(28 tháng Chạp)\"",
        ),
        (
            "ngày 3/2/2025 (tức mùng 6 Tết)",
            "03/02/2025",
            "âm lịch ghi kèm: \"(tức mùng 6 Tết)\"",
        ),
        (
            "ngày 3/2/2025, tức mùng 6 Tết",
            "03/02/2025",
            "\"tức mùng 6 Tết\"",
        ),
        // A weekday before a date does not break a range, in words or as a number.
        (
            "từ thứ Sáu, ngày 14/3/2025 đến ngày 20/3/2025",
            "14/03/2025..20/03/2025",
            "",
        ),
        (
            "từ ngày 10/3/2025 đến thứ Sáu, ngày 14/3/2025",
            "10/03/2025..14/03/2025",
            "",
        ),
        (
            "từ thứ 6, ngày 14/3/2025 đến thứ 5, ngày 20/3/2025",
            "14/03/2025..20/03/2025",
            "",
        ),
        // A numeric weekday that does not match is said.
        ("thứ 2, ngày 14/3/2025", "14/03/2025", "không khớp"),
    ]);
    // The lunar Tết itself still needs the calendar.
    assert!(show("Trước Tết Nguyên đán 2023").starts_with("error: chưa tính được hạn theo Tết"));
}

#[test]
fn an_event_with_its_expected_date_is_due_the_day_before_warned() {
    check_noted(&[
        (
            "trước khi khai giảng năm học mới (dự kiến 5/9)",
            "04/09/2022",
            "hạn phụ thuộc sự kiện \"khai giảng năm học mới\": đã tính theo thời điểm dự kiến 5/9",
        ),
        (
            "Trước khi khai giảng năm học mới, dự kiến ngày 05/9/2022",
            "04/09/2022",
            "sự kiện \"khai giảng năm học mới\"",
        ),
        (
            "trước khi tổ chức Đại hội (dự kiến tháng 10/2022)",
            "30/09/2022",
            "sự kiện \"tổ chức Đại hội\"",
        ),
    ]);
    // Without an expected date there is nothing to compute from.
    assert!(show("trước khi khai giảng năm học mới").starts_with("error"));
}

#[test]
fn relative_words_take_the_plans_year() {
    check_noted(&[
        ("trong tháng 8 này", "31/08/2022", "năm của kế hoạch (2022)"),
        ("ngày 20/10 tới", "20/10/2022", "năm của kế hoạch (2022)"),
        ("trước 30-9", "29/09/2022", "năm của kế hoạch (2022)"),
        (
            "trong tháng 11 sắp tới",
            "30/11/2022",
            "năm của kế hoạch (2022)",
        ),
    ]);
    // Read, not skipped.
    for text in ["trong tháng 8 này", "ngày 20/10 tới"] {
        let p = parse(text, &ctx()).unwrap();
        assert!(
            p.notes
                .iter()
                .all(|n| !matches!(n.kind, NoteKind::Ignored(_))),
            "{text}: {:?}",
            p.notes
        );
    }
}

/// The readings of issue 32's forms, with every note, as a golden file: a change in how any of
/// them is read or warned shows in review.
#[test]
fn issue_32_readings_golden() {
    let texts = [
        "họp giao ban vào thứ 3 hằng tuần",
        "chiều thứ Hai và thứ Tư hằng tuần",
        "thứ 2, thứ 4 và thứ 6 hằng tuần",
        "trực vào CN hằng tuần",
        "Báo cáo hằng tuần",
        "vào ngày 10 và ngày 25 hằng tháng",
        "UBND tỉnh yêu cầu các sở hoàn thành trước ngày 15-8",
        "nộp chậm nhất ngày 10 của tháng sau tháng phát sinh",
        "Khi có yêu cầu",
        "theo mẫu tại Thông tư 12/2019/TT-BTC, trước ngày 30/6/2022",
        "Công văn số 45/UBND-KT, hoàn thành trước 30/9/2022",
        "Thông báo số 45 ngày 3/7 của UBND tỉnh, hoàn thành trước 30/9",
        "20 xã, phường hoàn thành trước 30/9/2022",
        "1.500 hồ sơ trước 30/9/2022",
        "1.500 hồ sơ",
        "trước 16 giờ ngày 5/10",
        "Tết Dương lịch",
        "trước Tết Dương lịch 2023",
        "ngày 27/1/2025 (28 tháng Chạp)",
        "ngày 3/2/2025 (tức mùng 6 Tết)",
        "từ thứ 6, ngày 14/3/2025 đến ngày 20/3/2025",
        "trong tháng 8 này",
        "ngày 20/10 tới",
        "trước khi khai giảng năm học mới (dự kiến 5/9)",
        "Báo cáo tình hình quý III và 9 tháng năm 2024",
        "Khai giảng khóa XV ngày 10/9/2025",
        "báo cáo quý III gửi trước ngày 10/10/2024",
        "Kỳ thi tuyển sinh lớp 10 năm 2025 diễn ra ngày 5-6/6",
        "Đại hội nhiệm kỳ 2025 - 2030 của tỉnh, trước ngày 30/9/2025",
        "ngày thứ 15 của tháng liền sau",
        "ngày làm việc thứ 5 của tháng sau",
    ];
    let mut lines = Vec::new();
    for text in texts {
        let dropped = crate::support::deadline::silently_dropped(text, 2022);
        assert!(
            dropped.is_empty(),
            "{text:?}: not read and named by no warning: {dropped:?}"
        );
        lines.push(format!("{text}\n  => {}", show(text)));
        if let Ok(p) = parse(text, &ctx()) {
            for n in p.notes {
                lines.push(format!("  ! {}", n.kind));
            }
        }
    }
    insta::assert_snapshot!("issue_32_readings", lines.join("\n"));
}

#[test]
fn a_term_of_office_is_not_a_milestone() {
    check_noted(&[
        (
            "Đại hội nhiệm kỳ 2025 - 2030, trước 30/6/2025",
            "29/06/2025",
            "nhiệm kỳ (tên, không phải thời hạn): \"nhiệm kỳ 2025 - 2030\"",
        ),
        (
            "Chuẩn bị Đại hội Đảng bộ tỉnh nhiệm kỳ 2025-2030 trong Quý III/2025",
            "30/09/2025",
            "\"nhiệm kỳ 2025-2030\"",
        ),
    ]);
    assert!(show("nhiệm kỳ 2021-2026").starts_with("error: không có thời hạn"));
    // A period of work is still one.
    assert_eq!(show("Giai đoạn 2021-2025"), "01/01/2021..31/12/2025");
}

#[test]
fn cumulative_months_after_a_quarter_are_the_reports_frame() {
    check_noted(&[
        (
            "Quý III và 9 tháng năm 2024",
            "30/09/2024",
            "kỳ báo cáo cộng dồn (khung của báo cáo; hạn là của quý): \"9 tháng\"",
        ),
        (
            "Báo cáo tình hình quý II và 6 tháng năm 2023",
            "30/06/2023",
            "\"6 tháng\"",
        ),
        ("quý 1 và 3 tháng năm 2025", "31/03/2025", "\"3 tháng\""),
    ]);
    // A period of its own is still one.
    assert_eq!(
        show("Quý I và 6 tháng đầu năm 2023"),
        "31/03/2023 | 30/06/2023"
    );
}

#[test]
fn a_class_or_course_number_is_not_a_date() {
    check_noted(&[
        (
            "Khai giảng khóa XV ngày 10/9/2025",
            "10/09/2025",
            "tên lớp, khóa (không phải ngày): \"khóa XV\"",
        ),
        (
            "Tuyển sinh lớp 10, ngày 5-6/6/2025",
            "05/06/2025..06/06/2025",
            "\"lớp 10\"",
        ),
        (
            "Bồi dưỡng khoá 15 trước 30/11/2024",
            "29/11/2024",
            "\"khoá 15\"",
        ),
    ]);
}

#[test]
fn a_period_only_reported_on_is_named() {
    check_noted(&[(
        "báo cáo quý III gửi trước ngày 10/10/2024",
        "09/10/2024",
        "đã coi \"quý III\" là kỳ được báo cáo, không phải thời hạn",
    )]);
}

#[test]
fn the_year_of_a_class_name_dates_the_events_days() {
    check_noted(&[
        (
            "Kỳ thi tuyển sinh lớp 10 năm 2025 diễn ra ngày 5-6/6",
            "05/06/2025..06/06/2025",
            "ngày không ghi năm: đã lấy năm 2025 ghi trong tên \"lớp 10 năm 2025\"",
        ),
        (
            "Thi tuyển sinh lớp 10 năm học 2026-2027 vào ngày 2-3/6",
            "02/06/2026..03/06/2026",
            "\"lớp 10 năm học 2026-2027\"",
        ),
        (
            "Tuyển sinh lớp 10 năm 2025, ngày 5-6/6/2025",
            "05/06/2025..06/06/2025",
            "tên lớp, khóa (không phải ngày): \"lớp 10 năm 2025\"",
        ),
    ]);
}

#[test]
fn a_skipped_name_inside_unread_words_is_named_once() {
    for (text, expected) in [
        (
            "Đại hội nhiệm kỳ 2025 - 2030 của tỉnh, trước ngày 30/9/2025",
            "đã bỏ qua phần không hiểu: \"Đại hội … của tỉnh\"",
        ),
        (
            "Kỳ thi tuyển sinh lớp 10 năm 2025 diễn ra ngày 5-6/6",
            "đã bỏ qua phần không hiểu: \"Kỳ thi tuyển sinh … diễn ra\"",
        ),
        (
            "Chuẩn bị Đại hội nhiệm kỳ 2025-2030 ở cơ sở trong Quý III/2025",
            "đã bỏ qua phần không hiểu: \"Chuẩn bị Đại hội … ở cơ sở\"",
        ),
    ] {
        let notes: Vec<String> = parse(text, &ctx())
            .expect(text)
            .notes
            .iter()
            .map(|n| n.kind.to_string())
            .collect();
        assert!(notes.iter().any(|n| n == expected), "{text}: {notes:?}");
        // The name is quoted by its own note only.
        let quoted = notes.iter().filter(|n| n.contains("2025")).count();
        assert!(quoted <= 2, "{text}: {notes:?}");
    }
}

#[test]
fn the_nth_day_of_the_next_month_is_a_monthly_rule() {
    check_all(&[
        (
            "ngày thứ 15 của tháng liền sau",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=15",
        ),
        (
            "nộp vào ngày thứ 10 của tháng tiếp theo",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=10",
        ),
        (
            "Hằng tháng, trước ngày thứ 20",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=19",
        ),
        (
            "Báo cáo tháng gửi chậm nhất ngày 8 của tháng liền sau",
            "rrule:FREQ=MONTHLY;BYMONTHDAY=8",
        ),
    ]);
}

#[test]
fn the_nth_working_day_of_the_next_month_is_a_monthly_rule_warned() {
    let cases = [
        (
            "ngày làm việc thứ 5 của tháng sau",
            "rrule:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=5",
        ),
        (
            "trước ngày làm việc thứ 3 của tháng kế tiếp",
            "rrule:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2",
        ),
        (
            "Hằng tháng, ngày làm việc thứ 2",
            "rrule:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2",
        ),
        (
            "trước ngày làm việc thứ 1 của tháng tiếp theo",
            "rrule:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        ),
    ];
    check_all(&cases);
    for (text, shown) in cases {
        let p = parse(text, &ctx()).expect(text);
        assert!(
            p.notes
                .iter()
                .any(|n| n.kind.to_string().contains("chưa trừ ngày nghỉ lễ")),
            "{text}: {:?}",
            p.notes
        );
        let rule = shown.trim_start_matches("rrule:");
        let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        nhacviec::deadline::recur::check(rule, start).expect(rule);
    }
    // The fifth working day of January 2025 (Wed 1 .. Tue 7): the 7th.
    let days = nhacviec::deadline::recur::occurrences(
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=5",
        NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2025, 2, 28).unwrap(),
        10,
    )
    .expect("rule");
    // The fifth working day of January 2025 (Wed 1 .. Tue 7), of February (Mon 3 .. Fri 7).
    assert_eq!(
        days,
        [
            NaiveDate::from_ymd_opt(2025, 1, 7).unwrap(),
            NaiveDate::from_ymd_opt(2025, 2, 7).unwrap()
        ]
    );
}
