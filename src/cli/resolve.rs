//! `--agency` and `--plan`: what an admin types, resolved against the config as plan files
//! resolve `lead` and `support` (an id, a name or an alias; then the dashboard's search),
//! with the nearest names when nothing matches.

use super::Refused;
use anyhow::bail;
use nhacviec::config::{self, Config};
use nhacviec::report;

/// `--agency`: an id, a name or an alias → the agency's id.
pub fn agency(config: &Config, reference: &str) -> anyhow::Result<String> {
    match config.resolve_name(reference) {
        Some(config::Named::Agency(a)) => Ok(a.id.clone()),
        Some(config::Named::Group(g)) => {
            let members: Vec<&str> = g.agencies.iter().take(5).map(String::as_str).collect();
            Err(Refused(format!(
                "\"{reference}\" là nhóm cơ quan \"{}\" ({} cơ quan), không phải một cơ quan: chọn một cơ quan, ví dụ {}",
                g.name,
                g.agencies.len(),
                members.join(", ")
            ))
            .into())
        }
        None => {
            // Without diacritics or case, as the dashboard's search finds them.
            match config.search_agencies(reference).as_slice() {
                [one] => return Ok(one.id.clone()),
                [] => {}
                many => bail!(
                    "\"{reference}\" có thể là {} cơ quan: {}; ghi rõ hơn (tên đầy đủ hoặc mã)",
                    many.len(),
                    candidates(many.iter().map(|a| format!("{} ({})", a.name, a.id)))
                ),
            }
            let near = config.nearest_agencies(reference, 5);
            let hint = if near.is_empty() {
                "chưa có cơ quan nào trong danh sách cơ quan".to_string()
            } else {
                format!("gần nhất: {}", near.join("; "))
            };
            Err(Refused(format!(
                "không có cơ quan mã \"{reference}\", cũng không có cơ quan nào có tên hoặc bí danh như vậy; {hint}"
            ))
            .into())
        }
    }
}

/// `--plan`: a plan number as written (trimmed, any case) → the number as the plan file has it.
pub fn plan(config: &Config, number: &str) -> anyhow::Result<String> {
    if let Some(n) = report::find_plan(config, number) {
        return Ok(n.to_string());
    }
    match config.search_plans(number).as_slice() {
        [one] => Ok(one.number.clone()),
        many @ [_, _, ..] => bail!(
            "\"{number}\" có thể là {} kế hoạch: {}; ghi đúng số hiệu",
            many.len(),
            candidates(many.iter().map(|p| p.number.clone()))
        ),
        [] => {
            let known: Vec<&str> = config.plans.iter().map(|p| p.number.as_str()).collect();
            Err(Refused(if known.is_empty() {
                format!("không có kế hoạch \"{number}\": cấu hình chưa có kế hoạch nào")
            } else {
                format!(
                    "không có kế hoạch \"{number}\"; các kế hoạch hiện có: {}",
                    known.join(", ")
                )
            })
            .into())
        }
    }
}

/// An optional `--agency` and `--plan`.
pub fn filters(
    config: &Config,
    agency_ref: Option<&str>,
    plan_ref: Option<&str>,
) -> anyhow::Result<(Option<String>, Option<String>)> {
    let agency = agency_ref.map(|a| agency(config, a)).transpose()?;
    let plan = plan_ref.map(|p| plan(config, p)).transpose()?;
    Ok((agency, plan))
}

/// The candidates of an ambiguous argument: the first ten, then how many more.
fn candidates(all: impl ExactSizeIterator<Item = String>) -> String {
    let n = all.len();
    let mut shown: Vec<String> = all.take(10).collect();
    if n > 10 {
        shown.push(format!("và {} nữa", n - 10));
    }
    shown.join("; ")
}
