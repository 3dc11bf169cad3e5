//! The simulated invokers' Docker daemon, in real time: the costs are [`crate::costs::Costs`] (the
//! same presets as the model: measured on this machine by default, or the talk's figures); a
//! request waits for the daemon's serial section, holds it for the serial part, then takes its
//! parallel part beside the others.

use std::sync::Arc;
use std::time::Duration;

use ow_scheduler::placement::{Chooser, XorShift};
use tokio::sync::Mutex;

pub use crate::costs::{Costs, DockerOp};

/// One host's Docker daemon.
#[derive(Debug, Clone)]
pub struct Daemon {
    costs: Arc<Costs>,
    /// The serial section, and the draws of parallel parts made under it.
    serial: Arc<Mutex<XorShift>>,
}

impl Daemon {
    pub fn new(costs: Costs, seed: u64) -> Self {
        Self {
            costs: Arc::new(costs),
            serial: Arc::new(Mutex::new(XorShift::new(seed))),
        }
    }

    /// `/init` of a fresh container.
    pub fn init_time(&self) -> Duration {
        millis(self.costs.init_ms)
    }

    /// Waits for the serial section, holds it for the serial part, then waits the parallel part.
    pub async fn perform(&self, op: DockerOp) {
        let cost = self.costs.op(op);
        let parallel = {
            let mut rng = self.serial.lock().await;
            tokio::time::sleep(millis(cost.serial_ms)).await;
            let (lo, hi) = cost.parallel_ms;
            lo + (hi - lo) * rng.index(1_000_001) as f64 / 1_000_000.0
        };
        tokio::time::sleep(millis(parallel)).await;
    }
}

fn millis(ms: f64) -> Duration {
    Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serial_parts_queue_one_after_another() {
        let op = crate::costs::OpCost {
            serial_ms: 30.0,
            parallel_ms: (0.0, 0.0),
        };
        let costs = Costs {
            run: op,
            ..Costs::measured()
        };
        let daemon = Daemon::new(costs, 7);
        let started = tokio::time::Instant::now();
        let runs: Vec<_> = (0..3)
            .map(|_| {
                let d = daemon.clone();
                tokio::spawn(async move { d.perform(DockerOp::Run).await })
            })
            .collect();
        for r in runs {
            r.await.expect("run");
        }
        // A lower bound only: three serial sections cannot overlap.
        assert!(started.elapsed() >= Duration::from_millis(90));
    }
}
