//! `report.md`: machine, command, the model's table beside the talk's figures, ratios,
//! sensitivity, live rows and profile, and why the figures differ from the talk's.

use std::fmt::Write;

use super::csv::sorted;
use super::machine::Machine;
use super::matrix::{ACTIONS, MatrixPlan, Row, SENSITIVITY_CELLS, USERS, ratio, tps_of};
use super::{LivePart, mode_name, percentile};
use crate::model::costs::OpCost;
use crate::model::{Cluster, Costs};
use crate::results::{Design, Mode, PairedRatio};

/// What the report is made of.
#[derive(Debug)]
pub struct Inputs<'a> {
    pub rows: &'a [Row],
    pub plan: MatrixPlan,
    pub live: &'a LivePart,
    pub machine: &'a Machine,
    pub command: &'a str,
    pub model_seconds: f64,
    pub total_seconds: f64,
    pub plot_problems: &'a [String],
}

/// The talk's figure for a cell, if it gave one.
pub fn talk_figure(design: Design, users: u32, actions: u32) -> Option<f64> {
    match (design, users, actions) {
        (Design::Old, 100, 1) => Some(20_000.0),
        (Design::Old, 100, 10) => Some(6_000.0),
        (Design::Old, 100, 100) => Some(30.0),
        (Design::Old, 200, 10) => Some(2_400.0),
        (Design::Old, 750, 100) => Some(30.0),
        (Design::New, 100, 100) => Some(14_000.0),
        _ => None,
    }
}

pub fn render(i: &Inputs<'_>) -> String {
    let mut out = String::new();
    header(&mut out, i);
    headline(&mut out, i);
    model_table(
        &mut out,
        i.rows,
        "talk",
        "## Model, the talk's Docker costs\n",
    );
    model_table(
        &mut out,
        i.rows,
        "measured",
        "## Model, Docker costs measured on this machine\n",
    );
    sensitivity(&mut out, i.rows);
    live(&mut out, i);
    setup(&mut out, i);
    gaps(&mut out, i);
    plots(&mut out, i);
    out
}

fn header(out: &mut String, i: &Inputs<'_>) {
    let m = i.machine;
    let _ = writeln!(
        out,
        "# Seed experiment: throughput against the number of actions\n"
    );
    let _ = writeln!(
        out,
        "Reproduce with `{}` (from the repository root).\n",
        i.command
    );
    let _ = writeln!(
        out,
        "| CPU | cores | memory | kernel | date | commit |\n|---|---|---|---|---|---|"
    );
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} |\n",
        m.cpu, m.cores, m.memory, m.kernel, m.date, m.commit
    );
    let _ = writeln!(
        out,
        "Model: {} virtual s measured after {} s warm-up per cell, median of {} seed(s); the model took {:.1} s, \
         the whole command {:.1} s.\n",
        i.plan.seconds, i.plan.warmup_s, i.plan.seeds, i.model_seconds, i.total_seconds
    );
}

fn headline(out: &mut String, i: &Inputs<'_>) {
    let _ = writeln!(
        out,
        "## Ratios: TPS(100 actions) / TPS(1 action), 100 users\n"
    );
    let _ = writeln!(out, "| costs | old design | new design |\n|---|---|---|");
    for costs in ["talk", "measured"] {
        let cell = |d, goal: &str| {
            ratio(i.rows, d, costs).map_or("—".into(), |r| format!("{r:.4} ({goal})"))
        };
        let _ = writeln!(
            out,
            "| {costs} | {} | {} |",
            cell(Design::Old, "goal ≤ 0.02"),
            cell(Design::New, "goal ≥ 0.95")
        );
    }
    let _ = writeln!(
        out,
        "| the talk | 0.0015 (30 / 20,000) | ≈ 1 (14,000 at 100 actions) |\n"
    );
}

fn model_table(out: &mut String, rows: &[Row], costs: &str, title: &str) {
    let _ = writeln!(out, "{title}");
    let _ = writeln!(
        out,
        "| users | actions | old TPS | talk (old) | new TPS | talk (new) | old p50 / p99 ms | new p50 / p99 ms | old cold starts | new containers |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for users in USERS {
        for actions in ACTIONS {
            let find = |d| rows.iter().find(|r| is_cell(r, d, costs, users, actions));
            let (old, new) = (find(Design::Old), find(Design::New));
            let talk = |d| talk_figure(d, users, actions).map_or(String::new(), fmt_tps);
            let _ = writeln!(
                out,
                "| {users} | {actions} | {} | {} | {} | {} | {} | {} | {} | {} |",
                old.map_or("—".into(), tps_cell),
                talk(Design::Old),
                new.map_or("—".into(), tps_cell),
                talk(Design::New),
                old.map_or("—".into(), latency_cell),
                new.map_or("—".into(), latency_cell),
                old.map_or("—".into(), |r| r.result.cold_starts.to_string()),
                new.map_or("—".into(), |r| r.result.creations.to_string()),
            );
        }
    }
    let _ = writeln!(
        out,
        "\nTPS: median over seeds [lowest–highest]. Cold starts: in the measured window. \
        Containers: created over the whole run.\n"
    );
}

fn is_cell(r: &Row, d: Design, costs: &str, users: u32, actions: u32) -> bool {
    r.result.mode == Mode::Model
        && r.result.design == d
        && r.costs == costs
        && r.result.users == users
        && r.result.actions == actions
}

fn fmt_tps(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn tps_cell(r: &Row) -> String {
    match r.tps_range {
        Some((lo, hi)) if hi > lo => format!(
            "{} [{}–{}]",
            fmt_tps(r.result.tps),
            fmt_tps(lo),
            fmt_tps(hi)
        ),
        _ => fmt_tps(r.result.tps),
    }
}

fn latency_cell(r: &Row) -> String {
    let s = sorted(&r.result.latencies_ms);
    if s.is_empty() {
        return "—".into();
    }
    format!("{:.1} / {:.1}", percentile(&s, 0.5), percentile(&s, 0.99))
}

fn sensitivity(out: &mut String, rows: &[Row]) {
    let variants: Vec<&str> = {
        let mut v: Vec<&str> = rows
            .iter()
            .filter(|r| r.result.mode == Mode::Model && r.costs.starts_with("talk, "))
            .map(|r| r.costs.as_str())
            .collect();
        v.dedup();
        v
    };
    if variants.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Sensitivity of the old design (talk costs)\n");
    let _ = writeln!(
        out,
        "| users × actions | default cluster | {} |\n|---|---:|{}",
        variants.join(" | "),
        "---:|".repeat(variants.len())
    );
    for (users, actions) in SENSITIVITY_CELLS {
        let default = tps_of(rows, Design::Old, "talk", users, actions).map_or("—".into(), fmt_tps);
        let cells: Vec<String> = variants
            .iter()
            .map(|v| tps_of(rows, Design::Old, v, users, actions).map_or("—".into(), fmt_tps))
            .collect();
        let _ = writeln!(
            out,
            "| {users} × {actions} | {default} | {} |",
            cells.join(" | ")
        );
    }
    let _ = writeln!(out);
}

fn live(out: &mut String, i: &Inputs<'_>) {
    let _ = writeln!(
        out,
        "## Live runs (our scheduler on real Kafka, etcd and CouchDB)\n"
    );
    let report = match i.live {
        LivePart::Skipped => {
            let _ = writeln!(out, "Not run (`--no-live`).\n");
            return;
        }
        LivePart::Failed(e) => {
            let _ = writeln!(out, "The live part failed: `{e}`\n");
            return;
        }
        LivePart::Ran(r) => r,
    };
    let _ = writeln!(
        out,
        "| invokers | rule | users | actions | TPS (runs) | p50 / p99 ms | cold starts | containers | scheduler CPU µs / activation | notes |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for r in &report.rows {
        let row = Row {
            result: r.result.clone(),
            costs: String::new(),
            tps_range: r.tps_range,
        };
        let res = &r.result;
        let cpu = res
            .scheduler_cpu_us_per_activation
            .map_or("—".into(), |v| format!("{v:.0}"));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} ({}) | {} | {} | {} | {cpu} | {} |",
            mode_name(res.mode),
            r.policy,
            res.users,
            res.actions,
            tps_cell(&row),
            r.runs,
            latency_cell(&row),
            res.cold_starts,
            res.creations,
            res.notes
        );
    }
    let _ = writeln!(
        out,
        "\nTPS: median over the runs [lowest–highest]; the other columns are the median run's.\n"
    );
    ratios(out, &report.ratios);
    let _ = writeln!(out, "\n{}\n", report.profile_markdown.trim());
}

/// TPS(100)/TPS(1) per rule, from the interleaved pairs.
fn ratios(out: &mut String, ratios: &[PairedRatio]) {
    for r in ratios.iter().filter(|r| !r.pairs.is_empty()) {
        let pairs: Vec<String> = r
            .pairs
            .iter()
            .map(|(one, hundred)| {
                format!(
                    "{} / {} = {:.2}",
                    fmt_tps(*hundred),
                    fmt_tps(*one),
                    hundred / one.max(1e-9)
                )
            })
            .collect();
        let goal = if r.median() >= 0.95 {
            "meets the goal of ≥ 0.95"
        } else {
            "below the goal of 0.95"
        };
        let _ = writeln!(
            out,
            "Live, simulated invokers, {} rule: TPS(100 actions) / TPS(1 action) = **{:.2}** (median of {} back-to-back pairs: {}); {goal}.\n",
            r.policy,
            r.median(),
            r.pairs.len(),
            pairs.join("; ")
        );
    }
}

fn op(c: &OpCost) -> String {
    format!(
        "{} + {}–{} ms",
        c.serial_ms, c.parallel_ms.0, c.parallel_ms.1
    )
}

fn setup(out: &mut String, _i: &Inputs<'_>) {
    let c = Cluster::default();
    let _ = writeln!(out, "## The model\n");
    let _ = writeln!(
        out,
        "Cluster: {} invokers on {} Docker hosts (invoker *i* on host *i* mod {}), {} MB user memory each, \
         {} controllers, {} MB actions, `pause-grace` {} ms. Workload: closed-loop users (invoke, wait for the result, \
         repeat at once), each new activation taking the next action round robin (as the live load generator does), \
         2 ms execution. Both designs run on the same workload, cluster and costs.\n",
        c.invokers,
        c.hosts,
        c.hosts,
        c.user_memory_mb,
        c.controllers,
        c.action_memory_mb,
        c.pause_grace_ms
    );
    let _ = writeln!(
        out,
        "| cost (serial + parallel part) | talk | measured |\n|---|---|---|"
    );
    let (t, m) = (Costs::talk(), Costs::measured());
    for (name, a, b) in [
        ("docker run", t.run, m.run),
        ("docker rm", t.remove, m.remove),
        ("pause", t.pause, m.pause),
        ("unpause", t.unpause, m.unpause),
    ] {
        let _ = writeln!(out, "| {name} | {} | {} |", op(&a), op(&b));
    }
    let _ = writeln!(out, "| /init | {} ms | {} ms |", t.init_ms, m.init_ms);
    let _ = writeln!(
        out,
        "| Kafka hop | {} ms + exp. tail, mean {} ms | same |",
        t.kafka_hop_min_ms, t.kafka_hop_mean_ms
    );
    let _ = writeln!(
        out,
        "| gRPC round trip / `/run` overhead | {} / {} ms | same |\n",
        t.grpc_rtt_ms, t.run_http_ms
    );
    let _ = writeln!(
        out,
        "A daemon runs one request's serial part at a time (that sets its rate: 10 run→rm per second with the \
         talk's costs, ~5.5 measured); the parallel part only adds latency. Old design (spec §8): the controller's \
         hash walk over its 1/C share of each invoker's memory, forced random placement when all are full, the \
         invoker's pool (warm reuse, cold start, LRU eviction of idle containers of other actions, strict FIFO \
         buffer), pause/unpause, slots freed on the completion ack. New design: per-action queues; every 100 ms \
         each queue asks the scheduler's default rule (`ow_scheduler::decision::PacedPolicy`, built on \
         `StockPolicy`), and `ow_scheduler::placement` places the \
         containers; a free container pulls its action's next activation. Not modelled: CPU of controllers, \
         schedulers and invokers, Kafka batching, health pings, stem cells, intra-container concurrency, the \
         10-minute idle removal.\n"
    );
}

fn gaps(out: &mut String, i: &Inputs<'_>) {
    let rows = i.rows;
    let c = Cluster::default();
    let containers = c.invokers as i64 * (c.user_memory_mb / c.action_memory_mb);
    let per_controller = containers / c.controllers as i64;
    let per_s = |users, actions| {
        rows.iter()
            .find(|r| is_cell(r, Design::Old, "talk", users, actions))
            .map_or(0.0, |r| r.result.cold_starts as f64 / i.plan.seconds)
    };
    let _ = writeln!(out, "## Why the figures differ from the talk's\n");
    let _ = writeln!(
        out,
        "- **Old design, 1 action** lands on the talk's 20,000 by construction: the Kafka hop's mean is the one \
         calibrated constant (2 hops + `/run` + 2 ms = 5 ms = 100 users / 20,000 TPS).\n\
         - **Old design, many actions**: once requests miss warm containers the design is bound by the Docker \
         daemons. With 100 actions the model does {:.1} cold starts per second, which is the 3 daemons' \
         run→rm rate ({} × 10/s); each costs an eviction (`docker rm`) and a `docker run`, and holds its slot for \
         about a second, pushing other actions off their home invokers. That is the talk's ≈ 30 TPS (9 invokers \
         on 3 hosts, apache/openwhisk#3501). With the measured costs the daemons are slower (≈ 5.5 cycles/s each), \
         so the floor is lower.\n\
         - **Old design, 10 actions** sits on the tipping point between a warm steady state and the cold-start \
         floor ({:.1} cold starts/s): the seed range and the sensitivity table show how much memory headroom \
         decides it. The talk's 6,000 suggests more headroom than our default; the same holds for **200 users × \
         10 actions** (talk 2,400): 200 users need more slots than {} controllers × {} in our cluster, so the \
         model's controllers force placements onto random invokers and collapse to the floor.\n\
         - **New design** gives about the old design's warm figure at any number of actions: its path is one \
         parked gRPC answer longer, and the model charges no scheduler CPU. The talk's 14,000 (7.1 ms per \
         request at 100 users against our 5.1 ms) includes its Scala scheduler's per-activation cost; the live \
         rows measure ours. At 200 and 750 users memory ({} containers) runs out in the first burst; the \
         surplus pauses after `pause-grace` and is evicted for the actions that got too few, as in FPC. With \
         upstream's stock rule the **10-action** cells stayed below the others (200 × 10: 14,815 TPS): it adds \
         a container for a short action only once activations wait past the 100 ms stale threshold, so with \
         round-robin users the closed loop ran at the pace of the action that settled with the fewest \
         containers (4 × 1000 / 2.7 ms). The default rule tops up a queue that stood for 300 ms while its \
         containers kept taking work, which lifts those cells.\n",
        per_s(100, 100),
        c.hosts,
        per_s(100, 10),
        c.controllers,
        per_controller,
        containers
    );
}

fn plots(out: &mut String, i: &Inputs<'_>) {
    let _ = writeln!(
        out,
        "## Plots\n\n![TPS vs actions](tps_vs_actions.png)\n\n![Latency CDF](latency_cdf.png)\n"
    );
    for p in i.plot_problems {
        let _ = writeln!(out, "- {p}");
    }
}
