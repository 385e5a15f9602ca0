//! nhacviec: reminds Vietnamese government agencies of the tasks a provincial plan assigns them.
//!
//! The core (`deadline`, `calendar`, `schedule`, `render`, `outbox`, `report` and the pure
//! parts of `config`) computes; `store`, `channels`, `deliver`, `daemon` and the binary are
//! the edge.
//! See ARCHITECTURE.md for the map.

pub mod answers;
pub mod calendar;
pub mod channels;
pub mod check;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod dates;
pub mod deadline;
pub mod deliver;
pub mod environment;
pub mod evidence;
pub mod extension;
pub mod forecast;
pub mod health;
pub mod http;
pub mod ics;
pub mod import;
pub mod lead;
pub mod links;
pub mod messages;
pub mod outbox;
pub mod overview;
pub mod pg;
pub mod policy;
pub mod render;
pub mod report;
pub mod report_doc;
pub mod schedule;
pub mod store;
pub mod text;
pub mod web;
pub mod workbook;
