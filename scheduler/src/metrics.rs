//! Prometheus metrics in the text exposition format, named after the stock scheduler's Kamon
//! metrics (`openwhisk_scheduler_*`, `openwhisk_counter_*`) so existing dashboards find them.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters and a latency histogram; cheap to update from any task.
#[derive(Debug, Default)]
pub struct Metrics {
    pub activations_received: AtomicU64,
    pub activations_malformed: AtomicU64,
    pub activations_delivered: AtomicU64,
    pub activations_failed: AtomicU64,
    pub activations_forwarded: AtomicU64,
    pub containers_requested: AtomicU64,
    pub creation_failures: AtomicU64,
    pub fetches: AtomicU64,
    fetch_wait: Histogram,
    activation_wait: Histogram,
}

const BUCKETS_MS: [u64; 10] = [1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000];

#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; 10],
    count: AtomicU64,
    sum_ms: AtomicU64,
}

impl Histogram {
    fn observe(&self, ms: u64) {
        for (i, bound) in BUCKETS_MS.iter().enumerate() {
            if ms <= *bound {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ms.fetch_add(ms, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, bound) in BUCKETS_MS.iter().enumerate() {
            let v = self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{}\"}} {v}",
                *bound as f64 / 1000.0
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_ms.load(Ordering::Relaxed) as f64 / 1000.0
        );
        let _ = writeln!(out, "{name}_count {count}");
    }
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records how long a fetch waited for its answer.
    pub fn observe_fetch_wait(&self, ms: u64) {
        self.fetch_wait.observe(ms);
    }

    /// Records how long an activation waited, from the controller's transaction start until a
    /// container received it.
    pub fn observe_activation_wait(&self, ms: u64) {
        self.activation_wait.observe(ms);
    }

    /// The exposition text; `queues` and `waiting` are gauges read at scrape time.
    pub fn render(&self, queues: usize, waiting: usize) -> String {
        let mut out = String::with_capacity(2048);
        let counters = [
            (
                "openwhisk_scheduler_activations_received_total",
                "Activations consumed from the scheduler topic",
                &self.activations_received,
            ),
            (
                "openwhisk_scheduler_activations_malformed_total",
                "Records skipped because they did not decode",
                &self.activations_malformed,
            ),
            (
                "openwhisk_scheduler_activations_delivered_total",
                "Activations handed to containers",
                &self.activations_delivered,
            ),
            (
                "openwhisk_scheduler_activations_failed_total",
                "Activations completed with an error by the scheduler",
                &self.activations_failed,
            ),
            (
                "openwhisk_scheduler_activations_forwarded_total",
                "Activations forwarded to the queue leader",
                &self.activations_forwarded,
            ),
            (
                "openwhisk_scheduler_container_creations_total",
                "Container creations requested",
                &self.containers_requested,
            ),
            (
                "openwhisk_scheduler_container_creation_failures_total",
                "Container creations that failed",
                &self.creation_failures,
            ),
            (
                "openwhisk_scheduler_fetch_requests_total",
                "FetchActivation calls",
                &self.fetches,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP openwhisk_scheduler_queues Queues led by this scheduler\n# TYPE openwhisk_scheduler_queues gauge\nopenwhisk_scheduler_queues {queues}"
        );
        let _ = writeln!(
            out,
            "# HELP openwhisk_scheduler_waiting_activations Activations waiting in queues\n# TYPE openwhisk_scheduler_waiting_activations gauge\nopenwhisk_scheduler_waiting_activations {waiting}"
        );
        self.render_histogram(&mut out);
        out
    }

    fn render_histogram(&self, out: &mut String) {
        self.fetch_wait.render(
            out,
            "openwhisk_scheduler_fetch_wait_seconds",
            "Time a FetchActivation waited for its answer",
        );
        self.activation_wait.render(
            out,
            "openwhisk_scheduler_activation_wait_seconds",
            "Time from the controller's transaction start until a container received the activation",
        );
    }
}
