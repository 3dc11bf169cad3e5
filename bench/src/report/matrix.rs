//! The model part of `seed-table`: the talk's matrix for both designs and both cost presets,
//! each cell run over a few seeds (the median kept, the range noted), with progress on stderr.

use std::io::Write;
use std::time::Instant;

use crate::model::{self, Costs, ModelConfig};
use crate::results::{Design, RunResult};

/// The talk's users and actions.
pub const USERS: [u32; 3] = [100, 200, 750];
pub const ACTIONS: [u32; 3] = [1, 10, 100];

/// One row of the report: a result and how it was obtained.
#[derive(Debug, Clone)]
pub struct Row {
    pub result: RunResult,
    /// `talk` or `measured` for model rows, the mode for live rows.
    pub costs: String,
    /// Lowest and highest TPS over the seeds (model rows).
    pub tps_range: Option<(f64, f64)>,
}

/// How much of the model to run.
#[derive(Debug, Clone, Copy)]
pub struct MatrixPlan {
    pub seeds: u64,
    pub warmup_s: f64,
    pub seconds: f64,
    /// Also the sensitivity rows (memory, pause-grace).
    pub sensitivity: bool,
}

impl MatrixPlan {
    /// The warm-up covers the first burst's surplus containers pausing after `pause-grace`
    /// (10 s) and the queues' recovery: 750 users × 10 actions is steady from about 30 s.
    pub fn full() -> Self {
        Self {
            seeds: 3,
            warmup_s: 30.0,
            seconds: 60.0,
            sensitivity: true,
        }
    }

    /// The same warm-up as the full plan (with the measured costs the new design needs ~7 s to
    /// build its containers on 3 daemons), one seed and a short measured window.
    pub fn quick() -> Self {
        Self {
            seeds: 1,
            warmup_s: 10.0,
            seconds: 3.0,
            sensitivity: false,
        }
    }
}

/// A cell to run: design, configuration and a label for variations.
#[derive(Debug, Clone)]
pub struct Cell {
    pub design: Design,
    pub config: ModelConfig,
    pub label: String,
}

/// The matrix cells, talk costs first.
pub fn cells(plan: &MatrixPlan) -> Vec<Cell> {
    let mut cells = Vec::new();
    for costs in [Costs::talk(), Costs::measured()] {
        for design in [Design::Old, Design::New] {
            for users in USERS {
                for actions in ACTIONS {
                    let mut config = ModelConfig::new(users, actions, costs);
                    config.warmup_s = plan.warmup_s;
                    config.seconds = plan.seconds;
                    cells.push(Cell {
                        design,
                        config,
                        label: costs.name.to_string(),
                    });
                }
            }
        }
    }
    if plan.sensitivity {
        cells.extend(sensitivity_cells(plan));
    }
    cells
}

/// Cells of the sensitivity rows: the old design with the talk's costs.
pub const SENSITIVITY_CELLS: [(u32, u32); 4] = [(100, 1), (100, 10), (100, 100), (200, 10)];

/// The old design with the talk's costs under other cluster choices.
fn sensitivity_cells(plan: &MatrixPlan) -> Vec<Cell> {
    let variants: [(&str, i64, f64); 3] = [
        ("talk, pause-grace 50 ms", 4096, 50.0),
        ("talk, 3072 MB invokers", 3072, 10_000.0),
        ("talk, 8192 MB invokers", 8192, 10_000.0),
    ];
    let mut cells = Vec::new();
    for (label, memory, grace) in variants {
        for (users, actions) in SENSITIVITY_CELLS {
            let mut config = ModelConfig::new(users, actions, Costs::talk());
            config.warmup_s = plan.warmup_s;
            config.seconds = plan.seconds;
            config.cluster.user_memory_mb = memory;
            config.cluster.pause_grace_ms = grace;
            cells.push(Cell {
                design: Design::Old,
                config,
                label: label.to_string(),
            });
        }
    }
    cells
}

/// Runs every cell over the plan's seeds and keeps the median-TPS run of each.
pub fn run(plan: &MatrixPlan) -> Vec<Row> {
    let cells = cells(plan);
    let started = Instant::now();
    let total = cells.len();
    let rows = cells
        .into_iter()
        .enumerate()
        .map(|(i, cell)| {
            progress(i + 1, total, &cell, started);
            run_cell(&cell, plan.seeds)
        })
        .collect();
    let _ = writeln!(
        std::io::stderr(),
        "\rmodel: {total} cells in {:.1} s{:30}",
        started.elapsed().as_secs_f64(),
        ""
    );
    rows
}

fn run_cell(cell: &Cell, seeds: u64) -> Row {
    let mut runs: Vec<RunResult> = (1..=seeds.max(1))
        .map(|seed| {
            model::run(
                cell.design,
                &ModelConfig {
                    seed,
                    ..cell.config
                },
            )
        })
        .collect();
    runs.sort_by(|a, b| a.tps.total_cmp(&b.tps));
    let range = (runs[0].tps, runs[runs.len() - 1].tps);
    let result = runs.swap_remove(runs.len() / 2);
    Row {
        result,
        costs: cell.label.clone(),
        tps_range: (seeds > 1).then_some(range),
    }
}

fn progress(i: usize, n: usize, cell: &Cell, started: Instant) {
    let _ = write!(
        std::io::stderr(),
        "\rmodel {i}/{n}: {} design, {} costs, {} users × {} actions, elapsed {:.1} s   ",
        super::design_name(cell.design),
        cell.label,
        cell.config.users,
        cell.config.actions,
        started.elapsed().as_secs_f64()
    );
}

/// TPS of a model cell, if it ran.
pub fn tps_of(rows: &[Row], design: Design, costs: &str, users: u32, actions: u32) -> Option<f64> {
    rows.iter()
        .find(|r| {
            r.result.design == design
                && r.costs == costs
                && r.result.users == users
                && r.result.actions == actions
        })
        .map(|r| r.result.tps)
}

/// TPS(100 actions) / TPS(1 action) at 100 users.
pub fn ratio(rows: &[Row], design: Design, costs: &str) -> Option<f64> {
    let one = tps_of(rows, design, costs, 100, 1)?;
    let hundred = tps_of(rows, design, costs, 100, 100)?;
    (one > 0.0).then(|| hundred / one)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_covers_both_designs_presets_and_cells() {
        let quick = cells(&MatrixPlan::quick());
        assert_eq!(quick.len(), 2 * 2 * 9);
        assert!(quick.iter().all(|c| c.config.seconds == 3.0));
        assert_eq!(cells(&MatrixPlan::full()).len(), 36 + 12);
    }

    #[test]
    fn ratio_reads_the_100_user_cells() {
        let row = |actions, tps| Row {
            result: RunResult {
                design: Design::Old,
                mode: crate::results::Mode::Model,
                users: 100,
                actions,
                tps,
                latencies_ms: vec![],
                queue_wait_ms: vec![],
                cold_starts: 0,
                creations: 0,
                scheduler_cpu_us_per_activation: None,
                completed: 0,
                notes: String::new(),
            },
            costs: "talk".into(),
            tps_range: None,
        };
        let rows = vec![row(1, 20_000.0), row(100, 40.0)];
        assert_eq!(ratio(&rows, Design::Old, "talk"), Some(0.002));
        assert_eq!(ratio(&rows, Design::New, "talk"), None);
    }
}
