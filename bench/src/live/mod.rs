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

use crate::results::{LiveReport, LiveRow, PairedRatio, RunResult};
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

/// The provisioning rules the live part compares: `paced`, the scheduler's default (first: the
/// profiled and real-agent runs use it), and upstream's stock rule.
pub const POLICIES: [&str; 2] = ["paced", "stock"];

/// How much the live part runs: interleaved (1, 100)-action pairs per rule, each cell's
/// settling warm-up and measured window.
#[derive(Debug, Clone, Copy)]
struct LivePlan {
    rounds: usize,
    warmup_s: u64,
    measure_s: u64,
    ten_actions: bool,
    profile: bool,
}

impl LivePlan {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                rounds: 1,
                warmup_s: 8,
                measure_s: 5,
                ten_actions: false,
                profile: false,
            }
        } else {
            Self {
                rounds: 3,
                warmup_s: 12,
                measure_s: 10,
                ten_actions: true,
                profile: true,
            }
        }
    }
}

/// A finished run and the rule it ran under.
type Ran = (String, RunOutcome);

/// The live rows of the seed table. On this shared 2-core host one run of 100 actions or of 1
/// action varies by ±25 % from minute to minute, so the ratio comes from pairs run back to
/// back (their order alternating), repeated, under each rule; then a 10-action cell per rule,
/// a profiled 100-action run, and the real agent on 1 and 10 actions.
pub async fn seed_live(opts: &LiveOptions) -> anyhow::Result<LiveReport> {
    let plan = LivePlan::new(opts.quick);
    let dir = opts.out_dir.join("live");
    let sim = |actions, policy: &str| {
        let mut spec = RunSpec::simulated(SEED_USERS, actions, dir.clone());
        spec.invokers = SEED_INVOKERS;
        spec.warmup = Warmup::settling(Duration::from_secs(plan.warmup_s));
        spec.measure = Duration::from_secs(plan.measure_s);
        spec.policy = Some(policy.to_owned());
        spec
    };
    let mut runs: Vec<Ran> = Vec::new();
    let mut ratios: Vec<PairedRatio> = POLICIES
        .iter()
        .map(|p| PairedRatio {
            policy: (*p).to_owned(),
            pairs: Vec::new(),
        })
        .collect();
    for round in 0..plan.rounds {
        for ratio in &mut ratios {
            let order = if round % 2 == 0 { [1, 100] } else { [100, 1] };
            let mut tps = [0.0; 2];
            for actions in order {
                let o = run_logged(&sim(actions, &ratio.policy)).await?;
                tps[usize::from(actions == 100)] = o.result.tps;
                runs.push((ratio.policy.clone(), o));
            }
            ratio.pairs.push((tps[0], tps[1]));
        }
    }
    if plan.ten_actions {
        for policy in POLICIES {
            runs.push((policy.to_owned(), run_logged(&sim(10, policy)).await?));
        }
    }
    let profiled = if plan.profile {
        // Sampling costs the scheduler CPU and throughput, so the profile gets a run of its own.
        let mut spec = sim(100, POLICIES[0]);
        spec.profile = true;
        Some(run_logged(&spec).await?)
    } else {
        None
    };
    runs.extend(agent_runs(opts.quick, &dir).await);
    write::per_second_csv(&dir, &runs)?;
    Ok(LiveReport {
        profile_markdown: write::profile_markdown(profiled.as_ref()),
        rows: cells(
            &runs
                .iter()
                .map(|(p, o)| (p.as_str(), &o.result))
                .collect::<Vec<_>>(),
        ),
        ratios,
    })
}

/// The real agent with Docker on 1 and 10 actions; a failure leaves its row out.
async fn agent_runs(quick: bool, dir: &std::path::Path) -> Vec<Ran> {
    let mut runs = Vec::new();
    for actions in [1, 10] {
        let mut spec = RunSpec::simulated(4, actions, dir.to_path_buf());
        spec.agent = true;
        spec.policy = Some(POLICIES[0].to_owned());
        spec.warmup = Warmup::settling(Duration::from_secs(if quick { 8 } else { 10 }));
        spec.measure = Duration::from_secs(if quick { 5 } else { 10 });
        match run_logged(&spec).await {
            Ok(o) => runs.push((POLICIES[0].to_owned(), o)),
            Err(e) => {
                tracing::error!(error = %e, actions, "real-agent run failed; its row is left out");
            }
        }
    }
    runs
}

/// One row per (mode, rule, actions), in first-run order: the run with the median TPS, and
/// the range.
fn cells(runs: &[(&str, &RunResult)]) -> Vec<LiveRow> {
    let key = |(p, r): &(&str, &RunResult)| (r.mode, (*p).to_owned(), r.actions);
    let mut rows: Vec<LiveRow> = Vec::new();
    let mut seen = Vec::new();
    for run in runs {
        if seen.contains(&key(run)) {
            continue;
        }
        seen.push(key(run));
        let mut same: Vec<&RunResult> = runs
            .iter()
            .filter(|other| key(other) == key(run))
            .map(|(_, r)| *r)
            .collect();
        same.sort_by(|a, b| a.tps.total_cmp(&b.tps));
        let (lo, hi) = (same[0].tps, same[same.len() - 1].tps);
        rows.push(LiveRow {
            result: same[same.len() / 2].clone(),
            policy: run.0.to_owned(),
            tps_range: (same.len() > 1).then_some((lo, hi)),
            runs: same.len(),
        });
    }
    rows
}

async fn run_logged(spec: &RunSpec) -> anyhow::Result<RunOutcome> {
    tracing::info!(
        users = spec.users,
        actions = spec.actions,
        agent = spec.agent,
        policy = spec.policy.as_deref().unwrap_or("default"),
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
        println!("{}", write::profile_markdown(Some(&outcome)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Design, Mode};

    fn result(actions: u32, tps: f64) -> RunResult {
        RunResult {
            design: Design::New,
            mode: Mode::LiveSimulatedInvokers,
            users: SEED_USERS,
            actions,
            tps,
            latencies_ms: Vec::new(),
            queue_wait_ms: Vec::new(),
            cold_starts: 0,
            creations: 0,
            scheduler_cpu_us_per_activation: None,
            completed: 0,
            notes: String::new(),
        }
    }

    #[test]
    fn a_cell_is_the_median_run_of_its_rule_and_action_count() {
        let runs = [
            ("stock", result(1, 3000.0)),
            ("stock", result(100, 2500.0)),
            ("paced", result(1, 3100.0)),
            ("stock", result(1, 2000.0)),
            ("stock", result(1, 3500.0)),
            ("stock", result(100, 2700.0)),
        ];
        let rows = cells(&runs.iter().map(|(p, r)| (*p, r)).collect::<Vec<_>>());
        let summary: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.policy.as_str(),
                    r.result.actions,
                    r.result.tps,
                    r.runs,
                    r.tps_range,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("stock", 1, 3000.0, 3, Some((2000.0, 3500.0))),
                ("stock", 100, 2700.0, 2, Some((2500.0, 2700.0))),
                ("paced", 1, 3100.0, 1, None),
            ]
        );
    }
}
