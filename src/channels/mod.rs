//! Channels other than email (which is `deliver::Mailer`).

pub mod pace;
pub mod webhook;
pub mod zalo;
