//! Hostile configs and documents (issue 18): deep group chains, special files, odd numbers in
//! times, huge texts, control characters, zip bombs. Each must give a clear error, in bounded
//! time and memory, never a crash or a hang.

use crate::support::fixtures::AGENCIES;
use crate::support::{copy_dir, repo};

use nhacviec::config::{analyze, Analysis, Source, Sources};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn plan(tasks: &str) -> String {
    format!(
        "[plan]\nnumber = \"1/KH-UBND\"\ntitle = \"Kế hoạch\"\nissuer = \"UBND tỉnh\"\nissued = 2022-03-24\n\n{tasks}"
    )
}

fn task(id: &str, title: &str, time: &str) -> String {
    format!("[[task]]\nid = \"{id}\"\ntitle = \"{title}\"\nlead = [\"vp\"]\ntime = \"{time}\"\n\n")
}

fn analyze_texts(agencies: &str, plan: &str) -> Analysis {
    analyze(&Sources::in_memory(
        None,
        Source::new("agencies.toml", agencies),
        vec![Source::new("plans/p.toml", plan)],
    ))
}

fn errors(a: &Analysis) -> Vec<String> {
    a.errors().map(|d| d.message.clone()).collect()
}

/// `nhacviec check` on a directory, killed (and the test failed) after `limit`.
fn check_within(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("nhacviec"))
        .arg("--config")
        .arg(dir)
        .arg("check")
        .args(args)
        .env_remove("NHACVIEC_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain the pipes while waiting, so a large report cannot block the child.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut v).ok();
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut v).ok();
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            panic!("check did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

fn text_of(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A directory with the levels and one agency, and a plan with one task.
fn small_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("agencies.toml"), AGENCIES).unwrap();
    fs::create_dir(dir.path().join("plans")).unwrap();
    fs::write(
        dir.path().join("plans/p.toml"),
        plan(&task("1", "Việc", "Quý II/2022")),
    )
    .unwrap();
    dir
}

// 1. Deep group chains.

fn chain(n: usize, reversed: bool) -> String {
    let mut s = String::from(AGENCIES);
    let order: Vec<usize> = if reversed {
        (0..n).rev().collect()
    } else {
        (0..n).collect()
    };
    for i in order {
        let member = if i + 1 == n {
            "vp".to_string()
        } else {
            format!("g{}", i + 1)
        };
        write!(
            s,
            "[[group]]\nid = \"g{i}\"\nname = \"Nhóm {i}\"\nmembers = [\"{member}\"]\n\n"
        )
        .unwrap();
    }
    s
}

#[test]
fn deep_group_chain_is_an_error_not_a_crash() {
    let dir = small_dir();
    fs::write(dir.path().join("agencies.toml"), chain(20_000, false)).unwrap();
    let out = check_within(dir.path(), &[], Duration::from_secs(120));
    let text = text_of(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        &text[..text.len().min(2000)]
    );
    assert!(
        text.contains("nhóm lồng nhau quá sâu"),
        "{}",
        &text[..text.len().min(2000)]
    );
    // One error for the chain, not one per group.
    assert_eq!(text.matches("nhóm lồng nhau quá sâu").count(), 1);
}

#[test]
fn group_depth_is_checked_whatever_the_order() {
    for reversed in [false, true] {
        let a = analyze_texts(
            &chain(200, reversed),
            &plan(&task("1", "Việc", "Quý II/2022")),
        );
        let deep: Vec<String> = errors(&a)
            .into_iter()
            .filter(|m| m.contains("nhóm lồng nhau quá sâu"))
            .collect();
        assert_eq!(deep.len(), 1, "reversed {reversed}: {deep:?}");
        // The first group past the limit: g0 is 200 levels deep, g199 one.
        let limit = nhacviec::config::MAX_GROUP_DEPTH;
        assert!(
            deep[0].contains(&format!("\"g{}\"", 200 - limit - 1)),
            "{deep:?}"
        );
    }
    // Within the limit: no error, and the outermost group has the agency.
    let a = analyze_texts(&chain(64, false), &plan(&task("1", "Việc", "Quý II/2022")));
    assert!(errors(&a).is_empty(), "{:?}", errors(&a));
    let g0 = a.config.groups.iter().find(|g| g.id == "g0").unwrap();
    assert_eq!(g0.agencies, vec!["vp".to_string()]);
}

#[test]
fn group_cycles_are_still_reported() {
    let agencies = format!(
        "{AGENCIES}[[group]]\nid = \"ga\"\nname = \"Nhóm A\"\nmembers = [\"gb\"]\n\n\
         [[group]]\nid = \"gb\"\nname = \"Nhóm B\"\nmembers = [\"ga\", \"vp\"]\n\n"
    );
    let a = analyze_texts(&agencies, &plan(&task("1", "Việc", "Quý II/2022")));
    assert!(
        errors(&a)
            .iter()
            .any(|m| m == "nhóm chứa chính nó: ga → gb → ga"),
        "{:?}",
        errors(&a)
    );
}

// 2. Special files.

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

#[cfg(unix)]
#[test]
fn special_files_in_plans_are_reported_by_name() {
    use std::os::unix::fs::symlink;
    let dir = small_dir();
    let plans = dir.path().join("plans");
    symlink(plans.join("missing.toml"), plans.join("dangling.toml")).unwrap();
    symlink(plans.join("loop-b.toml"), plans.join("loop-a.toml")).unwrap();
    symlink(plans.join("loop-a.toml"), plans.join("loop-b.toml")).unwrap();
    fs::create_dir(plans.join("x.toml")).unwrap();
    mkfifo(&plans.join("fifo.toml"));
    let out = check_within(dir.path(), &["--format", "json"], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1), "{}", text_of(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errs: Vec<(String, String)> = json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let about = |name: &str| -> String {
        errs.iter()
            .find(|(f, _)| f.ends_with(name))
            .map(|(_, m)| m.clone())
            .unwrap_or_else(|| panic!("no error about {name}: {errs:?}"))
    };
    assert!(about("dangling.toml").contains("liên kết tới tệp không tồn tại"));
    assert!(about("loop-a.toml").contains("liên kết vòng tròn"));
    assert!(about("x.toml").contains("đây là thư mục"));
    assert!(about("fifo.toml").contains("không phải tệp thường (FIFO)"));
}

#[cfg(unix)]
#[test]
fn settings_as_a_fifo_or_a_device_does_not_hang() {
    use std::os::unix::fs::symlink;
    let dir = small_dir();
    mkfifo(&dir.path().join("nhacviec.toml"));
    let out = check_within(dir.path(), &[], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text_of(&out).contains("không phải tệp thường (FIFO)"),
        "{}",
        text_of(&out)
    );

    let dir = small_dir();
    symlink("/dev/zero", dir.path().join("nhacviec.toml")).unwrap();
    let out = check_within(dir.path(), &[], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text_of(&out).contains("không phải tệp thường (thiết bị ký tự)"),
        "{}",
        text_of(&out)
    );

    // A dangling settings link is an error, not a silent default.
    let dir = small_dir();
    symlink(
        dir.path().join("nowhere.toml"),
        dir.path().join("nhacviec.toml"),
    )
    .unwrap();
    let out = check_within(dir.path(), &[], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text_of(&out).contains("liên kết tới tệp không tồn tại"),
        "{}",
        text_of(&out)
    );
}

#[cfg(unix)]
#[test]
fn agencies_pointing_at_dev_null_is_not_called_a_directory() {
    let dir = small_dir();
    fs::write(
        dir.path().join("nhacviec.toml"),
        "agencies = \"/dev/null\"\n",
    )
    .unwrap();
    let out = check_within(dir.path(), &[], Duration::from_secs(30));
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(!text.contains("thư mục"), "{text}");
    assert!(
        text.contains("không phải tệp thường (thiết bị ký tự)"),
        "{text}"
    );
}

#[test]
fn oversized_config_file_is_refused_unread() {
    let dir = small_dir();
    let big = fs::File::create(dir.path().join("plans/big.toml")).unwrap();
    big.set_len(nhacviec::config::MAX_FILE_BYTES + 1).unwrap();
    let out = check_within(dir.path(), &[], Duration::from_secs(30));
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("tệp quá lớn"), "{text}");
}

#[test]
fn non_utf8_plan_gives_only_its_encoding_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("agencies.toml"), AGENCIES).unwrap();
    fs::create_dir(dir.path().join("plans")).unwrap();
    fs::write(
        dir.path().join("plans/old.toml"),
        b"title = \"K\xea ho\xb9ch\"\n",
    )
    .unwrap();
    let out = check_within(dir.path(), &[], Duration::from_secs(30));
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("không phải UTF-8"), "{text}");
    assert!(!text.contains("không có kế hoạch nào"), "{text}");
}

#[test]
fn shipped_config_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("config"), dir.path());
    let out = check_within(dir.path(), &[], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
}

// 3. Odd numbers in times.

#[test]
fn odd_years_and_huge_numbers_are_named() {
    let a = analyze_texts(
        AGENCIES,
        &plan(&format!(
            "{}{}",
            task("1", "Việc", "01/01/-5"),
            task("2", "Việc", "99999999999999999999/1/2022")
        )),
    );
    let errs = errors(&a);
    assert!(
        errs.iter()
            .any(|m| m.starts_with("nhiệm vụ 1:") && m.contains("\"-5\" không phải là năm")),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|m| m.starts_with("nhiệm vụ 2:")
            && m.contains("\"99999999999999999999\" quá lớn")
            && !m.contains("4294967295")),
        "{errs:?}"
    );
    // Task 1 is not read as a date of the plan's year.
    let t1 = &a.config.plans[0].tasks[0];
    assert!(
        !matches!(t1.deadline, nhacviec::deadline::Deadline::Dated(_)),
        "{:?}",
        t1.deadline
    );
}

// 4. Huge texts.

#[test]
fn huge_time_text_is_an_error_and_output_stays_small() {
    let phase = "Đợt 1 trước ngày 15/3/2022; ";
    let time = phase.repeat(130_000 / phase.len());
    let dir = small_dir();
    fs::write(
        dir.path().join("plans/p.toml"),
        plan(&task("1", "Việc", &time)),
    )
    .unwrap();
    let out = check_within(dir.path(), &["--format", "json"], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errs = json["errors"].as_array().unwrap();
    assert!(
        errs.iter().any(
            |e| e["message"].as_str().unwrap().contains("thời gian dài quá") && e["line"] == 11
        ),
        "{errs:?}"
    );
    // The report holds the text once (the task's time_text), not once per phase.
    assert!(
        out.stdout.len() < 3 * time.len(),
        "{} bytes",
        out.stdout.len()
    );
}

#[test]
fn huge_titles_are_errors() {
    let title = "Việc ".repeat(1000);
    let a = analyze_texts(AGENCIES, &plan(&task("1", &title, "Quý II/2022")));
    assert!(
        errors(&a)
            .iter()
            .any(|m| m.contains("tiêu đề nhiệm vụ dài quá (5000 ký tự")),
        "{:?}",
        errors(&a)
    );
}

#[test]
fn long_lines_are_shown_as_a_window() {
    // Thousands of warnings on one 100 KB line: each shows a window of it, not all of it.
    let agencies = format!(
        "{AGENCIES}[[group]]\nid = \"g\"\nname = \"Nhóm\"\nmembers = [{}]\n",
        (0..5000)
            .map(|i| format!("\"khong-co-{i:05}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let a = analyze_texts(&agencies, &plan(&task("1", "Việc", "Quý II/2022")));
    let rendered: Vec<String> = a.errors().map(|d| d.render()).collect();
    assert!(rendered.len() >= 5000, "{}", rendered.len());
    let total: usize = rendered.iter().map(String::len).sum();
    assert!(total < 5000 * 1000, "{total} bytes");
    // The caret still points at the member named in the message.
    let last = rendered.last().unwrap();
    let lines: Vec<&str> = last.lines().collect();
    let src = lines
        .iter()
        .find(|l| l.contains(" | ") && l.contains("khong-co-04999"))
        .unwrap();
    assert!(src.chars().count() < 300, "{src}");
    let caret = lines.iter().find(|l| l.contains('^')).unwrap();
    let at = caret.chars().position(|c| c == '^').unwrap();
    let pointed: String = src.chars().skip(at).collect();
    assert!(pointed.starts_with("\"khong-co-04999\""), "{last}");
}

// 5. Control characters.

#[test]
fn control_characters_never_reach_the_terminal() {
    let a = analyze_texts(
        AGENCIES,
        &plan(&task(
            "1\\u001b]0;pwned\\u0007",
            "Việc",
            "Qu\\u001b[31mý II\\r\\n/2022",
        )),
    );
    let rendered: String = a.diagnostics.iter().map(|d| d.render()).collect();
    assert!(!rendered.is_empty());
    assert!(
        !rendered
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "{rendered:?}"
    );
    assert!(rendered.contains("\\u{1b}"), "{rendered}");
    // Every rendered diagnostic keeps its shape: a line break only where render puts one.
    for d in &a.diagnostics {
        assert!(d.render().lines().all(|l| !l.contains('\r')));
    }
    assert_eq!(
        nhacviec::text::printable("a\u{1b}[2Jb\r\nc\u{202e}"),
        "a\\u{1b}[2Jb\\u{d}\\u{a}c\\u{202e}"
    );
    assert!(matches!(
        nhacviec::text::printable("Sở Tư pháp\tx"),
        std::borrow::Cow::Owned(_)
    ));
    assert!(matches!(
        nhacviec::text::printable("Sở Tư pháp"),
        std::borrow::Cow::Borrowed(_)
    ));
}

// 6. Zip bombs.

fn zip_of(entries: &[(&str, &[u8], usize)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    for (name, chunk, times) in entries {
        w.start_file(*name, opts).unwrap();
        for _ in 0..*times {
            w.write_all(chunk).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn docx_that_expands_too_far_is_refused() {
    let chunk = vec![b' '; 1 << 20];
    let limit = nhacviec::import::doc::MAX_UNZIPPED_BYTES as usize >> 20;
    let bomb = zip_of(&[("word/document.xml", &chunk, limit + 2)]);
    assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
    let err = nhacviec::import::doc::read(&bomb).unwrap_err();
    assert!(
        matches!(err, nhacviec::import::ReadError::TooLarge(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("giải nén ra quá lớn"), "{err}");
}

#[test]
fn docx_with_too_many_parts_is_refused() {
    let names: Vec<String> = (0..=nhacviec::import::doc::MAX_ZIP_ENTRIES)
        .map(|i| format!("p/{i}.xml"))
        .collect();
    let entries: Vec<(&str, &[u8], usize)> =
        names.iter().map(|n| (n.as_str(), &b"x"[..], 1)).collect();
    let err = nhacviec::import::doc::read(&zip_of(&entries)).unwrap_err();
    assert!(
        matches!(err, nhacviec::import::ReadError::TooManyEntries(_)),
        "{err:?}"
    );
}

#[test]
fn check_status_and_preview_escape_control_characters_from_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    copy_dir(&repo().join("config"), &cfg);
    let plan = cfg.join("plans/50-KH-UBND-2022.toml");
    let text = fs::read_to_string(&plan)
        .unwrap()
        .replace("id = \"8.6\"", "id = \"8.6\\u001b]0;pwned\\u0007\"")
        .replace(
            "issuer = \"UBND tỉnh Hậu Giang\"",
            "issuer = \"UBND\\u001b[2J tỉnh\"",
        );
    fs::write(&plan, text).unwrap();
    for args in [
        vec!["check"],
        vec!["status", "--now", "2022-05-25"],
        vec!["preview", "--from", "2022-03-24", "--days", "10"],
    ] {
        let out = Command::new(assert_cmd::cargo::cargo_bin("nhacviec"))
            .env("NHACVIEC_STATE_DIR", tmp.path().join("state"))
            .arg("--config")
            .arg(&cfg)
            .args(&args)
            .output()
            .unwrap();
        let shown = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {shown}");
        assert!(shown.contains("8.6"), "{args:?}");
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
            "{args:?}: {shown:?}"
        );
    }
}

#[test]
fn the_longest_accepted_titles_and_times_render_in_a_full_digest() {
    // What `check` accepts, `run` can render: 100 items (a digest part) of tasks with the
    // longest title and time text allowed, through the shipped templates and their budget.
    let long_title = "Nhiệm vụ rất dài ".repeat(2_000 / 17);
    let long_time = format!("{} Quý II/2022", "x".repeat(1_980));
    let tasks: String = (1..=100)
        .map(|i| {
            format!(
                "[[task]]\nid = \"{i}\"\ntitle = \"{long_title}\"\nlead = [\"vp\"]\ntime = \"Quý II/2022\"\nnote = \"{long_time}\"\n\n"
            )
        })
        .collect();
    let a = analyze_texts(AGENCIES, &plan(&tasks));
    assert!(errors(&a).is_empty(), "{:?}", errors(&a));
    let config = a.config;
    let templates = nhacviec::render::Templates::new(&[]).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2022, 7, 1).unwrap();
    let engine = nhacviec::deliver::Engine::build(&config, today);
    let tick = engine
        .schedule
        .due(&std::collections::HashSet::new(), today, None);
    assert_eq!(tick.digests.len(), 1);
    assert!(
        tick.digests[0].items.len() >= 100,
        "{}",
        tick.digests[0].items.len()
    );
    let out = nhacviec::messages::digests(&config, &templates, &tick, today).unwrap();
    assert!(out[0].body_text.contains(long_title.trim()));
    assert_eq!(
        templates.take_fallbacks().0,
        0,
        "the shipped templates are within their budget"
    );
}
