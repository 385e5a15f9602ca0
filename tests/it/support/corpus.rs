//! The corpus of "Thời gian" texts read by `tests/it/deadline_corpus.rs`: each with its plan year
//! and the deadline a careful reader expects (see that file for the semantics and the form of
//! an expected value). Shared by the test of the readings and the test of the rule that no word
//! is dropped silently.

/// Nghị quyết 03/NQ-CP ngày 09/01/2025 của Chính phủ (Chương trình hành động thực hiện NQ 57-NQ/TW),
/// Phụ lục II, cột "Thời gian hoàn thành", as written (transcription in the public GitHub
/// repository thetrungdtt/VNMasterplan, NQCP03/NQ03 PL2 Nhiem vu.md). Plan year 2025.
pub const NGHI_QUYET_03_2025_CHINH_PHU: &[(i32, &str, &str)] = &[
    (2025, "2025", "31/12/2025"),
    (2025, "2026", "31/12/2026"),
    (2025, "2030", "31/12/2030"),
    (2025, "Tháng 10/2025", "31/10/2025"),
    (2025, "Tháng 5/2025", "31/05/2025"),
    (2025, "Quý II/2025", "30/06/2025"),
    (2025, "Thường xuyên", "continuous"),
    (2025, "Thường xuyên ", "continuous"),
    (2025, "Nhiệm vụ thường xuyên", "continuous"),
    (2025, "2025 - 2026", "01/01/2025..31/12/2026"),
    (2025, "2025-2026", "01/01/2025..31/12/2026"),
    (
        2025,
        "Hằng năm",
        "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=-1",
    ),
    (
        2025,
        "hằng năm",
        "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=-1",
    ),
    (
        2025,
        "2025 và những năm tiếp theo",
        "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31",
    ),
];

/// Other real documents:
/// - Kế hoạch 100 ngày thực hiện NQ 57, Đảng bộ xã Công Hải (2026), public tracker on GitHub;
/// - Sở Công Thương Lâm Đồng (2026): "báo cáo định kỳ hằng năm (trước ngày 20/11) hoặc đột xuất";
/// - Nghị định 145/2020/NĐ-CP, Điều 4 khoản 2 (báo cáo sử dụng lao động), both spellings seen;
/// - UBND tỉnh Quảng Nam, 2020 (baoquangnam.vn): "trước ngày 20.7.2020";
/// - Sở Nội vụ Hà Tĩnh, 04/04/2023 (sonoivu.hatinh.gov.vn): "trước ngày 15/4/2023".
pub const OTHER_DOCUMENTS: &[(i32, &str, &str)] = &[
    (2026, "Hàng tuần / Hàng tháng", "rrule:FREQ=WEEKLY;BYDAY=FR"),
    (2026, "Thường xuyên trong năm", "continuous"),
    (
        2026,
        "Định kỳ hằng năm (trước ngày 20/11) hoặc đột xuất",
        "rrule:FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=19",
    ),
    (
        2023,
        "Định kỳ 06 tháng (trước ngày 05 tháng 6) và hằng năm (trước ngày 05 tháng 12)",
        "rrule:FREQ=YEARLY;BYMONTH=6,12;BYMONTHDAY=4",
    ),
    (
        2023,
        "định kỳ 6 tháng (trước ngày 05/6) và hằng năm (trước ngày 05/12)",
        "rrule:FREQ=YEARLY;BYMONTH=6,12;BYMONTHDAY=4",
    ),
    (2020, "trước ngày 20.7.2020", "19/07/2020"),
    (2023, "trước ngày 15/4/2023", "14/04/2023"),
];

/// Forms common in provincial plans, as listed when this corpus was commissioned (typical).
pub const FORMS_NAMED_IN_THE_BRIEF: &[(i32, &str, &str)] = &[
    (2023, "Quý I và Quý III năm 2023", "31/03/2023 | 30/09/2023"),
    (2023, "Tháng 6 và tháng 12/2023", "30/06/2023 | 31/12/2023"),
    (2023, "Trước ngày 15/12/2023", "14/12/2023"),
    (
        2023,
        "Trước 20/12 hằng năm",
        "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=19",
    ),
    (
        2023,
        "Hằng năm (trước ngày 15/12)",
        "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=14",
    ),
    (2023, "Năm 2023-2025", "01/01/2023..31/12/2025"),
    (2023, "2023", "31/12/2023"),
    (2023, "Quý IV", "31/12/2023"),
    (2023, "Tháng 12", "31/12/2023"),
    (2023, "Trong Quý I năm 2023", "31/03/2023"),
    (
        2023,
        "Báo cáo trước ngày 10/6 và 10/12",
        "09/06/2023 | 09/12/2023",
    ),
    (2023, "Tháng 01/2023", "31/01/2023"),
    (2023, "Trước ngày 30 tháng 6 năm 2023", "29/06/2023"),
    (2023, "Năm 2023 (hoàn thành trước 30/11/2023)", "29/11/2023"),
    (
        2023,
        "Định kỳ 6 tháng, hằng năm",
        "rrule:FREQ=YEARLY;BYMONTH=6,12;BYMONTHDAY=-1",
    ),
    (2023, "Thực hiện thường xuyên", "continuous"),
    (2023, "Khi có văn bản mới", "on_request"),
    (2023, "Theo Kế hoạch của Bộ", "on_request OR error"),
    (2023, "Sau khi Nghị định được ban hành", "on_request"),
];

/// Forms typical of provincial plans' time columns (typical, not from a located document).
pub const TYPICAL_FORMS: &[(i32, &str, &str)] = &[
    (2023, "Quý II, III/2023", "30/06/2023 | 30/09/2023"),
    (2023, "Quý I, II năm 2023", "31/03/2023 | 30/06/2023"),
    (2023, "Tháng 3, tháng 9/2023", "31/03/2023 | 30/09/2023"),
    (2023, "Trước ngày 31/12/2023", "30/12/2023"),
    (2023, "Chậm nhất ngày 15/11/2023", "15/11/2023"),
    (2023, "Trước 15/01/2024", "14/01/2024"),
    (2023, "Quý IV/2023 - Quý I/2024", "01/10/2023..31/03/2024"),
    (
        2023,
        "Tháng 11/2023 - tháng 02/2024",
        "01/11/2023..29/02/2024",
    ),
    (
        2023,
        "Từ tháng 10/2023 đến tháng 3/2024",
        "01/10/2023..31/03/2024",
    ),
    (2023, "Năm 2023 - 2024", "01/01/2023..31/12/2024"),
    (2023, "2023-2025", "01/01/2023..31/12/2025"),
    (2023, "Giai đoạn 2023 - 2025", "01/01/2023..31/12/2025"),
    (
        2023,
        "Hằng quý (trước ngày 20 tháng cuối quý)",
        "rrule:FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=19",
    ),
    (
        2023,
        "Định kỳ hằng tháng (trước ngày 25)",
        "rrule:FREQ=MONTHLY;BYMONTHDAY=24",
    ),
    (2023, "Hàng tháng", "rrule:FREQ=MONTHLY;BYMONTHDAY=-1"),
    (
        2023,
        "Hằng quý, năm",
        "rrule:FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1",
    ),
    (
        2023,
        "Báo cáo định kỳ 6 tháng, năm",
        "rrule:FREQ=YEARLY;BYMONTH=6,12;BYMONTHDAY=-1",
    ),
    (
        2023,
        "Định kỳ 6 tháng và hằng năm",
        "rrule:FREQ=YEARLY;BYMONTH=6,12;BYMONTHDAY=-1",
    ),
    (
        2023,
        "Định kỳ hằng quý, trước ngày 10 của tháng cuối quý",
        "rrule:FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=9",
    ),
    (
        2023,
        "Tháng 6/2023 và tháng 12/2023",
        "30/06/2023 | 31/12/2023",
    ),
    (
        2023,
        "Đợt 1: Quý II/2023; Đợt 2: Quý IV/2023",
        "30/06/2023 | 31/12/2023",
    ),
    (
        2023,
        "Cấp huyện hoàn thành trước ngày 30/6/2023, cấp xã trước ngày 30/9/2023",
        "huyen:29/06/2023 | xa:29/09/2023",
    ),
    (2023, "Trong tháng 3/2023", "31/03/2023"),
    (2023, "Trong năm 2023", "31/12/2023"),
    (2023, "Cuối Quý II/2023", "30/06/2023"),
    (2023, "Quý III/2023 (trước ngày 15/9/2023)", "14/09/2023"),
    (2023, "Hoàn thành trong Quý II/2023", "30/06/2023"),
    (2023, "Tháng 6 năm 2023", "30/06/2023"),
    (2023, "tháng 9/2023", "30/09/2023"),
    (2023, "Trước 30/9/2023", "29/09/2023"),
    (2023, "Trước ngày 20/11/2023", "19/11/2023"),
    (2023, "Ngày 31/3/2023", "31/03/2023"),
    (2023, "Trước 15/12", "14/12/2023"),
    (
        2023,
        "Trước ngày 15/3/2023 và trước ngày 15/9/2023",
        "14/03/2023 | 14/09/2023",
    ),
    (2023, "Từ ngày 01/01/2023", "31/12/2022"),
    (2023, "Từ tháng 7/2023", "30/06/2023"),
    (2023, "Đến hết năm 2023", "31/12/2023"),
    (2023, "Đến hết Quý II/2023", "30/06/2023"),
    (
        2023,
        "Trước ngày 31/3 hằng năm",
        "rrule:FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=30",
    ),
    (
        2023,
        "Trước ngày 05 hằng tháng",
        "rrule:FREQ=MONTHLY;BYMONTHDAY=4",
    ),
    (
        2023,
        "Hằng tháng (trước ngày 20)",
        "rrule:FREQ=MONTHLY;BYMONTHDAY=19",
    ),
    (2023, "Theo yêu cầu của cơ quan có thẩm quyền", "on_request"),
    (2023, "Khi có quy định mới", "on_request"),
    (2023, "Ngay sau khi Kế hoạch được phê duyệt", "on_request"),
    (
        2023,
        "Sau khi có hướng dẫn của Văn phòng Chính phủ",
        "on_request",
    ),
    (2023, "Theo hướng dẫn của Bộ Nội vụ", "on_request OR error"),
    (2023, "Theo quy định", "on_request OR error"),
    (2023, "Liên tục", "continuous"),
    (2023, "Hằng ngày", "continuous"),
    (
        2023,
        "Năm 2023 và các năm tiếp theo",
        "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31",
    ),
    (2023, "Quý 1/2023", "31/03/2023"),
    (
        2023,
        "Quý I/2023 và Quý III/2023",
        "31/03/2023 | 30/09/2023",
    ),
    (
        2023,
        "Tháng 3 và tháng 9 năm 2023",
        "31/03/2023 | 30/09/2023",
    ),
    (2023, "Tháng 6, 12/2023", "30/06/2023 | 31/12/2023"),
    (2023, "6 tháng đầu năm 2023", "30/06/2023"),
    (2023, "Trước ngày 15/12/2023 (báo cáo năm)", "14/12/2023"),
    (
        2023,
        "Trước ngày 25/6/2023 (báo cáo 6 tháng) và trước ngày 25/11/2023 (báo cáo năm)",
        "24/06/2023 | 24/11/2023",
    ),
    (2023, "Quý IV năm 2023", "31/12/2023"),
    (2023, "Quí III/2023", "30/09/2023"),
    (2023, "Tháng 10 - 12/2023", "01/10/2023..31/12/2023"),
    (
        2023,
        "Từ ngày 01/3/2023 đến ngày 31/3/2023",
        "01/03/2023..31/03/2023",
    ),
    (2023, "Từ 15/5 - 15/6/2023", "15/05/2023..15/06/2023"),
    (2023, "Ngày 15/6/2023", "15/06/2023"),
    (2023, "15/12/2023", "15/12/2023"),
    (2023, "Năm 2024", "31/12/2024"),
    (2023, "Trước ngày 31/01/2024", "30/01/2024"),
    (2023, "Năm 2023, 2024", "31/12/2023 | 31/12/2024"),
    (
        2023,
        "Định kỳ hằng năm",
        "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=-1",
    ),
    (
        2023,
        "Hằng năm, trước ngày 30/11",
        "rrule:FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=29",
    ),
    (2023, "Trước ngày 10/01/2024", "09/01/2024"),
    (2023, "Đột xuất", "on_request"),
    (
        2023,
        "Quý II/2023 và Quý IV/2023",
        "30/06/2023 | 31/12/2023",
    ),
    (2023, "Tháng 12/2023 (trước ngày 15/12/2023)", "14/12/2023"),
    (2023, "Trước ngày 15 tháng 12 năm 2023", "14/12/2023"),
    (2023, "Trước tháng 6/2023", "31/05/2023"),
    (2023, "Trong 6 tháng cuối năm 2023", "31/12/2023"),
    (2023, "Năm 2023 - Năm 2025", "01/01/2023..31/12/2025"),
    (
        2023,
        "Thường xuyên; báo cáo kết quả trước ngày 15/12/2023",
        "14/12/2023",
    ),
    (
        2023,
        "Hằng quý (trước ngày 15 của tháng cuối quý) và đột xuất khi có yêu cầu",
        "rrule:FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=14",
    ),
    (2023, "Quý 2 năm 2023", "30/06/2023"),
    (2023, "Trước 31/12", "30/12/2023"),
    (
        2023,
        "31/12 hằng năm",
        "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=-1",
    ),
    (2023, "Năm 2023 và năm 2024", "31/12/2023 | 31/12/2024"),
    (2023, "Trong tháng 12 năm 2023", "31/12/2023"),
    (2023, "Trước ngày 01/7/2023", "30/06/2023"),
    (2023, "Tháng 7-8/2023", "01/07/2023..31/08/2023"),
    (2023, "Tháng 01-02/2024", "01/01/2024..29/02/2024"),
    (2023, "Tháng 12/2023 - 01/2024", "01/12/2023..31/01/2024"),
    (2023, "Quý I/2024", "31/03/2024"),
    (
        2023,
        "Trước ngày 15/6/2023 và trước ngày 15/12/2023",
        "14/06/2023 | 14/12/2023",
    ),
    (2023, "Trước ngày 20 tháng 12 năm 2023", "19/12/2023"),
    (
        2023,
        "Tháng 3/2023 và tháng 9/2023",
        "31/03/2023 | 30/09/2023",
    ),
    (2023, "Chậm nhất trước ngày 15/12/2023", "14/12/2023"),
    (2023, "Xong trước ngày 30/6/2023", "29/06/2023"),
    (
        2023,
        "Hoàn thành chậm nhất trong Quý III/2023",
        "30/09/2023",
    ),
    (2023, "Trước 31/3/2023", "30/03/2023"),
    (2023, "Cả năm 2023", "31/12/2023"),
    (
        2023,
        "Năm 2023 - 2025 (hằng năm)",
        "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=-1 OR error",
    ),
    (2023, "Theo Kế hoạch của UBND tỉnh", "on_request OR error"),
    (2023, "Theo tiến độ dự án", "on_request OR error"),
    (2023, "Ngay khi có văn bản hướng dẫn", "on_request"),
    (
        2023,
        "Thường xuyên, hằng năm",
        "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=-1 OR continuous",
    ),
    (
        2023,
        "Tháng 6/2023 (sơ kết); tháng 12/2023 (tổng kết)",
        "30/06/2023 | 31/12/2023",
    ),
    (
        2023,
        "Quý IV/2023 và các năm tiếp theo",
        "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31",
    ),
    (
        2023,
        "Từ năm 2023 trở đi",
        "rrule:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31 OR continuous",
    ),
    (2023, "Đến năm 2025", "31/12/2025"),
    (2023, "Tuần đầu tháng 01/2023", "07/01/2023 OR 10/01/2023"),
    (2023, "Đầu tháng 3/2023", "10/03/2023"),
    (2023, "Giữa tháng 3/2023", "15/03/2023"),
    (2023, "Cuối tháng 3/2023", "31/03/2023"),
    (2023, "Giữa năm 2023", "30/06/2023"),
    (2023, "Trước 30/6", "29/06/2023"),
    (2023, "Tháng 3 - tháng 5/2023", "01/03/2023..31/05/2023"),
    (
        2023,
        "Từ tháng 3/2023 - tháng 5/2023",
        "01/03/2023..31/05/2023",
    ),
    (
        2023,
        "Hằng quý (trước ngày 15/3, 15/6, 15/9, 15/12)",
        "rrule:FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=14",
    ),
    (
        2023,
        "Định kỳ hằng tháng, quý, 6 tháng, năm",
        "rrule:FREQ=MONTHLY;BYMONTHDAY=-1",
    ),
    (
        2023,
        "Hằng tháng (trước ngày 20 hằng tháng)",
        "rrule:FREQ=MONTHLY;BYMONTHDAY=19",
    ),
];

/// Every part of the corpus, by name.
/// One phrase: its plan year, its text, the expected reading.
pub type Case = (i32, &'static str, &'static str);

pub const ALL: &[(&str, &[Case])] = &[
    ("nghi_quyet_03_2025_chinh_phu", NGHI_QUYET_03_2025_CHINH_PHU),
    ("other_documents", OTHER_DOCUMENTS),
    ("forms_named_in_the_brief", FORMS_NAMED_IN_THE_BRIEF),
    ("typical_forms", TYPICAL_FORMS),
];
