//! One queue per (invocation namespace, action, revision): the stock `MemoryQueue` state machine
//! as pure, synchronous code. The caller feeds it events with the current time and carries out
//! the effects it returns (answer polls, create containers, write throttle keys, complete
//! activations). Timers are driven by `tick`, which the decision loop calls every 100 ms.

mod machine;
mod timers;

pub use machine::{Limits, THROTTLED, ZERO_LIMIT};

use std::collections::{BTreeMap, VecDeque};

use ow_compat::messages::CreationError;

pub use crate::decision::QueueState;

/// Milliseconds on the caller's clock.
pub type Millis = u64;

/// How long a new container counts as still being created until its first fetch. Its key is
/// written (and the creation acked) before it connects and polls; in that gap the stock rule saw
/// an existing container, an activation still waiting, and asked for another container.
pub const FIRST_POLL_GRACE_MS: Millis = 5_000;

/// Weight of the newest hand-out in the queue-wait moving average (about the last 20 count).
const WAIT_WEIGHT: f64 = 0.05;

/// Identifies one parked `FetchActivation` call.
pub type PollId = u64;

/// Timers and limits of a queue (stock defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueConfig {
    /// `queue.idle-grace`: Running → Idle after this long without activity.
    pub idle_grace_ms: Millis,
    /// `queue.stop-grace`: Idle → Removed after this long.
    pub stop_grace_ms: Millis,
    /// `queue.flush-grace`: how often Flushing re-checks.
    pub flush_grace_ms: Millis,
    /// `queue.graceful-shutdown-timeout`: how often Removing re-checks.
    pub removing_check_ms: Millis,
    /// `queue.max-retention-size`: length at which the action is throttled.
    pub max_retention_size: usize,
    /// `queue.max-retention-ms` (or the blackbox value): age at which activations are dropped.
    pub max_retention_ms: Millis,
    /// `queue.throttling-fraction`: the action throttle lifts at this fraction of the size.
    pub throttling_fraction: f64,
    /// `queue.duration-buffer-size`: durations averaged for scaling.
    pub duration_buffer_size: usize,
    /// `scheduling.stale-threshold`.
    pub stale_threshold_ms: Millis,
    /// How long a fetch waits for an activation.
    pub long_poll_ms: Millis,
    /// `queue.fail-throttle-as-whisk-error`.
    pub fail_throttle_as_whisk_error: bool,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            idle_grace_ms: 20_000,
            stop_grace_ms: 20_000,
            flush_grace_ms: 60_000,
            removing_check_ms: 5_000,
            max_retention_size: 10_000,
            max_retention_ms: 60_000,
            throttling_fraction: 0.9,
            duration_buffer_size: 10,
            stale_threshold_ms: 100,
            long_poll_ms: 1_000,
            fail_throttle_as_whisk_error: false,
        }
    }
}

/// How a fetch is answered when it gets no activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollAnswer {
    /// Nothing arrived in time; poll again.
    NoActivation,
    /// This queue is gone; look up the leader again.
    NoMemoryQueue,
}

/// Outcome class of an activation the queue completes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// `statusCode` 2.
    Developer,
    /// `statusCode` 3.
    Whisk,
}

/// Which throttle key an effect writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// `<cluster>/throttling/<invNs>`.
    Namespace,
    /// `<cluster>/throttling/<invNs>/<fqn>`.
    Action,
}

/// What the caller must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect<M> {
    /// Answer a parked or incoming fetch with an activation.
    Deliver { poll: PollId, msg: M },
    /// Answer a fetch without an activation.
    Answer { poll: PollId, answer: PollAnswer },
    /// Complete an activation with an error result (ack + record).
    Fail {
        msg: M,
        reason: String,
        kind: FailureKind,
    },
    /// Write the namespace throttle key `false` if absent and the action key `false` (queue start).
    InitThrottleKeys,
    /// Write a throttle key.
    SetThrottle { scope: Throttle, on: bool },
    /// Ask the container manager for containers.
    CreateContainers { count: u32 },
    /// Hand activations back to the queue manager to be routed again.
    Forward(Vec<M>),
    /// Delete the leader key and both throttle keys.
    UnregisterKeys,
    /// Send `ContainerDeletionMessage`s for this revision.
    DeleteContainers,
    /// The queue is finished; drop it.
    Removed,
}

/// A fetch as the gRPC service passes it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    /// Answer this poll.
    pub poll: PollId,
    /// The container polling.
    pub container_id: String,
    /// It has run `/init`.
    pub warmed: bool,
    /// `false`: the container is going away.
    pub alive: bool,
    /// Duration of its previous activation, ms.
    pub last_duration_ms: Option<u64>,
}

#[derive(Debug, Clone)]
struct Queued<M> {
    arrived: Millis,
    msg: M,
}

#[derive(Debug, Clone)]
struct Flush {
    error: CreationError,
    reason: String,
    active: bool,
}

/// A stretch during which the queue never emptied.
#[derive(Debug, Clone, Copy)]
struct Backlog {
    since: Millis,
    /// Activations handed to containers during the stretch.
    served: u32,
}

/// The queue of one action revision.
#[derive(Debug)]
pub struct ActionQueue<M> {
    config: QueueConfig,
    state: QueueState,
    fifo: VecDeque<Queued<M>>,
    /// Parked polls, answered greatest key first: warmed containers, then larger ids.
    parked: BTreeMap<(bool, String, PollId), Millis>,
    containers: std::collections::BTreeSet<String>,
    /// Containers seen in etcd that have not asked for work yet, and when they were seen.
    unpolled: BTreeMap<String, Millis>,
    creations: std::collections::BTreeSet<String>,
    durations: VecDeque<u64>,
    /// Moving average of how long handed-out activations had waited in the queue.
    wait_ms: Option<f64>,
    /// Activations waiting without a break while containers exist (set by a tick, cleared
    /// whenever the FIFO empties).
    backlog: Option<Backlog>,
    /// When the queue last went from no container to one.
    serving_since: Millis,
    initialized: bool,
    last_activity: Millis,
    /// When a container of this queue last asked for or was handed work (or the first one
    /// appeared).
    last_progress: Millis,
    next_check: Millis,
    flush: Option<Flush>,
    outdated: bool,
    /// The action throttle key is `true` (set in Running or NamespaceThrottled alike).
    action_throttled: bool,
}

#[cfg(test)]
mod tests;
