//! The integration tests: one crate, so the library is linked once rather than once per file
//! (as ripgrep's `tests/tests.rs`). Each module was a test file of its own; `support` holds
//! what they share: the sample config in a temporary directory, the test servers, fixtures.
//! Run one module with `cargo test --test it MODULE::`.
//!
//! Every test shares this process: one that changes process-wide state (an environment
//! variable, the umask) runs in a child process of its own (`support::isolated`).

mod support;

mod answer_bounds;
mod architecture;
mod browser;
mod calendar_announced;
mod calendar_feed;
mod check_environment;
mod cli_admin;
mod cli_answers;
mod cli_check;
mod cli_escaping;
mod cli_schedule;
mod config_props;
mod daemon;
mod dashboard;
mod deadline_corpus;
mod deadline_phrases;
mod deadline_props;
mod evidence;
mod failover;
mod fuzz_corpus;
mod guide;
mod hostile_config;
mod import;
mod lead;
mod leadership;
mod mailserver_delivery;
mod monitoring;
mod pipeline;
mod report_doc;
mod responsive;
mod review;
mod rollout;
mod schedule_props;
mod schedule_rules;
mod secrets_and_files;
mod send_test;
mod smtp_delivery;
mod staged_by_agency;
mod store_backends;
mod store_copy;
mod store_roles;
mod tick;
mod trial;
mod web_hostile;
mod web_pages;
mod webhook;
mod zalo;
