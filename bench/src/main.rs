//! `ow-bench`: load like the stock controllers, invokers real or simulated, and a model of
//! both designs; `seed-table` runs the talk's matrix and writes the report.

mod live;
mod model;
mod report;
mod results;

fn main() -> anyhow::Result<()> {
    anyhow::bail!("ow-bench: not yet wired")
}
