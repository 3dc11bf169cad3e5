//! Figures of one live run from what the load generator saw per activation (pure).

/// One completed activation, times in milliseconds since the run started.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub sent_ms: f64,
    /// When the result reached the load generator.
    pub done_ms: f64,
    /// The record's `waitTime` annotation: controller start to execution start.
    pub wait_ms: Option<f64>,
    /// The record carries `initTime`: the activation paid a cold start.
    pub cold: bool,
}

/// The measured part of a run (warm-up excluded), in milliseconds since the start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub start_ms: f64,
    pub end_ms: f64,
}

impl Window {
    fn contains(&self, t: f64) -> bool {
        t >= self.start_ms && t < self.end_ms
    }

    fn seconds(&self) -> f64 {
        ((self.end_ms - self.start_ms) / 1000.0).max(1e-9)
    }
}

/// What a window of samples amounts to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    pub tps: f64,
    pub completed: u64,
    /// End-to-end latencies (ms) of the activations completed in the window, sorted.
    pub latencies_ms: Vec<f64>,
    pub queue_wait_ms: Vec<f64>,
    pub cold_starts: u64,
    /// Completions per whole second of the window.
    pub per_second: Vec<u64>,
}

impl Summary {
    /// The `p`-th percentile (0–100) of the latencies; 0 when there are none.
    pub fn latency(&self, p: f64) -> f64 {
        percentile(&self.latencies_ms, p)
    }
}

/// Nearest-rank percentile of sorted values; 0 for none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The activations whose result arrived inside `window`.
pub fn summarise(samples: &[Sample], window: Window) -> Summary {
    let inside: Vec<&Sample> = samples
        .iter()
        .filter(|s| window.contains(s.done_ms))
        .collect();
    let mut latencies_ms: Vec<f64> = inside.iter().map(|s| s.done_ms - s.sent_ms).collect();
    latencies_ms.sort_by(f64::total_cmp);
    let mut queue_wait_ms: Vec<f64> = inside.iter().filter_map(|s| s.wait_ms).collect();
    queue_wait_ms.sort_by(f64::total_cmp);
    let seconds = window.seconds().round().max(1.0) as usize;
    let mut per_second = vec![0u64; seconds];
    for s in &inside {
        let i = ((s.done_ms - window.start_ms) / 1000.0) as usize;
        if let Some(n) = per_second.get_mut(i) {
            *n += 1;
        }
    }
    Summary {
        tps: inside.len() as f64 / window.seconds(),
        completed: inside.len() as u64,
        cold_starts: inside.iter().filter(|s| s.cold).count() as u64,
        latencies_ms,
        queue_wait_ms,
        per_second,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(sent_ms: f64, done_ms: f64, cold: bool) -> Sample {
        Sample {
            sent_ms,
            done_ms,
            wait_ms: Some(1.0),
            cold,
        }
    }

    #[test]
    fn only_results_inside_the_window_count() {
        let samples = [
            sample(0.0, 500.0, true),
            sample(900.0, 1_100.0, false),
            sample(1_500.0, 1_520.0, false),
            sample(2_000.0, 3_010.0, false),
        ];
        let s = summarise(
            &samples,
            Window {
                start_ms: 1_000.0,
                end_ms: 3_000.0,
            },
        );
        assert_eq!(s.completed, 2);
        assert_eq!(s.tps, 1.0);
        assert_eq!(s.latencies_ms, vec![20.0, 200.0]);
        assert_eq!(s.per_second, vec![2, 0]);
        assert_eq!(s.cold_starts, 0);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
