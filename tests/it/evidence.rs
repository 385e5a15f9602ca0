//! Evidence attached to an answer, over real HTTP: a good file is stored once (by content) with
//! a row per answer, shown beside the answer, downloaded by its agency and by the monitoring
//! office and by no other agency; bad files (content not its extension, too large, over the
//! quota) are refused with a Vietnamese 4xx/507 and nothing stored.

use crate::support::site::{sample_config, signer, with_web, Site};

use chrono::{DateTime, TimeZone, Utc};
use nhacviec::store::{ResponseFilter, Store};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::PathBuf;

const ADMIN_KEY: &str = "khoa-trang-theo-doi-cua-van-phong-ubnd";
const AGENCY: &str = "so-noi-vu";
const TASK: &str = "9.2";

/// 08:00 on 01/06/2022 in Hậu Giang.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 6, 1, 1, 0, 0).unwrap()
}

fn site_with(max_upload_mb: u32, upload_quota_mb: u32) -> Site {
    let mut config = with_web(
        sample_config(),
        Some(Sha256::digest(ADMIN_KEY.as_bytes()).into()),
    );
    if let Some(w) = config.web.as_mut() {
        w.max_upload_mb = max_upload_mb;
        w.upload_quota_mb = upload_quota_mb;
    }
    Site::start(config, now(), |_| {})
}

fn token(agency: &str) -> String {
    signer().sign(agency, now())
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden fields of the form posting to `action` for `TASK`.
fn hidden_fields(page: &str, action: &str) -> Vec<(String, String)> {
    let form = page
        .split("<form ")
        .skip(1)
        .find(|f| {
            f.contains(&format!("/{action}\""))
                && f.contains(&format!("name=\"task\" value=\"{TASK}\""))
        })
        .unwrap_or_else(|| panic!("no {action} form for {TASK}"));
    let form = &form[..form.find("</form>").unwrap()];
    assert!(
        form.contains("enctype=\"multipart/form-data\""),
        "the form sends files: {form}"
    );
    assert!(form.contains(
        "<input type=\"file\" name=\"tep\" accept=\".pdf,.docx,.xlsx,.jpg,.jpeg,.png\">"
    ));
    form.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|i| {
            let name = i
                .split("name=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let value = i
                .split("value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            (name.to_string(), unescape(value))
        })
        // Who answers: asked on every form.
        .chain([
            ("ho_ten".to_string(), "Trần Thị B".to_string()),
            ("chuc_vu".to_string(), "Chuyên viên".to_string()),
        ])
        .collect()
}

fn pdf(len: usize) -> Vec<u8> {
    let mut b = b"%PDF-1.4\n".to_vec();
    b.resize(len, b'%');
    b
}

fn evidence_files(s: &Site) -> Vec<PathBuf> {
    let dir = s.db.parent().unwrap().join("evidence");
    let mut out = Vec::new();
    for sub in std::fs::read_dir(&dir).into_iter().flatten() {
        for f in std::fs::read_dir(sub.unwrap().path()).unwrap() {
            out.push(f.unwrap().path());
        }
    }
    out
}

fn stored(s: &Site) -> (usize, usize) {
    let store = Store::open_reader(&s.db).unwrap();
    (
        store.responses(&ResponseFilter::default()).unwrap().len(),
        store.evidence().unwrap().len(),
    )
}

/// Posts the `action` form of the agency's page with `extra` text fields and the file, a
/// fresh nonce each time. Status and the redirect or body.
async fn post_with_file(
    s: &Site,
    action: &str,
    nonce: &str,
    extra: &[(&str, &str)],
    file: Option<(&str, Vec<u8>)>,
) -> (u16, String) {
    let t = token(AGENCY);
    let (_, page) = s.get(&format!("/a/{t}")).await;
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in hidden_fields(&page, action) {
        let v = if k == "nonce" { nonce.to_string() } else { v };
        form = form.text(k, v);
    }
    for (k, v) in extra {
        form = form.text(k.to_string(), v.to_string());
    }
    if let Some((name, bytes)) = file {
        form = form.part(
            "tep",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    }
    let r = s
        .client
        .post(format!("{}/a/{t}/{action}", s.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    (status, location.unwrap_or(r.text().await.unwrap()))
}

#[tokio::test]
async fn a_file_is_stored_once_shown_and_downloaded_by_its_agency_and_the_monitor_only() {
    let s = site_with(10, 2048);
    let bytes = pdf(245 * 1024);
    let sha = hex::encode(Sha256::digest(&bytes));
    let progress = [("note", "Đã gửi dự thảo"), ("percent", "60")];
    let (st, to) = post_with_file(
        &s,
        "progress",
        "n-1",
        &progress,
        Some(("Báo cáo tiến độ.pdf", bytes.clone())),
    )
    .await;
    assert_eq!(st, 303, "{to}");
    let (st, to) = post_with_file(
        &s,
        "progress",
        "n-2",
        &progress,
        Some(("bao-cao.pdf", bytes.clone())),
    )
    .await;
    assert_eq!(st, 303, "{to}");
    // The same content twice: one file on disk, named by its hash, two rows.
    let files = evidence_files(&s);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with(format!("{}/{}.pdf", &sha[..2], &sha[2..])));
    assert_eq!(std::fs::read(&files[0]).unwrap(), bytes);
    assert_eq!(stored(&s), (2, 2));

    // Beside the answer on the agency's page, linking to the download.
    let t = token(AGENCY);
    let (_, page) = s.get(&format!("/a/{t}")).await;
    let page = unescape(&page);
    assert!(
        page.contains(&format!(
            "Tệp kèm: <a href=\"/a/{t}/tep/{sha}\">bao-cao.pdf (245 KB)</a>"
        )),
        "{page}"
    );

    // The agency downloads it: its name, its type, no sniffing, sandboxed.
    let r = s
        .client
        .get(format!("{}/a/{t}/tep/{sha}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "application/pdf");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "sandbox");
    let cd = h["content-disposition"].to_str().unwrap();
    assert!(cd.starts_with("attachment;"), "{cd}");
    assert!(cd.contains("filename*=UTF-8''bao-cao.pdf"), "{cd}");
    assert_eq!(r.bytes().await.unwrap().to_vec(), bytes);

    // Another agency's link: the same 404 as an unknown file.
    let other = token("so-tai-chinh");
    let (st, theirs) = s.get(&format!("/a/{other}/tep/{sha}")).await;
    assert_eq!(st, 404);
    let (st, unknown) = s.get(&format!("/a/{t}/tep/{}", "0".repeat(64))).await;
    assert_eq!(st, 404);
    assert_eq!(theirs, unknown);
    assert_eq!(s.get(&format!("/a/{t}/tep/..%2F..%2Fetc")).await.0, 404);

    // The monitoring office downloads any agency's file; a wrong key is a 404.
    let (st, kind, got) = s.bytes(&format!("/theo-doi/{ADMIN_KEY}/tep/{sha}")).await;
    assert_eq!((st, kind.as_str()), (200, "application/pdf"));
    assert_eq!(got, bytes);
    assert_eq!(s.get(&format!("/theo-doi/khoa-sai/tep/{sha}")).await.0, 404);
}

#[tokio::test]
async fn an_extension_request_shows_its_file_on_the_dashboard_and_urlencoded_forms_still_work() {
    let s = site_with(10, 2048);
    let png: Vec<u8> = [
        &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A][..],
        &[0u8; 100][..],
    ]
    .concat();
    let sha = hex::encode(Sha256::digest(&png));
    let (st, to) = post_with_file(
        &s,
        "extend",
        "n-e",
        &[("proposed", "31/01/2023"), ("reason", "Chờ số liệu")],
        Some(("cong-van.png", png)),
    )
    .await;
    assert_eq!(st, 303, "{to}");
    let (st, page) = s.get(&format!("/theo-doi/{ADMIN_KEY}")).await;
    assert_eq!(st, 200);
    let page = unescape(&page);
    assert!(
        page.contains(&format!(
            "<dt>Tệp kèm</dt><dd><a href=\"/theo-doi/{ADMIN_KEY}/tep/{sha}\">cong-van.png (108 byte)</a></dd>"
        )),
        "{page}"
    );
    // A multipart form without a file, and an urlencoded one: both recorded, no file.
    let (st, to) = post_with_file(&s, "progress", "n-p", &[("note", "Đang làm")], None).await;
    assert_eq!(st, 303, "{to}");
    let t = token(AGENCY);
    let (_, page) = s.get(&format!("/a/{t}")).await;
    let mut fields = hidden_fields(&page, "progress");
    for f in &mut fields {
        if f.0 == "nonce" {
            f.1 = "n-u".into();
        }
    }
    fields.push(("note".into(), "Đã xong 80%".into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (st, to) = s.post(&format!("/a/{t}/progress"), &pairs).await;
    assert_eq!(st, 303, "{to}");
    assert_eq!(stored(&s), (3, 1));
}

#[tokio::test]
async fn a_file_whose_content_is_not_its_extension_is_refused_and_nothing_stored() {
    let s = site_with(10, 2048);
    let elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00".repeat(20);
    let (st, body) = post_with_file(
        &s,
        "done",
        "n-x",
        &[("done_on", "30/05/2022")],
        Some(("bao-cao.pdf", elf)),
    )
    .await;
    let body = unescape(&body);
    assert_eq!(st, 422, "{body}");
    assert!(
        body.contains("có đuôi của tệp PDF nhưng nội dung không phải tệp PDF"),
        "{body}"
    );
    let (st, body) = post_with_file(
        &s,
        "done",
        "n-t",
        &[("done_on", "30/05/2022")],
        Some(("ghi-chu.txt", b"xin chao".to_vec())),
    )
    .await;
    assert_eq!(st, 422, "{body}");
    assert!(unescape(&body).contains("chỉ nhận PDF, DOCX, XLSX, JPG, PNG"));
    let (st, _) = post_with_file(
        &s,
        "done",
        "n-0",
        &[("done_on", "30/05/2022")],
        Some(("rong.pdf", Vec::new())),
    )
    .await;
    assert_eq!(st, 422);
    assert_eq!(stored(&s), (0, 0));
    assert!(evidence_files(&s).is_empty());
}

#[tokio::test]
async fn a_file_over_the_limit_is_refused_with_413_and_nothing_stored() {
    let s = site_with(1, 2048);
    // The server answers 413 as soon as the body passes the limit and closes the connection:
    // a client still writing may see the close before the answer. A browser shows the answer;
    // this client asks again until it reads it.
    // The server answers 413 as soon as the body passes the limit and closes the connection:
    // a client that reads only once it has written everything (reqwest) may see the close
    // first. This one reads while it writes, as a browser does.
    let t = token(AGENCY);
    let (_, page) = s.get(&format!("/a/{t}")).await;
    let mut answer = None;
    for attempt in 0..5 {
        let mut body = Vec::new();
        let mut fields = hidden_fields(&page, "progress");
        fields.push(("note".into(), "x".into()));
        for (k, v) in fields {
            let v = if k == "nonce" {
                format!("n-big-{attempt}")
            } else {
                v
            };
            body.extend_from_slice(
                format!("--XYZ\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(
            b"--XYZ\r\nContent-Disposition: form-data; name=\"tep\"; filename=\"lon.pdf\"\r\nContent-Type: application/pdf\r\n\r\n",
        );
        body.extend_from_slice(&pdf(2 * 1024 * 1024));
        body.extend_from_slice(b"\r\n--XYZ--\r\n");
        let head = format!(
            "POST /a/{t}/progress HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let base = s.base.clone();
        let got = tokio::task::spawn_blocking(move || raw_answer(&base, &head, body))
            .await
            .unwrap();
        if let Some(status) = got
            .lines()
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|c| c.parse::<u16>().ok())
        {
            answer = Some((status, got));
            break;
        }
    }
    let (st, body) = answer.expect("an answer in five tries");
    assert_eq!(st, 413, "{body}");
    assert!(unescape(&body).contains("tối đa 1 MB"), "{body}");
    assert_eq!(stored(&s), (0, 0));
    assert!(evidence_files(&s).is_empty());
}

/// Sends a request's head and body on a raw connection while reading the answer, as a browser
/// does (a client reading only once it has written everything may see the server's close
/// first), until `enough` says the answer read so far will do or the server closes.
fn raw_read(base: &str, head: &str, body: Vec<u8>, enough: fn(&[u8]) -> bool) -> String {
    let addr = base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut writer = conn.try_clone().unwrap();
    let head = head.to_string();
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(head.as_bytes());
        for chunk in body.chunks(64 * 1024) {
            if writer.write_all(chunk).is_err() {
                break;
            }
        }
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !enough(&got) {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    drop(conn);
    let _ = sender.join();
    String::from_utf8_lossy(&got).into_owned()
}

/// The whole answer (head and body), read until the server closes.
fn raw_answer(base: &str, head: &str, body: Vec<u8>) -> String {
    raw_read(base, head, body, |_| false)
}

/// The answer's status line.
fn raw_status(base: &str, head: &str, body: Vec<u8>) -> String {
    raw_read(base, head, body, |got| got.windows(2).any(|w| w == b"\r\n"))
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn a_200_mb_upload_is_refused_with_413_before_it_is_read() {
    let s = site_with(10, 2048);
    let t = token(AGENCY);
    let base = s.base.clone();
    // Declared 200 MB: refused from its head, after sending only 1 MB of it.
    let head = format!(
        "POST /a/{t}/progress HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: {}\r\n\r\n",
        200 * 1024 * 1024
    );
    let status = tokio::task::spawn_blocking({
        let base = base.clone();
        move || raw_status(&base, &head, vec![b'x'; 1 << 20])
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");

    // Chunked, no length: refused once past the limit (10 MB + 64 KB), not read to the end.
    let head = format!(
        "POST /a/{t}/progress HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=XYZ\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let mut body = Vec::new();
    let part = b"--XYZ\r\nContent-Disposition: form-data; name=\"tep\"; filename=\"lon.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n";
    body.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
    body.extend_from_slice(part);
    body.extend_from_slice(b"\r\n");
    let filler = vec![b'%'; 64 * 1024];
    for _ in 0..(24 * 16) {
        body.extend_from_slice(format!("{:x}\r\n", filler.len()).as_bytes());
        body.extend_from_slice(&filler);
        body.extend_from_slice(b"\r\n");
    }
    let status = tokio::task::spawn_blocking(move || raw_status(&base, &head, body))
        .await
        .unwrap();
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    assert_eq!(stored(&s), (0, 0));
    assert!(evidence_files(&s).is_empty());
}

#[tokio::test]
async fn an_upload_over_the_quota_is_refused_with_the_reason_and_nothing_stored() {
    let s = site_with(1, 1);
    let (st, to) = post_with_file(
        &s,
        "progress",
        "q-1",
        &[("note", "x")],
        Some(("mot.pdf", pdf(700 * 1024))),
    )
    .await;
    assert_eq!(st, 303, "{to}");
    let (st, body) = post_with_file(
        &s,
        "progress",
        "q-2",
        &[("note", "y")],
        Some(("hai.pdf", pdf(700 * 1024 + 1))),
    )
    .await;
    assert_eq!(st, 507, "{body}");
    assert!(
        unescape(&body).contains("hết dung lượng dành cho tệp kèm"),
        "{body}"
    );
    assert_eq!(stored(&s), (1, 1));
    assert_eq!(evidence_files(&s).len(), 1);
    // The same content again takes no more room: accepted.
    let (st, to) = post_with_file(
        &s,
        "progress",
        "q-3",
        &[("note", "z")],
        Some(("mot-lai.pdf", pdf(700 * 1024))),
    )
    .await;
    assert_eq!(st, 303, "{to}");
    assert_eq!(stored(&s), (2, 2));
}

#[test]
fn nhacviec_responses_lists_the_attached_file() {
    use crate::support::answers::{answer, at};
    use nhacviec::answers::Action;
    let env = crate::support::cli::Env::new();
    let bytes = pdf(1000);
    let sha = hex::encode(Sha256::digest(&bytes));
    {
        let store = Store::open_writer(&env.db()).unwrap();
        let file = nhacviec::store::NewEvidence {
            name: "bao-cao.pdf",
            kind: nhacviec::evidence::Kind::Pdf,
            sha256: &sha,
            bytes: &bytes,
        };
        let r = nhacviec::answers::NewResponse {
            note: Some("Đang làm".into()),
            ..answer(AGENCY, "8.8", Action::Progress, "n1")
        };
        store
            .record_response_with_evidence(&r, Some(&file), 1 << 30, at("2022-05-20T02:30:00Z"))
            .unwrap();
    }
    let out = env.expect(0, &["responses"]);
    assert!(out.contains("tệp kèm: bao-cao.pdf (1000 byte)"), "{out}");
    let json = env.json(&["responses"]);
    assert_eq!(json[0]["evidence"]["sha256"], sha.as_str(), "{json}");
    assert_eq!(json[0]["evidence"]["media_type"], "application/pdf");
    assert_eq!(
        json[0]["task"], "8.8",
        "the response's own fields stay: {json}"
    );
}
