//! Request pacing for channels whose API limits requests per minute.

use std::sync::{Mutex, PoisonError};
use tokio::time::{sleep_until, Duration, Instant};

/// Spaces requests at least `interval` apart. Each caller reserves the next free slot and
/// sleeps until it outside the lock, so requests in flight wait side by side: the rate is the
/// limit, not the timer's 1 ms resolution.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    last_slot: Mutex<Option<Instant>>,
}

impl Pacer {
    pub fn per_minute(limit: u32) -> Pacer {
        Pacer {
            interval: Duration::from_secs_f64(60.0 / f64::from(limit.max(1))),
            last_slot: Mutex::new(None),
        }
    }

    /// Returns when this request may go.
    pub async fn wait(&self) {
        let now = Instant::now();
        let slot = {
            let mut last = self
                .last_slot
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let slot = last.map_or(now, |t| (t + self.interval).max(now));
            *last = Some(slot);
            slot
        };
        if slot > now {
            sleep_until(slot).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// When each of `n` requests waiting together may go, from the start, in order.
    async fn go_times(limit_per_minute: u32, n: usize) -> Vec<Duration> {
        let pacer = Arc::new(Pacer::per_minute(limit_per_minute));
        let start = Instant::now();
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let p = pacer.clone();
                tokio::spawn(async move {
                    p.wait().await;
                    Instant::now() - start
                })
            })
            .collect();
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap());
        }
        times.sort();
        times
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_requests_are_spaced_by_the_limit() {
        let times = go_times(600, 10).await; // one every 100 ms
        assert_eq!(times[0], Duration::ZERO, "the first goes at once");
        for w in times.windows(2) {
            assert!(w[1] - w[0] >= Duration::from_millis(100), "{times:?}");
        }
        // No more waiting than the limit needs: ten requests in 900 ms.
        assert!(times[9] < Duration::from_millis(950), "{times:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_is_the_limit_not_the_timer_resolution() {
        // 7,000 a minute is one every 8.57 ms: a timer rounding each wait up to whole
        // milliseconds, one request after the other, would take 99 × 9 ms for 100 requests.
        let times = go_times(7_000, 100).await;
        assert!(times[99] < Duration::from_millis(870), "{:?}", times[99]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_pacer_does_not_delay() {
        let pacer = Pacer::per_minute(60);
        pacer.wait().await;
        tokio::time::advance(Duration::from_secs(5)).await;
        let before = Instant::now();
        pacer.wait().await;
        assert_eq!(Instant::now(), before);
    }
}
