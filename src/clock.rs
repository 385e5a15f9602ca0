//! The service's clock: the system's, or one shifted to a chosen start (`nhacviec run --now T`
//! without `--once`) that advances in real time from there, so a failover, a week of ticks or a
//! trial can be rehearsed on an old plan. The pure core never reads it: the daemon and the pages
//! read it and pass the time in.

use chrono::{DateTime, TimeDelta, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// The system clock plus a fixed offset: "now" was the given time when the service
    /// started, and moves on with the real clock.
    Shifted(TimeDelta),
    /// One instant that does not move (`nhacviec web --now`: pages as of a date).
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// A clock reading `start` now and advancing in real time from there.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock::shifted(start, Utc::now())
    }

    /// A clock that reads `start` when the system clock reads `real`.
    pub fn shifted(start: DateTime<Utc>, real: DateTime<Utc>) -> Clock {
        Clock::Shifted(start - real)
    }

    /// The time now, on this clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.at(Utc::now())
    }

    /// This clock's time when the system clock reads `real`.
    pub fn at(&self, real: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Clock::System => real,
            Clock::Shifted(offset) => real + *offset,
            Clock::Fixed(t) => *t,
        }
    }

    /// Whether this clock is not the system's (the log says so at start).
    pub fn is_system(&self) -> bool {
        matches!(self, Clock::System)
    }
}

/// A page time as `nhacviec web --now` gives it: fixed, else the system clock.
impl From<Option<DateTime<Utc>>> for Clock {
    fn from(fixed: Option<DateTime<Utc>>) -> Clock {
        fixed.map_or(Clock::System, Clock::Fixed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_shifted_clock_advances_with_the_real_one_from_its_start() {
        let real = Utc.with_ymd_and_hms(2026, 12, 7, 1, 0, 0).unwrap();
        let start = Utc.with_ymd_and_hms(2022, 6, 1, 0, 59, 30).unwrap();
        let clock = Clock::shifted(start, real);
        assert_eq!(clock.at(real), start);
        assert_eq!(
            clock.at(real + TimeDelta::seconds(45)),
            Utc.with_ymd_and_hms(2022, 6, 1, 1, 0, 15).unwrap()
        );
        assert!(!clock.is_system());
    }

    #[test]
    fn a_fixed_clock_does_not_move_and_the_system_clock_is_the_real_time() {
        let real = Utc.with_ymd_and_hms(2026, 12, 7, 1, 0, 0).unwrap();
        let t = Utc.with_ymd_and_hms(2022, 6, 1, 0, 0, 0).unwrap();
        assert_eq!(Clock::Fixed(t).at(real + TimeDelta::hours(3)), t);
        assert_eq!(Clock::System.at(real), real);
        assert!(Clock::System.is_system());
    }
}
