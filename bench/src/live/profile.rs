//! A CPU profile of the scheduler during a live run: `perf record` (cpu-clock sampling; this
//! machine has no hardware counters) on its pid, summarised by symbol and by component.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One symbol's share of the samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Hot {
    pub percent: f64,
    pub symbol: String,
}

/// A sampling run in progress.
#[derive(Debug)]
pub struct Recording {
    child: Child,
    data: PathBuf,
}

/// Starts sampling `pid` for `length` into `data`; `None` when perf cannot run here.
pub fn record(pid: u32, length: Duration, data: &Path) -> Option<Recording> {
    let child = Command::new("perf")
        .args(["record", "-q", "-e", "cpu-clock", "-F", "499", "-p"])
        .arg(pid.to_string())
        .arg("-o")
        .arg(data)
        .args(["--", "sleep"])
        .arg(format!("{:.1}", length.as_secs_f64()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    Some(Recording {
        child,
        data: data.to_owned(),
    })
}

impl Recording {
    /// Waits for the recording and returns the hottest symbols (self time).
    pub fn finish(mut self) -> Vec<Hot> {
        let _ = self.child.wait();
        let out = Command::new("perf")
            .args(["report", "--stdio", "--no-children", "--sort", "dso,symbol"])
            .args(["--percent-limit", "0.02", "-i"])
            .arg(&self.data)
            .stderr(Stdio::null())
            .output();
        match out {
            Ok(o) => parse_report(&String::from_utf8_lossy(&o.stdout)),
            Err(_) => Vec::new(),
        }
    }
}

/// Reads `perf report --stdio` lines: `  12.34%  dso  [.] symbol`.
pub fn parse_report(text: &str) -> Vec<Hot> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let l = l.trim();
            let (pct, rest) = l.split_once('%')?;
            let percent: f64 = pct.trim().parse().ok()?;
            Some(Hot {
                percent,
                symbol: rest
                    .split_whitespace()
                    .filter(|w| *w != "-")
                    .collect::<Vec<_>>()
                    .join(" "),
            })
        })
        .collect()
}

/// Which part of the process a symbol belongs to.
pub fn component(symbol: &str) -> &'static str {
    let s = symbol.to_ascii_lowercase();
    let table: [(&[&str], &'static str); 9] = [
        (
            &["[kernel", "[k]"],
            "kernel (syscalls, network, scheduling)",
        ),
        (
            &["rdkafka", "rd_kafka", "librdkafka"],
            "Kafka client (librdkafka)",
        ),
        (
            &["h2::", "hyper", "tonic", "tower", "prost", "http::"],
            "gRPC / HTTP/2 (tonic, h2, hyper)",
        ),
        (&["etcd", "etcdserverpb"], "etcd client"),
        (
            &["serde", "json", "ow_compat"],
            "JSON codec (ow-compat, serde_json)",
        ),
        (&["tokio", "mio", "parking_lot"], "async runtime (tokio)"),
        (&["tracing", "fmt::", "core::fmt"], "logging and formatting"),
        (
            &["malloc", "free", "realloc", "memcpy", "memmove", "alloc::"],
            "allocation and copying (libc)",
        ),
        (&["ow_scheduler"], "scheduler logic"),
    ];
    table
        .iter()
        .find(|(keys, _)| keys.iter().any(|k| s.contains(k)))
        .map_or("other", |(_, name)| name)
}

/// Percent of samples per component, largest first.
pub fn by_component(hot: &[Hot]) -> Vec<(&'static str, f64)> {
    let mut sums: Vec<(&'static str, f64)> = Vec::new();
    for h in hot {
        let c = component(&h.symbol);
        match sums.iter_mut().find(|(n, _)| *n == c) {
            Some((_, p)) => *p += h.percent,
            None => sums.push((c, h.percent)),
        }
    }
    sums.sort_by(|a, b| b.1.total_cmp(&a.1));
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "# Samples: 1K of event 'cpu-clock'\n#\n    20.00%  [kernel.kallsyms]  [k] _raw_spin_unlock_irqrestore\n     7.50%  librdkafka.so.1    [.] rd_kafka_q_serve\n     5.00%  ow-scheduler       [.] h2::proto::streams::recv::Recv::recv_data\n     2.50%  ow-scheduler       [.] serde_json::read::parse_str\n";

    #[test]
    fn report_lines_become_symbols_and_components() {
        let hot = parse_report(REPORT);
        assert_eq!(hot.len(), 4);
        assert_eq!(hot[1].percent, 7.5);
        let parts = by_component(&hot);
        assert_eq!(parts[0], ("kernel (syscalls, network, scheduling)", 20.0));
        assert_eq!(
            component(&hot[2].symbol),
            "gRPC / HTTP/2 (tonic, h2, hyper)"
        );
        assert_eq!(
            component(&hot[3].symbol),
            "JSON codec (ow-compat, serde_json)"
        );
    }
}
