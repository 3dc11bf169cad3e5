//! Text for the terminal and the report: one-line summaries, per-second throughput CSV, and the
//! profile paragraph saying what limits the live figure on this machine.

use std::fmt::Write as _;
use std::path::Path;

use super::profile::by_component;
use super::run::{RunOutcome, RunSpec};
use super::stats::percentile;
use crate::results::Mode;

/// `agent|sim users=.. actions=.. tps=.. p50=.. p99=.. cpu/act=.. exactly-once=a/b`.
pub fn summary_line(spec: &RunSpec, o: &RunOutcome) -> String {
    let r = &o.result;
    let kind = if spec.agent { "agent" } else { "sim" };
    let policy = spec.policy.as_deref().unwrap_or("default");
    let cpu = r
        .scheduler_cpu_us_per_activation
        .map_or("-".to_owned(), |c| format!("{c:.0}"));
    format!(
        "{kind} policy={policy} users={} actions={} invokers={} tps={:.0} p50={:.1}ms p99={:.1}ms wait_p50={:.1}ms scheduler_cpu_us_per_activation={cpu} cold={} creations={} exactly_once={}/{} duplicated={} missing={} timeouts={} warmup={:.1}s",
        r.users,
        r.actions,
        if spec.agent { 1 } else { spec.invokers },
        r.tps,
        o.summary.latency(50.0),
        o.summary.latency(99.0),
        percentile(&o.summary.queue_wait_ms, 50.0),
        r.cold_starts,
        o.creations,
        o.delivery.exactly_once,
        o.delivery.sent,
        o.delivery.duplicated,
        o.delivery.missing,
        o.timeouts,
        o.warmup_secs,
    )
}

/// Per-second throughput and each party's CPU share.
pub fn details(o: &RunOutcome) -> String {
    let c = &o.cpu;
    let w = o.window_secs.max(1e-9);
    format!(
        "per-second completions: {:?}\nCPU over {w:.1} s (cores): scheduler {:.2}, bench (load + simulated invokers) {:.2}, kafka {:.2}, etcd {:.2}, couchdb {:.2}, agent {:.2}",
        o.summary.per_second,
        c.scheduler / w,
        c.bench / w,
        c.kafka / w,
        c.etcd / w,
        c.couchdb / w,
        c.agent / w,
    )
}

/// `live-per-second.csv`: run, rule, second, completions.
pub fn per_second_csv(dir: &Path, runs: &[(String, RunOutcome)]) -> anyhow::Result<()> {
    let mut csv = String::from("run,mode,policy,users,actions,second,completed\n");
    for (run, (policy, o)) in runs.iter().enumerate() {
        let r = &o.result;
        let mode = if r.mode == Mode::LiveAgent {
            "agent"
        } else {
            "simulated"
        };
        for (i, n) in o.summary.per_second.iter().enumerate() {
            let _ = writeln!(
                csv,
                "{run},{mode},{policy},{},{},{i},{n}",
                r.users, r.actions
            );
        }
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("live-per-second.csv"), csv)?;
    Ok(())
}

/// The paragraph on what limits the live figure, from the profiled run.
pub fn profile_markdown(profiled: Option<&RunOutcome>) -> String {
    let mut md = String::new();
    let Some(o) = profiled.filter(|o| !o.hot.is_empty()) else {
        md.push_str("No profile was taken (`--quick`, or perf unavailable).\n");
        return md;
    };
    let (c, w) = (&o.cpu, o.window_secs.max(1e-9));
    let total = c.scheduler + c.bench + c.kafka + c.etcd + c.couchdb + c.agent;
    let _ = writeln!(
        md,
        "Profiled run ({} users, {} actions, {:.0} TPS; sampling itself slows the scheduler, so the table's rows come from unprofiled runs): over the {w:.0} s window the processes used {:.2} of the 2 cores — scheduler {:.2}, load generator with the simulated invokers {:.2}, Kafka {:.2}, etcd {:.2}, CouchDB {:.2}. The scheduler spent {} µs of CPU per activation.\n",
        o.result.users,
        o.result.actions,
        o.result.tps,
        total / w,
        c.scheduler / w,
        c.bench / w,
        c.kafka / w,
        c.etcd / w,
        c.couchdb / w,
        o.result
            .scheduler_cpu_us_per_activation
            .map_or("?".into(), |v| format!("{v:.0}")),
    );
    md.push_str("Where the scheduler's CPU goes (`perf record -e cpu-clock`, self time by symbol):\n\n| part | share |\n|---|---|\n");
    for (part, pct) in by_component(&o.hot) {
        let _ = writeln!(md, "| {part} | {pct:.1} % |");
    }
    md.push_str("\nHottest symbols:\n\n");
    for h in o.hot.iter().take(8) {
        let _ = writeln!(md, "- {:.1} % `{}`", h.percent, h.symbol);
    }
    md
}
