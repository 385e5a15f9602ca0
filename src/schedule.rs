//! Who is reminded of what, and when: the pure core between the config and delivery.
//!
//! [`Schedule::build`] turns every task, milestone and agency into reminder slots (a date, a
//! recipient, a kind) under the task's policy and the working-day calendar, sorted by date.
//! [`Schedule::due`] is one tick: the slots due at `now` minus those the store says were
//! handled, the most recent per stream sent and older missed ones skipped (catch-up), grouped
//! into one digest per agency. A tick only says "look now": missed, repeated or out-of-order
//! ticks never lose or repeat a slot, because the answer depends only on `now` and `handled`.

use crate::calendar::Calendar;
use crate::config::{Config, Plan, Task};
use crate::deadline::{recur, Deadline, Milestone};
use crate::policy::{DayCount, Policy};
use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

mod key;
pub use key::{SlotKey, SlotKeyError};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Lead,
    Support,
    Monitor,
}

impl Role {
    pub fn vi(self) -> &'static str {
        match self {
            Role::Lead => "chủ trì",
            Role::Support => "phối hợp",
            Role::Monitor => "giám sát",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Before,
    Due,
    Overdue,
    Escalation,
}

impl Kind {
    pub fn vi(self) -> &'static str {
        match self {
            Kind::Before => "trước hạn",
            Kind::Due => "đến hạn",
            Kind::Overdue => "quá hạn",
            Kind::Escalation => "báo cáo vượt cấp",
        }
    }
}

/// A stream of reminders: one task's deadline, to one recipient in one role, about one agency.
/// After downtime only a stream's latest due slot is sent.
type Stream = (u32, NaiveDate, u32, Role, u32);

/// One reminder that may go out: compact, since a national-scale config has millions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The day it becomes due (a working day).
    pub date: NaiveDate,
    /// The deadline the agency works to (moved by an extension).
    pub deadline: NaiveDate,
    /// The occurrence it is about: the deadline as the plan gives it (what answers bind to).
    pub planned: NaiveDate,
    /// Index into [`Schedule::tasks`].
    pub task: u32,
    /// The recipient, index into [`Schedule::agencies`].
    pub agency: u32,
    /// The agency the reminder is about: the recipient, or the late agency for an escalation.
    pub about: u32,
    pub kind: Kind,
    /// Days before the deadline (before/due), or the repeat number (overdue).
    pub n: u16,
    pub role: Role,
    /// When the agency the slot is about completed the task: from then on the slot is
    /// suppressed, even if it is still waiting to be caught up.
    pub done: Option<NaiveDate>,
}

/// A task as the schedule names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRef {
    pub plan: String,
    pub id: String,
    pub title: String,
}

/// Every reminder slot of a config up to a date, sorted by date.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub tasks: Vec<TaskRef>,
    pub agencies: Vec<String>,
    slots: Vec<Slot>,
    /// For each date that has slots: the fingerprint of every slot up to and including it,
    /// and their count (see [`Schedule::fingerprint_through`]).
    prefix: Vec<(NaiveDate, u64, usize)>,
}

/// One item of a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub plan: String,
    pub task: String,
    pub role: Role,
    pub kind: Kind,
    /// Days left (positive) or overdue (negative), counted from the day it is sent.
    pub days: i64,
    pub deadline: NaiveDate,
    /// The occurrence: the deadline as the plan gives it, before any extension (a recurring
    /// task's period, one milestone). What the agency's answer binds to.
    pub planned: NaiveDate,
    /// For an escalation: the agency that is late.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    /// The slot's stable key, what the store records as handled.
    #[serde(skip)]
    pub key: String,
}

/// Everything one agency is told at one tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Digest {
    pub agency: String,
    pub items: Vec<Item>,
}

/// The result of one tick.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tick {
    pub digests: Vec<Digest>,
    /// Keys of slots missed during downtime and superseded by a later one: record, don't send.
    pub skipped: Vec<String>,
    /// Keys of slots older than the catch-up horizon (a first start, downtime, a plan added
    /// late): record, don't send.
    pub stale: Vec<String>,
    /// Keys of slots whose agency completed the task before they could go: record, don't send.
    pub suppressed: Vec<String>,
}

/// What the store knows was already handled (sent, skipped or suppressed).
/// Slots whose keys are made and looked up at once (`Handled::handled_among`).
const PREFETCH_CHUNK: usize = 20_000;

pub trait Handled {
    fn is_handled(&self, key: &str) -> bool;

    /// Those of `keys` handled, looked up at once (a database ledger: one statement rather
    /// than one per key), or `None` when this ledger is asked key by key ([`is_handled`]),
    /// which is also how a failed bulk lookup is retried and noted.
    ///
    /// [`is_handled`]: Handled::is_handled
    fn handled_among(&self, keys: &[&str]) -> Option<HashSet<String>> {
        let _ = keys;
        None
    }
}

/// Whether `key` is handled, by the answer of a bulk lookup when there was one.
fn handled_by(handled: &dyn Handled, found: Option<&HashSet<String>>, key: &str) -> bool {
    match found {
        Some(found) => found.contains(key),
        None => handled.is_handled(key),
    }
}

impl Handled for HashSet<String> {
    fn is_handled(&self, key: &str) -> bool {
        self.contains(key)
    }
}

impl Schedule {
    /// All slots of `config` whose deadlines fall up to `until` (recurrences are expanded to
    /// there). Pure: the calendar and the horizon are passed in.
    pub fn build(config: &Config, calendar: &Calendar, until: NaiveDate) -> Schedule {
        Schedule::build_from(config, calendar, None, until)
    }

    /// [`Schedule::build`] without the slots dated before `from`: the service's schedule
    /// starts at its catch-up horizon, since nothing older can be sent. Periodic duties then
    /// cost the window, not the years since their plan was issued.
    pub fn build_from(
        config: &Config,
        calendar: &Calendar,
        from: Option<NaiveDate>,
        until: NaiveDate,
    ) -> Schedule {
        let mut b = Builder {
            calendar,
            agencies: Vec::new(),
            agency_index: HashMap::new(),
            slots: Vec::new(),
            from,
        };
        let mut tasks = Vec::new();
        for plan in &config.plans {
            // Escalations go to the plan's own office (`[plan] monitor`), else the settings'.
            let monitor = config.monitor_of(plan);
            for task in &plan.tasks {
                let t = tasks.len() as u32;
                tasks.push(TaskRef {
                    plan: plan.number.clone(),
                    id: task.id.clone(),
                    title: task.title.clone(),
                });
                // A closed plan sends nothing; its tasks stay named for the reports.
                if plan.is_closed() {
                    continue;
                }
                let mut milestones = milestones(task, plan, until);
                if let (Some(from), Deadline::Recurring { .. } | Deadline::Continuous) =
                    (from, &task.deadline)
                {
                    // Occurrences whose every slot would be older than `from` (level-free,
                    // so dropping them changes no one's own milestone).
                    let tail = u64::from(task.policy.overdue_every)
                        * u64::from(task.policy.overdue_times)
                        + u64::from(task.policy.escalate_after.unwrap_or(0))
                        + 31;
                    milestones.retain(|m| {
                        m.due
                            .checked_add_days(Days::new(tail))
                            .is_none_or(|last| last >= from)
                    });
                }
                let dates = Dates {
                    first: calendar.on_or_after(plan.issued),
                    from: plan.reminders_from,
                };
                b.task(config, task, t, &milestones, monitor, dates);
            }
        }
        let mut slots = b.slots;
        slots.sort_by_key(|s| (s.date, s.task, s.agency, s.deadline, s.kind, s.n));
        slots.dedup();
        let prefix = prefix_fingerprints(&slots, &tasks, &b.agencies);
        Schedule {
            tasks,
            agencies: b.agencies,
            slots,
            prefix,
        }
    }

    /// The fingerprint of every slot dated up to `date`. A tick records it with its watermark;
    /// when the next tick finds it changed (a plan edited, a deadline moved, a task done),
    /// slots at or before the watermark may be new, so it must look at all of them, not just
    /// those since. Slots after `date` do not count: the window of recurrences moving forward
    /// never forces a full look. Computed at build, so a tick only binary-searches.
    pub fn fingerprint_through(&self, date: NaiveDate) -> String {
        let i = self.prefix.partition_point(|p| p.0 <= date);
        let (hash, count) = match i.checked_sub(1).and_then(|i| self.prefix.get(i)) {
            Some((_, h, n)) => (*h, *n),
            None => (FINGERPRINT_SEED, 0),
        };
        format!("{hash:016x}-{count}")
    }

    /// The fingerprint of every slot.
    pub fn fingerprint(&self) -> String {
        self.fingerprint_through(NaiveDate::MAX)
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Every slot, by date.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Of `keys` (slots of this schedule), those whose stream (task, deadline, agency, role,
    /// about) has no slot dated through `through` in `handled`: the first reminders of their
    /// deadline, as far as the ledger knows.
    pub fn first_of_streams<'k>(
        &self,
        handled: &dyn Handled,
        keys: &HashSet<&'k str>,
        through: NaiveDate,
    ) -> HashSet<&'k str> {
        let end = self.slots.partition_point(|x| x.date <= through);
        let stream = |s: &Slot| (s.task, s.deadline, s.agency, s.role, s.about);
        let mut wanted: HashMap<Stream, Vec<&'k str>> = HashMap::new();
        let window = self.slots.get(..end).unwrap_or_default();
        for slot in window {
            let key = self.key(slot);
            if let Some(k) = keys.get(key.as_str()) {
                wanted.entry(stream(slot)).or_default().push(k);
            }
        }
        let asked: Vec<(Stream, String)> = window
            .iter()
            .filter(|slot| wanted.contains_key(&stream(slot)))
            .map(|slot| (stream(slot), self.key(slot)))
            .collect();
        let found =
            handled.handled_among(&asked.iter().map(|(_, k)| k.as_str()).collect::<Vec<_>>());
        for (s, key) in &asked {
            if wanted.contains_key(s) && handled_by(handled, found.as_ref(), key) {
                wanted.remove(s);
            }
        }
        wanted.into_values().flatten().collect()
    }

    /// The stable key of a slot ([`SlotKey`], as text): a moved deadline gives new keys, so
    /// fresh reminders.
    pub fn key(&self, s: &Slot) -> String {
        let t = &self.tasks[s.task as usize];
        SlotKey {
            plan: t.plan.as_str(),
            task: t.id.as_str(),
            deadline: s.deadline,
            agency: self.agencies[s.agency as usize].as_str(),
            role: s.role,
            kind: s.kind,
            n: s.n,
            about: self.agencies[s.about as usize].as_str(),
        }
        .to_string()
    }

    /// One tick at `today`: the slots dated after `since` (exclusive; `None` = from the
    /// beginning) and up to `today` that are not handled. Per stream (task, deadline,
    /// recipient, role, about) only the latest is sent; the others are skipped. The cost is
    /// the number of slots in the window, not the size of the plan.
    pub fn due(&self, handled: &dyn Handled, today: NaiveDate, since: Option<NaiveDate>) -> Tick {
        self.due_within(handled, today, since, None)
    }

    /// [`Schedule::due`] with a catch-up horizon: a stream's latest slot dated before
    /// `horizon` is not sent but recorded as stale (after downtime, on a first start, or when
    /// a config change brings back old slots, nothing older than the horizon goes out).
    pub fn due_within(
        &self,
        handled: &dyn Handled,
        today: NaiveDate,
        since: Option<NaiveDate>,
        horizon: Option<NaiveDate>,
    ) -> Tick {
        let start = match since {
            Some(s) => self.slots.partition_point(|x| x.date <= s),
            None => 0,
        };
        let end = self.slots.partition_point(|x| x.date <= today);
        let mut latest: HashMap<Stream, (&Slot, String)> = HashMap::new();
        let mut skipped = Vec::new();
        let mut suppressed = Vec::new();
        let window = self.slots.get(start..end).unwrap_or_default();
        // Keys made and looked up a chunk at a time: a window can be a whole history (a
        // config change, the clock gone back), and only the unhandled keys are kept.
        let chunks = window.chunks(PREFETCH_CHUNK).flat_map(|chunk| {
            let keys: Vec<String> = chunk.iter().map(|slot| self.key(slot)).collect();
            let found = handled.handled_among(&keys.iter().map(String::as_str).collect::<Vec<_>>());
            chunk
                .iter()
                .zip(keys)
                .filter(move |(_, key)| !handled_by(handled, found.as_ref(), key))
        });
        for (slot, key) in chunks {
            if slot.done.is_some_and(|d| d <= today) {
                suppressed.push(key);
                continue;
            }
            let stream = (slot.task, slot.deadline, slot.agency, slot.role, slot.about);
            match latest.get(&stream) {
                // Slots are sorted by date: a later one supersedes the earlier.
                Some((prev, prev_key))
                    if (prev.date, prev.kind, prev.n) <= (slot.date, slot.kind, slot.n) =>
                {
                    skipped.push(prev_key.clone());
                    latest.insert(stream, (slot, key));
                }
                Some(_) => skipped.push(key),
                None => {
                    latest.insert(stream, (slot, key));
                }
            }
        }
        let mut by_agency: BTreeMap<u32, Vec<Item>> = BTreeMap::new();
        let mut stale = Vec::new();
        for (slot, key) in latest.into_values() {
            if horizon.is_some_and(|h| slot.date < h) {
                stale.push(key);
                continue;
            }
            let t = &self.tasks[slot.task as usize];
            by_agency.entry(slot.agency).or_default().push(Item {
                plan: t.plan.clone(),
                task: t.id.clone(),
                role: slot.role,
                kind: slot.kind,
                days: (slot.deadline - today).num_days(),
                deadline: slot.deadline,
                planned: slot.planned,
                agency: (slot.kind == Kind::Escalation)
                    .then(|| self.agencies[slot.about as usize].clone()),
                key,
            });
        }
        let mut digests: Vec<Digest> = by_agency
            .into_iter()
            .map(|(a, mut items)| {
                // Most urgent first: most overdue, then the nearest deadline.
                items.sort_by(|x, y| {
                    (x.days, &x.plan, natural_key(&x.task), &x.agency).cmp(&(
                        y.days,
                        &y.plan,
                        natural_key(&y.task),
                        &y.agency,
                    ))
                });
                Digest {
                    agency: self.agencies[a as usize].clone(),
                    items,
                }
            })
            .collect();
        digests.sort_by(|a, b| a.agency.cmp(&b.agency));
        skipped.sort();
        stale.sort();
        suppressed.sort();
        Tick {
            digests,
            skipped,
            stale,
            suppressed,
        }
    }
}

/// The stream of a slot's [`Schedule::key`] (task, deadline, agency, role, about: the key
/// without its `kindN`): the slots of one stream supersede each other.
pub fn stream_of(key: &str) -> String {
    let mut parts = key.rsplitn(3, '|');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(about), Some(_kind), Some(rest)) => format!("{rest}|{about}"),
        _ => key.to_string(),
    }
}

const FINGERPRINT_SEED: u64 = 0xcbf29ce484222325;

/// One step of the fingerprint: a multiply-xorshift mix, stable across runs and Rust versions
/// (unlike the std hasher's random seed).
fn mix(h: u64, word: u64) -> u64 {
    let x = (h ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^ (x >> 29)
}

/// FNV-1a of a string, for the names slots refer to by index.
fn hash_str(s: &str) -> u64 {
    s.bytes().fold(FINGERPRINT_SEED, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// The running fingerprint of sorted slots at the end of each date. Names are hashed, not
/// indices, so the fingerprint depends on what the slots are, not where a task sits.
fn prefix_fingerprints(
    slots: &[Slot],
    tasks: &[TaskRef],
    agencies: &[String],
) -> Vec<(NaiveDate, u64, usize)> {
    let task_hash: Vec<u64> = tasks
        .iter()
        .map(|t| mix(hash_str(&t.plan), hash_str(&t.id)))
        .collect();
    let agency_hash: Vec<u64> = agencies.iter().map(|a| hash_str(a)).collect();
    let day = |d: NaiveDate| d.num_days_from_ce() as u32 as u64;
    let mut out: Vec<(NaiveDate, u64, usize)> = Vec::new();
    let mut h = FINGERPRINT_SEED;
    for (i, s) in slots.iter().enumerate() {
        let kind = match s.kind {
            Kind::Before => 1,
            Kind::Due => 2,
            Kind::Overdue => 3,
            Kind::Escalation => 4,
        };
        let role = match s.role {
            Role::Lead => 1,
            Role::Support => 2,
            Role::Monitor => 3,
        };
        for word in [
            day(s.date),
            day(s.deadline),
            kind | role << 8 | u64::from(s.n) << 16,
            s.done.map_or(u64::MAX, day),
            task_hash.get(s.task as usize).copied().unwrap_or(0),
            agency_hash.get(s.agency as usize).copied().unwrap_or(0),
            agency_hash.get(s.about as usize).copied().unwrap_or(0),
        ] {
            h = mix(h, word);
        }
        match out.last_mut() {
            Some(last) if last.0 == s.date => *last = (s.date, h, i + 1),
            _ => out.push((s.date, h, i + 1)),
        }
    }
    out
}

/// "8.10" after "8.9": compare task ids by their numbers.
pub fn natural_key(id: &str) -> Vec<(u64, String)> {
    id.split('.')
        .map(|p| (p.trim().parse::<u64>().unwrap_or(u64::MAX), p.to_string()))
        .collect()
}

/// The dated milestones a task of `plan` is reminded of, up to `until` (a recurring task's
/// periods from the plan's `reminders_from`).
pub fn milestones(task: &Task, plan: &Plan, until: NaiveDate) -> Vec<Milestone> {
    let from_rule = |rule: &str| -> Vec<Milestone> {
        // Periodic duties outlive the plan's year ("Theo định kỳ", "Năm 2022 và các năm tiếp
        // theo"): a rule runs to its own UNTIL/COUNT, the plan's `until`, or on; the window
        // bounds the work.
        let end = plan.until.map_or(until, |u| u.min(until));
        recur::occurrences(rule, plan.issued, end, u16::MAX)
            .unwrap_or_default()
            .into_iter()
            .map(Milestone::on)
            .collect()
    };
    match &task.deadline {
        // All of them, whatever the horizon: which milestone is a lead's own depends on every
        // level's, and dated milestones are few.
        Deadline::Dated(ms) => ms.clone(),
        Deadline::Recurring { rrule, window_from } => {
            let mut ms = from_rule(rrule);
            // Periods due before `reminders_from` were nobody's to answer here (a plan entered
            // long after it was issued): not reminded, neither open nor overdue.
            if let Some(from) = plan.reminders_from {
                ms.retain(|m| m.due >= from);
            }
            // A window that repeats starts on its day of each occurrence's month.
            if let Some(day) = window_from {
                for m in &mut ms {
                    m.start = (*day < m.due.day()).then(|| m.due.with_day(*day)).flatten();
                }
            }
            ms
        }
        Deadline::Continuous => match &task.policy.nudge {
            Some(rule) => from_rule(rule),
            None => vec![],
        },
        Deadline::OnRequest | Deadline::PeriodicUnspecified => vec![],
    }
}

/// Where a plan's reminder slots may fall.
#[derive(Clone, Copy)]
struct Dates {
    /// The plan's first working day: earlier slots wait for it.
    first: NaiveDate,
    /// `reminders_from`: earlier slots are dropped, not moved (a plan entered years late must
    /// not send its whole past on one day).
    from: Option<NaiveDate>,
}

struct Builder<'a> {
    calendar: &'a Calendar,
    agencies: Vec<String>,
    agency_index: HashMap<String, u32>,
    slots: Vec<Slot>,
    /// No slot before this date (see [`Schedule::build_from`]).
    from: Option<NaiveDate>,
}

impl Builder<'_> {
    fn agency(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.agency_index.get(id) {
            return i;
        }
        let i = self.agencies.len() as u32;
        self.agencies.push(id.to_string());
        self.agency_index.insert(id.to_string(), i);
        i
    }

    fn task(
        &mut self,
        config: &Config,
        task: &Task,
        t: u32,
        milestones: &[Milestone],
        monitor: Option<&str>,
        dates: Dates,
    ) {
        if milestones.is_empty() {
            return;
        }
        let nudge_only = matches!(task.deadline, Deadline::Continuous);
        let policy = &task.policy;
        // Leads get their own level's milestone; coordinators get every milestone.
        let deadlines_of = |role: Role, agency_id: &str| {
            let level = config.agency(agency_id).map(|a| a.level.as_str());
            let own: Vec<&Milestone> = milestones
                .iter()
                .filter(|m| m.applies_to(agency_id, level))
                .collect();
            let applicable: Vec<&Milestone> = if role == Role::Support || own.is_empty() {
                milestones.iter().collect()
            } else {
                own
            };
            let mut deadlines: Vec<NaiveDate> = applicable.iter().map(|m| m.due).collect();
            deadlines.sort_unstable();
            deadlines.dedup();
            deadlines
        };
        let leads: Vec<(Vec<NaiveDate>, &str)> = task
            .lead
            .iter()
            .map(|l| (deadlines_of(Role::Lead, l), l.as_str()))
            .collect();
        // The day every lead of a deadline was done: coordinators are told nothing after it.
        let leads_done = |deadline: NaiveDate| -> Option<NaiveDate> {
            let mut responsible = leads
                .iter()
                .filter(|(ds, _)| ds.contains(&deadline))
                .peekable();
            let all: Vec<&(Vec<NaiveDate>, &str)> = if responsible.peek().is_some() {
                responsible.collect()
            } else {
                leads.iter().collect()
            };
            if all.is_empty() {
                return None;
            }
            all.iter()
                .map(|(_, lead)| task.done_for(lead, deadline))
                .collect::<Option<Vec<_>>>()?
                .into_iter()
                .max()
        };
        // The same for every coordinator of a deadline: worked out once per deadline, not
        // once per coordinator (thousands of communes on a national plan).
        let mut leads_done_at: HashMap<NaiveDate, Option<NaiveDate>> = HashMap::new();
        let mut before_days = policy.before.clone();
        before_days.sort_unstable();
        // Reused for every agency and deadline.
        let mut slots = Vec::new();
        let mut days_taken: Vec<NaiveDate> = Vec::new();
        for (role, list) in [(Role::Lead, &task.lead), (Role::Support, &task.support)] {
            for agency_id in list {
                let a = self.agency(agency_id);
                for planned in deadlines_of(role, agency_id) {
                    let own_done = task.done_for(agency_id, planned);
                    let done = if role == Role::Support && !policy.support_after_lead_done {
                        let leads = *leads_done_at
                            .entry(planned)
                            .or_insert_with(|| leads_done(planned));
                        [own_done, leads].into_iter().flatten().min()
                    } else {
                        own_done
                    };
                    // An extension moves this agency's deadline (and so its reminders).
                    let deadline = task.deadline_for(agency_id, planned);
                    // A deadline before `reminders_from` passed before the plan was entered:
                    // nobody is reminded of it (what `check` suggests for a plan entered late).
                    if dates.from.is_some_and(|f| deadline < f) {
                        continue;
                    }
                    slots.clear();
                    if nudge_only {
                        if role == Role::Lead || policy.support_gets_before(0) {
                            slots.push((self.calendar.on_or_before(deadline), Kind::Due, 0));
                        }
                    } else {
                        self.before_slots(policy, &before_days, role, deadline, &mut slots);
                        if role == Role::Lead || policy.support_gets_overdue() {
                            self.overdue_slots(policy, deadline, &mut slots);
                        }
                    }
                    // Nothing goes out before the plan exists: early slots wait for its first
                    // working day (one per day, the nearest to the deadline kept).
                    // A handful of slots: a vector, not a hash set per deadline.
                    days_taken.clear();
                    slots.sort_by_key(|(date, _, n)| (std::cmp::Reverse(*date), *n));
                    for &(date, kind, n) in &slots {
                        let date = date.max(dates.first);
                        if done.is_some_and(|d| d <= date)
                            || dates.from.is_some_and(|f| date < f)
                            || self.from.is_some_and(|f| date < f)
                            || days_taken.contains(&date)
                        {
                            continue;
                        }
                        days_taken.push(date);
                        self.slots.push(Slot {
                            date,
                            deadline,
                            planned,
                            task: t,
                            agency: a,
                            about: a,
                            kind,
                            n,
                            role,
                            done,
                        });
                    }
                    // Copy the monitoring agency when a lead is K days late.
                    if let (Some(k), Some(m), Role::Lead, false) =
                        (policy.escalate_after, monitor, role, nudge_only)
                    {
                        if m != agency_id {
                            // Never before K full days: an escalation moves later, not earlier.
                            let target = deadline
                                .checked_add_days(Days::new(u64::from(k)))
                                .unwrap_or(deadline);
                            let date = self.calendar.on_or_after(target).max(dates.first);
                            if done.is_none_or(|d| d > date)
                                && dates.from.is_none_or(|f| date >= f)
                                && self.from.is_none_or(|f| date >= f)
                            {
                                let mi = self.agency(m);
                                self.slots.push(Slot {
                                    date,
                                    deadline,
                                    planned,
                                    task: t,
                                    agency: mi,
                                    about: a,
                                    kind: Kind::Escalation,
                                    n: k.min(u16::MAX as u32) as u16,
                                    role: Role::Monitor,
                                    done,
                                });
                            }
                        }
                    }
                }
            }
        }
    }

    fn before_slots(
        &self,
        policy: &Policy,
        days: &[u32],
        role: Role,
        deadline: NaiveDate,
        out: &mut Vec<(NaiveDate, Kind, u16)>,
    ) {
        let start = out.len();
        // `days`: the policy's `before`, closest first, so that when two reminders land on the
        // same working day the one nearer the deadline is kept.
        for &n in days {
            if role == Role::Support && !policy.support_gets_before(n) {
                continue;
            }
            let date = match policy.count {
                DayCount::Calendar => self.calendar.on_or_before(
                    deadline
                        .checked_sub_days(Days::new(u64::from(n)))
                        .unwrap_or(deadline),
                ),
                DayCount::Working => self.calendar.working_days_before(deadline, n),
            };
            if !out[start..].iter().any(|(d, _, _)| *d == date) {
                let kind = if n == 0 { Kind::Due } else { Kind::Before };
                out.push((date, kind, n.min(u16::MAX as u32) as u16));
            }
        }
    }

    fn overdue_slots(
        &self,
        policy: &Policy,
        deadline: NaiveDate,
        out: &mut Vec<(NaiveDate, Kind, u16)>,
    ) {
        let mut last = deadline;
        for k in 1..=policy.overdue_times {
            let mut date = self.after_deadline(deadline, k.saturating_mul(policy.overdue_every));
            // Repeats that land on the same working day are spread to the next ones, so
            // `overdue_times` reminders go out.
            if date <= last {
                date = last
                    .succ_opt()
                    .map_or(last, |d| self.calendar.on_or_after(d));
            }
            last = date;
            out.push((date, Kind::Overdue, k.min(u16::MAX as u32) as u16));
        }
    }

    /// `days` after the deadline, on a working day: the one before if that is still after the
    /// deadline, else the next one.
    fn after_deadline(&self, deadline: NaiveDate, days: u32) -> NaiveDate {
        let target = deadline
            .checked_add_days(Days::new(u64::from(days)))
            .unwrap_or(deadline);
        let earlier = self.calendar.on_or_before(target);
        if earlier > deadline {
            earlier
        } else {
            self.calendar.on_or_after(target)
        }
    }
}
