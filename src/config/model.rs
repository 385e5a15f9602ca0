//! The validated config: what the schedule and the daemon work from. Every reference is
//! resolved to agency ids and every time text to a [`Deadline`].

use crate::calendar::Overrides;
use crate::deadline::Deadline;
use crate::policy::Policy;
use chrono::NaiveDate;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Config {
    pub timezone: chrono_tz::Tz,
    /// The agency that monitors the plans (gets overdue reports), if set.
    pub monitor: Option<String>,
    /// `state_dir` as written (relative to the config directory), if set.
    pub state_dir: Option<String>,
    pub email: super::channels::EmailSettings,
    /// The Zalo channel, if configured.
    pub zalo: Option<super::channels::ZaloSettings>,
    /// The webhook channel's target, if configured.
    pub webhook: Option<super::channels::WebhookSettings>,
    /// Where `/healthz` and `/metrics` listen (loopback only), if enabled.
    pub http_listen: Option<std::net::SocketAddr>,
    /// The agencies' pages (`[web]`), if configured: links go in digests only then.
    pub web: Option<super::web::WebSettings>,
    /// How agencies reach the monitoring office (name, phone, email), when there is one.
    pub monitor_contact: Option<super::web::MonitorContact>,
    /// When reminders go out: a cron expression, seconds first, in `timezone`.
    pub reminders: String,
    /// When the weekly report goes to the monitoring agency (cron, like `reminders`).
    pub report: String,
    /// Reminders whose slot is more than this many days old are recorded as skipped, not sent.
    pub catch_up_days: u32,
    /// When, on working days, deliveries may go out.
    pub send_hours: crate::calendar::hours::SendHours,
    /// The year's announced schedule on top of the computed holidays.
    pub calendar: Overrides,
    /// The default policy (`[policy]` in the settings).
    pub policy: Policy,
    pub levels: Vec<Level>,
    pub agencies: Vec<Agency>,
    pub groups: Vec<Group>,
    pub plans: Vec<Plan>,
    /// `[report]`: the signed report's header, recipients and signature.
    pub report_doc: ReportDoc,
    /// Agency id → its first position in `agencies`, built on the first lookup: a tick looks
    /// up every digest's agency, and a linear search made a 10,000-agency tick quadratic.
    /// The count is that of `agencies` when it was built.
    pub agency_index: std::sync::OnceLock<(usize, std::collections::HashMap<String, usize>)>,
}

/// `[report]`: what the .docx report (Nghị định 30/2020/NĐ-CP, Phụ lục I) says of its issuer,
/// recipients and signer. Empty strings are left as dots to fill by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportDoc {
    /// The issuing body: the governing body, then the office (bold).
    pub issuer: [String; 2],
    /// "BC-VPUBND" in "Số: …/BC-VPUBND".
    pub number_prefix: String,
    /// "Hậu Giang" in "Hậu Giang, ngày … tháng … năm 20…".
    pub place: String,
    pub recipients: Vec<String>,
    /// One or two lines ("KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG").
    pub signer_title: Vec<String>,
    /// Attach the .docx to the weekly report.
    pub attach_docx: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub id: String,
    pub name: String,
    pub aliases: Vec<String>,
}

/// The deadline parser's context for a plan: its year and every level's names (the name, then
/// the aliases), so phrases like "cấp huyện từ ngày ..." resolve to level ids.
pub fn deadline_context(plan_year: i32, levels: &[Level]) -> crate::deadline::Context {
    crate::deadline::Context {
        plan_year,
        levels: levels
            .iter()
            .map(|l| crate::deadline::LevelNames {
                id: l.id.clone(),
                names: std::iter::once(l.name.clone())
                    .chain(l.aliases.iter().cloned())
                    .collect(),
            })
            .collect(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Zalo,
    Webhook,
}

impl Channel {
    pub const ALL: [(&'static str, Channel); 3] = [
        ("email", Channel::Email),
        ("zalo", Channel::Zalo),
        ("webhook", Channel::Webhook),
    ];

    /// The channel of a name in [`Channel::ALL`].
    pub fn from_name(name: &str) -> Option<Channel> {
        Channel::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    }

    pub fn name(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Zalo => "zalo",
            Channel::Webhook => "webhook",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    pub id: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub level: String,
    pub email: Vec<String>,
    /// Normalised to 84xxxxxxxxx.
    pub zalo_phone: Option<String>,
    pub zalo_user_id: Option<String>,
    /// In order of preference; never empty (defaults to the contacts the agency has).
    pub channels: Vec<Channel>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub aliases: Vec<String>,
    /// The agencies it expands to, in order, without repeats.
    pub agencies: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub number: String,
    pub title: String,
    pub issuer: String,
    pub issued: NaiveDate,
    /// The file it came from, as shown to the admin.
    pub file: String,
    /// The settings' policy with the plan's `[policy]` applied.
    pub policy: Policy,
    pub tasks: Vec<Task>,
    /// Closed plans send nothing (`status = "closed"`); the date, when given.
    pub closed: Option<Closed>,
    /// No reminder slot before this date, and none about a deadline before it (a plan entered late).
    pub reminders_from: Option<NaiveDate>,
    /// Recurring tasks stop here; without it a rule without its own end runs on.
    pub until: Option<NaiveDate>,
    /// The office this plan's agencies report to, when the plan names one (`[plan] monitor`,
    /// resolved to an agency id); `None`: the settings' `monitor` ([`Config::monitor_of`]).
    pub monitor: Option<String>,
}

/// A closed plan, and when it was closed if the file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed {
    pub on: Option<NaiveDate>,
}

impl Plan {
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// Not closed, and not ended more than a month before `date` (its last deadlines are still
    /// followed up): the plans the weekly report is about. A plan ends at its last deadline
    /// (its `until` for recurring tasks, which without one never end); a plan of undated
    /// tasks only has no end.
    pub fn in_force(&self, date: NaiveDate) -> bool {
        !self.is_closed()
            && self.end().is_none_or(|end| {
                end.checked_add_days(chrono::Days::new(31))
                    .is_none_or(|end| date <= end)
            })
    }

    /// The last day of this plan's work, if it has one (see [`Plan::in_force`]).
    pub fn end(&self) -> Option<NaiveDate> {
        use crate::deadline::Deadline;
        let mut last: Option<NaiveDate> = None;
        let mut dated = false;
        for t in &self.tasks {
            match &t.deadline {
                Deadline::Dated(ms) => {
                    dated = true;
                    last = last.max(ms.iter().map(|m| m.due).max());
                }
                Deadline::Recurring { .. } => {
                    dated = true;
                    // Runs to the plan's `until`; without one, on.
                    last = last.max(Some(self.until?));
                }
                _ => {}
            }
        }
        dated.then_some(last).flatten()
    }

    /// The first day a reminder of this plan may be dated: its issue date, or
    /// `reminders_from` if later.
    pub fn reminders_start(&self) -> NaiveDate {
        self.reminders_from
            .map_or(self.issued, |f| f.max(self.issued))
    }
}

#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    pub title: String,
    /// The time text exactly as the plan writes it.
    pub time_text: Option<String>,
    pub deadline: Deadline,
    /// Lead agencies, groups expanded, in the plan's order.
    pub lead: Vec<String>,
    /// Coordinating agencies, groups expanded, without the lead agencies.
    pub support: Vec<String>,
    pub done: Option<NaiveDate>,
    pub done_by: BTreeMap<String, NaiveDate>,
    /// Completions the agencies reported on their pages (not written in the TOML), by agency:
    /// laid over the config from the store (`answers::overlay`). The TOML's `done`/`done_by`
    /// wins over them.
    pub answered: BTreeMap<String, Vec<Answered>>,
    /// Deadlines moved for one agency (`nhacviec extend`): agency → (deadline as the plan
    /// gives it, the new one).
    pub extended: BTreeMap<String, Vec<(NaiveDate, NaiveDate)>>,
    pub note: Option<String>,
    /// The plan's policy with the task's `policy` applied.
    pub policy: Policy,
    /// The time could not be read (an error says why): `deadline` is only a placeholder.
    pub unreadable: bool,
}

/// An agency's report that it finished a task, or one occurrence of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered {
    pub on: NaiveDate,
    pub covers: Covers,
}

/// Which deadlines (as the plan gives them) a report of completion covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covers {
    /// The whole task (a task without dated deadlines, or an answer that named none).
    Whole,
    /// Exactly the occurrence due then: a period of a recurring task or one milestone. Every
    /// answer given on the page since answers were bound to their occurrence.
    Exactly(NaiveDate),
    /// The occurrences up to this deadline: what a recurring task's report meant before
    /// answers were bound to their occurrence (kept for the answers stored then).
    Through(NaiveDate),
}

impl Covers {
    fn includes(self, deadline: NaiveDate) -> bool {
        match self {
            Covers::Whole => true,
            Covers::Exactly(d) => deadline == d,
            Covers::Through(t) => deadline <= t,
        }
    }
}

impl Task {
    /// When `agency` finished the part of this task due on `deadline` (a deadline as the plan
    /// gives it, before any extension): the TOML's `done`/`done_by` first, else its report.
    pub fn done_for(&self, agency: &str, deadline: NaiveDate) -> Option<NaiveDate> {
        self.written_done(agency).or_else(|| {
            self.answered
                .get(agency)?
                .iter()
                .filter(|a| a.covers.includes(deadline))
                .map(|a| a.on)
                .min()
        })
    }

    /// When `agency` finished the whole task, whatever its deadlines (a task without dated
    /// deadlines: continuous, on request): the TOML's `done`/`done_by`, else a report of the
    /// whole task.
    pub fn done_whole(&self, agency: &str) -> Option<NaiveDate> {
        self.written_done(agency).or_else(|| {
            self.answered
                .get(agency)?
                .iter()
                .filter(|a| a.covers == Covers::Whole)
                .map(|a| a.on)
                .min()
        })
    }

    /// The completion the TOML writes for `agency` (`done`, or its `done_by`), the earlier.
    pub fn written_done(&self, agency: &str) -> Option<NaiveDate> {
        [self.done, self.done_by.get(agency).copied()]
            .into_iter()
            .flatten()
            .min()
    }

    /// The deadline `agency` works to for the plan's `deadline`: moved if an extension was
    /// granted (the latest grant wins).
    pub fn deadline_for(&self, agency: &str, deadline: NaiveDate) -> NaiveDate {
        self.extended
            .get(agency)
            .and_then(|moves| moves.iter().rev().find(|(from, _)| *from == deadline))
            .map_or(deadline, |(_, to)| *to)
    }
}

impl Config {
    /// Trial mode: `[email] redirect_all_to` is set. Email goes to the trial address, and a
    /// pass records what it handled in the trial ledger (`store::Ledger::Trial`), apart from
    /// the real one.
    pub fn trial(&self) -> bool {
        self.email.redirect_all_to.is_some()
    }

    pub fn agency(&self, id: &str) -> Option<&Agency> {
        let (built_from, index) = self.agency_index.get_or_init(|| {
            let mut index = std::collections::HashMap::with_capacity(self.agencies.len());
            for (i, a) in self.agencies.iter().enumerate() {
                index.entry(a.id.clone()).or_insert(i);
            }
            (self.agencies.len(), index)
        });
        match index.get(id).and_then(|&i| self.agencies.get(i)) {
            Some(a) if a.id == id => Some(a),
            None if *built_from == self.agencies.len() => None,
            // `agencies` changed after the index was built (it is a public field): search.
            _ => self.agencies.iter().find(|a| a.id == id),
        }
    }

    /// The agency's name, or its id when the config no longer has it (an answer or a
    /// delivery may outlive the agency it was about).
    pub fn agency_name(&self, id: &str) -> String {
        self.agency(id)
            .map_or_else(|| id.to_string(), |a| a.name.clone())
    }

    /// The plan numbered `number`.
    pub fn plan(&self, number: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.number == number)
    }

    /// The office that monitors `plan`: its own `monitor`, else the settings' one.
    pub fn monitor_of<'a>(&'a self, plan: &'a Plan) -> Option<&'a str> {
        plan.monitor.as_deref().or(self.monitor.as_deref())
    }

    /// How `plan`'s agencies reach its monitoring office: the settings' `[monitor]` contact
    /// for the settings' monitor; for a plan's own office, the agency's name and first email.
    pub fn monitor_contact_of(&self, plan: &Plan) -> Option<super::web::MonitorContact> {
        let id = self.monitor_of(plan)?;
        if Some(id) == self.monitor.as_deref() {
            return self.monitor_contact.clone();
        }
        let agency = self.agency(id)?;
        Some(super::web::MonitorContact {
            name: agency.name.clone(),
            phone: None,
            email: agency.email.first().cloned(),
        })
    }

    /// Every monitoring office with a plan to monitor, each once: the settings' monitor first
    /// (when a plan reports to it), then the plans' own in the plans' order.
    pub fn monitors(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in &self.plans {
            if let Some(m) = self.monitor_of(p) {
                if !out.contains(&m) {
                    out.push(m);
                }
            }
        }
        if let Some(i) = out.iter().position(|m| Some(*m) == self.monitor.as_deref()) {
            let global = out.remove(i);
            out.insert(0, global);
        }
        out
    }

    /// This config with only the plans `agency` monitors (`monitor_of`): what its weekly
    /// report and its scoped dashboard show.
    pub fn monitored_by(&self, agency: &str) -> Config {
        let mut scoped = self.clone();
        scoped.plans.retain(|p| self.monitor_of(p) == Some(agency));
        scoped
    }

    /// Whether `agency` gets a weekly report on `date`: one of the plans it monitors is in
    /// force then ([`Plan::in_force`]). A finished plan's office is not mailed every week.
    pub fn reports_to(&self, agency: &str, date: NaiveDate) -> bool {
        self.plans
            .iter()
            .any(|p| self.monitor_of(p) == Some(agency) && p.in_force(date))
    }

    /// Task `id` of plan `plan`.
    pub fn task(&self, plan: &str, id: &str) -> Option<&Task> {
        self.plan(plan)?.tasks.iter().find(|t| t.id == id)
    }
}
