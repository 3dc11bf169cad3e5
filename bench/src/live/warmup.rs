//! When a live run's warm-up is over (pure). A cold burst over many actions keeps the
//! simulated daemons busy with creations for a while, so a fixed warm-up measures part of the
//! burst; the comparison the seed table asks for is between steady states.

use std::time::Duration;

/// The warm-up rule: at least `min`, then until no container was created and no activation
/// paid a cold start for `quiet`, but never longer than `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Warmup {
    pub min: Duration,
    pub quiet: Duration,
    pub max: Duration,
}

impl Warmup {
    /// A fixed warm-up of `d` (what `--warmup` alone asks for).
    pub fn fixed(d: Duration) -> Self {
        Self {
            min: d,
            quiet: Duration::ZERO,
            max: d,
        }
    }

    /// At least `min`, then until 3 s pass without churn, at most 90 s.
    pub fn settling(min: Duration) -> Self {
        Self {
            min,
            quiet: Duration::from_secs(3),
            max: Duration::from_secs(90),
        }
    }
}

/// Follows the churn (creations + cold starts so far) seen at each check.
#[derive(Debug, Clone)]
pub struct Settle {
    rule: Warmup,
    churn: u64,
    changed_at: Duration,
}

impl Settle {
    pub fn new(rule: Warmup) -> Self {
        Self {
            rule,
            churn: 0,
            changed_at: Duration::ZERO,
        }
    }

    /// Takes the churn counted at `elapsed` since the load started; true once warm-up is over.
    pub fn observe(&mut self, elapsed: Duration, churn: u64) -> bool {
        if churn != self.churn {
            self.churn = churn;
            self.changed_at = elapsed;
        }
        if elapsed >= self.rule.max {
            return true;
        }
        elapsed >= self.rule.min && elapsed.saturating_sub(self.changed_at) >= self.rule.quiet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_fixed_warmup_ends_at_its_length_whatever_the_churn() {
        let mut s = Settle::new(Warmup::fixed(secs(5.0)));
        assert!(!s.observe(secs(4.9), 10));
        assert!(s.observe(secs(5.0), 11));
    }

    #[test]
    fn churn_keeps_the_warmup_going_until_it_has_been_quiet() {
        let mut s = Settle::new(Warmup::settling(secs(5.0)));
        assert!(!s.observe(secs(1.0), 100));
        assert!(!s.observe(secs(6.0), 300), "still creating");
        assert!(!s.observe(secs(8.0), 300), "quiet for 2 s only");
        assert!(s.observe(secs(9.0), 300));
    }

    #[test]
    fn a_quiet_start_ends_at_the_minimum() {
        let mut s = Settle::new(Warmup::settling(secs(5.0)));
        assert!(!s.observe(secs(1.0), 0));
        assert!(s.observe(secs(5.0), 0));
    }

    #[test]
    fn endless_churn_is_cut_at_the_maximum() {
        let mut s = Settle::new(Warmup::settling(secs(5.0)));
        for t in 1u32..90 {
            assert!(!s.observe(secs(f64::from(t)), u64::from(t)));
        }
        assert!(s.observe(secs(90.0), 91));
    }
}
