//! Discrete-event model of both designs in virtual time, on identical workloads and costs.
//!
//! - [`old`]: the hash-based `ShardingContainerPoolBalancer` with invoker v1 (spec §8).
//! - [`new`]: per-action queues and pulling containers, driven by the scheduler's own
//!   `ow_scheduler::decision` and `ow_scheduler::placement` code.
//!
//! A run is deterministic: the same configuration and seed give the same result.

pub mod costs;
pub mod events;
pub mod fpc_memory;
pub mod new;
pub mod old;
pub mod pool_v1;
pub mod recorder;
pub mod rng;
pub mod sharding;

use crate::results::{Design, Mode, RunResult};
pub use costs::Costs;
use events::{Micros, ms};
use ow_scheduler::decision::PolicyKind;
use recorder::Recorder;
use rng::SplitMix64;

/// How long an action runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ExecTime {
    Fixed(f64),
    /// Uniform between the two bounds (ms).
    Uniform(f64, f64),
    /// Exponential with this mean (ms).
    Exponential(f64),
}

impl ExecTime {
    /// Parses `2`, `1..20` (uniform) or `exp:5` (exponential mean), all in ms.
    pub fn parse(text: &str) -> Option<Self> {
        let number = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        if let Some(mean) = text.strip_prefix("exp:") {
            return number(mean).map(Self::Exponential);
        }
        if let Some((lo, hi)) = text.split_once("..") {
            let (lo, hi) = (number(lo)?, number(hi)?);
            return (lo <= hi).then_some(Self::Uniform(lo, hi));
        }
        number(text).map(Self::Fixed)
    }

    /// One draw, in ms.
    pub fn draw(self, rng: &mut SplitMix64) -> f64 {
        match self {
            Self::Fixed(v) => v,
            Self::Uniform(lo, hi) => rng.between(lo, hi),
            Self::Exponential(mean) => -mean * (1.0 - rng.unit()).ln(),
        }
    }

    /// For labels: `2 ms`, `1..20 ms`, `exp 5 ms`.
    pub fn label(self) -> String {
        match self {
            Self::Fixed(v) => format!("{v} ms"),
            Self::Uniform(lo, hi) => format!("{lo}..{hi} ms"),
            Self::Exponential(mean) => format!("exp {mean} ms"),
        }
    }
}

/// The cluster both designs run on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cluster {
    pub invokers: usize,
    /// Docker hosts; invoker `i` runs on host `i % hosts` and shares its daemon.
    pub hosts: usize,
    /// `whisk.container-pool.user-memory` per invoker.
    pub user_memory_mb: i64,
    /// Controllers of the old design (each gets 1/C of every invoker's slots).
    pub controllers: usize,
    /// Memory limit of every benchmark action.
    pub action_memory_mb: i64,
    /// Old invoker's `pause-grace` (shipped 10 s; historically 50 ms).
    pub pause_grace_ms: f64,
    /// New design: the namespace's container limit (`concurrentInvocations`).
    pub namespace_limit: i64,
}

impl Default for Cluster {
    /// The setup behind the talk's old-design figures (apache/openwhisk#3501): 9 invokers on 3
    /// hosts, so 3 Docker daemons. 4,096 MB each holds 16 containers of 256 MB (the standard
    /// action memory): 144 in all, 1.44× what 100 users on one action need. Two controllers,
    /// the usual HA pair. `pause-grace` 10 s, the shipped default (spec §9), for both designs;
    /// the historical 50 ms is a sensitivity row of the report. The namespace limit is raised
    /// so it never binds.
    fn default() -> Self {
        Self {
            invokers: 9,
            hosts: 3,
            user_memory_mb: 4096,
            controllers: 2,
            action_memory_mb: 256,
            pause_grace_ms: 10_000.0,
            namespace_limit: 10_000,
        }
    }
}

/// Everything one model run needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelConfig {
    pub users: u32,
    pub actions: u32,
    pub exec: ExecTime,
    pub cluster: Cluster,
    pub costs: Costs,
    /// Virtual seconds before measuring (containers get created).
    pub warmup_s: f64,
    /// Virtual seconds measured.
    pub seconds: f64,
    pub seed: u64,
    /// The scheduler's provisioning rule in the new design.
    pub policy: PolicyKind,
}

impl ModelConfig {
    pub fn new(users: u32, actions: u32, costs: Costs) -> Self {
        Self {
            users,
            actions,
            exec: ExecTime::Fixed(2.0),
            cluster: Cluster::default(),
            costs,
            warmup_s: 10.0,
            seconds: 60.0,
            seed: 1,
            policy: PolicyKind::default(),
        }
    }

    fn window(&self) -> (Micros, Micros) {
        let from = ms(self.warmup_s * 1000.0);
        (from, from + ms(self.seconds * 1000.0))
    }

    fn recorder(&self) -> Recorder {
        let (from, to) = self.window();
        Recorder::new(from, to, self.seed)
    }
}

/// Spreads requests over the actions like the live load generator: each new activation, from
/// whichever user, takes the next action round robin, so every action sees the same rate and a
/// user's consecutive requests go to different actions.
#[derive(Debug, Clone, Default)]
pub struct RoundRobin {
    next: u32,
}

impl RoundRobin {
    pub fn next(&mut self, actions: u32) -> u32 {
        let action = self.next % actions.max(1);
        self.next = self.next.wrapping_add(1);
        action
    }
}

/// Runs one cell of the matrix.
pub fn run(design: Design, cfg: &ModelConfig) -> RunResult {
    let rec = match design {
        Design::Old => old::simulate(cfg),
        Design::New => new::simulate(cfg),
    };
    let (latencies_ms, queue_wait_ms) = rec.samples.iter().copied().unzip();
    RunResult {
        design,
        mode: Mode::Model,
        users: cfg.users,
        actions: cfg.actions,
        tps: rec.tps(),
        latencies_ms,
        queue_wait_ms,
        cold_starts: rec.cold_starts,
        creations: rec.creations,
        scheduler_cpu_us_per_activation: None,
        completed: rec.completed,
        notes: notes(cfg, &rec),
    }
}

fn notes(cfg: &ModelConfig, rec: &Recorder) -> String {
    let mut text = format!("model, {} costs, exec {}", cfg.costs.name, cfg.exec.label());
    if rec.refused_creations > 0 {
        text.push_str(&format!(
            ", {} creations refused (memory full)",
            rec.refused_creations
        ));
    }
    text
}

#[cfg(test)]
mod tests;
