//! What the service will send, and when: its passes from an instant, simulated with the rules
//! `deliver::tick` applies (the same schedule window, watermark, catch-up horizon, send hours
//! and cron), on top of what its ledger already handled. `preview`, `check`'s warning about a
//! late-entered plan and the service's reload log all read this, so what they announce is
//! what `run` does. Pure: the ledger, the calendar and the instant are passed in.

use crate::calendar::Calendar;
use crate::config::Config;
use crate::dates::dmy;
use crate::schedule::{Digest, Handled, Schedule, Tick};
use chrono::{DateTime, Days, NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// How far back before the catch-up horizon the service's schedule starts: the stale slots of
/// the last month are still there to be recorded as skipped.
pub const SLACK_DAYS: u64 = 31;

/// The first slot date a schedule built on `today` holds: nothing older can be sent.
pub fn schedule_from(config: &Config, today: NaiveDate) -> Option<NaiveDate> {
    today.checked_sub_days(Days::new(u64::from(config.catch_up_days) + SLACK_DAYS))
}

/// Nothing dated before this goes out on `today` (it is recorded as skipped).
pub fn horizon(config: &Config, today: NaiveDate) -> Option<NaiveDate> {
    today.checked_sub_days(Days::new(u64::from(config.catch_up_days)))
}

/// Where a pass on `today` starts looking: after the ledger's watermark when the schedule
/// through it is the one recorded then; else everything (the clock went back, or the plans
/// changed at or before the watermark).
pub fn since(
    schedule: &Schedule,
    watermark: Option<NaiveDate>,
    recorded_fingerprint: Option<&str>,
    today: NaiveDate,
) -> Option<NaiveDate> {
    watermark.filter(|w| {
        *w <= today && recorded_fingerprint == Some(schedule.fingerprint_through(*w).as_str())
    })
}

/// What the service has recorded: the slots it handled, its watermark and the schedule's
/// fingerprint through it (the store's ledger; empty for a first start).
pub struct Ledger<'a> {
    pub handled: &'a dyn Handled,
    pub watermark: Option<NaiveDate>,
    pub fingerprint: Option<String>,
    /// The latest weekly report time made or noted (`None`: no report ever: the first pass
    /// only notes the latest report time, as `deliver::reports` does).
    pub last_report: Option<DateTime<chrono::Utc>>,
}

impl Ledger<'_> {
    /// A ledger with nothing in it: a service that has never run.
    pub fn empty() -> Ledger<'static> {
        static NONE: std::sync::OnceLock<HashSet<String>> = std::sync::OnceLock::new();
        Ledger {
            handled: NONE.get_or_init(HashSet::new),
            watermark: None,
            fingerprint: None,
            last_report: None,
        }
    }
}

/// Why a pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The pass a start of the service makes at once (at the send hours' next opening when
    /// outside them): what was missed while it was down, or everything due on a first start.
    Start,
    /// A regular `[schedule] reminders` tick (deferred to the opening when outside the hours).
    Tick,
    /// A weekly report to a monitoring office, at its `[schedule] report` time (or at the
    /// start pass when that time passed earlier the same day and the report was not made).
    Report,
}

impl Trigger {
    pub fn vi(self) -> &'static str {
        match self {
            Trigger::Start => "khi khởi động",
            Trigger::Tick => "theo lịch",
            Trigger::Report => "báo cáo tuần",
        }
    }
}

/// One simulated pass and what it decides.
#[derive(Debug, Clone)]
pub struct Pass {
    pub at: DateTime<Tz>,
    pub trigger: Trigger,
    pub tick: Tick,
}

/// When a pass wanted at `at` runs: then if the send hours are open, else at their next
/// opening or at the reminders' first tick of that opening's day (`deliver::Engine`'s rule).
pub fn runs_at(
    config: &Config,
    calendar: &Calendar,
    cron: &croner::Cron,
    at: DateTime<Tz>,
) -> DateTime<Tz> {
    use chrono::Timelike;
    // Whole seconds: croner keeps the sub-second part of the instant it starts from.
    let at = at.with_nanosecond(0).unwrap_or(at);
    let local = at.naive_local();
    if config.send_hours.is_open(calendar, local) {
        return at;
    }
    let tz = at.timezone();
    let deferred = config.send_hours.deferred_to(calendar, local, |opens| {
        let opens = tz.from_local_datetime(&opens).earliest()?;
        cron.find_next_occurrence(&opens, true)
            .ok()
            .map(|t| t.naive_local())
    });
    tz.from_local_datetime(&deferred).earliest().unwrap_or(at)
}

/// The instants the service runs a pass between `start` and the end of `to`: the start pass
/// (when `starts` says the service is started at `start`) and each cron tick, each moved by
/// the send hours; sorted, one per instant.
pub fn pass_times(
    config: &Config,
    calendar: &Calendar,
    cron: &croner::Cron,
    start: DateTime<Tz>,
    starts: bool,
    to: NaiveDate,
) -> Vec<(DateTime<Tz>, Trigger)> {
    let mut times: BTreeMap<DateTime<Tz>, Trigger> = BTreeMap::new();
    if starts {
        let at = runs_at(config, calendar, cron, start);
        if at.date_naive() <= to {
            times.insert(at, Trigger::Start);
        }
    }
    for tick in cron.iter_from(start, croner::Direction::Forward) {
        if tick.date_naive() > to {
            break;
        }
        let at = runs_at(config, calendar, cron, tick);
        // A tick outside the hours deferred to a later tick of the opening's day: that tick
        // is the pass, and comes in its turn.
        if at != tick && cron.find_next_occurrence(&at, true).ok() == Some(at) && at > tick {
            continue;
        }
        if at.date_naive() > to {
            continue;
        }
        times.entry(at).or_insert(Trigger::Tick);
    }
    times.into_iter().collect()
}

/// The first pass from `now`: the start pass when the service starts then, else the next
/// regular tick (moved by the send hours).
pub fn first_pass_time(
    config: &Config,
    calendar: &Calendar,
    cron: &croner::Cron,
    now: DateTime<Tz>,
    starts: bool,
) -> Option<(DateTime<Tz>, Trigger)> {
    if starts {
        return Some((runs_at(config, calendar, cron, now), Trigger::Start));
    }
    // Ticks deferred to a later tick are that tick's pass: the earliest pass is the least.
    cron.iter_from(now, croner::Direction::Forward)
        .take(2)
        .map(|tick| runs_at(config, calendar, cron, tick))
        .min()
        .map(|at| (at, Trigger::Tick))
}

/// What the first pass from `now` would send late ([`late_entries`]), on the service's
/// schedule and ledger.
/// `known`: what counts as already told, for "nobody was reminded" (in real mode the trial
/// ledger too: a rehearsed reminder is not news to the operator switching trial mode off).
pub fn late_entries_from(
    config: &Config,
    calendar: &Calendar,
    schedule: &Schedule,
    ledger: &Ledger<'_>,
    known: &dyn Handled,
    now: DateTime<Tz>,
    starts: bool,
) -> Vec<LateEntry> {
    let Ok(cron) = crate::config::parse_cron(&config.reminders) else {
        return Vec::new();
    };
    let Some(first) = first_pass_time(config, calendar, &cron, now, starts) else {
        return Vec::new();
    };
    let ps = passes(config, schedule, ledger, &[first]);
    ps.first()
        .map(|p| late_entries(schedule, known, p, now.date_naive()))
        .unwrap_or_default()
}

impl LateEntry {
    /// The admin's warning: how many, to whom, when, and what to do.
    pub fn message_vi(&self, config: &Config, today: NaiveDate) -> String {
        const NAMED: usize = 5;
        let mut names: Vec<String> = self
            .agencies
            .iter()
            .take(NAMED)
            .map(|a| config.agency(a).map_or(a.clone(), |a| a.name.clone()))
            .collect();
        if self.agencies.len() > NAMED {
            names.push(format!("và {} cơ quan khác", self.agencies.len() - NAMED));
        }
        let period = if self.first_deadline == self.last_deadline {
            format!("hạn {}", dmy(self.first_deadline))
        } else {
            format!(
                "các hạn từ {} đến {}",
                dmy(self.first_deadline),
                dmy(self.last_deadline)
            )
        };
        format!(
            "kế hoạch {}: lần gửi {} lúc {} {} {} sẽ gửi {} thông báo quá hạn cho {} cơ quan ({}) về {period}, đã qua trước {} mà chưa được nhắc về hạn này",
            self.plan,
            self.trigger.vi(),
            self.at.format("%H:%M"),
            crate::deadline::weekday_vi(self.at.date_naive()),
            dmy(self.at.date_naive()),
            self.notices,
            self.agencies.len(),
            names.join(", "),
            dmy(today),
        )
    }

    /// What the admin can do about it.
    pub fn help_vi(&self, today: NaiveDate) -> String {
        format!(
            "nếu kế hoạch được nhập muộn và các kỳ đã qua không cần nhắc, thêm reminders_from = {} vào [plan] (không nhắc gì về các hạn trước ngày đó); việc đã xong thì để cơ quan báo hoàn thành trên trang trả lời",
            today.format("%Y-%m-%d")
        )
    }
}

/// When the weekly reports go out from `start` to the end of `to`, as `deliver::reports`
/// decides at each pass: at each `report` time after `start` (moved by the send hours), and
/// at the start pass (`starts`) when the latest report time passed earlier that day, the
/// ledger has made reports before and not that one. A ledger that never made one only notes
/// the report time a first pass finds.
pub fn report_times(
    config: &Config,
    calendar: &Calendar,
    start: DateTime<Tz>,
    starts: bool,
    to: NaiveDate,
    last_report: Option<DateTime<chrono::Utc>>,
) -> Vec<DateTime<Tz>> {
    let (Ok(report), Ok(reminders)) = (
        crate::config::parse_cron(&config.report),
        crate::config::parse_cron(&config.reminders),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if starts {
        if let (Some(last), Ok(due)) = (last_report, report.find_previous_occurrence(&start, true))
        {
            let could_go = config.send_hours.next_open(calendar, due.naive_local());
            if last < due.with_timezone(&chrono::Utc) && could_go.date() >= start.date_naive() {
                out.push(runs_at(config, calendar, &reminders, start));
            }
        }
    }
    for due in report.iter_after(start) {
        if due.date_naive() > to {
            break;
        }
        let at = runs_at(config, calendar, &reminders, due);
        if at.date_naive() <= to {
            out.push(at);
        }
    }
    out
}

/// What the slots already decided during the simulation add to the ledger's.
struct Seen<'a> {
    prior: &'a dyn Handled,
    now: HashSet<String>,
}

impl Handled for Seen<'_> {
    fn is_handled(&self, key: &str) -> bool {
        self.now.contains(key) || self.prior.is_handled(key)
    }

    fn handled_among(&self, keys: &[&str]) -> Option<HashSet<String>> {
        let mut found = self.prior.handled_among(keys)?;
        found.extend(
            keys.iter()
                .filter(|k| self.now.contains(**k))
                .map(|k| k.to_string()),
        );
        Some(found)
    }
}

/// The service's passes at `times` on `schedule` (built from [`schedule_from`] of the first
/// pass's day, to past the last), each deciding as `deliver::tick` does and recording what it
/// decided before the next.
pub fn passes(
    config: &Config,
    schedule: &Schedule,
    ledger: &Ledger<'_>,
    times: &[(DateTime<Tz>, Trigger)],
) -> Vec<Pass> {
    let mut seen = Seen {
        prior: ledger.handled,
        now: HashSet::new(),
    };
    let mut watermark = ledger.watermark;
    let mut fingerprint = ledger.fingerprint.clone();
    let mut out = Vec::with_capacity(times.len());
    for &(at, trigger) in times {
        let today = at.date_naive();
        let from = since(schedule, watermark, fingerprint.as_deref(), today);
        let tick = schedule.due_within(&seen, today, from, horizon(config, today));
        seen.now.extend(tick.skipped.iter().cloned());
        seen.now.extend(tick.stale.iter().cloned());
        seen.now.extend(tick.suppressed.iter().cloned());
        for d in &tick.digests {
            seen.now.extend(d.items.iter().map(|i| i.key.clone()));
        }
        let w = watermark.map_or(today, |w| w.max(today));
        watermark = Some(w);
        fingerprint = Some(schedule.fingerprint_through(w));
        out.push(Pass { at, trigger, tick });
    }
    out
}

/// A plan whose first pass would send notices about deadlines that had passed before `today`
/// and of which nobody was ever reminded: typically a plan entered after its deadlines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LateEntry {
    pub plan: String,
    /// The pass that would send them.
    pub at: DateTime<Tz>,
    pub trigger: Trigger,
    /// Reminders about those deadlines (overdue notices, escalations, late "due" ones).
    pub notices: usize,
    /// The agencies they go to, in the schedule's order.
    pub agencies: Vec<String>,
    /// The earliest and latest of those deadlines.
    pub first_deadline: NaiveDate,
    pub last_deadline: NaiveDate,
}

/// Per plan, what `pass` would send late: reminders (of any kind: a "due" one sent days late
/// too) about deadlines before `today` whose reminders the ledger has never seen (no slot of theirs through `today`
/// handled), so nobody was told before.
pub fn late_entries(
    schedule: &Schedule,
    known: &dyn Handled,
    pass: &Pass,
    today: NaiveDate,
) -> Vec<LateEntry> {
    let late: Vec<(&Digest, &crate::schedule::Item)> = pass
        .tick
        .digests
        .iter()
        .flat_map(|d| d.items.iter().map(move |i| (d, i)))
        .filter(|(_, i)| i.deadline < today)
        .collect();
    if late.is_empty() {
        return Vec::new();
    }
    let keys: HashSet<&str> = late.iter().map(|(_, i)| i.key.as_str()).collect();
    let first = schedule.first_of_streams(known, &keys, today);
    let mut by_plan: BTreeMap<&str, LateEntry> = BTreeMap::new();
    let mut agencies: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (d, i) in late {
        if !first.contains(i.key.as_str()) {
            continue;
        }
        let e = by_plan.entry(i.plan.as_str()).or_insert_with(|| LateEntry {
            plan: i.plan.clone(),
            at: pass.at,
            trigger: pass.trigger,
            notices: 0,
            agencies: Vec::new(),
            first_deadline: i.deadline,
            last_deadline: i.deadline,
        });
        e.notices += 1;
        e.first_deadline = e.first_deadline.min(i.deadline);
        e.last_deadline = e.last_deadline.max(i.deadline);
        agencies
            .entry(i.plan.as_str())
            .or_default()
            .insert(d.agency.as_str());
    }
    by_plan
        .into_iter()
        .map(|(plan, mut e)| {
            e.agencies = agencies
                .get(plan)
                .map(|s| s.iter().map(|a| a.to_string()).collect())
                .unwrap_or_default();
            e
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{analyze, Sources};

    fn config(extra_plan: &str, reminders: &str) -> Config {
        use crate::config::diag::Source;
        let settings = format!(
            "timezone = \"Asia/Ho_Chi_Minh\"\nagencies = \"a.toml\"\nplans = \"plans\"\nmonitor = \"vp\"\n[schedule]\nreminders = \"{reminders}\"\nsend_hours = \"07:30-17:00\"\n"
        );
        let agencies = "[[level]]\nid = \"tinh\"\nname = \"cấp tỉnh\"\n[[agency]]\nlevel = \"tinh\"\nid = \"vp\"\nname = \"Văn phòng UBND tỉnh\"\nemail = [\"vp@x.vn\"]\n[[agency]]\nlevel = \"tinh\"\nid = \"snv\"\nname = \"Sở Nội vụ\"\nemail = [\"snv@x.vn\"]\n";
        let plan = format!("[plan]\nnumber = \"1/KH-UBND\"\ntitle = \"K\"\nissuer = \"UBND tỉnh\"\nissued = 2026-01-05\n{extra_plan}\n[[task]]\nid = \"1\"\ntitle = \"Báo cáo\"\nlead = [\"Sở Nội vụ\"]\ntime = \"Ngày 25 hằng tháng\"\n[[task]]\nid = \"2\"\ntitle = \"Tổng kết\"\nlead = [\"Sở Nội vụ\"]\ntime = \"Tháng 1/2027\"\n[[task]]\nid = \"3\"\ntitle = \"Rà soát\"\nlead = [\"Sở Nội vụ\"]\ntime = \"Trước ngày 01/12/2026\"\n");
        let sources = Sources::in_memory(
            Some(Source::new("nhacviec.toml", settings)),
            Source::new("a.toml", agencies),
            vec![Source::new("plans/k.toml", plan)],
        );
        let a = analyze(&sources);
        assert!(!a.has_errors(), "{:?}", a.diagnostics);
        a.config
    }

    fn at(s: &str) -> DateTime<Tz> {
        crate::dates::parse_now(s, chrono_tz::Asia::Ho_Chi_Minh).unwrap()
    }

    fn build(c: &Config, today: NaiveDate) -> (Calendar, Schedule) {
        let cal = crate::report::calendar_for(c, today, today + Days::new(500));
        let s = Schedule::build_from(c, &cal, schedule_from(c, today), today + Days::new(430));
        (cal, s)
    }

    #[test]
    fn a_start_outside_the_hours_runs_at_the_opening_and_counts_once() {
        let c = config("", "0 0 8 * * *");
        let cron = crate::config::parse_cron(&c.reminders).unwrap();
        let now = at("2026-12-07T19:00:00+07:00");
        let (cal, _) = build(&c, now.date_naive());
        let times = pass_times(&c, &cal, &cron, now, true, now.date_naive() + Days::new(1));
        // Monday evening: the start pass waits for Tuesday's 08:00 tick, which is the same pass.
        assert_eq!(
            times,
            vec![(at("2026-12-08T08:00:00+07:00"), Trigger::Start)]
        );
        let times = pass_times(
            &c,
            &cal,
            &cron,
            at("2026-12-07T10:19:00+07:00"),
            true,
            now.date_naive() + Days::new(1),
        );
        assert_eq!(
            times,
            vec![
                (at("2026-12-07T10:19:00+07:00"), Trigger::Start),
                (at("2026-12-08T08:00:00+07:00"), Trigger::Tick)
            ]
        );
    }

    #[test]
    fn the_first_pass_over_a_late_plan_is_named_and_a_known_one_is_not() {
        let c = config("", "0 0 8 * * *");
        let cron = crate::config::parse_cron(&c.reminders).unwrap();
        let now = at("2026-12-07T10:19:00+07:00");
        let today = now.date_naive();
        let (cal, s) = build(&c, today);
        let times = pass_times(&c, &cal, &cron, now, true, today);
        let empty = Ledger::empty();
        let ps = passes(&c, &s, &empty, &times);
        let late = late_entries(&s, empty.handled, &ps[0], today);
        assert_eq!(late.len(), 1, "{late:?}");
        assert_eq!(late[0].plan, "1/KH-UBND");
        assert_eq!(
            late[0].agencies.len(),
            2,
            "the lead and the monitor: {late:?}"
        );
        assert!(late[0].last_deadline < today);
        // Once the service has handled that stream (any of its slots), it is not news.
        let mut handled = HashSet::new();
        for p in &ps {
            for d in &p.tick.digests {
                handled.extend(d.items.iter().map(|i| i.key.clone()));
            }
            handled.extend(p.tick.skipped.iter().cloned());
            handled.extend(p.tick.stale.iter().cloned());
        }
        let later = at("2026-12-14T10:00:00+07:00");
        let ledger = Ledger {
            handled: &handled,
            watermark: Some(today),
            fingerprint: Some(s.fingerprint_through(today)),
            last_report: None,
        };
        let times = pass_times(
            &c,
            &cal,
            &cron,
            later,
            false,
            later.date_naive() + Days::new(1),
        );
        let ps = passes(&c, &s, &ledger, &times);
        assert!(!ps.is_empty());
        assert!(ps
            .iter()
            .all(|p| late_entries(&s, ledger.handled, p, later.date_naive()).is_empty()));
        // reminders_from today: nothing about the old periods goes out.
        let c = config("reminders_from = 2026-12-07", "0 0 8 * * *");
        let (_, s) = build(&c, today);
        let times = pass_times(&c, &cal, &cron, now, true, today);
        let ps = passes(&c, &s, &empty, &times);
        assert!(late_entries(&s, empty.handled, &ps[0], today).is_empty());
        // Nor about the one-off deadline of 30/11, whose weekly overdue notice falls today.
        assert!(ps[0]
            .tick
            .digests
            .iter()
            .all(|d| d.items.iter().all(|i| i.deadline >= today)));
    }
}
