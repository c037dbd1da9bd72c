//! Exponential backoff with jitter, and when to give up.
//!
//! The n-th retry waits `min(max_delay, base · multiplier^(n-1))`, jittered so that messages
//! that failed together (an SMTP server that went away) do not all come back in the same
//! second. The randomness is injected ([`JitterSource`]): the dispatcher seeds it, tests fix it.

use crate::error::SendError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A source of random numbers for jitter.
pub trait JitterSource {
    fn next_u64(&mut self) -> u64;
}

/// SplitMix64: small, fast, and fully determined by its seed.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
}

impl JitterSource for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// How the computed delay is randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// Exactly the computed delay.
    None,
    /// Uniform in `[0, d]`: spreads best, may retry almost at once.
    Full,
    /// Uniform in `[d/2, d]`: spreads well and always waits at least half.
    #[default]
    Equal,
}

/// The retry rules for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base_delay: Duration,
    pub multiplier: u32,
    pub max_delay: Duration,
    /// Attempts in all, the first included. When this many have failed transiently the
    /// message becomes a dead letter.
    pub max_attempts: u32,
    pub jitter: Jitter,
}

impl Default for RetryPolicy {
    /// 30 s, 1 min, 2 min, … capped at 1 h; 8 attempts (about 2 hours 8 minutes before the
    /// message is parked, enough to ride out a mail server restart or a provider incident).
    fn default() -> Self {
        RetryPolicy {
            base_delay: Duration::from_secs(30),
            multiplier: 2,
            max_delay: Duration::from_secs(3600),
            max_attempts: 8,
            jitter: Jitter::Equal,
        }
    }
}

/// What happens after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again at this instant (or later, if quiet hours or a rate limit say so).
    RetryAt(DateTime<Utc>),
    /// A permanent failure: do not retry. The dispatcher records it and, for an invalid
    /// recipient, reports the person as unreachable on this channel.
    Failed,
    /// Transient failures until the attempts ran out: park as a dead letter that an
    /// administrator can list and re-send.
    DeadLetter,
}

impl RetryPolicy {
    /// The un-jittered delay before retry number `retry` (1 = the first retry).
    pub fn nominal_delay(&self, retry: u32) -> Duration {
        let base = self.base_delay.as_millis().min(u64::MAX as u128) as u64;
        let cap = self.max_delay.as_millis().min(u64::MAX as u128) as u64;
        let mut d = base;
        for _ in 1..retry.max(1) {
            d = d.saturating_mul(self.multiplier.max(1) as u64);
            if d >= cap {
                break;
            }
        }
        Duration::from_millis(d.min(cap))
    }

    /// The jittered delay before retry number `retry`.
    pub fn delay(&self, retry: u32, rng: &mut dyn JitterSource) -> Duration {
        let d = self.nominal_delay(retry).as_millis() as u64;
        let ms = match self.jitter {
            Jitter::None => d,
            Jitter::Full => uniform(rng, 0, d),
            Jitter::Equal => d / 2 + uniform(rng, 0, d - d / 2),
        };
        Duration::from_millis(ms)
    }

    /// Decides what follows attempt number `attempts_made` (1 = the first attempt) that
    /// failed with `error` at `now`. A provider's retry hint (Retry-After, a 30-second or daily
    /// limit) is honoured when it asks for longer than the backoff.
    pub fn after_failure(
        &self,
        attempts_made: u32,
        error: &SendError,
        now: DateTime<Utc>,
        rng: &mut dyn JitterSource,
    ) -> RetryDecision {
        if !error.is_transient() {
            return RetryDecision::Failed;
        }
        if attempts_made >= self.max_attempts {
            return RetryDecision::DeadLetter;
        }
        let mut wait = self.delay(attempts_made, rng);
        if let Some(hint) = error.failure().retry_after {
            wait = wait.max(hint);
        }
        let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        RetryDecision::RetryAt(
            now.checked_add_signed(wait)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }
}

/// Uniform in `[lo, hi]`.
fn uniform(rng: &mut dyn JitterSource, lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        return lo;
    }
    let span = hi - lo;
    if span == u64::MAX {
        return rng.next_u64();
    }
    lo + rng.next_u64() % (span + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Failure, FailureKind};
    use proptest::prelude::*;

    fn transient(after: Option<Duration>) -> SendError {
        SendError::Transient(
            Failure::new(FailureKind::Timeout, "t", "timeout", "").retry_after(after),
        )
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let p = RetryPolicy {
            jitter: Jitter::None,
            ..RetryPolicy::default()
        };
        let secs: Vec<u64> = (1..=9).map(|n| p.nominal_delay(n).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(p.nominal_delay(10_000), Duration::from_secs(3600));
    }

    #[test]
    fn the_same_seed_gives_the_same_schedule() {
        let p = RetryPolicy::default();
        let a: Vec<_> = (1..8)
            .map(|n| p.delay(n, &mut SplitMix64::new(7 + n as u64)))
            .collect();
        let b: Vec<_> = (1..8)
            .map(|n| p.delay(n, &mut SplitMix64::new(7 + n as u64)))
            .collect();
        assert_eq!(a, b);
        let c: Vec<_> = (1..8)
            .map(|n| p.delay(n, &mut SplitMix64::new(8 + n as u64)))
            .collect();
        assert_ne!(a, c);
    }

    #[test]
    fn permanent_failures_stop_and_exhausted_ones_become_dead_letters() {
        let p = RetryPolicy::default();
        let now = at("2025-03-01T01:00:00Z");
        let rng = &mut SplitMix64::new(1);
        let perm = SendError::Permanent(Failure::new(FailureKind::InvalidRecipient, "t", "x", ""));
        assert_eq!(p.after_failure(1, &perm, now, rng), RetryDecision::Failed);
        assert_eq!(
            p.after_failure(8, &transient(None), now, rng),
            RetryDecision::DeadLetter
        );
        match p.after_failure(7, &transient(None), now, rng) {
            RetryDecision::RetryAt(t) => assert!(t > now),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_provider_hint_longer_than_the_backoff_wins() {
        let p = RetryPolicy::default();
        let now = at("2025-03-01T01:00:00Z");
        let d = p.after_failure(
            1,
            &transient(Some(Duration::from_secs(86400))),
            now,
            &mut SplitMix64::new(3),
        );
        assert_eq!(d, RetryDecision::RetryAt(at("2025-03-02T01:00:00Z")));
    }

    proptest! {
        #[test]
        fn jittered_delays_stay_within_their_bounds(seed: u64, retry in 1u32..40, base in 1u64..100_000, cap in 1u64..10_000_000) {
            for jitter in [Jitter::None, Jitter::Full, Jitter::Equal] {
                let p = RetryPolicy {
                    base_delay: Duration::from_millis(base),
                    multiplier: 2,
                    max_delay: Duration::from_millis(cap),
                    max_attempts: 10,
                    jitter,
                };
                let nominal = p.nominal_delay(retry);
                prop_assert!(nominal <= Duration::from_millis(cap));
                prop_assert!(nominal >= Duration::from_millis(base.min(cap)));
                let d = p.delay(retry, &mut SplitMix64::new(seed));
                prop_assert!(d <= nominal);
                if jitter == Jitter::Equal {
                    prop_assert!(d >= nominal / 2);
                }
                if jitter == Jitter::None {
                    prop_assert_eq!(d, nominal);
                }
            }
        }

        #[test]
        fn nominal_delays_never_shrink(retry in 1u32..60) {
            let p = RetryPolicy::default();
            prop_assert!(p.nominal_delay(retry + 1) >= p.nominal_delay(retry));
        }

        #[test]
        fn every_transient_failure_before_the_limit_is_retried_later(attempt in 1u32..8, seed: u64, secs in 0i64..4_000_000_000) {
            let p = RetryPolicy::default();
            let now = DateTime::from_timestamp(secs, 0).unwrap();
            match p.after_failure(attempt, &transient(None), now, &mut SplitMix64::new(seed)) {
                RetryDecision::RetryAt(t) => prop_assert!(t >= now + chrono::Duration::seconds(15)),
                other => prop_assert!(false, "{:?}", other),
            }
        }
    }
}
