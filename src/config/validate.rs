//! From the files' text to a validated [`Config`] and every diagnostic, in one pure pass.
//! It never stops at the first problem: an admin fixing a file wants all of them at once.

use super::diag::{from_toml_error, Diagnostic, Severity, Source};
use super::model::{Agency, Channel, Closed, Config, Group, Level, Plan, Task};
use super::raw;
use super::Sources;
use crate::calendar::Overrides;
use crate::deadline::{self, recur, Context, Deadline, Milestone};
use crate::policy::Policy;
use crate::text::{ascii_fold, name_key};
use chrono::{Datelike, NaiveDate};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use toml::Spanned;

/// The result of checking a config: the best-effort model and everything found wrong.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub config: Config,
    pub diagnostics: Vec<Diagnostic>,
    /// Message templates as (file name, text), checked.
    pub templates: Vec<(String, String)>,
}

impl Analysis {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
}

pub const DEFAULT_TIMEZONE: &str = "Asia/Ho_Chi_Minh";
/// The monitoring agency when the settings name none.
pub const DEFAULT_MONITOR: &str = "Văn phòng UBND tỉnh";

/// Checks everything. Pure: reads only `sources`.
pub fn analyze(sources: &Sources) -> Analysis {
    let mut v = Validator {
        diags: sources.problems.clone(),
        stand_ins: Vec::new(),
        today: None,
    };
    let settings = sources
        .settings
        .as_ref()
        .and_then(|src| v.parse::<raw::Settings>(src))
        .unwrap_or_default();
    let timezone = match (&settings.timezone, &sources.settings) {
        (Some(tz), Some(src)) => tz.get_ref().parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
            v.push(
                src.diag(
                    Severity::Error,
                    tz.span(),
                    format!("múi giờ \"{}\" không tồn tại", tz.get_ref()),
                )
                .with_help(format!(
                    "dùng tên múi giờ IANA, ví dụ \"{DEFAULT_TIMEZONE}\""
                )),
            );
            chrono_tz::Asia::Ho_Chi_Minh
        }),
        _ => chrono_tz::Asia::Ho_Chi_Minh,
    };
    v.today = sources.now.map(|n| n.with_timezone(&timezone).date_naive());
    let settings_src = sources.settings.as_ref();
    let mut reminders = super::settings::DEFAULT_REMINDERS.to_string();
    let mut report = super::settings::DEFAULT_REPORT.to_string();
    let mut catch_up_days = super::settings::DEFAULT_CATCH_UP_DAYS;
    let mut send_hours = crate::calendar::hours::SendHours::default();
    let mut policy = Policy::default();
    let mut calendar = Overrides::default();
    let mut email = super::channels::EmailSettings::default();
    let mut http_listen = None;
    let mut webhook = None;
    let mut zalo = None;
    let mut web = None;
    let mut report_doc = super::model::ReportDoc::default();
    // `monitor = "id"`, or `[monitor]` with the agency and the office's contact.
    let mut monitor_id: Option<toml::Spanned<String>> = None;
    let mut monitor_contact = None;
    if let Some(src) = settings_src {
        if let Some(m) = &settings.monitor {
            match m.get_ref() {
                toml::Value::String(id) => {
                    monitor_id = Some(toml::Spanned::new(m.span(), id.clone()));
                }
                _ => {
                    if let Some((agency, contact)) = super::web::monitor_table(src, m, &mut v.diags)
                    {
                        monitor_id = agency;
                        monitor_contact = Some(contact);
                    }
                }
            }
        }
        if let Some(w) = &settings.web {
            web = super::web::web(src, w, &mut v.diags);
        }
        if let Some(listen) = settings.http.as_ref().and_then(|h| h.listen.as_ref()) {
            match listen.get_ref().trim().parse::<std::net::SocketAddr>() {
                Ok(addr) if addr.ip().is_loopback() => http_listen = Some(addr),
                Ok(addr) => v.push(
                    src.diag(
                        Severity::Error,
                        listen.span(),
                        format!(
                            "chỉ được nghe trên địa chỉ nội bộ (127.0.0.1 hoặc ::1), không phải {}",
                            addr.ip()
                        ),
                    )
                    .with_help(
                        "ví dụ listen = \"127.0.0.1:9187\"; đưa ra ngoài qua reverse proxy nếu cần",
                    ),
                ),
                Err(_) => v.push(
                    src.diag(
                        Severity::Error,
                        listen.span(),
                        format!("địa chỉ \"{}\" không hợp lệ", listen.get_ref()),
                    )
                    .with_help("ví dụ listen = \"127.0.0.1:9187\""),
                ),
            }
        }
        if let Some(z) = &settings.zalo {
            zalo = super::channels::zalo(src, z, &mut v.diags);
        }
        if let Some(w) = &settings.webhook {
            webhook = super::channels::webhook(src, w, &mut v.diags);
        }
        if let Some(e) = &settings.email {
            email = super::channels::email(src, e, &sources.certificates, &mut v.diags);
        }
        if let Some(s) = &settings.schedule {
            (reminders, report) = super::settings::schedule(src, s, &mut v.diags);
            (catch_up_days, send_hours) = super::settings::send_rules(src, s, &mut v.diags);
        }
        if let Some(p) = &settings.policy {
            policy = super::settings::policy(src, p, &policy, &mut v.diags);
        }
        if let Some(r) = &settings.report {
            report_doc = super::settings::report_doc(src, r, &mut v.diags);
        }
        if let Some(c) = &settings.calendar {
            calendar = super::settings::calendar(src, c, &mut v.diags);
        }
        super::settings::cron_in_send_hours(
            src,
            settings.schedule.as_ref(),
            &reminders,
            &send_hours,
            &mut v.diags,
        );
        super::settings::cron_coverage(
            src,
            settings.schedule.as_ref(),
            &reminders,
            &calendar,
            &mut v.diags,
        );
    }
    let agencies_raw = sources
        .agencies
        .as_ref()
        .and_then(|src| v.parse::<raw::Agencies>(src).map(|a| (src, a)));
    let mut directory = match &agencies_raw {
        Some((src, raw)) => v.directory(src, raw),
        None => Directory::default(),
    };
    directory.file = sources
        .agencies
        .as_ref()
        .map(|s| short_name(&s.name))
        .unwrap_or_else(|| super::DEFAULT_AGENCIES.to_string());
    if webhook.is_none() {
        if let Some((src, raw)) = &agencies_raw {
            for a in &raw.agency {
                if let Some(c) = a.channels.iter().find(|c| {
                    Channel::from_name(&c.get_ref().trim().to_lowercase()) == Some(Channel::Webhook)
                }) {
                    v.push(
                        src.diag(Severity::Error, c.span(), format!("cơ quan {} dùng kênh \"webhook\" nhưng nhacviec.toml chưa có [webhook] url", a.id.get_ref()))
                            .with_help("thêm [webhook] với url = \"https://...\" vào nhacviec.toml"),
                    );
                }
            }
        }
    }
    let monitor = match (&monitor_id, &sources.settings) {
        (Some(m), Some(src)) => {
            match directory.resolve(m.get_ref()) {
                Some(Target::Agency(id)) => Some(id.clone()),
                Some(Target::Group(_)) => {
                    v.push(
                    src.diag(Severity::Error, m.span(), format!("cơ quan theo dõi (monitor) phải là một cơ quan, \"{}\" là một nhóm", m.get_ref()))
                        .with_help("ghi mã của một cơ quan, ví dụ \"vp-ubnd-tinh\""),
                );
                    None
                }
                None => {
                    if let Some(d) = directory.unknown(src, m, "cơ quan theo dõi (monitor)") {
                        v.push(d);
                    }
                    None
                }
            }
        }
        // Unset: the Văn phòng UBND tỉnh, the office that monitors plans, if agencies.toml has it.
        _ => match directory.resolve(DEFAULT_MONITOR) {
            Some(Target::Agency(id)) => Some(id.clone()),
            _ => None,
        },
    };
    let mut plans = Vec::new();
    let mut numbers: HashMap<String, String> = HashMap::new();
    let mut all_plans_read = true;
    for src in &sources.plans {
        let Some(file) = v.parse::<raw::PlanFile>(src) else {
            all_plans_read = false;
            continue;
        };
        if let Some(plan) = v.plan(src, &file, &mut directory, &policy) {
            let number_key: String = plan.number.to_lowercase().split_whitespace().collect();
            if let Some(prev) = numbers.insert(number_key, plan.file.clone()) {
                v.push(src.diag(
                    Severity::Error,
                    file.plan.get_ref().number.span(),
                    format!("kế hoạch số {} đã có trong {prev}", plan.number),
                ));
            }
            plans.push(plan);
        }
    }
    // The plans directory unreadable, or a plan file in it (not UTF-8, a FIFO...): its own
    // error says it all.
    let plans_dir_missing = sources.problems.iter().any(|d| {
        d.file == sources.plans_dir
            || std::path::Path::new(&d.file).parent()
                == Some(std::path::Path::new(&sources.plans_dir))
    });
    if sources.plans.is_empty() && sources.agencies.is_some() && !plans_dir_missing {
        v.push(Diagnostic::file(
            Severity::Warning,
            &sources.plans_dir,
            "không có kế hoạch nào (tệp *.toml) trong thư mục này",
        ));
    }
    // Agencies no task mentions, directly or through a group.
    if let Some((src, raw)) = &agencies_raw {
        for (agency, raw_agency) in directory.agencies.iter().zip(&raw.agency) {
            // Only when every plan was read: a plan that failed would mention some of them.
            if !directory.mentioned.contains(&agency.id)
                && monitor.as_deref() != Some(agency.id.as_str())
                && !plans.is_empty()
                && all_plans_read
            {
                v.push(src.diag(
                    Severity::Warning,
                    raw_agency.id.span(),
                    format!(
                        "không nhiệm vụ nào nhắc đến cơ quan \"{}\" ({})",
                        agency.name, agency.id
                    ),
                ));
            }
        }
    }
    let templates: Vec<(String, String)> = sources
        .templates
        .iter()
        .map(|t| (short_name(&t.name), t.text.clone()))
        .collect();
    if let Err(e) = crate::render::Templates::new(&templates) {
        let src = sources
            .templates
            .iter()
            .find(|t| short_name(&t.name) == e.template);
        let d = match (src, e.line) {
            (Some(src), Some(line)) => {
                let start: usize = src
                    .text
                    .split_inclusive('\n')
                    .take(line.saturating_sub(1))
                    .map(str::len)
                    .sum();
                let end = start
                    + src.text[start.min(src.text.len())..]
                        .find('\n')
                        .unwrap_or(0);
                src.diag(Severity::Error, start..end, e.message.clone())
            }
            (Some(src), None) => Diagnostic::file(Severity::Error, &src.name, e.message.clone()),
            (None, _) => Diagnostic::file(Severity::Error, &e.template, e.message.clone()),
        };
        v.push(d.with_help("sửa mẫu thư; xóa tệp này để dùng mẫu mặc định"));
    }
    let mut diagnostics = v.diags;
    // What validation said about a stand-in follows from the type error reported there.
    for (file, mark, places) in &v.stand_ins {
        let mut i = 0;
        diagnostics.retain(|d| {
            i += 1;
            let at = (d.line, d.column);
            i <= *mark
                || d.file != *file
                || !places.iter().any(|(from, to)| at >= *from && at < *to)
        });
    }
    // Errors first, then by file and place; stable so the output is the same every run.
    diagnostics.sort_by(|a, b| {
        (a.severity, &a.file, a.line, a.column).cmp(&(b.severity, &b.file, b.line, b.column))
    });
    diagnostics.dedup();
    let monitor_contact = monitor
        .as_deref()
        .and_then(|id| directory_contact(&directory, id, monitor_contact));
    email.reply_to = match (&monitor, &monitor_contact) {
        (Some(id), Some(c)) => c.email.clone().map(|e| (id.clone(), e)),
        _ => None,
    };
    email.plan_reply_to = plans
        .iter()
        .filter_map(|p| {
            let id = p
                .monitor
                .as_ref()
                .filter(|m| Some(*m) != monitor.as_ref())?;
            let first = directory
                .agencies
                .iter()
                .find(|a| a.id == *id)
                .and_then(|a| a.email.first().cloned());
            Some((p.number.clone(), (id.clone(), first)))
        })
        .collect();
    Analysis {
        config: Config {
            timezone,
            monitor,
            state_dir: settings.state_dir.as_ref().map(|s| s.get_ref().clone()),
            email,
            webhook,
            zalo,
            http_listen,
            web,
            monitor_contact,
            reminders,
            report,
            catch_up_days,
            send_hours,
            calendar,
            policy,
            levels: directory.levels,
            agencies: directory.agencies,
            groups: directory.groups,
            plans,
            report_doc,
            agency_index: Default::default(),
        },
        diagnostics,
        templates,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Agency(String),
    Group(usize),
}

/// Levels, agencies and groups, and every name they can be referred to by.
#[derive(Default)]
struct Directory {
    levels: Vec<Level>,
    agencies: Vec<Agency>,
    groups: Vec<Group>,
    /// name_key of every id, name and alias → what it names.
    names: HashMap<String, Target>,
    /// Every id, name and alias as written, for "did you mean".
    spellings: Vec<String>,
    /// Agencies some task mentions.
    mentioned: HashSet<String>,
    /// Whether the agencies file was read; if not, references cannot be checked and are not
    /// reported one by one (the file's own error says it all).
    loaded: bool,
    /// The agencies file's name, for messages.
    file: String,
}

impl Directory {
    fn resolve(&self, reference: &str) -> Option<&Target> {
        self.names.get(&name_key(reference))
    }

    /// The agency ids a reference stands for.
    fn expand(&self, target: &Target) -> Vec<String> {
        match target {
            Target::Agency(id) => vec![id.clone()],
            Target::Group(i) => self
                .groups
                .get(*i)
                .map(|g| g.agencies.clone())
                .unwrap_or_default(),
        }
    }

    fn suggestion(&self, reference: &str) -> Option<&str> {
        let folded = ascii_fold(reference);
        self.spellings
            .iter()
            .map(|s| {
                (
                    strsim::normalized_damerau_levenshtein(&folded, &ascii_fold(s)),
                    s,
                )
            })
            .filter(|(score, _)| *score >= 0.6)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, s)| s.as_str())
    }

    fn unknown(&self, src: &Source, r: &raw::S, what: &str) -> Option<Diagnostic> {
        if !self.loaded {
            return None;
        }
        let d = src.diag(
            Severity::Error,
            r.span(),
            format!(
                "không tìm thấy {what} \"{}\" trong {}",
                r.get_ref(),
                self.file
            ),
        );
        let listy = r.get_ref().contains(';') || r.get_ref().matches(',').count() > 1;
        Some(match self.suggestion(r.get_ref()) {
            Some(s) => d.with_help(format!("có phải là \"{s}\"?")),
            None if listy => d.with_help("mỗi cơ quan hoặc nhóm là một chuỗi riêng, ví dụ [\"Sở, Ban, ngành tỉnh\", \"UBND cấp huyện\"]"),
            None => d.with_help(format!("thêm cơ quan hoặc bí danh (aliases) này vào {}, hoặc dùng mã (id) của cơ quan", self.file)),
        })
    }
}

/// The (line, column) range of a value read as a stand-in.
type Place = ((usize, usize), (usize, usize));

struct Validator {
    diags: Vec<Diagnostic>,
    /// Files read with stand-ins for values of the wrong type: the file, how many diagnostics
    /// there were once its TOML errors were pushed, and the stand-ins' places.
    stand_ins: Vec<(String, usize, Vec<Place>)>,
    /// Today in the config's timezone, when the files were read from disk (a closing date in
    /// the future is an error); `None` for in-memory sources.
    today: Option<NaiveDate>,
}

impl Validator {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn err(&mut self, src: &Source, span: Range<usize>, msg: impl Into<String>) {
        self.push(src.diag(Severity::Error, span, msg));
    }

    fn parse<T: serde::de::DeserializeOwned>(&mut self, src: &Source) -> Option<T> {
        // Every TOML error of the file, not only the first (issue 13).
        match super::recover::parse::<T>(&src.text) {
            Ok(v) => Some(v),
            Err(failed) => {
                for e in &failed.errors {
                    self.push(from_toml_error(src, e));
                }
                if failed.value.is_some() && !failed.stand_ins.is_empty() {
                    let at = |i: usize| {
                        let d = src.diag(Severity::Error, i..i, "");
                        (d.line, d.column)
                    };
                    let places = failed
                        .stand_ins
                        .iter()
                        .map(|r| (at(r.start), at(r.end.max(r.start + 1))))
                        .collect();
                    self.stand_ins
                        .push((src.name.clone(), self.diags.len(), places));
                }
                failed.value
            }
        }
    }

    /// A plain date (no time) from a TOML value.
    /// A plain date (no time) from a TOML value. A date written with a time is an error, but
    /// its date is still used so the rest of the file gets checked.
    fn date(&mut self, src: &Source, value: &Spanned<toml::value::Datetime>) -> Option<NaiveDate> {
        let dt = value.get_ref();
        let parsed = dt.date.and_then(|d| {
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
        });
        if parsed.is_none() || dt.time.is_some() || dt.offset.is_some() {
            self.push(
                src.diag(Severity::Error, value.span(), "chỉ ghi ngày, không ghi giờ")
                    .with_help("viết theo dạng năm-tháng-ngày, ví dụ 2022-03-31"),
            );
        }
        parsed
    }

    fn directory(&mut self, src: &Source, raw: &raw::Agencies) -> Directory {
        let mut dir = Directory {
            loaded: true,
            ..Directory::default()
        };
        let mut ids: HashMap<String, &'static str> = HashMap::new();
        let claim = |v: &mut Validator,
                     dir: &mut Directory,
                     spelled: &raw::S,
                     target: Target,
                     owner: &str| {
            let key = name_key(spelled.get_ref());
            if key.is_empty() {
                v.err(src, spelled.span(), "tên để trống");
                return;
            }
            match dir.names.get(&key) {
                Some(existing) if *existing != target => {
                    let other = match existing {
                        Target::Agency(id) => format!("cơ quan {id}"),
                        Target::Group(i) => {
                            format!("nhóm {}", dir.groups.get(*i).map_or("?", |g| g.id.as_str()))
                        }
                    };
                    v.err(
                        src,
                        spelled.span(),
                        format!(
                            "tên \"{}\" của {owner} trùng với {other}: không biết tên này chỉ ai",
                            spelled.get_ref()
                        ),
                    );
                }
                _ => {
                    dir.names.insert(key, target);
                    dir.spellings.push(spelled.get_ref().clone());
                }
            }
        };
        for level in &raw.level {
            if self.check_id(src, &level.id, &mut ids, "cấp") {
                dir.levels.push(Level {
                    id: level.id.get_ref().clone(),
                    name: level.name.get_ref().clone(),
                    aliases: level.aliases.iter().map(|a| a.get_ref().clone()).collect(),
                });
            }
        }
        if raw.level.is_empty() && !raw.agency.is_empty() {
            self.push(Diagnostic::file(
                Severity::Error,
                &src.name,
                "chưa khai báo cấp hành chính nào ([[level]])",
            ));
        }
        let mut ref_ids: HashMap<String, &'static str> = HashMap::new();
        for a in &raw.agency {
            let id_ok = self.check_id(src, &a.id, &mut ref_ids, "cơ quan/nhóm");
            if !dir.levels.iter().any(|l| l.id == *a.level.get_ref()) {
                let known: Vec<&str> = dir.levels.iter().map(|l| l.id.as_str()).collect();
                self.push(
                    src.diag(
                        Severity::Error,
                        a.level.span(),
                        format!("cấp \"{}\" chưa được khai báo", a.level.get_ref()),
                    )
                    .with_help(format!("các cấp đã khai báo: {}", known.join(", "))),
                );
            }
            let agency = self.agency(src, a);
            let target = Target::Agency(agency.id.clone());
            if id_ok {
                claim(self, &mut dir, &a.id, target.clone(), &agency.id);
            }
            claim(self, &mut dir, &a.name, target.clone(), &agency.id);
            for alias in &a.aliases {
                claim(self, &mut dir, alias, target.clone(), &agency.id);
            }
            dir.agencies.push(agency);
        }
        for (i, g) in raw.group.iter().enumerate() {
            let id_ok = self.check_id(src, &g.id, &mut ref_ids, "cơ quan/nhóm");
            dir.groups.push(Group {
                id: g.id.get_ref().clone(),
                name: g.name.get_ref().clone(),
                aliases: g.aliases.iter().map(|a| a.get_ref().clone()).collect(),
                agencies: vec![],
            });
            let target = Target::Group(i);
            if id_ok {
                claim(self, &mut dir, &g.id, target.clone(), g.id.get_ref());
            }
            claim(self, &mut dir, &g.name, target.clone(), g.id.get_ref());
            for alias in &g.aliases {
                claim(self, &mut dir, alias, target.clone(), g.id.get_ref());
            }
        }
        // Expand groups (members may be groups), reporting unknown members, cycles and
        // nesting too deep.
        let expanded = self.expand_groups(src, raw, &dir);
        for (i, (members, too_deep)) in expanded.into_iter().enumerate() {
            if members.is_empty() && !too_deep {
                self.push(src.diag(
                    Severity::Warning,
                    raw.group[i].id.span(),
                    format!(
                        "nhóm \"{}\" không có thành viên nào",
                        raw.group[i].name.get_ref()
                    ),
                ));
            }
            if let Some(g) = dir.groups.get_mut(i) {
                g.agencies = members;
            }
        }
        dir
    }

    /// Every group's agencies, and whether it nests more than [`MAX_GROUP_DEPTH`] levels (its
    /// members are then left empty: the error says why). Iterative (a chain of 20,000 groups
    /// must not overflow the stack), each group expanded once, the groups being expanded kept
    /// in a map for cycles.
    fn expand_groups(
        &mut self,
        src: &Source,
        raw: &raw::Agencies,
        dir: &Directory,
    ) -> Vec<(Vec<String>, bool)> {
        /// A group being expanded: where it is in its members, and what it found so far.
        struct Frame {
            group: usize,
            next: usize,
            out: Vec<String>,
            /// Levels of groups below this one (0: agencies only).
            below: usize,
            too_deep: bool,
        }
        impl Frame {
            fn new(group: usize) -> Frame {
                Frame {
                    group,
                    next: 0,
                    out: Vec::new(),
                    below: 0,
                    too_deep: false,
                }
            }
        }
        /// A finished group: its agencies, its depth (1: agencies only), too deep.
        type Done = (Vec<String>, usize, bool);
        let n = raw.group.len();
        let mut done: Vec<Option<Done>> = (0..n).map(|_| None).collect();
        // Group → its place on the stack.
        let mut on_stack: HashMap<usize, usize> = HashMap::new();
        let absorb = |frame: &mut Frame, child: &Done| {
            if !child.2 {
                frame.out.extend(child.0.iter().cloned());
            }
            frame.below = frame.below.max(child.1);
            frame.too_deep |= child.2;
        };
        for root in 0..n {
            if done[root].is_some() {
                continue;
            }
            let mut stack = vec![Frame::new(root)];
            on_stack.insert(root, 0);
            while let Some(top) = stack.last_mut() {
                let g = &raw.group[top.group];
                if let Some(member) = g.members.get(top.next) {
                    top.next += 1;
                    match dir.resolve(member.get_ref()) {
                        None => {
                            if let Some(d) = dir.unknown(src, member, "thành viên") {
                                self.push(d);
                            }
                        }
                        Some(Target::Agency(id)) => top.out.push(id.clone()),
                        Some(Target::Group(j)) => {
                            let j = *j;
                            if let Some(child) = done.get(j).and_then(Option::as_ref) {
                                absorb(top, child);
                            } else if let Some(&pos) = on_stack.get(&j) {
                                let chain: Vec<&str> = stack[pos..]
                                    .iter()
                                    .map(|f| raw.group[f.group].id.get_ref().as_str())
                                    .chain(std::iter::once(raw.group[j].id.get_ref().as_str()))
                                    .collect();
                                self.err(
                                    src,
                                    member.span(),
                                    format!("nhóm chứa chính nó: {}", shorten_chain(&chain)),
                                );
                            } else if j < n {
                                on_stack.insert(j, stack.len());
                                stack.push(Frame::new(j));
                            }
                        }
                    }
                    continue;
                }
                let Some(mut f) = stack.pop() else { break };
                on_stack.remove(&f.group);
                let g = &raw.group[f.group];
                if let Some(level) = &g.level {
                    if !dir.levels.iter().any(|l| l.id == *level.get_ref()) {
                        self.err(
                            src,
                            level.span(),
                            format!("cấp \"{}\" chưa được khai báo", level.get_ref()),
                        );
                    }
                    f.out.extend(
                        dir.agencies
                            .iter()
                            .filter(|a| a.level == *level.get_ref())
                            .map(|a| a.id.clone()),
                    );
                }
                let depth = f.below + 1;
                if depth > MAX_GROUP_DEPTH && !f.too_deep {
                    // Reported once, at the first group past the limit: the groups that
                    // contain it are too deep for the same reason.
                    self.push(
                        src.diag(
                            Severity::Error,
                            g.id.span(),
                            format!(
                                "nhóm lồng nhau quá sâu: nhóm \"{}\" chứa hơn {MAX_GROUP_DEPTH} cấp nhóm lồng nhau",
                                g.id.get_ref()
                            ),
                        )
                        .with_help(format!(
                            "cho nhóm chứa trực tiếp các cơ quan; tối đa {MAX_GROUP_DEPTH} cấp nhóm lồng nhau"
                        )),
                    );
                    f.too_deep = true;
                }
                if f.too_deep {
                    f.out.clear();
                } else {
                    let mut seen = HashSet::new();
                    f.out.retain(|id| seen.insert(id.clone()));
                }
                let finished = (f.out, depth, f.too_deep);
                if let Some(parent) = stack.last_mut() {
                    absorb(parent, &finished);
                }
                done[f.group] = Some(finished);
            }
        }
        done.into_iter()
            .map(|d| d.map_or((Vec::new(), false), |(m, _, deep)| (m, deep)))
            .collect()
    }

    /// Whether a text is within `max` characters; if not, an error at its start (the
    /// reminders could not show it: the templates' budget is for texts of a plan's size).
    fn not_too_long(&mut self, src: &Source, value: &raw::S, what: &str, max: usize) -> bool {
        let chars = value.get_ref().chars().count();
        if chars <= max {
            return true;
        }
        let start = value.span().start;
        self.push(
            src.diag(
                Severity::Error,
                start..start + 1,
                format!("{what} dài quá ({chars} ký tự; tối đa {max} ký tự)"),
            )
            .with_help("ghi ngắn gọn như kế hoạch ghi; phần giải thích để vào note"),
        );
        false
    }

    fn check_id(
        &mut self,
        src: &Source,
        id: &raw::S,
        seen: &mut HashMap<String, &'static str>,
        what: &'static str,
    ) -> bool {
        let s = id.get_ref();
        let valid = !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if !valid {
            self.push(
                src.diag(
                    Severity::Error,
                    id.span(),
                    format!("mã (id) \"{s}\" không hợp lệ"),
                )
                .with_help(
                    "mã chỉ gồm chữ thường không dấu, chữ số, dấu '-' và '_', ví dụ \"so-tttt\"",
                ),
            );
            return false;
        }
        if seen.insert(s.clone(), what).is_some() {
            self.err(
                src,
                id.span(),
                format!("mã (id) \"{s}\" bị trùng: mỗi {what} cần một mã riêng"),
            );
            return false;
        }
        true
    }

    fn agency(&mut self, src: &Source, a: &raw::Agency) -> Agency {
        let mut emails = Vec::new();
        for e in &a.email {
            let visible: String = e
                .get_ref()
                .chars()
                .filter(|c| !crate::text::is_invisible(*c))
                .collect();
            let addr = visible.trim();
            if is_plain_email(addr) {
                emails.push(addr.to_string());
            } else {
                self.push(
                    src.diag(
                        Severity::Error,
                        e.span(),
                        format!("địa chỉ email \"{addr}\" không hợp lệ"),
                    )
                    .with_help("ví dụ \"vanthu@haugiang.gov.vn\"; mỗi địa chỉ là một chuỗi riêng"),
                );
            }
        }
        let zalo_phone = a
            .zalo_phone
            .as_ref()
            .and_then(|p| match normalize_phone(p.get_ref()) {
                Some(n) => Some(n),
                None => {
                    self.push(
                        src.diag(
                            Severity::Error,
                            p.span(),
                            format!("số điện thoại Zalo \"{}\" không hợp lệ", p.get_ref()),
                        )
                        .with_help(
                            "cần số di động Việt Nam, ví dụ \"0912345678\" hoặc \"84912345678\"",
                        ),
                    );
                    None
                }
            });
        let zalo_user_id = a.zalo_user_id.as_ref().and_then(|u| {
            let s = u.get_ref().trim();
            if !s.is_empty() && s.len() <= 32 && s.chars().all(|c| c.is_ascii_digit()) {
                Some(s.to_string())
            } else {
                self.push(src.diag(
                    Severity::Error,
                    u.span(),
                    format!("Zalo user id \"{s}\" không hợp lệ: chỉ gồm chữ số"),
                ));
                None
            }
        });
        let has_zalo = a.zalo_phone.is_some() || a.zalo_user_id.is_some();
        if a.email.is_empty() && !has_zalo {
            self.push(
                src.diag(
                    Severity::Error,
                    a.id.span(),
                    format!(
                        "cơ quan \"{}\" không có cách liên lạc nào",
                        a.name.get_ref()
                    ),
                )
                .with_help("thêm email = [\"...\"] hoặc zalo_phone = \"09...\""),
            );
        }
        let mut channels = Vec::new();
        for c in &a.channels {
            match Channel::ALL
                .iter()
                .find(|(name, _)| *name == c.get_ref().trim().to_lowercase())
            {
                Some((name, ch)) => {
                    let usable = match ch {
                        Channel::Email => !a.email.is_empty(),
                        Channel::Zalo => has_zalo,
                        // Checked against [webhook] once the settings are known.
                        Channel::Webhook => true,
                    };
                    if !usable {
                        let need = match ch {
                            Channel::Email => "email",
                            Channel::Zalo => "zalo_phone hoặc zalo_user_id",
                            Channel::Webhook => "[webhook] url",
                        };
                        self.err(
                            src,
                            c.span(),
                            format!("kênh \"{name}\" cần {need} nhưng cơ quan này chưa có"),
                        );
                    }
                    if channels.contains(ch) {
                        self.err(src, c.span(), format!("kênh \"{name}\" ghi hai lần"));
                    } else {
                        channels.push(*ch);
                    }
                }
                None => self.push(
                    src.diag(
                        Severity::Error,
                        c.span(),
                        format!("kênh \"{}\" không có", c.get_ref()),
                    )
                    .with_help("các kênh: \"email\", \"zalo\""),
                ),
            }
        }
        if a.channels.is_empty() {
            if !a.email.is_empty() {
                channels.push(Channel::Email);
            }
            if has_zalo {
                channels.push(Channel::Zalo);
            }
        }
        Agency {
            id: a.id.get_ref().clone(),
            name: a.name.get_ref().clone(),
            aliases: a.aliases.iter().map(|s| s.get_ref().clone()).collect(),
            level: a.level.get_ref().clone(),
            email: emails,
            zalo_phone,
            zalo_user_id,
            channels,
        }
    }

    fn plan(
        &mut self,
        src: &Source,
        file: &raw::PlanFile,
        dir: &mut Directory,
        base: &Policy,
    ) -> Option<Plan> {
        let header = file.plan.get_ref();
        let issued = self.date(src, &header.issued)?;
        let (closed, reminders_from, until) = self.lifecycle(src, header, issued);
        let plan_policy = match &file.policy {
            Some(p) => super::settings::policy(src, p, base, &mut self.diags),
            None => base.clone(),
        };
        let ctx = super::model::deadline_context(issued.year(), &dir.levels);
        if file.task.is_empty() {
            self.push(src.diag(
                Severity::Warning,
                file.plan.span(),
                "kế hoạch chưa có nhiệm vụ nào ([[task]])",
            ));
        }
        let mut ids: HashSet<String> = HashSet::new();
        let mut tasks = Vec::new();
        for t in &file.task {
            let id = t.id.get_ref().trim().to_string();
            if id.is_empty() {
                self.err(src, t.id.span(), "mã nhiệm vụ (id) để trống");
            } else if !ids.insert(id.clone()) {
                self.err(
                    src,
                    t.id.span(),
                    format!("nhiệm vụ \"{id}\" bị trùng mã trong kế hoạch này"),
                );
            }
            let mut task = self.task(src, t, id, issued, &ctx, dir);
            task.policy = match &t.policy {
                Some(p) => super::settings::policy(src, p, &plan_policy, &mut self.diags),
                None => plan_policy.clone(),
            };
            tasks.push(task);
        }
        self.not_too_long(src, &header.title, "tiêu đề kế hoạch", MAX_TITLE_CHARS);
        let monitor = header
            .monitor
            .as_ref()
            .and_then(|m| self.plan_monitor(src, m, dir));
        Some(Plan {
            number: header.number.get_ref().trim().to_string(),
            title: header.title.get_ref().clone(),
            issuer: header.issuer.get_ref().clone(),
            issued,
            file: src.name.clone(),
            policy: plan_policy,
            tasks,
            closed,
            reminders_from,
            until,
            monitor,
        })
    }

    /// `[plan] monitor`: one agency (an id, a name or an alias), not a group.
    fn plan_monitor(&mut self, src: &Source, m: &raw::S, dir: &mut Directory) -> Option<String> {
        match dir.resolve(m.get_ref()) {
            Some(Target::Agency(id)) => {
                let id = id.clone();
                dir.mentioned.insert(id.clone());
                Some(id)
            }
            Some(Target::Group(_)) => {
                self.push(
                    src.diag(
                        Severity::Error,
                        m.span(),
                        format!(
                            "cơ quan theo dõi kế hoạch (monitor) phải là một cơ quan, \"{}\" là một nhóm",
                            m.get_ref()
                        ),
                    )
                    .with_help("ghi mã, tên hoặc bí danh của một cơ quan, ví dụ monitor = \"so-tttt\""),
                );
                None
            }
            None => {
                if let Some(d) = dir.unknown(src, m, "cơ quan theo dõi kế hoạch (monitor)") {
                    self.push(d);
                }
                None
            }
        }
    }

    /// `status`, `closed`, `reminders_from` and `until` of a plan header.
    fn lifecycle(
        &mut self,
        src: &Source,
        header: &raw::PlanHeader,
        issued: NaiveDate,
    ) -> (Option<Closed>, Option<NaiveDate>, Option<NaiveDate>) {
        let closed_on = header.closed.as_ref().and_then(|d| self.date(src, d));
        let reminders_from = header
            .reminders_from
            .as_ref()
            .and_then(|d| self.date(src, d));
        let until = header.until.as_ref().and_then(|d| self.date(src, d));
        let status = header
            .status
            .as_ref()
            .map(|s| (s.get_ref().trim(), s.span()));
        let closed = match status {
            None | Some(("active", _)) => {
                if let (Some(d), Some(span)) = (closed_on, header.closed.as_ref().map(|c| c.span()))
                {
                    self.push(
                        src.diag(
                            Severity::Error,
                            span,
                            format!(
                                "kế hoạch có ngày kết thúc {} nhưng chưa ghi status = \"closed\"",
                                crate::dates::dmy(d)
                            ),
                        )
                        .with_help("kế hoạch đã kết thúc: thêm status = \"closed\"; còn thực hiện: xóa dòng closed"),
                    );
                }
                None
            }
            Some(("closed", _)) => Some(Closed { on: closed_on }),
            Some((other, span)) => {
                let hint = match other.to_lowercase().as_str() {
                    "closed" | "đã kết thúc" | "ket thuc" => " (có phải là \"closed\"?)",
                    "active" | "đang thực hiện" => " (có phải là \"active\"?)",
                    _ => "",
                };
                self.push(
                    src.diag(
                        Severity::Error,
                        span,
                        format!("trạng thái kế hoạch \"{other}\" không hợp lệ{hint}"),
                    )
                    .with_help("dùng status = \"active\" (đang thực hiện, mặc định) hoặc \"closed\" (đã kết thúc)"),
                );
                None
            }
        };
        let span_of = |d: &Option<Spanned<toml::value::Datetime>>| {
            d.as_ref().map(|d| d.span()).unwrap_or_default()
        };
        if let (Some(on), Some(today)) = (closed_on, self.today) {
            if on > today {
                self.push(
                    src.diag(
                        Severity::Error,
                        span_of(&header.closed),
                        format!(
                            "ngày kết thúc kế hoạch {} còn ở tương lai (hôm nay {})",
                            crate::dates::dmy(on),
                            crate::dates::dmy(today)
                        ),
                    )
                    .with_help("chỉ đóng kế hoạch khi đã kết thúc; để dừng nhắc từ một ngày về sau, dùng until"),
                );
            }
        }
        for (date, raw_date, what) in [
            (closed_on, &header.closed, "ngày kết thúc (closed)"),
            (
                reminders_from,
                &header.reminders_from,
                "ngày bắt đầu nhắc (reminders_from)",
            ),
            (until, &header.until, "ngày dừng nhắc (until)"),
        ] {
            if let Some(d) = date.filter(|d| *d < issued) {
                self.push(src.diag(
                    Severity::Error,
                    span_of(raw_date),
                    format!(
                        "{what} {} trước ngày ban hành kế hoạch {}",
                        crate::dates::dmy(d),
                        crate::dates::dmy(issued)
                    ),
                ));
            }
        }
        if let (Some(from), Some(on)) = (reminders_from, closed_on) {
            if from > on {
                self.push(src.diag(
                    Severity::Error,
                    span_of(&header.reminders_from),
                    format!(
                        "ngày bắt đầu nhắc {} sau ngày kết thúc kế hoạch {}",
                        crate::dates::dmy(from),
                        crate::dates::dmy(on)
                    ),
                ));
            }
        }
        if let (Some(from), Some(until)) = (reminders_from, until) {
            if from > until {
                self.push(src.diag(
                    Severity::Error,
                    span_of(&header.reminders_from),
                    format!(
                        "ngày bắt đầu nhắc {} sau ngày dừng nhắc (until) {}",
                        crate::dates::dmy(from),
                        crate::dates::dmy(until)
                    ),
                ));
            }
        }
        (closed, reminders_from, until)
    }

    fn task(
        &mut self,
        src: &Source,
        t: &raw::Task,
        id: String,
        issued: NaiveDate,
        ctx: &Context,
        dir: &mut Directory,
    ) -> Task {
        // Each agency with whether the plan names it directly (not through a group).
        let mut refs = |v: &mut Validator, list: &[raw::S]| -> Vec<(String, bool)> {
            let mut out: Vec<(String, bool)> = Vec::new();
            let mut index: HashMap<String, usize> = HashMap::new();
            for r in list {
                match dir.resolve(r.get_ref()).cloned() {
                    Some(target) => {
                        let explicit = matches!(target, Target::Agency(_));
                        for id in dir.expand(&target) {
                            match index.get(&id) {
                                Some(&i) => out[i].1 |= explicit,
                                None => {
                                    index.insert(id.clone(), out.len());
                                    out.push((id, explicit));
                                }
                            }
                        }
                    }
                    None => {
                        if let Some(d) = dir.unknown(src, r, "cơ quan hoặc nhóm") {
                            v.push(d);
                        }
                    }
                }
            }
            dir.mentioned.extend(out.iter().map(|(id, _)| id.clone()));
            out
        };
        let lead_refs = refs(self, t.lead.get_ref());
        let support_refs = refs(self, &t.support);
        if t.lead.get_ref().is_empty() {
            self.err(
                src,
                t.lead.span(),
                format!("nhiệm vụ {id} chưa có cơ quan chủ trì (lead)"),
            );
        }
        // An agency in both lists is reminded once, in the role the plan names it in directly:
        // "Sở, Ban, ngành tỉnh" lead with "Văn phòng UBND tỉnh" support makes the Văn phòng a
        // coordinator, even though it is one of the Sở, Ban, ngành. Otherwise lead wins.
        let explicit_support: HashSet<&str> = support_refs
            .iter()
            .filter(|(_, explicit)| *explicit)
            .map(|(a, _)| a.as_str())
            .collect();
        let lead: Vec<String> = lead_refs
            .iter()
            .filter(|(a, explicit)| *explicit || !explicit_support.contains(a.as_str()))
            .map(|(a, _)| a.clone())
            .collect();
        let lead_set: HashSet<&str> = lead.iter().map(String::as_str).collect();
        let support: Vec<String> = support_refs
            .iter()
            .filter(|(a, _)| !lead_set.contains(a.as_str()))
            .map(|(a, _)| a.clone())
            .collect();
        let errors_before = self
            .diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let mut deadline = self.deadline(src, t, &id, issued, ctx);
        if let Deadline::Dated(ms) = &mut deadline {
            self.route_stages(src, t, &id, ms, dir, &lead);
        }
        let unreadable = self
            .diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
            > errors_before;
        if let Deadline::Dated(ms) = &deadline {
            // Staged by level: a lead whose level has no milestone is reminded of every one,
            // which is rarely what the plan means.
            if ms.iter().any(|m| m.level.is_some()) {
                for agency in &lead {
                    let Some(level) = dir
                        .agencies
                        .iter()
                        .find(|a| a.id == *agency)
                        .map(|a| a.level.clone())
                    else {
                        continue;
                    };
                    if !ms
                        .iter()
                        .any(|m| m.level.as_ref().is_none_or(|l| *l == level))
                    {
                        let span = t.time.as_ref().map_or(t.id.span(), Spanned::span);
                        self.push(
                            src.diag(
                                Severity::Warning,
                                span,
                                format!("nhiệm vụ {id}: thời gian không có mốc cho cấp \"{level}\" của cơ quan chủ trì {agency}; cơ quan này sẽ được nhắc theo mọi mốc"),
                            )
                            .with_help("thêm mốc cho cấp này vào thời gian, hoặc ghi `due` cho nhiệm vụ"),
                        );
                    }
                }
            }
            for m in ms.iter().filter(|m| m.due < issued) {
                let span = t
                    .due
                    .as_ref()
                    .map(Spanned::span)
                    .or(t.time.as_ref().map(Spanned::span))
                    .unwrap_or(t.id.span());
                self.push(src.diag(
                    Severity::Warning,
                    span,
                    format!(
                        "hạn {} của nhiệm vụ {id} trước ngày ban hành kế hoạch ({})",
                        crate::dates::dmy(m.due),
                        crate::dates::dmy(issued)
                    ),
                ));
            }
        }
        let done = t.done.as_ref().and_then(|d| self.date(src, d));
        let mut done_by = BTreeMap::new();
        for (who, when) in &t.done_by {
            let Some(date) = self.date(src, when) else {
                continue;
            };
            match dir.resolve(who.get_ref()).cloned() {
                Some(target) => {
                    // A group marks done those of its members that take part in the task.
                    let on_task: Vec<String> = dir
                        .expand(&target)
                        .into_iter()
                        .filter(|a| lead.contains(a) || support.contains(a))
                        .collect();
                    if on_task.is_empty() {
                        self.push(src.diag(
                            Severity::Warning,
                            who.span(),
                            format!(
                                "\"{}\" không chủ trì hay phối hợp nhiệm vụ {id}",
                                who.get_ref()
                            ),
                        ));
                    }
                    for agency in on_task {
                        if let Some(prev) = done_by.insert(agency.clone(), date) {
                            if prev != date {
                                self.push(src.diag(
                                    Severity::Warning,
                                    who.span(),
                                    format!("cơ quan {agency} được ghi hoàn thành hai lần với hai ngày khác nhau"),
                                ));
                            }
                        }
                    }
                }
                None => {
                    if let Some(d) = dir.unknown(src, who, "cơ quan") {
                        self.push(d);
                    }
                }
            }
        }
        self.not_too_long(src, &t.title, "tiêu đề nhiệm vụ", MAX_TITLE_CHARS);
        Task {
            id,
            title: t.title.get_ref().clone(),
            time_text: t.time.as_ref().map(|s| s.get_ref().clone()),
            deadline,
            lead,
            support,
            done,
            done_by,
            answered: Default::default(),
            extended: Default::default(),
            note: t.note.as_ref().map(|n| n.get_ref().clone()),
            policy: Policy::default(),
            unreadable,
        }
    }

    /// Staged by agency ("UBND cấp huyện: trước 30/6; Sở Nội vụ: trước 31/7"): each stage's
    /// name resolved to the agencies it stands for, so a lead is reminded of its own stage
    /// only. A name that resolves to nothing keeps its stage for everyone, with a warning; so
    /// does a lead with no stage of its own.
    fn route_stages(
        &mut self,
        src: &Source,
        t: &raw::Task,
        id: &str,
        ms: &mut [Milestone],
        dir: &Directory,
        lead: &[String],
    ) {
        if !dir.loaded || ms.iter().all(|m| m.stage_of.is_none()) {
            return;
        }
        let span = t.time.as_ref().map_or(t.id.span(), Spanned::span);
        for m in ms.iter_mut() {
            let Some(name) = m.stage_of.clone() else {
                continue;
            };
            match dir.resolve(&name) {
                Some(target) => m.agencies = dir.expand(target),
                None => self.push(
                    src.diag(
                        Severity::Warning,
                        span.clone(),
                        format!("nhiệm vụ {id}: mốc của \"{name}\" không ứng với cơ quan hay nhóm nào; mốc này áp dụng cho mọi cơ quan chủ trì"),
                    )
                    .with_help("thêm tên này làm bí danh (aliases) của cơ quan hoặc nhóm trong agencies.toml"),
                ),
            }
        }
        let staged = ms.iter().any(|m| !m.agencies.is_empty());
        for agency in lead {
            let level = dir
                .agencies
                .iter()
                .find(|a| a.id == *agency)
                .map(|a| a.level.as_str());
            if staged && !ms.iter().any(|m| m.applies_to(agency, level)) {
                self.push(
                    src.diag(
                        Severity::Warning,
                        span.clone(),
                        format!("nhiệm vụ {id}: cơ quan chủ trì {agency} không có mốc riêng trong thời gian; cơ quan này sẽ được nhắc theo mọi mốc"),
                    )
                    .with_help("ghi mốc cho cơ quan này, hoặc thêm tên mốc làm bí danh của nó"),
                );
            }
        }
    }

    fn deadline(
        &mut self,
        src: &Source,
        t: &raw::Task,
        id: &str,
        issued: NaiveDate,
        ctx: &Context,
    ) -> Deadline {
        if let (Some(due), Some(rec)) = (&t.due, &t.recurrence) {
            self.err(
                src,
                rec.span(),
                "chỉ dùng một trong hai: `due` (một hạn) hoặc `recurrence` (lặp lại)",
            );
            let _ = due;
        }
        if let Some(due) = &t.due {
            return match self.date(src, due) {
                Some(d) => Deadline::Dated(vec![Milestone::on(d)]),
                None => Deadline::OnRequest,
            };
        }
        if let Some(rec) = &t.recurrence {
            return match recur::check(rec.get_ref(), issued) {
                Ok(()) => Deadline::recurring(recur::normalize(rec.get_ref())),
                Err(e) => {
                    self.push(
                        src.diag(Severity::Error, rec.span(), e)
                            .with_help("ví dụ \"FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=18\" (ngày 18 của tháng cuối mỗi quý)"),
                    );
                    Deadline::PeriodicUnspecified
                }
            };
        }
        let Some(time) = &t.time else {
            self.push(
                src.diag(
                    Severity::Error,
                    t.id.span(),
                    format!("nhiệm vụ {id} chưa có thời gian"),
                )
                .with_help("thêm time = \"...\" như kế hoạch ghi, hoặc due = 2022-12-31"),
            );
            return Deadline::OnRequest;
        };
        if !self.not_too_long(src, time, "thời gian", crate::deadline::MAX_TIME_CHARS) {
            return Deadline::OnRequest;
        }
        // Point into the string literal when it has no escapes, else at its start.
        let literal = time.span();
        let inner = src
            .text
            .get(literal.start + 1..literal.end.saturating_sub(1));
        let offset = |r: Range<usize>| -> Range<usize> {
            if inner == Some(time.get_ref().as_str()) {
                literal.start + 1 + r.start..literal.start + 1 + r.end.max(r.start)
            } else {
                literal.clone()
            }
        };
        match deadline::parse(time.get_ref(), ctx) {
            Ok(parsed) => {
                for note in &parsed.notes {
                    // Without levels (agencies.toml unreadable), level names look unknown:
                    // the agencies file's own error is the one to fix first.
                    if ctx.levels.is_empty()
                        && matches!(note.kind, crate::deadline::NoteKind::Ignored(_))
                    {
                        continue;
                    }
                    let span = offset(note.span.clone());
                    self.push(src.diag(
                        Severity::Warning,
                        span,
                        format!("nhiệm vụ {id}: {}", note.kind),
                    ));
                }
                if parsed.deadline == Deadline::PeriodicUnspecified {
                    self.push(
                        src.diag(Severity::Warning, literal.clone(), format!("nhiệm vụ {id} \"{}\" không nói rõ kỳ hạn: sẽ không có lời nhắc", time.get_ref()))
                            .with_help("thêm recurrence = \"FREQ=...\" (RRULE), ví dụ \"FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=18\""),
                    );
                }
                parsed.deadline
            }
            Err(e) => {
                let mut d = src.diag(
                    Severity::Error,
                    offset(e.span.clone()),
                    format!("nhiệm vụ {id}: {}", e.message),
                );
                if !e.suggestions.is_empty() {
                    let forms: Vec<String> =
                        e.suggestions.iter().map(|s| format!("\"{s}\"")).collect();
                    d = d.with_help(format!(
                        "các cách ghi được hiểu: {}; hoặc ghi hạn cụ thể due = 2022-12-31",
                        forms.join(", ")
                    ));
                }
                self.push(d);
                Deadline::OnRequest
            }
        }
    }
}

/// The longest task title, in characters.
pub const MAX_TITLE_CHARS: usize = 2000;

/// How many levels groups may nest (a group of agencies is one level).
pub const MAX_GROUP_DEPTH: usize = 64;

/// A cycle of groups for a message: long ones keep their ends.
fn shorten_chain(chain: &[&str]) -> String {
    if chain.len() <= 8 {
        return chain.join(" → ");
    }
    format!(
        "{} → … ({} nhóm) … → {}",
        chain[..3].join(" → "),
        chain.len() - 6,
        chain[chain.len() - 3..].join(" → ")
    )
}

/// An address mail servers everywhere accept: ASCII, no quoted local part, a domain name
/// (not an IP literal) with a top-level domain of at least two letters.
pub fn is_plain_email(addr: &str) -> bool {
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    let parsed = email_address::EmailAddress::parse_with_options(
        addr,
        email_address::Options::default().without_display_text(),
    )
    .is_ok();
    let tld_ok = domain
        .rsplit('.')
        .next()
        .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
    parsed
        && addr.is_ascii()
        && !local.starts_with('"')
        && !domain.starts_with('[')
        && domain.contains('.')
        && tld_ok
}

/// The file name of a path as shown ("config/agencies.toml" → "agencies.toml").
fn short_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// A Vietnamese mobile number as 84xxxxxxxxx, from "0912 345 678", "+84912345678", ...
pub fn normalize_phone(raw: &str) -> Option<String> {
    // "+84 (0) 912 345 678": the trunk zero in brackets is not dialled after +84.
    let raw = raw.replace("(0)", "");
    let digits: String = raw
        .chars()
        .filter(|c| {
            !(c.is_whitespace()
                || crate::text::is_invisible(*c)
                || matches!(c, '.' | '-' | '(' | ')'))
        })
        .collect();
    let digits = digits.strip_prefix('+').unwrap_or(&digits);
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let national = match digits.strip_prefix("84") {
        Some(rest) => rest,
        None => digits.strip_prefix('0')?,
    };
    let mobile = national.len() == 9
        && matches!(
            national.as_bytes().first(),
            Some(b'3' | b'5' | b'7' | b'8' | b'9')
        );
    mobile.then(|| format!("84{national}"))
}

/// The monitoring office's contact: what `[monitor]` says, the agency's name and first email
/// otherwise.
fn directory_contact(
    directory: &Directory,
    id: &str,
    given: Option<super::web::MonitorContact>,
) -> Option<super::web::MonitorContact> {
    let agency = directory.agencies.iter().find(|a| a.id == id)?;
    let mut c = given.unwrap_or_default();
    if c.name.is_empty() {
        c.name = agency.name.clone();
    }
    if c.email.is_none() {
        c.email = agency.email.first().cloned();
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::normalize_phone;

    #[test]
    fn phones() {
        assert_eq!(
            normalize_phone("0912 345 678").as_deref(),
            Some("84912345678")
        );
        assert_eq!(
            normalize_phone("+84 912.345.678").as_deref(),
            Some("84912345678")
        );
        assert_eq!(
            normalize_phone("84912345678").as_deref(),
            Some("84912345678")
        );
        assert_eq!(normalize_phone("02933876543"), None); // landline
        assert_eq!(normalize_phone("091234567"), None);
        assert_eq!(normalize_phone("09123456789"), None);
        assert_eq!(normalize_phone("abc"), None);
        assert_eq!(
            normalize_phone("0912\u{a0}345\u{200b}678").as_deref(),
            Some("84912345678")
        );
        assert_eq!(
            normalize_phone("+84 (0) 912 345 678").as_deref(),
            Some("84912345678")
        );
    }

    /// `[plan] monitor` naming no agency, or a group: an error at the value, with the nearest
    /// name for a misspelling.
    #[test]
    fn a_plans_monitor_is_one_known_agency() {
        use crate::config::{analyze, Source, Sources};
        let agencies = "[[level]]\nid = \"tinh\"\nname = \"cấp tỉnh\"\n\n[[agency]]\nid = \"so-tttt\"\nname = \"Sở Thông tin và Truyền thông\"\nlevel = \"tinh\"\nemail = [\"tttt@tinh.example\"]\n\n[[group]]\nid = \"cac-so\"\nname = \"Các sở\"\nmembers = [\"so-tttt\"]\n";
        let analyze_with = |monitor: &str| {
            let plan = format!("[plan]\nnumber = \"1/KH\"\ntitle = \"T\"\nissuer = \"U\"\nissued = 2022-01-01\nmonitor = \"{monitor}\"\n\n[[task]]\nid = \"1\"\ntitle = \"T\"\nlead = [\"so-tttt\"]\ndue = 2022-06-01\n");
            analyze(&Sources::in_memory(
                None,
                Source::new("agencies.toml", agencies),
                vec![Source::new("plans/1.toml", plan)],
            ))
        };
        let ok = analyze_with("Sở Thông tin và Truyền thông");
        assert!(!ok.has_errors(), "{:?}", ok.errors().collect::<Vec<_>>());
        assert_eq!(ok.config.plans[0].monitor.as_deref(), Some("so-tttt"));

        let unknown = analyze_with("Sở Thông tin và Truyền thong");
        let e: Vec<_> = unknown.errors().collect();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(
            (e[0].file.as_str(), e[0].line, e[0].column),
            ("plans/1.toml", 6, 11)
        );
        assert!(
            e[0].message
                .contains("không tìm thấy cơ quan theo dõi kế hoạch (monitor)"),
            "{}",
            e[0].message
        );
        assert_eq!(
            e[0].help.as_deref(),
            Some("có phải là \"Sở Thông tin và Truyền thông\"?")
        );
        assert_eq!(unknown.config.plans[0].monitor, None);

        let group = analyze_with("Các sở");
        let e: Vec<_> = group.errors().collect();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!((e[0].line, e[0].column), (6, 11));
        assert!(e[0].message.contains("là một nhóm"), "{}", e[0].message);
    }

    #[test]
    fn emails() {
        assert!(super::is_plain_email("vanthu@haugiang.gov.vn"));
        assert!(!super::is_plain_email("vănthư@b.vn"));
        assert!(!super::is_plain_email("a@b.c"));
        assert!(!super::is_plain_email("a@[1.2.3.4]"));
        assert!(!super::is_plain_email("\"x y\"@b.vn"));
        assert!(!super::is_plain_email("so-tu-phap@"));
    }
}
