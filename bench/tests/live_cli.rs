//! `ow-bench live` from a test binary, for runs by hand while `main` is wired elsewhere:
//! `OW_BENCH_LIVE_ARGS="--users 100 --actions 10" cargo test -p ow-bench --release --test live_cli -- --ignored --nocapture`.

#![allow(dead_code)]

#[path = "../src/costs.rs"]
mod costs;

#[path = "../src/results.rs"]
mod results;

#[path = "../src/live/mod.rs"]
mod live;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a live run by hand; needs tests/services/up"]
async fn live_cli() {
    let args: Vec<String> = std::env::var("OW_BENCH_LIVE_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if let Err(e) = live::run_cli(&args).await {
        panic!("{e:#}");
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "the live part of seed-table; needs tests/services/up"]
async fn live_seed() {
    let opts = live::LiveOptions {
        quick: std::env::var("OW_BENCH_QUICK").is_ok(),
        out_dir: std::path::PathBuf::from("/tmp/ow-bench-live-seed"),
    };
    match live::seed_live(&opts).await {
        Ok(report) => {
            for row in &report.rows {
                let r = &row.result;
                println!(
                    "{:?} {} users={} actions={} tps={:.0} runs={} cpu_us={:?}",
                    r.mode,
                    row.policy,
                    r.users,
                    r.actions,
                    r.tps,
                    row.runs,
                    r.scheduler_cpu_us_per_activation
                );
            }
            for ratio in &report.ratios {
                println!("{} {:.2} {:?}", ratio.policy, ratio.median(), ratio.pairs);
            }
            println!("{}", report.profile_markdown);
        }
        Err(e) => panic!("{e:#}"),
    }
}
