//! `nhacviec store copy`: the state directory's SQLite database copied into an empty
//! PostgreSQL database, the step before running on two servers (`store::copy_to_postgres`).

use super::output::Out;
use super::state::State;
use super::Refused;
use nhacviec::config;
use nhacviec::pg::DatabaseUrl;
use nhacviec::store::{self, CopyReport};
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Chép trạng thái SQLite (thư mục trạng thái) sang một cơ sở dữ liệu PostgreSQL trống,
    /// kiểm tra số dòng từng bảng; dừng dịch vụ trước khi chép
    Copy(CopyArgs),
}

#[derive(clap::Args)]
pub struct CopyArgs {
    /// Cơ sở dữ liệu đích: postgres://nhacviec:MẬT-KHẨU@máy-chủ:5432/nhacviec (mặc định:
    /// NHACVIEC_DATABASE_URL, hoặc tệp database-url trong $CREDENTIALS_DIRECTORY; nên dùng
    /// cách này để mật khẩu không hiện trong danh sách tiến trình)
    #[arg(long, value_name = "URL")]
    to: Option<String>,
}

pub fn run(dir: &Path, command: Command, out: &Out) -> anyhow::Result<ExitCode> {
    match command {
        Command::Copy(args) => copy(dir, args, out),
    }
}

fn copy(dir: &Path, CopyArgs { to }: CopyArgs, out: &Out) -> anyhow::Result<ExitCode> {
    // The state directory, from the config as the service reads it (errors elsewhere in the
    // config do not move it).
    let analysis = config::load(dir);
    let state = State::of(dir, &analysis.config)?;
    let target = match to {
        Some(text) => DatabaseUrl::parse(&text, "--to").map_err(|e| Refused(e.to_string()))?,
        None => DatabaseUrl::from_env()?.ok_or_else(|| {
            Refused(
                "chưa có cơ sở dữ liệu đích: thêm --to postgres://… hoặc đặt NHACVIEC_DATABASE_URL"
                    .into(),
            )
        })?,
    };
    out.println(format_args!(
        "Chép trạng thái {} sang {target} …",
        state.db.display()
    ))?;
    match store::copy_to_postgres(&state.db, &target) {
        Ok(report) => {
            out.print(render(&report))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.refused() => Err(Refused(e.to_string()).into()),
        Err(e) => Err(e.into()),
    }
}

/// What a table holds, for the admin.
fn gloss(table: &str) -> &'static str {
    match table {
        "meta" => "mốc đã xét, báo cáo tuần, mã định danh",
        "zalo_token" => "token Zalo",
        "deliveries" => "thư đã ghi: đã gửi, chờ gửi, thất bại",
        "delivery_bodies" => "nội dung thư",
        "delivery_attachments" => "tệp gửi kèm thư",
        "slots" => "lời nhắc đã xét",
        "trial_slots" => "lời nhắc đã xét khi chạy thử",
        "extensions" => "gia hạn đã cho",
        "responses" => "trả lời của các cơ quan",
        "evidence" => "danh mục tệp kèm trả lời",
        "response_heads" => "trả lời mới nhất của mỗi lần hạn",
        _ => "",
    }
}

fn render(report: &CopyReport) -> String {
    let width = report
        .tables
        .iter()
        .map(|(t, _)| t.len())
        .max()
        .unwrap_or(0);
    let mut s = String::new();
    for (table, rows) in &report.tables {
        s.push_str(&format!(
            "  {table:<width$} {rows:>9} dòng  ({})\n",
            gloss(table)
        ));
    }
    s.push_str("Đã chép xong: số dòng từng bảng ở đích bằng ở nguồn.\n");
    if let Some(instance) = &report.instance {
        s.push_str(&format!(
            "Mã định danh {instance} được giữ: Message-ID của các thư không đổi.\n"
        ));
    }
    s.push_str(&format!(
        "Tệp kèm trả lời: {} tệp (của {} trả lời) đã chép từ {} vào cơ sở dữ liệu: cả hai máy chủ đều phục vụ được.\n",
        report.evidence_files,
        report.evidence_rows,
        report.evidence_dir.display()
    ));
    if !report.evidence_missing.is_empty() {
        s.push_str(&format!(
            "Thiếu {} tệp kèm trên đĩa (đã bị xóa tay?): trả lời vẫn được chép, tệp thì không: {}\n",
            report.evidence_missing.len(),
            report.evidence_missing.join(", ")
        ));
    }
    s.push_str("Bước tiếp theo: đặt NHACVIEC_DATABASE_URL (hoặc tệp database-url trong $CREDENTIALS_DIRECTORY) cho dịch vụ rồi khởi động nó; tệp SQLite giữ nguyên, dịch vụ không dùng nó nữa.\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_each_table_its_rows_and_the_next_step() {
        let report = CopyReport {
            tables: vec![("deliveries", 12), ("slots", 340)],
            instance: Some("00ff".into()),
            evidence_dir: "/var/lib/nhacviec/evidence".into(),
            evidence_rows: 2,
            evidence_files: 1,
            evidence_missing: vec![],
        };
        let text = render(&report);
        assert!(
            text.contains("  deliveries        12 dòng  (thư đã ghi"),
            "{text}"
        );
        assert!(text.contains("  slots            340 dòng"), "{text}");
        assert!(text.contains("Đã chép xong"), "{text}");
        assert!(text.contains("Mã định danh 00ff"), "{text}");
        assert!(text.contains("1 tệp (của 2 trả lời)"), "{text}");
        assert!(!text.contains("Thiếu"), "{text}");
        let missing = CopyReport {
            evidence_missing: vec!["ab12".into()],
            ..report.clone()
        };
        assert!(render(&missing).contains("Thiếu 1 tệp kèm trên đĩa"));
        assert!(text.contains("/var/lib/nhacviec/evidence"), "{text}");
        assert!(text.contains("NHACVIEC_DATABASE_URL"), "{text}");
    }
}
