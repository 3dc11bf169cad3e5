//! One live run: a fresh slice of the services, the scheduler as a child process, simulated
//! invokers or the real agent, the controller-like load, and the figures of the measured
//! window (warm-up excluded).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use ow_compat::bus::KafkaBus;
use tokio_util::sync::CancellationToken;

use super::cost::Costs;
use super::loadgen::Controller;
use super::procs::{ChildProc, Profile, build, free_port, pids_matching, process_cpu_time};
use super::profile::{self, Hot};
use super::sim_invoker::{SimFleet, SimSetup};
use super::slice::{Services, Slice};
use super::stats::{Summary, Window, summarise};
use super::tracker::Delivery;
use super::warmup::{Settle, Warmup};
use crate::results::{Design, Mode, RunResult};

/// The python image the real agent runs actions in.
const RUNTIMES_MANIFEST: &str = r#"{"runtimes":{"python":[{"kind":"python:3.10","default":true,"image":{"name":"ow-python-runtime","tag":"latest"}}]},"blackboxes":[]}"#;

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    pub users: u32,
    pub actions: u32,
    /// Execution time of a simulated activation.
    pub exec: Duration,
    pub warmup: Warmup,
    pub measure: Duration,
    pub invokers: u32,
    /// Open loop at this rate instead of closed-loop users.
    pub rate: Option<f64>,
    /// The real `ow-invoker-agent` with Docker instead of simulated invokers.
    pub agent: bool,
    /// `perf record` the scheduler over the measured window.
    pub profile: bool,
    pub binaries: Profile,
    pub costs: Costs,
    /// The scheduler's provisioning rule (`whisk.scheduler.scheduling.policy`); its default
    /// when none.
    pub policy: Option<String>,
    /// Where logs and profiles go.
    pub out_dir: PathBuf,
}

impl RunSpec {
    /// A closed-loop run with simulated invokers and the defaults used here.
    pub fn simulated(users: u32, actions: u32, out_dir: PathBuf) -> Self {
        Self {
            users,
            actions,
            exec: Duration::from_millis(2),
            warmup: Warmup::settling(Duration::from_secs(5)),
            measure: Duration::from_secs(10),
            invokers: 4,
            rate: None,
            agent: false,
            profile: false,
            binaries: Profile::Release,
            costs: Costs::measured(),
            policy: None,
            out_dir,
        }
    }

    fn tag(&self) -> String {
        let kind = if self.agent { "agent" } else { "sim" };
        let profiled = if self.profile { "_profiled" } else { "" };
        let policy = self
            .policy
            .as_deref()
            .map_or(String::new(), |p| format!("_{p}"));
        format!("{kind}_u{}_a{}{policy}{profiled}", self.users, self.actions)
    }
}

/// CPU seconds spent by each party over the measured window.
#[derive(Debug, Clone, Default)]
pub struct CpuShares {
    pub scheduler: f64,
    /// This process: load generator and simulated invokers.
    pub bench: f64,
    pub kafka: f64,
    pub etcd: f64,
    pub couchdb: f64,
    pub agent: f64,
}

/// What one run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub result: RunResult,
    pub summary: Summary,
    pub delivery: Delivery,
    pub cpu: CpuShares,
    pub window_secs: f64,
    pub hot: Vec<Hot>,
    pub creations: u64,
    pub timeouts: u64,
    /// How long the warm-up lasted.
    pub warmup_secs: f64,
}

/// CPU time of the processes a run involves, read at one instant.
#[derive(Debug, Clone, Default)]
struct CpuMark {
    scheduler: f64,
    bench: f64,
    kafka: f64,
    etcd: f64,
    couchdb: f64,
    agent: f64,
}

fn cpu_of(pids: &[u32]) -> f64 {
    pids.iter()
        .filter_map(|p| process_cpu_time(*p))
        .map(|d| d.as_secs_f64())
        .sum()
}

struct Parties {
    scheduler: u32,
    agent: Option<u32>,
    kafka: Vec<u32>,
    etcd: Vec<u32>,
    couchdb: Vec<u32>,
}

impl Parties {
    fn find(scheduler: u32, agent: Option<u32>) -> Self {
        Self {
            scheduler,
            agent,
            kafka: pids_matching("kafka.Kafka"),
            etcd: pids_matching("etcd"),
            couchdb: pids_matching("pouchdb"),
        }
    }

    fn mark(&self) -> CpuMark {
        CpuMark {
            scheduler: cpu_of(&[self.scheduler]),
            bench: cpu_of(&[std::process::id()]),
            kafka: cpu_of(&self.kafka),
            etcd: cpu_of(&self.etcd),
            couchdb: cpu_of(&self.couchdb),
            agent: self.agent.map_or(0.0, |p| cpu_of(&[p])),
        }
    }
}

fn shares(a: &CpuMark, b: &CpuMark) -> CpuShares {
    CpuShares {
        scheduler: b.scheduler - a.scheduler,
        bench: b.bench - a.bench,
        kafka: b.kafka - a.kafka,
        etcd: b.etcd - a.etcd,
        couchdb: b.couchdb - a.couchdb,
        agent: b.agent - a.agent,
    }
}

/// Starts the scheduler (instance 0) for `slice`; returns it with its gRPC port.
async fn start_scheduler(spec: &RunSpec, slice: &Slice) -> anyhow::Result<ChildProc> {
    let bin = build("ow-scheduler", "ow-scheduler", spec.binaries)?;
    let rpc = free_port()?;
    let mut env = slice.component_env();
    env.extend(
        [
            ("PORT", free_port()?.to_string()),
            ("WHISK_SCHEDULER_ENDPOINTS_HOST", "127.0.0.1".into()),
            ("WHISK_SCHEDULER_ENDPOINTS_RPCPORT", rpc.to_string()),
            (
                "WHISK_SCHEDULER_ENDPOINTS_PEKKOPORT",
                free_port()?.to_string(),
            ),
            // One namespace holds every action: its container limit must not be the bound.
            ("LIMITS_ACTIONS_INVOKES_CONCURRENT", "100000".into()),
            ("CONFIG_whisk_etcd_lease_timeout", "10".into()),
            ("RUNTIMES_MANIFEST", RUNTIMES_MANIFEST.into()),
            (
                "RUST_LOG",
                std::env::var("OW_BENCH_SCHEDULER_LOG").unwrap_or_else(|_| "info".into()),
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    if let Some(policy) = &spec.policy {
        env.push((
            "CONFIG_whisk_scheduler_scheduling_policy".to_owned(),
            policy.clone(),
        ));
    }
    let log = spec.out_dir.join(format!("scheduler-{}.log", spec.tag()));
    let child = ChildProc::spawn("ow-scheduler", &bin, &["0".into()], &env, log)?;
    child
        .wait_listening(([127, 0, 0, 1], rpc).into(), Duration::from_secs(60))
        .await?;
    Ok(child)
}

/// Starts the real agent (invoker 0) with Docker and the python image.
async fn start_agent(spec: &RunSpec, slice: &Slice) -> anyhow::Result<ChildProc> {
    let bin = build("ow-invoker-agent", "ow-invoker-agent", spec.binaries)?;
    let port = free_port()?;
    let mut env = slice.component_env();
    env.extend(
        [
            ("PORT", port.to_string()),
            ("CONFIG_whisk_etcd_lease_timeout", "10".into()),
            ("CONFIG_whisk_containerPool_userMemory", "4096 m".into()),
            ("RUNTIMES_MANIFEST", RUNTIMES_MANIFEST.into()),
            ("RUST_LOG", "info".into()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let log = spec.out_dir.join(format!("agent-{}.log", spec.tag()));
    let args = ["--id".to_owned(), "0".to_owned()];
    let child = ChildProc::spawn("ow-invoker-agent", &bin, &args, &env, log)?;
    child
        .wait_listening(([127, 0, 0, 1], port).into(), Duration::from_secs(60))
        .await?;
    Ok(child)
}

/// Runs `spec` against the services of `tests/services/up`.
pub async fn run(spec: &RunSpec) -> anyhow::Result<RunOutcome> {
    std::fs::create_dir_all(&spec.out_dir)
        .with_context(|| format!("creating {}", spec.out_dir.display()))?;
    let slice = Slice::new(Services::default(), &spec.tag());
    slice.create_databases().await?;
    let actions = slice.create_actions(spec.actions).await?;
    let bus = KafkaBus::new(&slice.services.kafka)?;
    let mut scheduler = start_scheduler(spec, &slice).await?;
    let (fleet, mut agent) = if spec.agent {
        (None, Some(start_agent(spec, &slice).await?))
    } else {
        let setup = SimSetup {
            invokers: spec.invokers,
            user_memory_mb: 256 * 1024,
            costs: spec.costs,
            exec: spec.exec,
            pause_grace: Duration::from_secs(10),
        };
        (
            Some(SimFleet::start(&slice, bus.clone(), setup).await?),
            None,
        )
    };
    let stop = CancellationToken::new();
    let controller = Controller::start(&slice, bus, &actions, "0", "0", stop.clone()).await?;
    let sim_creations = fleet.as_ref().map(|f| Arc::clone(&f.counters));
    let churn = move || {
        sim_creations
            .as_ref()
            .map_or(0, |c| c.creations.load(Ordering::Relaxed))
    };
    let measured = measure(spec, &controller, &scheduler, agent.as_ref(), churn).await;
    let delivery = controller.drain(Duration::from_secs(20)).await;
    stop.cancel();
    // The real agent's creations are not visible from here: count the cold starts instead.
    let creations = match &fleet {
        Some(f) => f.counters.creations.load(Ordering::Relaxed),
        None => controller.samples().iter().filter(|s| s.cold).count() as u64,
    };
    if let Some(f) = fleet {
        f.stop().await;
    }
    if let Some(a) = agent.as_mut() {
        a.terminate(Duration::from_secs(20));
    }
    scheduler.terminate(Duration::from_secs(10));
    let (window, cpu, hot) = measured;
    Ok(outcome(
        spec,
        &controller,
        window,
        cpu,
        hot,
        delivery,
        creations,
    ))
}

/// Waits until the warm-up rule says the run is steady; creations (from `creations`) and
/// cold starts count as churn.
async fn warm_up(spec: &RunSpec, controller: &Controller, creations: impl Fn() -> u64) {
    let started = std::time::Instant::now();
    let mut settle = Settle::new(spec.warmup);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let churn = creations() + controller.cold_starts();
        if settle.observe(started.elapsed(), churn) {
            return;
        }
    }
}

/// Warm-up, then the measured window with CPU marks (and the profile) around it.
async fn measure(
    spec: &RunSpec,
    controller: &Arc<Controller>,
    scheduler: &ChildProc,
    agent: Option<&ChildProc>,
    creations: impl Fn() -> u64,
) -> (Window, CpuShares, Vec<Hot>) {
    let stop_load = CancellationToken::new();
    match spec.rate {
        Some(rate) => controller.open_loop(rate, &stop_load),
        None => controller.closed_loop(spec.users, &stop_load),
    }
    warm_up(spec, controller, creations).await;
    let parties = Parties::find(scheduler.pid, agent.map(|a| a.pid));
    let data = spec.out_dir.join(format!("perf-{}.data", spec.tag()));
    let recording = spec
        .profile
        .then(|| profile::record(scheduler.pid, spec.measure, &data))
        .flatten();
    let (start_ms, before) = (controller.now_ms(), parties.mark());
    tokio::time::sleep(spec.measure).await;
    let (end_ms, after) = (controller.now_ms(), parties.mark());
    stop_load.cancel();
    let hot = match recording {
        Some(r) => tokio::task::spawn_blocking(move || r.finish())
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    (Window { start_ms, end_ms }, shares(&before, &after), hot)
}

fn outcome(
    spec: &RunSpec,
    controller: &Controller,
    window: Window,
    cpu: CpuShares,
    hot: Vec<Hot>,
    delivery: Delivery,
    creations: u64,
) -> RunOutcome {
    let summary = summarise(&controller.samples(), window);
    let cpu_us = (summary.completed > 0).then(|| cpu.scheduler * 1e6 / summary.completed as f64);
    let (mode, notes) = if spec.agent {
        (
            Mode::LiveAgent,
            "real ow-invoker-agent, Docker, python runtime".to_owned(),
        )
    } else {
        let notes = format!(
            "simulated invokers ({}; timed waits of {} ms, Docker cost model); steady after {:.0} s",
            spec.invokers,
            spec.exec.as_millis(),
            window.start_ms / 1000.0
        );
        (Mode::LiveSimulatedInvokers, notes)
    };
    let result = RunResult {
        design: Design::New,
        mode,
        users: spec.users,
        actions: spec.actions,
        tps: summary.tps,
        latencies_ms: summary.latencies_ms.clone(),
        queue_wait_ms: summary.queue_wait_ms.clone(),
        cold_starts: summary.cold_starts,
        creations,
        scheduler_cpu_us_per_activation: cpu_us,
        completed: summary.completed,
        notes,
    };
    RunOutcome {
        result,
        window_secs: (window.end_ms - window.start_ms) / 1000.0,
        warmup_secs: window.start_ms / 1000.0,
        timeouts: controller.timeouts.load(Ordering::Relaxed),
        summary,
        delivery,
        cpu,
        hot,
        creations,
    }
}
