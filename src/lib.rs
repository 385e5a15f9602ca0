//! nhacviec: reminds Vietnamese government agencies of the tasks a provincial plan assigns them.
//!
//! The core (`deadline`, and the pure parts of `config`) computes; the binary is the edge.
//! See ARCHITECTURE.md for the map.

pub mod calendar;
pub mod channels;
pub mod check;
pub mod config;
pub mod daemon;
pub mod deadline;
pub mod deliver;
pub mod health;
pub mod import;
pub mod policy;
pub mod render;
pub mod report;
pub mod schedule;
pub mod store;
pub mod text;
