//! What Docker operations cost a simulated invoker, and the per-host daemon that serialises
//! them. Defaults are the measurements on this machine (`anchors.md` §3.2); [`CostModel::talk`]
//! gives the figures of the talk the seed experiment comes from.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// A Docker operation a simulated invoker pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DockerOp {
    /// `docker run` (create + start) of a cold container.
    Run,
    /// `docker rm -f`.
    Remove,
    Pause,
    Unpause,
}

/// Docker costs and how many requests one daemon serves at once.
#[derive(Debug, Clone, PartialEq)]
pub struct CostModel {
    pub run: Duration,
    pub remove: Duration,
    pub pause: Duration,
    pub unpause: Duration,
    /// Requests the daemon works on at once; more wait (parallel run→rm gives ≤2× here).
    pub daemon_parallelism: usize,
    /// `/init` of a fresh container (runtime proxy start and code load).
    pub init: Duration,
}

impl Default for CostModel {
    /// Medians measured on this machine: create+start 209–284 ms, rm 56–76 ms, pause/unpause
    /// 12–16 ms; 4 parallel run→rm cycles ran ~1.7× the sequential rate.
    fn default() -> Self {
        Self {
            run: Duration::from_millis(250),
            remove: Duration::from_millis(65),
            pause: Duration::from_millis(13),
            unpause: Duration::from_millis(14),
            daemon_parallelism: 2,
            init: Duration::from_millis(20),
        }
    }
}

impl CostModel {
    /// The talk's figures: run→rm 500–1,300 ms on a daemon serialising ~10 requests/s,
    /// pause→unpause 50–400 ms.
    pub fn talk() -> Self {
        Self {
            run: Duration::from_millis(900),
            remove: Duration::from_millis(300),
            pause: Duration::from_millis(120),
            unpause: Duration::from_millis(120),
            daemon_parallelism: 1,
            init: Duration::from_millis(50),
        }
    }

    /// How long the daemon works on `op`.
    pub fn cost(&self, op: DockerOp) -> Duration {
        match op {
            DockerOp::Run => self.run,
            DockerOp::Remove => self.remove,
            DockerOp::Pause => self.pause,
            DockerOp::Unpause => self.unpause,
        }
    }
}

/// One host's Docker daemon: operations queue for one of its slots, then take their cost.
#[derive(Debug, Clone)]
pub struct Daemon {
    costs: Arc<CostModel>,
    slots: Arc<Semaphore>,
}

impl Daemon {
    pub fn new(costs: CostModel) -> Self {
        let slots = Arc::new(Semaphore::new(costs.daemon_parallelism.max(1)));
        Self {
            costs: Arc::new(costs),
            slots,
        }
    }

    pub fn costs(&self) -> &CostModel {
        &self.costs
    }

    /// Waits for a slot, then for the operation's cost.
    pub async fn perform(&self, op: DockerOp) {
        // The semaphore is never closed, so acquiring only fails if it were; then skip the wait.
        let _slot = self.slots.acquire().await.ok();
        tokio::time::sleep(self.costs.cost(op)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_measurements_and_talk_is_slower() {
        let here = CostModel::default();
        let talk = CostModel::talk();
        assert_eq!(here.cost(DockerOp::Run), Duration::from_millis(250));
        for op in [
            DockerOp::Run,
            DockerOp::Remove,
            DockerOp::Pause,
            DockerOp::Unpause,
        ] {
            assert!(talk.cost(op) > here.cost(op), "{op:?}");
        }
        assert_eq!(talk.daemon_parallelism, 1);
    }
}
