//! Live runs: controller-like load against our scheduler (a child process on the real Kafka,
//! etcd and CouchDB), with simulated invokers that speak the real contracts, or with the real
//! `ow-invoker-agent` and Docker.
//!
//! - [`slice`]: fresh topic prefix, etcd cluster and databases per run; action documents;
//! - [`loadgen`], [`tracker`]: the controller side (activations out, acks in, exactly-once);
//! - [`sim_invoker`], [`sim_container`], [`cost`]: simulated invokers and their Docker costs;
//! - [`procs`]: child processes and their CPU time; [`profile`]: `perf` on the scheduler;
//! - [`run`]: one run; [`stats`]: its figures; [`cli`]: `ow-bench live` arguments.

pub mod cli;
pub mod cost;
pub mod loadgen;
pub mod procs;
pub mod profile;
pub mod run;
pub mod sim_container;
pub mod sim_invoker;
pub mod slice;
pub mod stats;
pub mod tracker;
pub mod warmup;
mod write;

use std::path::PathBuf;
use std::time::Duration;

use crate::results::LiveReport;
use run::{RunOutcome, RunSpec};
use warmup::Warmup;

/// What `seed-table` asks of the live part.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub quick: bool,
    pub out_dir: PathBuf,
}

/// The scale this 2-core machine holds with simulated invokers, found with `ow-bench live`:
/// 100 closed-loop users reach ~2,200–2,500 TPS; 200 users add latency, not throughput.
pub const SEED_USERS: u32 = 100;
pub const SEED_INVOKERS: u32 = 4;

/// The live rows of the seed table: our scheduler with simulated invokers for 1, 10 and 100
/// actions at the same users, a profiled 100-action run, then the real agent on 1 and 10.
pub async fn seed_live(opts: &LiveOptions) -> anyhow::Result<LiveReport> {
    // 100 actions need ~10 s of warm-up here: ~330 cold starts of 250 ms queue on the
    // simulated daemons before the containers reach their steady number.
    let (warmup, measure) = if opts.quick { (12, 5) } else { (15, 15) };
    let dir = opts.out_dir.join("live");
    let mut outcomes = Vec::new();
    let seed = |actions| {
        let mut spec = RunSpec::simulated(SEED_USERS, actions, dir.clone());
        spec.invokers = SEED_INVOKERS;
        spec.warmup = Warmup::settling(Duration::from_secs(warmup));
        spec.measure = Duration::from_secs(measure);
        spec
    };
    for actions in [1, 10, 100] {
        outcomes.push(run_logged(&seed(actions)).await?);
    }
    // Sampling costs the scheduler CPU and throughput, so the profile gets a run of its own.
    let mut profiled = seed(100);
    profiled.profile = true;
    profiled.measure = Duration::from_secs(if opts.quick { 5 } else { 10 });
    let profiled = run_logged(&profiled).await?;
    for actions in [1, 10] {
        let mut spec = RunSpec::simulated(4, actions, dir.clone());
        spec.agent = true;
        spec.warmup = Warmup::settling(Duration::from_secs(if opts.quick { 8 } else { 10 }));
        spec.measure = Duration::from_secs(if opts.quick { 5 } else { 10 });
        match run_logged(&spec).await {
            Ok(o) => outcomes.push(o),
            Err(e) => {
                tracing::error!(error = %e, actions, "real-agent run failed; its row is left out")
            }
        }
    }
    write::per_second_csv(&dir, &outcomes)?;
    Ok(LiveReport {
        profile_markdown: write::profile_markdown(&outcomes, Some(&profiled)),
        rows: outcomes.into_iter().map(|o| o.result).collect(),
    })
}

async fn run_logged(spec: &RunSpec) -> anyhow::Result<RunOutcome> {
    tracing::info!(
        users = spec.users,
        actions = spec.actions,
        agent = spec.agent,
        "live run"
    );
    let outcome = run::run(spec).await?;
    println!("{}", write::summary_line(spec, &outcome));
    Ok(outcome)
}

/// `ow-bench live ...`: one run, its summary printed.
pub async fn run_cli(args: &[String]) -> anyhow::Result<()> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{}", cli::USAGE);
        return Ok(());
    }
    let spec = cli::parse(args)?;
    let outcome = run::run(&spec).await?;
    println!("{}", write::summary_line(&spec, &outcome));
    println!("{}", write::details(&outcome));
    if !outcome.hot.is_empty() {
        println!("{}", write::profile_markdown(&[], Some(&outcome)));
    }
    Ok(())
}
