//! What `preview`, `status`, `calendar` and `history --status skipped` compute and print:
//! `status` (the four states per task and agency, and their totals), `preview` (what the
//! service will send and when; the calendar listing), `skipped` (reminder slots recorded as
//! skipped). Pure: the config, the calendar and the time are passed in. Dates are written by
//! [`crate::dates`].

pub mod preview;
pub mod skipped;
pub mod status;

pub use preview::{
    calendar_for, find_plan, preview, preview_with_skipped, render_calendar_text,
    render_preview_text, retain_plan, CalendarYear, Preview, PreviewDigest,
};
pub use skipped::{render_skipped_text, SkipReason, SkippedSlot};
pub(crate) use status::{agency_deadlines, role_in};
pub use status::{render_status_text, status, status_in, State, StatusRow, StatusTotals};

// Kept at their old paths for main.rs until it moves into src/cli/ (removed at merge).

use crate::config::Config;

/// An agency's name for the terminal (control characters escaped).
fn agency_name(config: &Config, id: &str) -> String {
    let name = config.agency(id).map_or(id, |a| a.name.as_str());
    crate::text::printable(name).into_owned()
}
