//! Every command that prints, on a config and a state full of terminal control sequences
//! (ESC, BEL, CR in agency names, titles, subjects, notes, errors), shows them escaped: no raw
//! control byte but a line break or a tab reaches stdout or stderr. The commands are listed
//! from the binary's own help, so a command added without a case here fails the test.

use crate::support;
use crate::support::answers::{answer, at, date};
use crate::support::cli::{Env, NOW};
use assert_cmd::Command;
use nhacviec::answers::{Action, NewResponse};
use nhacviec::store::Store;
use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// What the config and the state carry, as TOML writes it and as it is stored.
const HOSTILE_TOML: &str = "\\u001b[31m\\u0007\\r";
const HOSTILE: &str = "\u{1b}[31m\u{7}\r";
const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

/// The sample config with hostile text in two agencies' names (the plan still names them by
/// aliases), the plan's title and issuer, a task's title, a holiday and the subject template;
/// [web] on a free port.
fn hostile_env() -> (Env, u16) {
    let env = Env::new();
    let h = HOSTILE_TOML;
    env.edit("agencies.toml", |t| {
        t.replace(
            "name = \"Sở Nội vụ\"\n",
            &format!("name = \"Sở Nội vụ{h}\"\naliases = [\"Sở Nội vụ\"]\n"),
        )
        .replace(
            "name = \"Văn phòng UBND tỉnh\"\naliases = [",
            &format!("name = \"Văn phòng{h} UBND tỉnh\"\naliases = [\"Văn phòng UBND tỉnh\", "),
        )
    });
    env.edit("plans/50-KH-UBND-2022.toml", |t| {
        t.replace(
            "issuer = \"UBND tỉnh Hậu Giang\"",
            &format!("issuer = \"UBND{h} tỉnh Hậu Giang\""),
        )
        .replacen("title = \"", &format!("title = \"{h}"), 2)
    });
    env.edit("templates/subject.txt.j2", |t| {
        format!("\u{1b}]0;pwned\u{7}{t}")
    });
    let port = support::free_port();
    env.edit("nhacviec.toml", |t| {
        t.replace(
            "name = \"Nghỉ Tết Nguyên đán",
            &format!("name = \"Nghỉ{h} Tết Nguyên đán"),
        ) + &format!(
            "\n[web]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n"
        )
    });
    (env, port)
}

/// A state with deliveries (one dead, its server's reply hostile), answers with hostile notes,
/// an extension request and a stopped Zalo channel.
fn hostile_state(env: &Env) {
    let out = env.run(&["run", "--once", "--now", NOW]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = env.db();
    support::answers::seed(&db);
    let store = Store::open_writer(&db).unwrap();
    let hostile = NewResponse {
        deadline: Some(date("2022-05-31")),
        done_on: Some(date("2022-05-24")),
        doc_ref: Some(format!("Báo cáo{HOSTILE} số 7")),
        note: Some(format!("Ghi chú{HOSTILE}\nhai dòng")),
        ..answer("so-tu-phap", "8.8", Action::Done, "h1")
    };
    store
        .record_response(&hostile, at("2022-05-24T02:00:00Z"))
        .unwrap();
    store
        .put(
            &nhacviec::store::meta::ZaloStopped,
            &format!("hết hạn mức{HOSTILE}"),
        )
        .unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let changed = conn
        .execute(
            "UPDATE deliveries SET status = 'dead', attempts = 3, last_error = ?1 \
             WHERE id = (SELECT MIN(id) FROM deliveries)",
            [format!("550 5.7.1 từ chối{HOSTILE}[2J")],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

/// The commands the binary lists in its help (`zalo`'s subcommands as `zalo login`, …).
fn commands(env: &Env, prefix: &[&str]) -> Vec<String> {
    let mut args = prefix.to_vec();
    args.push("--help");
    let help = env.expect(0, &args);
    let mut names = Vec::new();
    for line in help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
    {
        // A command's line starts with two spaces; its description's next lines with more.
        if line.starts_with("  ") && !line.starts_with("   ") {
            let name = line.split_whitespace().next().unwrap();
            if name != "help" {
                names.push(name.to_string());
            }
        }
    }
    let mut all = Vec::new();
    for name in names {
        let mut sub = prefix.to_vec();
        sub.push(&name);
        let nested = commands_if_any(env, &sub);
        if nested.is_empty() {
            all.push(sub.join(" "));
        } else {
            all.extend(nested);
        }
    }
    all
}

fn commands_if_any(env: &Env, prefix: &[&str]) -> Vec<String> {
    let mut args = prefix.to_vec();
    args.push("--help");
    if env.expect(0, &args).contains("\nCommands:\n") {
        commands(env, prefix)
    } else {
        Vec::new()
    }
}

/// The raw control characters in `bytes` (as text): anything `is_control` but `\n` and `\t`.
fn raw_controls(bytes: &[u8]) -> Vec<char> {
    String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| nhacviec::text::is_unprintable(*c) && *c != '\n' && *c != '\t')
        .collect()
}

fn assert_clean(what: &str, stdout: &[u8], stderr: &[u8]) {
    for (name, bytes) in [("stdout", stdout), ("stderr", stderr)] {
        let raw = raw_controls(bytes);
        assert!(
            raw.is_empty(),
            "{what}: raw {raw:?} on {name}:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn no_command_prints_a_control_character_from_the_config_or_the_state() {
    let (env, port) = hostile_env();
    hostile_state(&env);
    let doc = env.cfg.join("ke-hoach.txt");
    let text = fs::read_to_string(
        support::repo().join("tests/data/ke-hoach-50-KH-UBND-2022-hau-giang.txt"),
    )
    .unwrap()
    .replacen("Rà soát", &format!("Rà{HOSTILE} soát"), 1);
    fs::write(&doc, text).unwrap();
    let doc = doc.to_string_lossy().into_owned();
    let hostile_ref = format!("Công văn{HOSTILE} số 9/UBND");
    let database = std::thread::spawn(|| support::postgres::cluster().fresh_database())
        .join()
        .unwrap();

    // Each command with the arguments that make it print what it reads; `true` when the
    // hostile text must show (escaped) in its output, so the case proves something.
    let cases: Vec<(&str, Vec<&str>, bool)> = vec![
        ("check", vec!["check", "--now", NOW], true),
        (
            "check",
            vec!["check", "--format", "json", "--now", NOW],
            true,
        ),
        ("calendar", vec!["calendar", "--year", "2023"], true),
        (
            "preview",
            vec!["preview", "--now", NOW, "--days", "60"],
            true,
        ),
        (
            "preview",
            vec!["preview", "--now", NOW, "--days", "60", "--format", "json"],
            false,
        ),
        ("run", vec!["run", "--once", "--now", NOW], false),
        (
            "admin-link",
            vec!["admin-link", "--agency", "vp-ubnd-tinh", "--now", NOW],
            true,
        ),
        ("admin-link", vec!["admin-link", "--new-token"], false),
        ("import", vec!["import", &doc], true),
        (
            "send-test",
            vec!["send-test", "--agency", "so-noi-vu", "--now", NOW],
            true,
        ),
        ("zalo status", vec!["zalo", "status"], true),
        // After the status: a login starts the channel again.
        (
            "zalo login",
            vec!["zalo", "login", "--refresh-token", "t"],
            false,
        ),
        ("history", vec!["history"], true),
        ("history", vec!["history", "--status", "dead"], true),
        ("history", vec!["history", "--status", "skipped"], true),
        ("history", vec!["history", "--format", "json"], true),
        ("status", vec!["status", "--now", NOW], true),
        (
            "status",
            vec!["status", "--now", NOW, "--format", "json"],
            true,
        ),
        (
            "extend",
            vec![
                "extend",
                "--agency",
                "so-noi-vu",
                "--task",
                "10.1",
                "--to",
                "31/07/2022",
                "--ref",
                &hostile_ref,
                "--now",
                NOW,
            ],
            true,
        ),
        ("responses", vec!["responses"], true),
        ("responses", vec!["responses", "--format", "json"], true),
        ("retry", vec!["retry", "--dead", "--now", NOW], false),
        // The counts only: nothing of the state's text is printed.
        (
            "store copy",
            vec!["store", "copy", "--to", &database],
            false,
        ),
        // A refusal quotes the argument it refuses.
        (
            "status",
            vec!["status", "--now", NOW, "--agency", &hostile_ref],
            true,
        ),
    ];

    let listed: BTreeSet<String> = commands(&env, &[]).into_iter().collect();
    let covered: BTreeSet<String> = cases
        .iter()
        .map(|(c, _, _)| c.to_string())
        .chain(["export".to_string(), "web".to_string()])
        .collect();
    assert_eq!(
        listed, covered,
        "every command the binary lists needs a case here (and only those)"
    );

    for (_, args, shows) in &cases {
        let out = Command::cargo_bin("nhacviec")
            .unwrap()
            .env_remove("NHACVIEC_STATE_DIR")
            .env_remove("NHACVIEC_LOG")
            .env_remove("RUST_LOG")
            .env("NHACVIEC_LINK_SECRET", SECRET)
            .arg("--config")
            .arg(&env.cfg)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_clean(&format!("{args:?}"), &out.stdout, &out.stderr);
        if *shows {
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .to_lowercase();
            assert!(
                all.contains("\\u{1b}") || all.contains("\\u001b"),
                "{args:?} did not show the hostile text (escaped):\n{all}"
            );
        }
    }

    // `export`: to a file, its stderr is a sentence; to stdout, the file's bytes as they are
    // (the CSV's cells are data for a spreadsheet, and its lines end in CRLF), for a pipe only.
    let file = env.cfg.join("tinh-hinh.csv");
    let to_file = env.expect(
        0,
        &[
            "export",
            "--format",
            "csv",
            "--as-of",
            "25/05/2022",
            "--out",
            &file.to_string_lossy(),
        ],
    );
    assert!(to_file.is_empty());
    let piped = env.run(&[
        "export",
        "--format",
        "csv",
        "--as-of",
        "25/05/2022",
        "--out",
        "-",
    ]);
    assert!(piped.status.success());
    assert_clean("export --out -", b"", &piped.stderr);
    assert_eq!(
        piped.stdout,
        fs::read(&file).unwrap(),
        "the file's bytes, untouched"
    );
    // On a terminal (a pseudo-terminal made by `script`), no file's bytes: a refusal.
    let shown = std::process::Command::new("script")
        .args(["-qec"])
        .arg(format!(
            "{} --config {} export --format csv --as-of 25/05/2022 --out -",
            assert_cmd::cargo::cargo_bin("nhacviec").display(),
            env.cfg.display()
        ))
        .arg("/dev/null")
        .env_remove("NHACVIEC_STATE_DIR")
        .output()
        .unwrap();
    assert_eq!(shown.status.code(), Some(1), "{shown:?}");
    let tty = String::from_utf8_lossy(&shown.stdout);
    assert!(tty.contains("không in tệp ra màn hình"), "{tty}");
    assert!(!tty.contains("Sở Nội vụ"), "{tty}");

    // `web`: until it says where it listens, then stopped.
    let mut web = std::process::Command::new(assert_cmd::cargo::cargo_bin("nhacviec"))
        .env_remove("NHACVIEC_STATE_DIR")
        .env("NHACVIEC_LINK_SECRET", SECRET)
        .arg("--config")
        .arg(&env.cfg)
        .args(["web", "--now", NOW])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = Vec::new();
    let mut stderr = BufReader::new(web.stderr.take().unwrap());
    loop {
        let mut line = Vec::new();
        let n = stderr.read_until(b'\n', &mut line).unwrap();
        said.extend_from_slice(&line);
        if n == 0 || String::from_utf8_lossy(&line).contains("Trang trả lời nhắc việc") {
            break;
        }
    }
    web.kill().unwrap();
    web.wait().unwrap();
    assert!(
        String::from_utf8_lossy(&said).contains(&format!("127.0.0.1:{port}")),
        "{}",
        String::from_utf8_lossy(&said)
    );
    assert_clean("web", b"", &said);
}
