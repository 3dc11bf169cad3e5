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

/// What the live part of `seed-table` hands to the report.
#[derive(Debug, Clone, Default)]
pub struct LiveReport {
    /// Rows with `Mode::LiveSimulatedInvokers` and `Mode::LiveAgent`.
    pub rows: Vec<RunResult>,
    /// Markdown: what limits the live figure on this machine, from a profile of the scheduler.
    pub profile_markdown: String,
}
