//! Markdown and CSV report, PNG plots: `seed-table` runs the model matrix, then the live part,
//! and writes everything to one directory.

mod csv;
mod machine;
mod markdown;
pub mod matrix;
mod plots;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use crate::live::{self, LiveOptions};
use crate::results::{Design, LiveReport, LiveRow, Mode, RunResult};
use matrix::{MatrixPlan, Row};

/// What `seed-table` was asked for.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub quick: bool,
    pub live: bool,
    pub out_dir: PathBuf,
}

/// What became of the live part.
#[derive(Debug)]
pub enum LivePart {
    Skipped,
    Failed(String),
    Ran(LiveReport),
}

/// Runs the matrix and the live part, writes `report.md`, `results.csv` and the two plots.
pub fn seed_table(opts: &SeedOptions, rt: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = &opts.out_dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output directory {}", dir.display()))?;
    let plan = if opts.quick {
        MatrixPlan::quick()
    } else {
        MatrixPlan::full()
    };
    let mut rows = matrix::run(&plan);
    let model_seconds = started.elapsed().as_secs_f64();
    let live = run_live(opts, rt);
    if let LivePart::Ran(report) = &live {
        rows.extend(report.rows.iter().map(|r| Row {
            result: r.result.clone(),
            costs: live_label(r),
            tps_range: r.tps_range,
        }));
    }
    write(dir, "results.csv", &csv::render(&rows))?;
    let plot_problems = draw_plots(&rows, dir);
    let machine = machine::Machine::detect();
    let command = command_line(opts);
    let inputs = markdown::Inputs {
        rows: &rows,
        plan,
        live: &live,
        machine: &machine,
        command: &command,
        model_seconds,
        total_seconds: started.elapsed().as_secs_f64(),
        plot_problems: &plot_problems,
    };
    write(dir, "report.md", &markdown::render(&inputs))?;
    summary(&rows, &live, dir, started);
    Ok(())
}

/// How a live row is named in the CSV and the plots: its invokers and provisioning rule.
pub fn live_label(r: &LiveRow) -> String {
    format!("{}, {} rule", mode_name(r.result.mode), r.policy)
}

fn run_live(opts: &SeedOptions, rt: &tokio::runtime::Runtime) -> LivePart {
    if !opts.live {
        return LivePart::Skipped;
    }
    eprintln!("live: starting (see the live part's progress below)");
    let live_opts = LiveOptions {
        quick: opts.quick,
        out_dir: opts.out_dir.clone(),
    };
    match rt.block_on(live::seed_live(&live_opts)) {
        Ok(report) => LivePart::Ran(report),
        Err(e) => {
            eprintln!("live: failed: {e:#}");
            LivePart::Failed(format!("{e:#}"))
        }
    }
}

fn draw_plots(rows: &[Row], dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    if !plots::font_available() {
        problems.push("The font /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf is missing: plots have no text.".into());
    }
    if let Err(e) = plots::tps_vs_actions(rows, &dir.join("tps_vs_actions.png")) {
        problems.push(format!("tps_vs_actions.png could not be drawn: {e}"));
    }
    if let Err(e) = plots::latency_cdf(rows, &dir.join("latency_cdf.png")) {
        problems.push(format!("latency_cdf.png could not be drawn: {e}"));
    }
    for p in &problems {
        eprintln!("plots: {p}");
    }
    problems
}

fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The command that reproduces this report.
fn command_line(opts: &SeedOptions) -> String {
    let mut cmd = String::from("cargo run --release -p ow-bench -- seed-table");
    if opts.quick {
        cmd.push_str(" --quick");
    }
    if !opts.live {
        cmd.push_str(" --no-live");
    }
    if opts.out_dir != Path::new("target/seed-table") {
        cmd.push_str(&format!(" --out {}", opts.out_dir.display()));
    }
    cmd
}

fn summary(rows: &[Row], live: &LivePart, dir: &Path, started: Instant) {
    for costs in ["talk", "measured"] {
        let fmt = |d| matrix::ratio(rows, d, costs).map_or("—".into(), |r| format!("{r:.4}"));
        eprintln!(
            "{costs} costs: TPS(100 actions)/TPS(1 action) at 100 users: old {} (goal ≤ 0.02), new {} (goal ≥ 0.95)",
            fmt(Design::Old),
            fmt(Design::New)
        );
    }
    if let LivePart::Ran(report) = live {
        for r in &report.ratios {
            eprintln!(
                "live, {} rule: TPS(100 actions)/TPS(1 action) = {:.2}, median of {} pairs (goal ≥ 0.95)",
                r.policy,
                r.median(),
                r.pairs.len()
            );
        }
    }
    eprintln!(
        "wrote {} in {:.1} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
}

/// One line for a result: design, cell, TPS and latency percentiles.
pub fn result_line(r: &RunResult) -> String {
    let sorted = csv::sorted(&r.latencies_ms);
    let p = |q: f64| percentile(&sorted, q);
    format!(
        "design={} users={} actions={} tps={:.1} p50_ms={:.2} p99_ms={:.2} cold_starts={} creations={} completed={} ({})",
        design_name(r.design),
        r.users,
        r.actions,
        r.tps,
        p(0.5),
        p(0.99),
        r.cold_starts,
        r.creations,
        r.completed,
        r.notes
    )
}

pub fn design_name(d: Design) -> &'static str {
    match d {
        Design::Old => "old",
        Design::New => "new",
    }
}

/// How a row ran, as the report labels it.
pub fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Model => "model",
        Mode::LiveSimulatedInvokers => "simulated invokers",
        Mode::LiveAgent => "real agent + Docker",
    }
}

/// Nearest-rank percentile of sorted values (0 when empty).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn the_reproducing_command_names_the_flags_used() {
        let opts = SeedOptions {
            quick: true,
            live: false,
            out_dir: PathBuf::from("/tmp/t"),
        };
        assert_eq!(
            command_line(&opts),
            "cargo run --release -p ow-bench -- seed-table --quick --no-live --out /tmp/t"
        );
    }
}
