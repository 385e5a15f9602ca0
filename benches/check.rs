//! Benchmarks of the pure core: reading time texts, and checking a whole config (the shipped
//! Plan 50, and a synthetic province-scale one). Figures: docs/PERFORMANCE.md.

use criterion::{criterion_group, criterion_main, Criterion};
use nhacviec::config::{analyze, read_dir, Source, Sources};
use nhacviec::deadline::{parse, Context, LevelNames};
use std::hint::black_box;
use std::path::Path;

const PHRASES: &[&str] = &[
    "Năm 2022",
    "Quý II/2022",
    "Quý III, IV/2022",
    "trong tháng 4 năm 2022",
    "Trước ngày 15/12/2022",
    "Từ ngày 15/3/2022 đến ngày 15/4/2022",
    "Tại Bộ phận một cửa tỉnh từ ngày 01/6/2022; cấp huyện từ ngày 01/12/2022; cấp xã từ ngày 01/6/2023",
    "Định kỳ hằng quý (trước ngày 15 của tháng cuối quý)",
    "Thường xuyên",
    "Khi có yêu cầu",
];

fn ctx() -> Context {
    Context {
        plan_year: 2022,
        levels: ["tỉnh", "huyện", "xã"]
            .iter()
            .map(|l| LevelNames {
                id: l.to_string(),
                names: vec![format!("cấp {l}"), l.to_string()],
            })
            .collect(),
    }
}

/// A province-scale config: `n_agencies` agencies across three levels, `n_plans` plans of
/// `tasks` tasks each, every task naming groups and single agencies.
fn synthetic(n_agencies: usize, n_plans: usize, tasks: usize) -> Sources {
    let mut agencies = String::new();
    for (id, name) in [
        ("tinh", "cấp tỉnh"),
        ("huyen", "cấp huyện"),
        ("xa", "cấp xã"),
    ] {
        agencies.push_str(&format!("[[level]]\nid = \"{id}\"\nname = \"{name}\"\n\n"));
    }
    for i in 0..n_agencies {
        let level = ["tinh", "huyen", "xa"][i % 3];
        agencies.push_str(&format!(
            "[[agency]]\nid = \"a{i}\"\nname = \"Cơ quan số {i}\"\naliases = [\"CQ {i}\"]\nlevel = \"{level}\"\nemail = [\"a{i}@tinh.example\"]\nzalo_phone = \"09{i:08}\"\n\n"
        ));
    }
    for (id, level) in [("g-tinh", "tinh"), ("g-huyen", "huyen"), ("g-xa", "xa")] {
        agencies.push_str(&format!(
            "[[group]]\nid = \"{id}\"\nname = \"Nhóm {id}\"\nlevel = \"{level}\"\n\n"
        ));
    }
    let plans = (0..n_plans)
        .map(|p| {
            let mut text = format!(
                "[plan]\nnumber = \"{p}/KH-UBND\"\ntitle = \"Kế hoạch {p}\"\nissuer = \"UBND tỉnh\"\nissued = 2022-03-24\n\n"
            );
            for t in 0..tasks {
                let time = PHRASES[t % PHRASES.len()];
                let lead = (p * tasks + t) % n_agencies;
                text.push_str(&format!(
                    "[[task]]\nid = \"{t}\"\ntitle = \"Nhiệm vụ {t}\"\nlead = [\"Cơ quan số {lead}\"]\nsupport = [\"Nhóm g-tinh\", \"g-huyen\", \"CQ {}\"]\ntime = \"{time}\"\n\n",
                    (lead + 1) % n_agencies
                ));
            }
            Source::new(format!("plans/{p}.toml"), text)
        })
        .collect();
    Sources::in_memory(None, Source::new("agencies.toml", agencies), plans)
}

fn benches(c: &mut Criterion) {
    let ctx = ctx();
    c.bench_function("parse 10 typical time texts", |b| {
        b.iter(|| {
            for p in PHRASES {
                let _ = black_box(parse(black_box(p), &ctx));
            }
        })
    });
    let sample = read_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config"));
    c.bench_function("analyze shipped config (Plan 50)", |b| {
        b.iter(|| analyze(black_box(&sample)))
    });
    // Roughly a province before 2025: 1,000 agencies (departments, districts, communes),
    // 20 plans of 60 tasks.
    let province = synthetic(1_000, 20, 60);
    let analysis = analyze(&province);
    assert!(!analysis.has_errors(), "{:?}", analysis.errors().next());
    let mut group = c.benchmark_group("scale");
    group.sample_size(10);
    group.bench_function("analyze 1,000 agencies, 20 plans x 60 tasks", |b| {
        b.iter(|| analyze(black_box(&province)))
    });
    group.finish();
}

criterion_group!(check, benches);
criterion_main!(check);
