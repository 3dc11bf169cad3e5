//! What one benchmark run measured, shared by the model, the live runs and the report.

/// Which design ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Design {
    /// The old hash-based `ShardingContainerPoolBalancer` with invoker v1 (model only).
    Old,
    /// Per-action queues, pull delivery (our scheduler's decision and placement code).
    New,
}

/// How it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Discrete-event model in virtual time.
    Model,
    /// Real `ow-scheduler` on real Kafka/etcd/CouchDB, simulated invokers (timed waits).
    LiveSimulatedInvokers,
    /// Real `ow-scheduler`, real `ow-invoker-agent`, real Docker.
    LiveAgent,
}

/// One cell of the matrix: a workload under one design and mode.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub design: Design,
    pub mode: Mode,
    pub users: u32,
    pub actions: u32,
    /// Completed activations per second over the measured window (after warm-up).
    pub tps: f64,
    /// End-to-end latencies (ms) of the measured activations, for percentiles and CDFs.
    pub latencies_ms: Vec<f64>,
    /// Queue wait part of the latency (ms), where known.
    pub queue_wait_ms: Vec<f64>,
    /// Activations that paid a cold start.
    pub cold_starts: u64,
    /// Containers created.
    pub creations: u64,
    /// Scheduler CPU time per activation (µs), live runs only.
    pub scheduler_cpu_us_per_activation: Option<f64>,
    /// Completed activations in the measured window.
    pub completed: u64,
    /// Free text the report prints beside the row (e.g. "simulated invokers").
    pub notes: String,
}

/// One live cell: the run with the median TPS of its repetitions.
#[derive(Debug, Clone)]
pub struct LiveRow {
    pub result: RunResult,
    /// The scheduler's provisioning rule.
    pub policy: String,
    /// Lowest and highest TPS over the repetitions, when there were several.
    pub tps_range: Option<(f64, f64)>,
    pub runs: usize,
}

/// TPS(100 actions) / TPS(1 action) under one provisioning rule, from interleaved pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedRatio {
    pub policy: String,
    /// (TPS with 1 action, TPS with 100 actions) per pair, in run order.
    pub pairs: Vec<(f64, f64)>,
}

impl PairedRatio {
    /// The median of the pairs' ratios (each pair ran back to back, so host noise that
    /// drifts over minutes mostly cancels within a pair).
    pub fn median(&self) -> f64 {
        let mut ratios: Vec<f64> = self
            .pairs
            .iter()
            .map(|(one, hundred)| hundred / one.max(1e-9))
            .collect();
        ratios.sort_by(f64::total_cmp);
        match ratios.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => ratios[n / 2],
            n => (ratios[n / 2 - 1] + ratios[n / 2]) / 2.0,
        }
    }
}

/// What the live part of `seed-table` hands to the report.
#[derive(Debug, Clone, Default)]
pub struct LiveReport {
    /// Rows with `Mode::LiveSimulatedInvokers` and `Mode::LiveAgent`.
    pub rows: Vec<LiveRow>,
    /// TPS(100)/TPS(1) per provisioning rule.
    pub ratios: Vec<PairedRatio>,
    /// Markdown: what limits the live figure on this machine, from a profile of the scheduler.
    pub profile_markdown: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paired_ratio_is_the_median_of_the_pairs_ratios() {
        let ratio = |pairs: Vec<(f64, f64)>| PairedRatio {
            policy: "stock".into(),
            pairs,
        };
        assert!(ratio(vec![]).median().is_nan());
        let three = ratio(vec![(100.0, 90.0), (200.0, 100.0), (100.0, 120.0)]);
        assert!((three.median() - 0.9).abs() < 1e-12);
        let two = ratio(vec![(100.0, 90.0), (100.0, 100.0)]);
        assert!((two.median() - 0.95).abs() < 1e-12);
    }
}
