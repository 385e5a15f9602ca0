//! An agency's deadlines as an iCalendar feed (RFC 5545, the `icalendar` crate), for Outlook,
//! Thunderbird or Google Calendar to subscribe to: each deadline an all-day event with the
//! plan, the task, the time as the plan writes it and the agency's role, and an alarm some days
//! before. Pure: the config (answers laid over it), the agency and the time are passed in.
//!
//! UIDs come from the plan, the task, the agency and the deadline as the plan gives it, so an
//! extension moves the same event (with a higher SEQUENCE) instead of adding one. All-day
//! events carry dates, not times: no VTIMEZONE is needed; the calendar names its zone
//! (X-WR-TIMEZONE) for clients that show it.

use crate::answers::citation;
use crate::config::Config;
use crate::deadline::Deadline;
use crate::schedule::Role;
use chrono::{DateTime, Days, NaiveDate, Utc};
use icalendar::{Alarm, Calendar, Component, Event, EventLike, EventStatus};
use sha2::{Digest, Sha256};

/// The alarm goes off this many days before a deadline.
pub const ALARM_DAYS: i64 = 3;
/// Occurrences of recurring tasks are listed up to this many days ahead.
pub const HORIZON_DAYS: u64 = 400;
/// Clients are asked to refresh this often.
const REFRESH: &str = "PT6H";

/// The stable identity of one deadline of one agency.
fn uid(plan: &str, task: &str, agency: &str, deadline: NaiveDate) -> String {
    let h = Sha256::new()
        .chain_update(plan.as_bytes())
        .chain_update([0])
        .chain_update(task.as_bytes())
        .chain_update([0])
        .chain_update(agency.as_bytes())
        .chain_update([0])
        .chain_update(deadline.to_string().as_bytes())
        .finalize();
    format!("{}@nhacviec", hex::encode(&h[..16]))
}

/// The feed of `agency` at `now` (`today` in the config's zone): every deadline of its tasks
/// in plans not closed, recurring ones up to [`HORIZON_DAYS`] ahead.
pub fn feed(config: &Config, agency: &str, today: NaiveDate, now: DateTime<Utc>) -> String {
    let name = one_line(&config.agency_name(agency));
    let title = escape(&format!("Nhắc việc — {name}"));
    let mut cal = Calendar::new();
    // NAME as the crate writes it is not escaped: both names are written here.
    cal.append_property(icalendar::Property::new("NAME", &title))
        .append_property(icalendar::Property::new("X-WR-CALNAME", &title))
        .description(&format!(
            "Hạn các nhiệm vụ của {name} theo kế hoạch của tỉnh"
        ))
        .timezone(config.timezone.name())
        .append_property(
            icalendar::Property::new("REFRESH-INTERVAL", REFRESH)
                .append_parameter(("VALUE", "DURATION"))
                .done(),
        )
        .append_property(icalendar::Property::new("X-PUBLISHED-TTL", REFRESH));
    let horizon = today
        .checked_add_days(Days::new(HORIZON_DAYS))
        .unwrap_or(today);
    for plan in config.plans.iter().filter(|p| !p.is_closed()) {
        for task in &plan.tasks {
            let Some(role) = crate::report::role_in(task, agency) else {
                continue;
            };
            let planned =
                crate::report::agency_deadlines(config, task, agency, role, plan, horizon);
            let recurring = matches!(task.deadline, Deadline::Recurring { .. });
            for d in planned {
                let due = task.deadline_for(agency, d);
                // A recurring task's past occurrences that are done add nothing to a calendar.
                let done = task.done_for(agency, d);
                if recurring && due < today && done.is_some() {
                    continue;
                }
                let moves = task
                    .extended
                    .get(agency)
                    .map_or(0, |m| m.iter().filter(|(from, _)| *from == d).count());
                let title = one_line(&task.title);
                let short: String = title.chars().take(80).collect();
                let ellipsis = if title.chars().count() > 80 {
                    "…"
                } else {
                    ""
                };
                let mut summary = format!(
                    "Hạn nhiệm vụ {} ({}): {short}{ellipsis}",
                    one_line(&task.id),
                    one_line(&plan.number)
                );
                if done.is_some() {
                    summary = format!("[Đã hoàn thành] {summary}");
                }
                let mut description = format!(
                    "{}\nNhiệm vụ {}: {}\nThời gian: {}\nVai trò: {}",
                    one_line(&citation(plan)),
                    one_line(&task.id),
                    title,
                    one_line(task.time_text.as_deref().unwrap_or("—")),
                    match role {
                        Role::Lead => "chủ trì",
                        _ => "phối hợp",
                    }
                );
                if due != d {
                    description.push_str(&format!(
                        "\nĐã gia hạn: từ {} đến {}",
                        crate::dates::dmy(d),
                        crate::dates::dmy(due)
                    ));
                }
                if let Some(on) = done {
                    description
                        .push_str(&format!("\nĐã hoàn thành ngày {}", crate::dates::dmy(on)));
                }
                let mut event = Event::new();
                event
                    .uid(&uid(&plan.number, &task.id, agency, d))
                    .timestamp(now)
                    .sequence(moves as u32)
                    .summary(&summary)
                    .description(&description)
                    .starts(due)
                    .ends(due.checked_add_days(Days::new(1)).unwrap_or(due))
                    .status(EventStatus::Confirmed)
                    .append_property(icalendar::Property::new("TRANSP", "TRANSPARENT"));
                if done.is_none() {
                    event.alarm(Alarm::display(
                        &format!(
                            "Còn {ALARM_DAYS} ngày đến hạn nhiệm vụ {}",
                            one_line(&task.id)
                        ),
                        -chrono::Duration::days(ALARM_DAYS),
                    ));
                }
                cal.push(event.done());
            }
        }
    }
    fold(&cal.done().to_string())
}

/// Config text as one line of an iCalendar value: line breaks become spaces, other control
/// characters and bidirectional overrides are dropped, so a name or a title can neither start
/// a property of its own nor reorder what a client shows.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if matches!(c, '\r' | '\n') { ' ' } else { c })
        .filter(|c| !crate::text::is_unprintable(*c))
        .collect()
}

/// RFC 5545 TEXT escaping (3.3.11), for values written with `Property::new`, which the crate
/// writes as given.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Every content line folded at 75 octets (RFC 5545 3.1), between characters: the crate's own
/// folding undone first, so the rule holds whatever it does.
fn fold(ics: &str) -> String {
    const MAX: usize = 75;
    let mut logical: Vec<String> = Vec::new();
    for line in ics.split("\r\n") {
        match (line.strip_prefix([' ', '\t']), logical.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ if line.is_empty() => {}
            _ => logical.push(line.to_string()),
        }
    }
    let mut out = String::with_capacity(ics.len() + ics.len() / 64);
    for line in &logical {
        let mut width = 0;
        for c in line.chars() {
            if width + c.len_utf8() > MAX {
                out.push_str("\r\n ");
                width = 1;
            }
            out.push(c);
            width += c.len_utf8();
        }
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_keeps_its_uid_whatever_it_moves_to() {
        let d = NaiveDate::from_ymd_opt(2022, 6, 18).unwrap();
        let a = uid("50/KH-UBND", "10.1", "so-noi-vu", d);
        assert_eq!(a, uid("50/KH-UBND", "10.1", "so-noi-vu", d));
        assert_ne!(a, uid("50/KH-UBND", "10.1", "so-tu-phap", d));
        assert_ne!(
            a,
            uid("50/KH-UBND", "10.1", "so-noi-vu", d.succ_opt().unwrap())
        );
        // Fields cannot run into each other.
        assert_ne!(uid("1", "23", "x", d), uid("12", "3", "x", d));
        assert!(a.ends_with("@nhacviec"));
    }

    #[test]
    fn config_text_cannot_add_a_property_and_lines_fold_at_75_octets() {
        let text = "[[level]]\nid = \"tinh\"\nname = \"cấp tỉnh\"\n[[agency]]\nid = \"snv\"\nlevel = \"tinh\"\nname = \"Sở Nội vụ\\r\\nX-EVIL:1; a, b \\\\ c \\u202E\"\nemail = [\"a@b.vn\"]\n";
        let plan = format!(
            "[plan]\nnumber = \"1/KH\"\ntitle = \"K\"\nissuer = \"UBND\"\nissued = 2026-01-05\n[[task]]\nid = \"1\"\ntitle = \"{}\\r\\nBEGIN:VALARM\\u001b[31m\"\nlead = [\"snv\"]\ntime = \"Tháng 12/2026\"\n",
            "Hạn nhiệm vụ rất dài ".repeat(12)
        );
        use crate::config::diag::Source;
        let a = crate::config::analyze(&crate::config::Sources::in_memory(
            None,
            Source::new("a.toml", text),
            vec![Source::new("plans/k.toml", plan)],
        ));
        assert!(!a.has_errors(), "{:?}", a.diagnostics);
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let out = feed(&a.config, "snv", today, Utc::now());
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert!(lines.iter().all(|l| l.len() <= 75), "{out}");
        assert!(
            lines.iter().any(|l| l.starts_with(' ')),
            "a long title is folded"
        );
        for l in &lines {
            assert!(
                !l.starts_with("X-EVIL") && !l.starts_with("BEGIN:VALARM\u{1b}"),
                "{out}"
            );
            assert!(!l.contains('\r') && !l.contains('\u{1b}') && !l.contains('\u{202E}'));
        }
        let unfolded = out.replace("\r\n ", "");
        assert!(
            unfolded.contains("NAME:Nhắc việc — Sở Nội vụ  X-EVIL:1\\; a\\, b \\\\ c "),
            "{unfolded}"
        );
        assert_eq!(
            unfolded
                .split("\r\n")
                .filter(|l| *l == "BEGIN:VALARM")
                .count(),
            1,
            "the task's own alarm only"
        );
        // Folding only splits between characters: unfolded, the text is whole.
        assert!(unfolded.contains(&"Hạn nhiệm vụ rất dài ".repeat(3)));
    }
}
