//! What a run measures: completions inside the measured window, and a uniform sample of their
//! latencies (a reservoir, so memory stays bounded at 20,000 TPS × a minute).

use super::events::{Micros, to_ms};
use super::rng::SplitMix64;

/// Latency samples kept per run; enough for smooth CDFs and stable p99.
pub const SAMPLES: usize = 20_000;

/// Counts and samples of one run.
#[derive(Debug)]
pub struct Recorder {
    from: Micros,
    to: Micros,
    seen: u64,
    pub completed: u64,
    pub cold_starts: u64,
    /// Containers created over the whole run, warm-up included.
    pub creations: u64,
    /// Creations the placement refused (no invoker had the memory), whole run.
    pub refused_creations: u64,
    /// Activations sent over the whole run (for conservation checks).
    pub sent: u64,
    /// (end-to-end latency, queue wait) in ms.
    pub samples: Vec<(f64, f64)>,
    rng: SplitMix64,
}

impl Recorder {
    /// Measures completions in `[from, to)`.
    pub fn new(from: Micros, to: Micros, seed: u64) -> Self {
        Self {
            from,
            to,
            seen: 0,
            completed: 0,
            cold_starts: 0,
            creations: 0,
            refused_creations: 0,
            sent: 0,
            samples: Vec::new(),
            rng: SplitMix64::new(seed ^ 0x5EED_CAFE),
        }
    }

    /// An activation sent at `sent`, completed (result at the caller) at `now`.
    pub fn complete(&mut self, sent: Micros, now: Micros, wait: Micros, cold: bool) {
        if now < self.from || now >= self.to {
            return;
        }
        self.completed += 1;
        self.cold_starts += u64::from(cold);
        let sample = (to_ms(now - sent), to_ms(wait));
        self.seen += 1;
        if self.samples.len() < SAMPLES {
            self.samples.push(sample);
        } else {
            let slot = self.rng.next_u64() % self.seen;
            if let Some(s) = self.samples.get_mut(slot as usize) {
                *s = sample;
            }
        }
    }

    /// Completions per second over the window.
    pub fn tps(&self) -> f64 {
        let seconds = to_ms(self.to - self.from) / 1000.0;
        if seconds > 0.0 {
            self.completed as f64 / seconds
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_inside_the_window() {
        let mut r = Recorder::new(1_000_000, 3_000_000, 1);
        r.complete(0, 999_999, 0, true);
        r.complete(1_000_000, 1_005_000, 1_000, true);
        r.complete(2_000_000, 3_000_000, 0, false);
        assert_eq!((r.completed, r.cold_starts), (1, 1));
        assert_eq!(r.samples, vec![(5.0, 1.0)]);
        assert_eq!(r.tps(), 0.5);
    }

    #[test]
    fn sample_stays_bounded() {
        let mut r = Recorder::new(0, u64::MAX, 1);
        for i in 0..(SAMPLES as u64 * 3) {
            r.complete(i, i + 5_000, 0, false);
        }
        assert_eq!(r.samples.len(), SAMPLES);
        assert_eq!(r.completed, SAMPLES as u64 * 3);
        assert!(r.samples.iter().all(|&(l, _)| l == 5.0));
    }
}
