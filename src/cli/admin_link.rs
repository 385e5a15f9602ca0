//! `nhacviec admin-link`: a signed link to the monitoring office's dashboard (all plans, or
//! those one office monitors), or a new dashboard key.

use super::args::now_in;
use super::output::Out;
use super::{dmy, load_valid, resolve, Refused};
use chrono::Utc;
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// "Bây giờ" (RFC 3339 hoặc ngày): liên kết tính hạn từ thời điểm này
    #[arg(long)]
    now: Option<String>,
    /// Chỉ các kế hoạch cơ quan này theo dõi ([plan] monitor; mã, tên hoặc bí danh):
    /// liên kết chỉ xem và quyết định gia hạn cho các kế hoạch đó
    #[arg(long)]
    agency: Option<String>,
    /// Thay vì liên kết: tạo một khóa trang theo dõi mới (ngẫu nhiên) và in dòng
    /// admin_token để chép vào [web]; khóa chỉ in một lần, không lưu ở đâu
    #[arg(long, conflicts_with_all = ["agency", "now"])]
    new_token: bool,
}

pub fn run(dir: &Path, args: Args, out: &Out) -> anyhow::Result<ExitCode> {
    let Args {
        now,
        agency,
        new_token,
    } = args;
    if new_token {
        out.print(new_admin_token())?;
        return Ok(ExitCode::SUCCESS);
    }
    let analysis = load_valid(dir, out)?;
    let config = &analysis.config;
    let Some(web) = &config.web else {
        anyhow::bail!("nhacviec.toml chưa có [web]: trang theo dõi cần public_url");
    };
    let Some(signer) = nhacviec::web::links_for(config)? else {
        anyhow::bail!(
            "chưa có khóa ký liên kết: đặt NHACVIEC_LINK_SECRET (hoặc credential link-secret của systemd)"
        );
    };
    let now = now_in(config.timezone, now.as_deref())?.with_timezone(&Utc);
    // `--agency`: a link to the plans that office monitors only.
    let scope = match agency.as_deref() {
        None => nhacviec::links::MONITOR.to_string(),
        Some(reference) => {
            let id = resolve::agency(config, reference)?;
            let plans: Vec<&str> = config
                .plans
                .iter()
                .filter(|p| config.monitor_of(p) == Some(id.as_str()))
                .map(|p| p.number.as_str())
                .collect();
            if plans.is_empty() {
                return Err(Refused(format!(
                    "{} không theo dõi kế hoạch nào (ghi monitor = \"{id}\" trong [plan] của kế hoạch)",
                    config.agency_name(&id)
                ))
                .into());
            }
            out.eprintln(format_args!(
                "Liên kết chỉ mở các kế hoạch {} theo dõi: {}.",
                config.agency_name(&id),
                plans.join(", ")
            ))?;
            nhacviec::links::monitor_scope(&id)
        }
    };
    let token = signer.sign(&scope, now);
    out.println(nhacviec::links::Url::Monitor(&token).at(&web.public_url))?;
    let until = (now + chrono::Duration::days(i64::from(signer.days)))
        .with_timezone(&config.timezone)
        .date_naive();
    out.eprintln(format_args!(
        "Liên kết dùng được đến ngày {}. Ai có liên kết này xem được số liệu và quyết định gia hạn: chỉ gửi cho cán bộ theo dõi.",
        dmy(until)
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `admin-link --new-token`: a dashboard key of 244 random bits (two random UUIDs, 64 hex
/// digits) and the `admin_token` line holding its hash; the key itself is stored nowhere.
fn new_admin_token() -> String {
    use sha2::Digest;
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let hash = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    format!(
        "Khóa trang theo dõi (giữ kín, ví dụ trong trình quản lý mật khẩu; chỉ in lần này):\n  {key}\nDòng ghi vào [web] của nhacviec.toml:\n  admin_token = \"sha256:{hash}\"\nTrang theo dõi: {{public_url}}/theo-doi/{key}\n"
    )
}
