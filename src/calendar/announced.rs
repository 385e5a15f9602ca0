//! The official holiday schedules for civil servants (công chức, viên chức), year by year, as
//! the Government announced them: which weekdays around Tết, 30/4–1/5, 2/9 and 1/1 are off,
//! which weekend days are worked in exchange (làm bù), and, when the announcement moves them,
//! which days are the five Tết days and which day is paired with 2/9.
//!
//! Each year's Prime Minister's decision (a Công văn of the Văn phòng Chính phủ, then a
//! Thông báo of the Bộ LĐTBXH, from 2025 of the Bộ Nội vụ) decides these, not the Labour
//! Code's "next working day", so they are data. Every entry cites what the stored public
//! pages name; where a page gives no document number, the entry says so rather than guess
//! one. Occasions an announcement leaves out follow the Labour Code (the statutory rule in
//! `super`), as the announcements themselves say. `docs/HOLIDAYS.md` has the table and
//! the comparison with Python's `holidays`.

use chrono::NaiveDate;

/// A date as (year, month, day).
pub type Ymd = (i32, u32, u32);

/// One announced break: every weekday from `from` to `to` is off; `workdays` are the weekend
/// days worked in exchange.
#[derive(Debug)]
pub struct Break {
    /// The occasion, in Vietnamese ("Tết Nguyên đán").
    pub name: &'static str,
    pub from: Ymd,
    pub to: Ymd,
    pub workdays: &'static [Ymd],
}

/// A year's announced schedule.
#[derive(Debug)]
pub struct Announcement {
    pub year: i32,
    /// Whether the dates were read from a stored public source; an unconfirmed year is not
    /// applied (the statutory rule stands) and says why in `note`.
    pub confirmed: bool,
    /// The documents, as the sources cite them.
    pub document: &'static str,
    /// Where the dates were read, and what is uncertain.
    pub note: &'static str,
    /// The first of the Tết days off, when the announcement does not start them on the eve
    /// (e.g. 29 tháng Chạp to mùng 3 instead of the eve to mùng 4).
    pub tet_first: Option<Ymd>,
    /// The day the announcement pairs with 2/9 (1/9 or 3/9; from 2021).
    pub national_day_companion: Option<Ymd>,
    pub breaks: &'static [Break],
}

/// A break, written on one line in the table.
const fn br(name: &'static str, from: Ymd, to: Ymd, workdays: &'static [Ymd]) -> Break {
    Break {
        name,
        from,
        to,
        workdays,
    }
}

const TET: &str = "Tết Nguyên đán";
const NEW_YEAR: &str = "Tết Dương lịch";
const APRIL_MAY: &str = "Ngày Chiến thắng và Quốc tế Lao động";
const HUNG_KINGS: &str = "Giỗ Tổ Hùng Vương";
const HUNG_KINGS_APRIL_MAY: &str = "Giỗ Tổ Hùng Vương, Ngày Chiến thắng và Quốc tế Lao động";
const NATIONAL_DAY: &str = "Quốc khánh";

/// The announcements, by year. Keep sorted: [`LAST_YEAR`] is the last one.
pub const ANNOUNCEMENTS: &[Announcement] = &[
    Announcement {
        year: 2010,
        confirmed: true,
        document: "Ý kiến của Thủ tướng Chính phủ (tháng 2/2010), Bộ LĐTBXH được ủy quyền thông báo; \
                   số văn bản không có trong nguồn đã lưu",
        note: "Báo Hànộimới 06/02/2010 (tet-canh-dan-2010-cong-chuc-duoc-nghi-9-ngay). \
               Các dịp khác: theo Bộ luật Lao động (không tìm thấy nguồn).",
        tet_first: None,
        national_day_companion: None,
        breaks: &[br(TET, (2010, 2, 13), (2010, 2, 21), &[(2010, 2, 27)])],
    },
    Announcement {
        year: 2011,
        confirmed: true,
        document: "Công văn của Văn phòng Chính phủ truyền đạt ý kiến Thủ tướng về hoán đổi ngày \
                   nghỉ dịp Tết Tân Mão và Giỗ Tổ 2011; số văn bản không có trong nguồn đã lưu",
        note: "Báo Lạng Sơn (nghi-tet-nguyen-dan-tan-mao-tam-ngay): làm thay thứ Bảy 29/1 và \
               Chủ nhật 30/1, làm thay thứ Bảy 9/4.",
        tet_first: None,
        national_day_companion: None,
        breaks: &[
            br(TET, (2011, 1, 31), (2011, 2, 7), &[(2011, 1, 29), (2011, 1, 30)]),
            br(HUNG_KINGS, (2011, 4, 10), (2011, 4, 12), &[(2011, 4, 9)]),
        ],
    },
    Announcement {
        year: 2012,
        confirmed: true,
        document: "Ý kiến của Thủ tướng Chính phủ ngày 27/12/2011 theo đề nghị của Bộ LĐTBXH; \
                   số văn bản không có trong nguồn đã lưu",
        note: "Báo Bình Định (theo chinhphu.vn) và Tiền Phong: chỉ Tết có hoán đổi năm 2012.",
        tet_first: None,
        national_day_companion: None,
        breaks: &[br(TET, (2012, 1, 21), (2012, 1, 29), &[(2012, 2, 4)])],
    },
    Announcement {
        year: 2013,
        confirmed: true,
        document: "Thông báo thời gian nghỉ các ngày lễ, Tết năm 2013 (theo ý kiến Thủ tướng); \
                   số văn bản không có trong nguồn đã lưu",
        note: "Báo Thái Nguyên 28/12/2012. Tết còn 4 ngày: Bộ luật Lao động 2012 có hiệu lực \
               từ 1/5/2013.",
        tet_first: None,
        national_day_companion: None,
        breaks: &[
            br(NEW_YEAR, (2012, 12, 29), (2013, 1, 1), &[(2013, 1, 5)]),
            br(TET, (2013, 2, 9), (2013, 2, 17), &[(2013, 2, 23)]),
            br(APRIL_MAY, (2013, 4, 27), (2013, 5, 1), &[(2013, 5, 4)]),
        ],
    },
    Announcement {
        year: 2014,
        confirmed: true,
        document: "Công văn 10525/VPCP-KGVX ngày 12/12/2013",
        note: "dienbien.edu.vn, Báo Đồng Tháp, Lao Động. Nguồn ghi làm bù \"26/04/2013\": \
               là thứ Bảy 26/4/2014.",
        tet_first: None,
        national_day_companion: None,
        breaks: &[
            br(TET, (2014, 1, 28), (2014, 2, 5), &[(2014, 1, 25), (2014, 2, 8)]),
            br(APRIL_MAY, (2014, 4, 30), (2014, 5, 4), &[(2014, 4, 26)]),
            br(NATIONAL_DAY, (2014, 8, 30), (2014, 9, 2), &[(2014, 9, 6)]),
        ],
    },
    Announcement {
        year: 2015,
        confirmed: true,
        document: "Thông báo của Bộ LĐTBXH về nghỉ Tết và hoán đổi ngày làm việc năm 2015 (theo \
                   Tờ trình 89/TTr-LĐTBXH ngày 20/11/2014); số thông báo không có trong nguồn đã lưu",
        note: "xahoi.com.vn (thong-bao-chinh-thuc-lich-ngay-nghi-ngay-di-lam-bu-dip-le-tet-2015): \
               Tết là 29 tháng Chạp đến mùng 3 (17/2–21/2), nghỉ bù 23/2. Quốc khánh: theo \
               Bộ luật Lao động (không tìm thấy nguồn).",
        tet_first: Some((2015, 2, 17)),
        national_day_companion: None,
        breaks: &[
            br(NEW_YEAR, (2015, 1, 1), (2015, 1, 4), &[(2014, 12, 27)]),
            br(TET, (2015, 2, 15), (2015, 2, 23), &[(2015, 2, 14)]),
            br(HUNG_KINGS_APRIL_MAY, (2015, 4, 28), (2015, 5, 3), &[(2015, 4, 25)]),
        ],
    },
    Announcement {
        year: 2016,
        confirmed: true,
        document: "Thông báo 4659/TB-LĐTBXH ngày 13/11/2015",
        note: "ngaynay.vn; không hoán đổi ngày nào năm 2016 (kienthuc.net.vn).",
        tet_first: None,
        national_day_companion: None,
        breaks: &[br(TET, (2016, 2, 6), (2016, 2, 14), &[])],
    },
    Announcement {
        year: 2017,
        confirmed: true,
        document: "Công văn 9794/VPCP-KGVX ngày 14/11/2016; thông báo của Bộ trưởng Bộ LĐTBXH \
                   ngày 24/11/2016",
        note: "thuvienphapluat.vn, bnews.vn: Tết là 29 tháng Chạp đến mùng 3 (26/1–30/1), \
               nghỉ bù 31/1 và 1/2.",
        tet_first: Some((2017, 1, 26)),
        national_day_companion: None,
        breaks: &[br(TET, (2017, 1, 26), (2017, 2, 1), &[])],
    },
    Announcement {
        year: 2018,
        confirmed: true,
        document: "Thông báo của Bộ LĐTBXH do Bộ trưởng ký ngày 22/12/2017; số văn bản không có \
                   trong nguồn đã lưu",
        note: "evn.com.vn: Tết là 29 tháng Chạp đến mùng 3 (14/2–18/2), nghỉ bù 19/2 và 20/2; \
               Quốc khánh 1/9–3/9.",
        tet_first: Some((2018, 2, 14)),
        national_day_companion: None,
        breaks: &[
            br(TET, (2018, 2, 14), (2018, 2, 20), &[]),
            br(NATIONAL_DAY, (2018, 9, 1), (2018, 9, 3), &[]),
        ],
    },
    Announcement {
        year: 2019,
        confirmed: true,
        document: "Thông báo 3238/TB-LĐTBXH (tháng 9/2018)",
        note: "Báo Nghệ An 11/9/2018, docnhanh.vn; Quốc khánh 31/8–2/9 (Nhân Dân).",
        tet_first: None,
        national_day_companion: None,
        breaks: &[
            br(NEW_YEAR, (2018, 12, 29), (2019, 1, 1), &[(2019, 1, 5)]),
            br(TET, (2019, 2, 2), (2019, 2, 10), &[]),
            br(APRIL_MAY, (2019, 4, 27), (2019, 5, 1), &[(2019, 5, 4)]),
            br(NATIONAL_DAY, (2019, 8, 31), (2019, 9, 2), &[]),
        ],
    },
    Announcement {
        year: 2020,
        confirmed: true,
        document: "Văn bản số 4544 của Bộ LĐTBXH ngày 25/10/2019 (ký hiệu đầy đủ không có trong \
                   nguồn đã lưu)",
        note: "baosuckhoecongdong.vn, Sở Công Thương Đắk Lắk: Tết là 29 tháng Chạp đến mùng 3 \
               (23/1–27/1), nghỉ bù 28/1 và 29/1.",
        tet_first: Some((2020, 1, 23)),
        national_day_companion: None,
        breaks: &[br(TET, (2020, 1, 23), (2020, 1, 29), &[])],
    },
    Announcement {
        year: 2021,
        confirmed: true,
        document: "Công văn 9895/VPCP-KGVX ngày 26/11/2020",
        note: "thuvienphapluat.vn (bản văn), Hànộimới: Tết 10/2–16/2 (5 ngày Tết từ 29 tháng \
               Chạp và 2 ngày nghỉ bù); Quốc khánh 2/9–5/9.",
        tet_first: Some((2021, 2, 10)),
        national_day_companion: Some((2021, 9, 3)),
        breaks: &[
            br(TET, (2021, 2, 10), (2021, 2, 16), &[]),
            br(NATIONAL_DAY, (2021, 9, 2), (2021, 9, 5), &[]),
        ],
    },
    Announcement {
        year: 2022,
        confirmed: true,
        document: "Công văn 245/VPCP-KGVX ngày 11/01/2022",
        note: "vntrip.vn, Báo Quốc tế: Tết 31/1–4/2 (1 ngày trước Tết, 4 ngày sau); Quốc khánh \
               1/9–2/9. \"Thông báo 5881/TB-LĐTBXH\" không tìm thấy trong nguồn đã lưu.",
        tet_first: None,
        national_day_companion: Some((2022, 9, 1)),
        breaks: &[
            br(TET, (2022, 1, 29), (2022, 2, 6), &[]),
            br(NATIONAL_DAY, (2022, 9, 1), (2022, 9, 4), &[]),
        ],
    },
    Announcement {
        year: 2023,
        confirmed: true,
        document: "Công văn 8056/VPCP-KGVX ngày 01/12/2022",
        note: "Truyền hình Nghệ An, ngaymoionline.com.vn: Tết 20/1–26/1 (29 tháng Chạp đến \
               mùng 5), Quốc khánh 1/9–4/9.",
        tet_first: Some((2023, 1, 20)),
        national_day_companion: Some((2023, 9, 1)),
        breaks: &[
            br(TET, (2023, 1, 20), (2023, 1, 26), &[]),
            br(NATIONAL_DAY, (2023, 9, 1), (2023, 9, 4), &[]),
        ],
    },
    Announcement {
        year: 2024,
        confirmed: true,
        document: "Công văn 8662/VPCP-KGVX (tháng 11/2023); Công văn 2450/VPCP-KGVX ngày 12/4/2024 \
                   (30/4–1/5)",
        note: "chatluongvacuocsong.vn, sucsongtre.vn: Tết 8/2–14/2 (5 ngày Tết từ 29 tháng Chạp \
               và 2 ngày nghỉ bù), Quốc khánh 31/8–3/9; baotintuc.vn: 30/4–1/5 nghỉ 5 ngày, \
               làm bù thứ Bảy 4/5.",
        tet_first: Some((2024, 2, 8)),
        national_day_companion: Some((2024, 9, 3)),
        breaks: &[
            br(TET, (2024, 2, 8), (2024, 2, 14), &[]),
            br(APRIL_MAY, (2024, 4, 27), (2024, 5, 1), &[(2024, 5, 4)]),
            br(NATIONAL_DAY, (2024, 8, 31), (2024, 9, 3), &[]),
        ],
    },
    Announcement {
        year: 2025,
        confirmed: true,
        document: "Công văn 8726/VPCP-KGVX ngày 26/11/2024; Thông báo 6150/TB-BLĐTBXH (năm 2024)",
        note: "vtv9.vtv.vn: Tết 27/1–31/1 (28 tháng Chạp đến mùng 3), kỳ nghỉ 25/1–2/2; \
               kntb.vn: 30/4–4/5, làm bù thứ Bảy 26/4; Báo Đà Nẵng: Quốc khánh 30/8–2/9.",
        tet_first: Some((2025, 1, 27)),
        national_day_companion: Some((2025, 9, 1)),
        breaks: &[
            br(TET, (2025, 1, 25), (2025, 2, 2), &[]),
            br(APRIL_MAY, (2025, 4, 30), (2025, 5, 4), &[(2025, 4, 26)]),
            br(NATIONAL_DAY, (2025, 8, 30), (2025, 9, 2), &[]),
        ],
    },
    Announcement {
        year: 2026,
        confirmed: true,
        document: "Công văn 12729/VPCP-KGVX ngày 25/12/2025 (Tết Dương lịch); văn bản của Văn \
                   phòng Chính phủ truyền đạt ý kiến Thủ tướng (tháng 10/2025) về Tết Âm lịch và \
                   Quốc khánh, số văn bản không có trong nguồn đã lưu; Bộ Nội vụ thông báo",
        note: "24h.com.vn: 1/1–4/1, làm bù thứ Bảy 10/1; kienthuc.net.vn 13/10/2025: Tết 14/2–22/2, \
               Quốc khánh 29/8–2/9 (1/9 và 2/9), làm bù thứ Bảy 22/8. Giỗ Tổ, 30/4–1/5: theo \
               Bộ luật Lao động.",
        tet_first: None,
        national_day_companion: Some((2026, 9, 1)),
        breaks: &[
            br(NEW_YEAR, (2026, 1, 1), (2026, 1, 4), &[(2026, 1, 10)]),
            br(TET, (2026, 2, 14), (2026, 2, 22), &[]),
            br(NATIONAL_DAY, (2026, 8, 29), (2026, 9, 2), &[(2026, 8, 22)]),
        ],
    },
];

/// The last year with an announcement: Tết after it is not announced yet.
pub const LAST_YEAR: i32 = 2026;

/// The confirmed announcement of `year`, if any.
pub fn announcement(year: i32) -> Option<&'static Announcement> {
    ANNOUNCEMENTS.iter().find(|a| a.year == year && a.confirmed)
}

/// Whether the Tết of `year` is still to be announced: after the table, or not confirmed.
pub fn tet_unannounced(year: i32) -> bool {
    year > LAST_YEAR || ANNOUNCEMENTS.iter().any(|a| a.year == year && !a.confirmed)
}

pub fn date(ymd: Ymd) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(ymd.0, ymd.1, ymd.2)
}

/// Every confirmed break, with the date range it covers (whatever year it belongs to: the 2019
/// announcement gives 31/12/2018 off).
pub fn breaks() -> impl Iterator<Item = (&'static Break, NaiveDate, NaiveDate)> {
    ANNOUNCEMENTS
        .iter()
        .filter(|a| a.confirmed)
        .flat_map(|a| a.breaks.iter())
        .filter_map(|b| Some((b, date(b.from)?, date(b.to)?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Weekday};

    #[test]
    fn table_is_sorted_and_well_formed() {
        let years: Vec<i32> = ANNOUNCEMENTS.iter().map(|a| a.year).collect();
        let mut sorted = years.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(years, sorted);
        assert_eq!(years.first(), Some(&2010));
        assert_eq!(years.last(), Some(&LAST_YEAR));
        assert_eq!(years.len(), (2010..=LAST_YEAR).count());
        for a in ANNOUNCEMENTS {
            assert!(!a.document.is_empty() && !a.note.is_empty(), "{}", a.year);
            for b in a.breaks {
                let (from, to) = (date(b.from).unwrap(), date(b.to).unwrap());
                assert!(from <= to, "{} {}", a.year, b.name);
                assert!((to - from).num_days() < 12, "{} {}", a.year, b.name);
                for w in b.workdays {
                    // Make-up days are weekend days, near their break.
                    let w = date(*w).unwrap();
                    assert!(
                        matches!(w.weekday(), Weekday::Sat | Weekday::Sun),
                        "{} {w}",
                        a.year
                    );
                    assert!((w - from).num_days().abs() < 40, "{} {w}", a.year);
                }
            }
            for d in a.tet_first.iter().chain(&a.national_day_companion) {
                assert_eq!(date(*d).unwrap().year(), a.year);
            }
        }
    }

    #[test]
    fn unannounced_years() {
        assert!(!tet_unannounced(2019));
        assert!(!tet_unannounced(LAST_YEAR));
        assert!(tet_unannounced(LAST_YEAR + 1));
        assert!(announcement(2027).is_none());
    }
}
