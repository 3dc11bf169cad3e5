//! `ow-bench seed-table --quick --no-live` end to end: the files appear and the model keeps the
//! talk's shape (old design collapses with many actions, the new one does not).

use std::path::Path;
use std::process::Command;

/// TPS of a model row of `results.csv` (mode, design, costs, users, actions, tps, ...).
fn tps(csv: &str, design: &str, costs: &str, users: &str, actions: &str) -> f64 {
    csv.lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| {
            f.len() > 5
                && f[0] == "model"
                && f[1] == design
                && f[2] == costs
                && f[3] == users
                && f[4] == actions
        })
        .and_then(|f| f[5].parse().ok())
        .unwrap_or_else(|| panic!("no row for {design} {costs} {users}×{actions} in:\n{csv}"))
}

#[test]
fn quick_seed_table_writes_the_report_and_keeps_the_ratios() {
    let out = std::env::temp_dir().join(format!("ow-bench-seed-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_ow-bench"))
        .args(["seed-table", "--quick", "--no-live", "--out"])
        .arg(&out)
        .status()
        .expect("ow-bench runs");
    assert!(status.success(), "seed-table failed: {status}");
    for name in [
        "report.md",
        "results.csv",
        "tps_vs_actions.png",
        "latency_cdf.png",
    ] {
        let path: &Path = &out.join(name);
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(len > 100, "{} missing or empty", path.display());
    }
    let csv = std::fs::read_to_string(out.join("results.csv")).expect("results.csv");
    for costs in ["talk", "measured"] {
        let old = tps(&csv, "old", costs, "100", "100") / tps(&csv, "old", costs, "100", "1");
        let new = tps(&csv, "new", costs, "100", "100") / tps(&csv, "new", costs, "100", "1");
        assert!(old <= 0.02, "{costs}: old ratio {old}");
        assert!(new >= 0.95, "{costs}: new ratio {new}");
    }
    let report = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(report.contains("seed-table --quick --no-live"));
    assert!(report.contains("Not run (`--no-live`)"));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bad_arguments_exit_64_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_ow-bench"))
        .args([
            "model",
            "--design",
            "sideways",
            "--users",
            "1",
            "--actions",
            "1",
        ])
        .output()
        .expect("ow-bench runs");
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--design expects old or new"));
}
