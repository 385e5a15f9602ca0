//! `nhacviec check`: the config's diagnostics, the plans entered late and, on request, each
//! configured service asked without sending anything.

use super::args::{now_in, Format};
use super::output::Out;
use super::state::State;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use nhacviec::check::LinkSecret;
use nhacviec::config::{self, Config};
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Định dạng kết quả
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Coi cảnh báo là lỗi (mã thoát 1), kể cả phần thời gian đã bỏ qua hay đã chọn một
    /// cách hiểu (--strict)
    #[arg(long, visible_alias = "strict")]
    deny_warnings: bool,
    /// Sau đó thử kết nối tới từng dịch vụ đã cấu hình (máy chủ thư, Zalo, webhook) mà
    /// không gửi gì; mã thoát 1 nếu có dịch vụ không dùng được
    #[arg(long)]
    environment: bool,
    /// "Bây giờ" (RFC 3339 hoặc ngày), thay cho đồng hồ hệ thống: cảnh báo kế hoạch nhập
    /// muộn tính lần gửi tới từ thời điểm này
    #[arg(long)]
    now: Option<String>,
}

pub fn run(dir: &Path, args: Args, out: &Out) -> anyhow::Result<ExitCode> {
    let Args {
        format,
        deny_warnings,
        environment,
        now,
    } = args;
    let mut analysis = config::load(dir);
    // [web] without the link secret: no links, no pages (the secret is read here, at the
    // edge, as the service reads it).
    let secret = match nhacviec::web::links_for(&analysis.config) {
        Ok(Some(_)) => LinkSecret::Present,
        Ok(None) => LinkSecret::Absent,
        Err(e) => LinkSecret::Unusable(format!("{e:#}")),
    };
    if let Some(reason) = nhacviec::check::web_links_off(&analysis.config, &secret) {
        let file = dir.join(config::SETTINGS_FILE);
        analysis
            .diagnostics
            .push(nhacviec::check::web_links_warning(
                &file.display().to_string(),
                reason,
            ));
    }
    if !analysis.has_errors() {
        let now = now_in(analysis.config.timezone, now.as_deref())?;
        let late = late_plan_warnings(dir, &analysis.config, now)?;
        analysis.diagnostics.extend(late);
    }
    // Services are asked only of a config the service would run with.
    let probed = (environment && !analysis.has_errors())
        .then(|| {
            let runtime = super::runtime()?;
            let outcomes = runtime.block_on(nhacviec::environment::probe(
                dir,
                &analysis.config,
                Utc::now(),
            ));
            anyhow::Ok(outcomes)
        })
        .transpose()?;
    match format {
        Format::Text => {
            out.print(nhacviec::check::render_text(&analysis))?;
            match &probed {
                Some(outcomes) => out.print(nhacviec::environment::render_text(outcomes))?,
                None if environment => {
                    out.println(format_args!("\n{}", nhacviec::environment::SKIPPED))?
                }
                None => {}
            }
        }
        Format::Json if environment => {
            // The report's own keys, in their order, and `environment` after them.
            #[derive(serde::Serialize)]
            struct WithEnvironment<'a, R> {
                #[serde(flatten)]
                report: R,
                environment: &'a [nhacviec::environment::Outcome],
                #[serde(skip_serializing_if = "Option::is_none")]
                environment_skipped: Option<&'static str>,
            }
            out.json(&WithEnvironment {
                report: nhacviec::check::report(&analysis),
                environment: probed.as_deref().unwrap_or_default(),
                environment_skipped: probed.is_none().then_some(nhacviec::environment::SKIPPED),
            })?;
        }
        Format::Json => out.json(&nhacviec::check::report(&analysis))?,
    }
    let unreachable = probed.is_some_and(|o| o.iter().any(|o| !o.ok));
    let failed = analysis.has_errors()
        || unreachable
        || (deny_warnings && !nhacviec::check::report(&analysis).warnings.is_empty());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `check`'s warnings about plans entered late: what the service's next pass (its start pass
/// when it is not running) would send about deadlines that passed before `now` and nobody was
/// reminded of, on the state directory's ledger (`forecast::late_entries_from`), one warning
/// per plan at its `[plan]` line.
fn late_plan_warnings(
    dir: &Path,
    config: &Config,
    now: DateTime<Tz>,
) -> anyhow::Result<Vec<config::Diagnostic>> {
    let state = State::of(dir, config)?;
    let running = state.running();
    let store = state.reader()?;
    let view = store
        .as_ref()
        .map(|s| s.ledger(nhacviec::store::Ledger::of(config)));
    let ledger = match &view {
        Some(v) => v.forecast()?,
        None => nhacviec::forecast::Ledger::empty(),
    };
    let today = now.date_naive();
    // The service's engine: the plans with the stored answers laid over them.
    let engine = match &store {
        Some(s) => nhacviec::deliver::Engine::build_with_store(config, s, today)?,
        None => nhacviec::deliver::Engine::build(config, today),
    };
    let answered = engine.config(config);
    // Told already: in either ledger (a reminder rehearsed in trial mode is not news).
    let rehearsed = store
        .as_ref()
        .map(|s| s.ledger(nhacviec::store::Ledger::Trial));
    let known: &dyn nhacviec::schedule::Handled = match &rehearsed {
        Some(v) => v,
        None => ledger.handled,
    };
    let late = nhacviec::forecast::late_entries_from(
        answered,
        &engine.calendar,
        &engine.schedule,
        &ledger,
        known,
        now,
        !running,
    );
    Ok(late
        .into_iter()
        .map(|e| {
            let file = config
                .plans
                .iter()
                .find(|p| p.number == e.plan)
                .map_or_else(String::new, |p| p.file.clone());
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let at = text
                .match_indices("[plan]")
                .map(|(i, _)| i)
                .find(|&i| i == 0 || text[..i].ends_with('\n'))
                .unwrap_or(0);
            let message = e.message_vi(config, today);
            let d = if text.is_empty() {
                config::Diagnostic::file(config::Severity::Warning, file, message)
            } else {
                config::diag::Source::new(file, text).diag(
                    config::Severity::Warning,
                    at..at + "[plan]".len(),
                    message,
                )
            };
            d.with_help(e.help_vi(today))
        })
        .collect())
}
