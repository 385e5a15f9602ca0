//! The schedule at national scale: 34 provinces × 30 tasks, 12,002 agencies, about a million
//! task–agency–milestone pairs. Measures building the slot index, a tick with nothing due, a
//! tick with ~10,000 due slots, and a year's preview of the shipped Plan 50.
//! Figures: docs/PERFORMANCE.md.

use chrono::{Days, NaiveDate};
use criterion::{criterion_group, criterion_main, Criterion};
use nhacviec::calendar::Calendar;
use nhacviec::config::{self, analyze, Source, Sources};
use nhacviec::schedule::Schedule;
use std::collections::HashSet;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

const PROVINCES: usize = 34;
const TASKS: usize = 30;
const DEPARTMENTS: usize = 30;
const COMMUNES: usize = 323;

const TIMES: &[&str] = &[
    "Quý II/2022",
    "Quý III, IV/2022",
    "tỉnh từ ngày 01/6/2022; cấp xã từ ngày 01/12/2022",
    "Hằng quý",
    "Hằng tháng",
    "Trước ngày 15/12/2022",
    "Tháng 5, 8, 11/2022",
];

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// Two levels (as since 2025): per province 30 departments and 323 communes; each task led by
/// the departments' group and coordinated by the communes' group.
fn national() -> Sources {
    let mut agencies = String::from(
        "[[level]]\nid = \"tinh\"\nname = \"cấp tỉnh\"\naliases = [\"tỉnh\"]\n\n[[level]]\nid = \"xa\"\nname = \"cấp xã\"\naliases = [\"xã\"]\n\n",
    );
    let mut plans = Vec::new();
    for p in 0..PROVINCES {
        let mut depts = Vec::new();
        let mut communes = Vec::new();
        for i in 0..DEPARTMENTS + COMMUNES {
            let (level, list) = if i < DEPARTMENTS {
                ("tinh", &mut depts)
            } else {
                ("xa", &mut communes)
            };
            let id = format!("p{p}-a{i}");
            agencies.push_str(&format!(
                "[[agency]]\nid = \"{id}\"\nname = \"Cơ quan {i} tỉnh {p}\"\nlevel = \"{level}\"\nemail = [\"{id}@tinh{p}.example\"]\n\n"
            ));
            list.push(format!("\"{id}\""));
        }
        agencies.push_str(&format!(
            "[[group]]\nid = \"p{p}-so\"\nname = \"Sở, ngành tỉnh {p}\"\nmembers = [{}]\n\n",
            depts.join(", ")
        ));
        agencies.push_str(&format!(
            "[[group]]\nid = \"p{p}-xa\"\nname = \"UBND cấp xã tỉnh {p}\"\nmembers = [{}]\n\n",
            communes.join(", ")
        ));
        let mut plan = format!("[plan]\nnumber = \"{p}/KH-UBND\"\ntitle = \"Kế hoạch {p}\"\nissuer = \"UBND tỉnh {p}\"\nissued = 2022-03-24\n\n");
        for t in 0..TASKS {
            plan.push_str(&format!(
                "[[task]]\nid = \"{t}\"\ntitle = \"Nhiệm vụ {t}\"\nlead = [\"p{p}-so\"]\nsupport = [\"p{p}-xa\"]\ntime = \"{}\"\n\n",
                TIMES[t % TIMES.len()]
            ));
        }
        plans.push(Source::new(format!("plans/{p}.toml"), plan));
    }
    Sources::in_memory(None, Source::new("agencies.toml", agencies), plans)
}

fn rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn benches(c: &mut Criterion) {
    let analysis = analyze(&national());
    assert!(!analysis.has_errors(), "{:?}", analysis.errors().next());
    let config = analysis.config;
    let calendar = Calendar::new(config.calendar.clone(), 2021..=2024);
    let started = Instant::now();
    let schedule = Schedule::build(&config, &calendar, d(2023, 12, 31));
    let pairs = schedule
        .slots()
        .iter()
        .filter(|s| s.role != nhacviec::schedule::Role::Monitor)
        .map(|s| (s.task, s.agency, s.deadline))
        .collect::<HashSet<_>>()
        .len();
    eprintln!(
        "national: {} agencies, {pairs} task-agency-milestone pairs, {} slots, built in {:.2?}, RSS {:.0} MB",
        config.agencies.len(),
        schedule.len(),
        started.elapsed(),
        rss_mb().unwrap_or(f64::NAN)
    );

    let mut group = c.benchmark_group("national");
    group.sample_size(10);
    // A Sunday: no slot falls on it.
    let quiet = d(2022, 7, 10);
    let empty: HashSet<String> = HashSet::new();
    let tick = schedule.due(&empty, quiet, Some(quiet - Days::new(1)));
    assert!(tick.digests.is_empty());
    group.bench_function("tick with nothing due", |b| {
        b.iter(|| schedule.due(black_box(&empty), quiet, Some(quiet - Days::new(1))))
    });
    // The busiest hour of a normal day: a day whose due slots number about ten thousand.
    let (busy, count) = (0..300u64)
        .map(|k| d(2022, 3, 24) + Days::new(k))
        .map(|day| {
            (
                day,
                schedule.slots().iter().filter(|s| s.date == day).count(),
            )
        })
        .filter(|(_, n)| (8_000..=20_000).contains(n))
        .max_by_key(|(_, n)| std::cmp::Reverse(n.abs_diff(10_000)))
        .unwrap_or((d(2022, 6, 30), 0));
    eprintln!("busy tick: {busy} with {count} due slots");
    group.bench_function(format!("tick with {count} due slots"), |b| {
        b.iter(|| schedule.due(black_box(&empty), busy, Some(busy - Days::new(1))))
    });
    group.finish();

    let sample = config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).config;
    let cron = config::parse_cron(&sample.reminders).unwrap();
    let start = nhacviec::dates::parse_now("2022-03-24", sample.timezone).unwrap();
    c.bench_function("preview Plan 50 for a year", |b| {
        b.iter(|| nhacviec::report::preview(&sample, &cron, start, d(2023, 3, 23), None, None))
    });
}

criterion_group!(schedule, benches);
criterion_main!(schedule);
