//! Bounds on hostile traffic to the pages: requests per link per minute, failed dashboard keys
//! (one budget for all, then a growing wait), and how many log lines rejected requests make.
//! Pure: time is passed in as seconds of the process's monotonic clock, never the pages' `--now`
//! (a fixed page time must still let a minute end).

use std::collections::{HashMap, HashSet};

/// Requests a link may make per minute.
pub const RATE_PER_MINUTE: u32 = 30;
/// Links the limiter follows in one minute: past this, a new link is served uncounted rather
/// than refused (a flood of junk tokens must not lock out the genuine ones; each answer is
/// still bounded by the store's own daily cap).
pub const MAX_KEYS: usize = 10_000;
/// Rejected requests logged in full each minute; the rest go into one line a minute.
pub const LOGGED_PER_MINUTE: u32 = 5;
/// Failed dashboard keys allowed a minute, from everyone together, before every request with
/// a key not seen to work is answered 429 for [`FIRST_BLOCK_SECS`], doubling at each new
/// block up to [`MAX_BLOCK_SECS`].
pub const FAILED_KEYS_PER_MINUTE: u32 = 20;
pub const FIRST_BLOCK_SECS: u64 = 60;
pub const MAX_BLOCK_SECS: u64 = 3600;
/// Keys that opened the dashboard and still pass during a block (the office keeps working
/// while someone guesses); past this many the set starts again.
const MAX_GOOD_KEYS: usize = 64;

/// Why a request was refused: the `reason` label of `nhacviec_web_rejected_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Invalid,
    Expired,
    UnknownAgency,
    RateLimited,
    DashboardKey,
    DashboardBlocked,
}

impl Reason {
    pub const ALL: [Reason; 6] = [
        Reason::Invalid,
        Reason::Expired,
        Reason::UnknownAgency,
        Reason::RateLimited,
        Reason::DashboardKey,
        Reason::DashboardBlocked,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Reason::Invalid => "invalid",
            Reason::Expired => "expired",
            Reason::UnknownAgency => "unknown_agency",
            Reason::RateLimited => "rate_limited",
            Reason::DashboardKey => "dashboard_key",
            Reason::DashboardBlocked => "dashboard_blocked",
        }
    }

    /// Refusals counted but never logged one by one (their number is the news).
    fn counted_only(self) -> bool {
        matches!(self, Reason::RateLimited | Reason::DashboardBlocked)
    }
}

/// Requests per link in the current minute: O(1) a request; the whole map is dropped when a
/// minute ends (each entry once, so amortised O(1) too), and never holds more than
/// [`MAX_KEYS`].
#[derive(Debug, Default)]
pub struct RateLimiter {
    minute: u64,
    counts: HashMap<String, u32>,
}

impl RateLimiter {
    /// Counts a request of `key` at `secs`; false once over [`RATE_PER_MINUTE`] this minute.
    pub fn allow(&mut self, key: &str, secs: u64) -> bool {
        let minute = secs / 60;
        if minute != self.minute {
            self.minute = minute;
            self.counts = HashMap::new();
        }
        if let Some(n) = self.counts.get_mut(key) {
            *n = n.saturating_add(1);
            return *n <= RATE_PER_MINUTE;
        }
        if self.counts.len() < MAX_KEYS {
            self.counts.insert(key.to_string(), 1);
        }
        true
    }

    pub fn keys(&self) -> usize {
        self.counts.len()
    }
}

/// The rejected requests of one minute, by reason, and how many were logged in full.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub counts: [u64; Reason::ALL.len()],
    pub logged: u64,
}

impl Summary {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn count(&self, reason: Reason) -> u64 {
        self.counts[reason as usize]
    }

    /// Rejections no line named: worth a summary.
    pub fn unlogged(&self) -> u64 {
        self.total() - self.logged
    }
}

/// Which rejections are logged in full: the first [`LOGGED_PER_MINUTE`] of a minute; the
/// minute's counts are handed back once it has ended.
#[derive(Debug, Default)]
pub struct RejectLog {
    minute: u64,
    current: Summary,
}

impl RejectLog {
    /// Counts a rejection at `secs`: whether to log it in full, and the previous minute's
    /// summary if that minute ended with rejections unlogged.
    pub fn note(&mut self, reason: Reason, secs: u64) -> (bool, Option<Summary>) {
        let ended = self.flush(secs);
        self.current.counts[reason as usize] += 1;
        let full = !reason.counted_only() && self.current.logged < u64::from(LOGGED_PER_MINUTE);
        if full {
            self.current.logged += 1;
        }
        (full, ended)
    }

    /// The summary of the minute that ended before `secs`, if some of its rejections went
    /// unlogged (called each minute by the server, so a quiet minute after a flood still
    /// reports it).
    pub fn flush(&mut self, secs: u64) -> Option<Summary> {
        let minute = secs / 60;
        if minute == self.minute {
            return None;
        }
        self.minute = minute;
        let ended = std::mem::take(&mut self.current);
        (ended.unlogged() > 0).then_some(ended)
    }
}

impl RejectLog {
    /// The current minute's summary, if some of its rejections went unlogged (at shutdown).
    pub fn finish(&mut self) -> Option<Summary> {
        let current = std::mem::take(&mut self.current);
        (current.unlogged() > 0).then_some(current)
    }
}

/// Failed dashboard keys from everyone together: a guesser trying many keys is slowed
/// whatever keys it tries.
#[derive(Debug, Default)]
pub struct KeyGuard {
    minute: u64,
    failed: u32,
    /// Blocks in a row (each twice as long as the one before).
    strikes: u32,
    blocked_until: u64,
    last_block: u64,
    /// `links::log_id` of keys that opened the dashboard.
    good: HashSet<String>,
}

impl KeyGuard {
    /// While blocked, seconds left for a key not seen to work (`None`: check the key).
    pub fn blocked(&self, id: &str, secs: u64) -> Option<u64> {
        (secs < self.blocked_until && !self.good.contains(id)).then(|| self.blocked_until - secs)
    }

    /// A failed key at `secs`: the length of the block it starts, if it exhausted the budget.
    pub fn failed(&mut self, secs: u64) -> Option<u64> {
        // A quiet spell as long as the last block forgives the earlier ones.
        if self.strikes > 0 && secs >= self.blocked_until + self.last_block {
            self.strikes = 0;
        }
        let minute = secs / 60;
        if minute != self.minute {
            self.minute = minute;
            self.failed = 0;
        }
        self.failed += 1;
        if self.failed <= FAILED_KEYS_PER_MINUTE {
            return None;
        }
        self.failed = 0;
        let wait = FIRST_BLOCK_SECS
            .saturating_mul(1u64 << self.strikes.min(16))
            .min(MAX_BLOCK_SECS);
        self.strikes += 1;
        self.blocked_until = secs + wait;
        self.last_block = wait;
        Some(wait)
    }

    /// A key that opened the dashboard: it passes during later blocks.
    pub fn succeeded(&mut self, id: &str) {
        if self.good.len() >= MAX_GOOD_KEYS && !self.good.contains(id) {
            self.good.clear();
        }
        self.good.insert(id.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_limited_per_minute_and_the_minute_ends() {
        let mut r = RateLimiter::default();
        for _ in 0..RATE_PER_MINUTE {
            assert!(r.allow("a", 5));
        }
        assert!(!r.allow("a", 59));
        assert!(r.allow("b", 59), "another link is not affected");
        // The next minute (of the monotonic clock) starts afresh.
        assert!(r.allow("a", 60));
        assert_eq!(r.keys(), 1);
    }

    #[test]
    fn the_limiter_holds_at_most_max_keys() {
        let mut r = RateLimiter::default();
        for i in 0..MAX_KEYS + 500 {
            assert!(r.allow(&format!("junk{i}"), 1));
        }
        assert_eq!(r.keys(), MAX_KEYS);
        // A followed link is still limited.
        for _ in 1..RATE_PER_MINUTE {
            assert!(r.allow("junk0", 2));
        }
        assert!(!r.allow("junk0", 2));
    }

    #[test]
    fn the_first_rejections_of_a_minute_are_logged_then_one_summary() {
        let mut log = RejectLog::default();
        let full: Vec<bool> = (0..100).map(|_| log.note(Reason::Invalid, 61).0).collect();
        assert_eq!(
            full.iter().filter(|f| **f).count(),
            LOGGED_PER_MINUTE as usize
        );
        assert!(full[..LOGGED_PER_MINUTE as usize].iter().all(|f| *f));
        // Rate-limited requests are counted, never logged one by one.
        assert!(!log.note(Reason::RateLimited, 62).0);
        let summary = log
            .flush(120)
            .expect("the minute ended with unlogged rejections");
        assert_eq!(summary.count(Reason::Invalid), 100);
        assert_eq!(summary.count(Reason::RateLimited), 1);
        assert_eq!(summary.unlogged(), 96);
        assert_eq!(log.flush(130), None, "once");
        // A minute whose rejections were all logged needs no summary.
        log.note(Reason::Expired, 185);
        assert_eq!(log.flush(240), None);
        // The summary also comes with the next rejection.
        for _ in 0..10 {
            log.note(Reason::Invalid, 250);
        }
        let (full, ended) = log.note(Reason::Invalid, 300);
        assert!(full);
        assert_eq!(ended.map(|s| s.count(Reason::Invalid)), Some(10));
    }

    #[test]
    fn failed_dashboard_keys_block_everyone_else_with_a_growing_wait() {
        let mut g = KeyGuard::default();
        g.succeeded("office");
        for _ in 0..FAILED_KEYS_PER_MINUTE {
            assert_eq!(g.failed(10), None);
        }
        assert_eq!(g.failed(11), Some(FIRST_BLOCK_SECS));
        assert_eq!(g.blocked("guess", 12), Some(FIRST_BLOCK_SECS - 1));
        assert_eq!(g.blocked("office", 12), None, "a key seen to work passes");
        assert_eq!(g.blocked("guess", 11 + FIRST_BLOCK_SECS), None);
        // Guessing again at once: twice as long, and so on up to the cap.
        let mut at = 11 + FIRST_BLOCK_SECS;
        let mut waits = vec![];
        for _ in 0..8 {
            let wait = (0..=FAILED_KEYS_PER_MINUTE)
                .find_map(|_| g.failed(at))
                .unwrap();
            waits.push(wait);
            at += wait;
        }
        assert_eq!(waits[..3], [120, 240, 480]);
        assert_eq!(*waits.last().unwrap(), MAX_BLOCK_SECS);
        // A quiet spell as long as the last block: back to the first wait.
        at += MAX_BLOCK_SECS;
        let wait = (0..=FAILED_KEYS_PER_MINUTE).find_map(|_| g.failed(at));
        assert_eq!(wait, Some(FIRST_BLOCK_SECS));
    }

    #[test]
    fn a_few_failed_keys_a_minute_never_block() {
        let mut g = KeyGuard::default();
        for minute in 0..100 {
            for _ in 0..FAILED_KEYS_PER_MINUTE {
                assert_eq!(g.failed(minute * 60 + 30), None);
            }
        }
    }
}
