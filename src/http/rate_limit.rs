//! An in-process sliding-window rate limiter keyed by caller.
//!
//! Each replica counts alone: with several replicas behind a load balancer
//! the limit must be counted in the shared store instead (issue 8). Depends
//! on nothing else in the crate.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    limit: usize,
    window: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit.max(1) as usize,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request for `key`, or says how long until the next one
    /// would be allowed. A refused request is not counted.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    /// As `check`, with a limit of its own for this call (callers with
    /// different limits can share one limiter).
    pub fn check_limit(&self, key: &str, limit: u32) -> Result<(), Duration> {
        self.check_at_limit(key, Instant::now(), limit.max(1) as usize)
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        self.check_at_limit(key, now, self.limit)
    }

    fn check_at_limit(&self, key: &str, now: Instant, limit: usize) -> Result<(), Duration> {
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        // Forget callers whose window has fully passed, so the map stays as
        // small as the set of recently active keys.
        hits.retain(|_, log| {
            log.back()
                .is_some_and(|t| now.duration_since(*t) < self.window)
        });
        let log = hits.entry(key.to_string()).or_default();
        while log
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            log.pop_front();
        }
        if log.len() >= limit {
            let oldest = log.front().copied().unwrap_or(now);
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        log.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_limit_then_refuses_until_the_window_slides() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(limiter.check_at("k", t0).is_ok());
        assert!(limiter.check_at("k", t0 + Duration::from_secs(10)).is_ok());
        let wait = limiter
            .check_at("k", t0 + Duration::from_secs(20))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(40));
        assert!(limiter.check_at("other", t0).is_ok(), "keys count apart");
        assert!(limiter.check_at("k", t0 + Duration::from_secs(60)).is_ok());
        assert!(limiter.check_at("k", t0 + Duration::from_secs(61)).is_err());
    }
}
