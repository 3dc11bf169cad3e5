//! The agent's metrics, in Prometheus text (`openwhisk_invoker_*`). Counters only grow; gauges
//! are read from the pool when rendered.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use ow_compat::records::StatusCode;

use crate::pool::{Counts, Memory};

/// A monotonic counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Every counter of the agent.
#[derive(Debug, Default)]
pub struct Metrics {
    pub cold_starts: Counter,
    pub resumes: Counter,
    pub prewarm_taken: Counter,
    pub pauses: Counter,
    pub not_enough_memory: Counter,
    pub start_failures: Counter,
    pub malformed_commands: Counter,
    pub reschedules: Counter,
    pub health_changes: Counter,
    /// Completed activations by status code (0 to 3).
    activations: [Counter; 4],
}

impl Metrics {
    /// Counts a completed activation.
    pub fn count_activation(&self, status: StatusCode) {
        self.activations[usize::from(status.code())].inc();
    }

    /// The plain counters: name, help, counter.
    fn counters(&self) -> [(&'static str, &'static str, &Counter); 9] {
        [
            (
                "container_cold_starts_total",
                "Containers created for a creation request",
                &self.cold_starts,
            ),
            (
                "container_resumes_total",
                "Paused containers resumed for a creation request",
                &self.resumes,
            ),
            (
                "container_pauses_total",
                "Containers paused after the pause grace",
                &self.pauses,
            ),
            (
                "container_prewarm_taken_total",
                "Stem cells given an action",
                &self.prewarm_taken,
            ),
            (
                "container_start_failures_total",
                "Containers that could not be started",
                &self.start_failures,
            ),
            (
                "creation_not_enough_memory_total",
                "Creation requests refused for lack of memory",
                &self.not_enough_memory,
            ),
            (
                "malformed_commands_total",
                "Unreadable records on the invoker topic",
                &self.malformed_commands,
            ),
            (
                "activation_reschedules_total",
                "Activations handed back to the scheduler",
                &self.reschedules,
            ),
            (
                "health_changes_total",
                "Changes of the invoker's health status between up and unhealthy",
                &self.health_changes,
            ),
        ]
    }

    /// Prometheus text exposition.
    pub fn render(&self, counts: Counts, memory: Memory) -> String {
        let mut out = String::new();
        let counters = self.counters();
        for (name, help, c) in counters {
            family(
                &mut out,
                name,
                help,
                "counter",
                "",
                &[("", c.get().to_string())],
            );
        }
        let statuses = [
            "success",
            "application_error",
            "developer_error",
            "whisk_error",
        ];
        let by_status: Vec<(&str, String)> = statuses
            .iter()
            .zip(&self.activations)
            .map(|(s, c)| (*s, c.get().to_string()))
            .collect();
        family(
            &mut out,
            "activations_total",
            "Completed activations by status",
            "counter",
            "status",
            &by_status,
        );
        let containers = [
            ("busy", counts.busy.to_string()),
            ("paused", counts.paused.to_string()),
            ("in_progress", counts.in_progress.to_string()),
            ("prewarm", counts.prewarm.to_string()),
        ];
        family(
            &mut out,
            "containers",
            "Containers by state",
            "gauge",
            "state",
            &containers,
        );
        let mb = [
            ("free", memory.free.to_string()),
            ("busy", memory.busy.to_string()),
            ("in_progress", memory.in_progress.to_string()),
        ];
        family(
            &mut out,
            "memory_megabytes",
            "Memory of the pool by use",
            "gauge",
            "kind",
            &mb,
        );
        out
    }
}

/// One metric family: `# HELP`, `# TYPE`, then one sample per label value (`label` empty: a
/// single unlabelled sample).
fn family(
    out: &mut String,
    name: &str,
    help: &str,
    kind: &str,
    label: &str,
    samples: &[(&str, String)],
) {
    let _ = writeln!(out, "# HELP openwhisk_invoker_{name} {help}");
    let _ = writeln!(out, "# TYPE openwhisk_invoker_{name} {kind}");
    for (value_label, value) in samples {
        if label.is_empty() {
            let _ = writeln!(out, "openwhisk_invoker_{name} {value}");
        } else {
            let _ = writeln!(
                out,
                "openwhisk_invoker_{name}{{{label}=\"{value_label}\"}} {value}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_render_as_prometheus_text() {
        let m = Metrics::default();
        m.cold_starts.inc();
        m.count_activation(StatusCode::ApplicationError);
        let text = m.render(
            Counts {
                busy: 2,
                ..Counts::default()
            },
            Memory {
                free: 1,
                busy: 2,
                in_progress: 3,
            },
        );
        assert!(text.contains("openwhisk_invoker_container_cold_starts_total 1\n"));
        assert!(
            text.contains("openwhisk_invoker_activations_total{status=\"application_error\"} 1\n")
        );
        assert!(text.contains("openwhisk_invoker_containers{state=\"busy\"} 2\n"));
        assert!(text.contains("openwhisk_invoker_memory_megabytes{kind=\"in_progress\"} 3\n"));
    }
}
