//! The provisioning decision taken every `check-interval` for each queue: how many containers to
//! ask for, and when to switch namespace throttling. Pure code; the queue feeds it a snapshot.

/// The queue states the decision looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueState {
    Running,
    Idle,
    Flushing,
    Removing,
    Removed,
    ActionThrottled,
    NamespaceThrottled,
}

/// Everything a decision depends on, taken at one tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    /// An initial container was already requested.
    pub initialized: bool,
    /// Queued activations plus those being enqueued.
    pub available_msgs: u32,
    /// Containers of this action revision that exist.
    pub existing: u32,
    /// Containers of this action revision being created.
    pub in_progress: u32,
    /// Queued activations older than the stale threshold.
    pub stale: u32,
    /// Existing containers of the whole invocation namespace.
    pub namespace_existing: u32,
    /// In-progress containers of the whole invocation namespace.
    pub namespace_in_progress: u32,
    /// Average activation duration in ms, if known.
    pub average_duration_ms: Option<f64>,
    /// Namespace container limit (`concurrentInvocations`).
    pub namespace_limit: i64,
    /// Action instance limit (capped by the namespace limit).
    pub action_limit: i64,
    /// Activations one container runs at once.
    pub max_concurrency: u32,
    /// Current queue state.
    pub state: QueueState,
    /// Moving average of how long activations waited in the queue before a container took
    /// them (none handed out yet: `None`). No rule reads it; the decision trace shows it.
    pub recent_wait_ms: Option<f64>,
    /// How long activations have been waiting without the queue ever emptying, while the
    /// action has containers (0 when not so): a standing queue rather than a momentary
    /// collision.
    pub backlog_ms: u64,
    /// Activations handed to containers during that stretch: few means the containers were
    /// stalled rather than too few.
    pub backlog_served: u32,
    /// How long since a container of the action last asked for or was handed work (0 while it
    /// has none): past the stale threshold they are all busy, or not polling at all.
    pub quiet_ms: u64,
}

/// Settings of the stock rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecisionConfig {
    /// `stale-threshold` in ms.
    pub stale_threshold_ms: f64,
    /// `allow-over-provision-before-throttle`.
    pub allow_over_provision: bool,
    /// `namespace-over-provision-before-throttle-ratio`.
    pub over_provision_ratio: f64,
}

impl Default for DecisionConfig {
    fn default() -> Self {
        Self {
            stale_threshold_ms: 100.0,
            allow_over_provision: false,
            over_provision_ratio: 1.5,
        }
    }
}

/// What the queue should do this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing.
    Skip,
    /// Ask for the first container.
    AddInitialContainer,
    /// Ask for `n` more containers.
    AddContainer(u32),
    /// Turn namespace throttling on; `drop_msgs` fails the queued activations; `add` containers
    /// may still be requested.
    EnableNamespaceThrottling { drop_msgs: bool, add: u32 },
    /// Turn namespace throttling off.
    DisableNamespaceThrottling,
    /// The limit is zero: fail with `ZeroNamespaceLimit`.
    Pausing,
}

/// A provisioning policy: the stock rule, or `paced` (the default) built on it.
pub trait ProvisioningPolicy {
    /// Decides for one queue at one tick.
    fn decide(&self, s: &Snapshot) -> Decision;
}

/// OpenWhisk's `SchedulingDecisionMaker`, reproduced rule by rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct StockPolicy {
    /// Its settings.
    pub config: DecisionConfig,
}

struct Capacity {
    cap: i64,
    namespace: i64,
    over_provision: i64,
}

impl StockPolicy {
    fn capacity(&self, s: &Snapshot) -> Capacity {
        let total = i64::from(s.existing + s.in_progress);
        let ns_used = i64::from(s.namespace_existing + s.namespace_in_progress);
        let namespace = s.namespace_limit - ns_used;
        let over_provision =
            (s.namespace_limit as f64 * self.config.over_provision_ratio).ceil() as i64 - ns_used;
        let cap = if self.config.allow_over_provision && total == 0 {
            i64::from(over_provision > 0)
        } else {
            namespace.min(s.action_limit - total)
        };
        Capacity {
            cap,
            namespace,
            over_provision,
        }
    }

    fn no_capacity(&self, s: &Snapshot, c: &Capacity) -> Decision {
        let ovp = self.config.allow_over_provision;
        let total = s.existing + s.in_progress;
        match s.state {
            QueueState::Running if !ovp || c.over_provision <= 0 => {
                Decision::EnableNamespaceThrottling {
                    drop_msgs: total == 0,
                    add: 0,
                }
            }
            QueueState::NamespaceThrottled if ovp && c.over_provision > 0 => {
                Decision::DisableNamespaceThrottling
            }
            _ => Decision::Skip,
        }
    }

    /// Activations one container finishes within one stale-threshold window.
    fn throughput(&self, duration: f64, concurrency: u32) -> f64 {
        let c = f64::from(concurrency);
        if duration <= 0.0 {
            c
        } else {
            self.config.stale_threshold_ms / duration * c
        }
    }

    fn running_with_duration(&self, s: &Snapshot, d: f64, c: &Capacity) -> Decision {
        let total = f64::from(s.existing + s.in_progress);
        let tput = self.throughput(d, s.max_concurrency);
        let fresh = f64::from(s.available_msgs) - f64::from(s.stale);
        let stale_add = if s.stale > 0 {
            (f64::from(s.stale) / tput).ceil().min(f64::from(s.stale)) - f64::from(s.in_progress)
        } else {
            0.0
        };
        if fresh >= tput * total && total < fresh && d > 0.0 {
            let mut n = (fresh / tput - total).ceil();
            if n + total > fresh {
                n = fresh - total;
            }
            try_add((n + stale_add) as i64, c)
        } else if stale_add > 0.0 {
            try_add(stale_add as i64, c)
        } else {
            Decision::Skip
        }
    }
}

fn try_add(n: i64, c: &Capacity) -> Decision {
    let count = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
    if n > c.cap {
        if c.cap >= c.namespace {
            return Decision::EnableNamespaceThrottling {
                drop_msgs: false,
                add: count(c.cap),
            };
        }
        return Decision::AddContainer(count(c.cap));
    }
    if n <= 0 {
        Decision::Skip
    } else {
        Decision::AddContainer(count(n))
    }
}

impl ProvisioningPolicy for StockPolicy {
    fn decide(&self, s: &Snapshot) -> Decision {
        use QueueState::{Flushing, NamespaceThrottled, Removing, Running};
        if s.namespace_limit.min(s.action_limit) <= 0 {
            return if s.state == Flushing {
                Decision::Skip
            } else {
                Decision::Pausing
            };
        }
        let c = self.capacity(s);
        if c.cap <= 0 {
            return self.no_capacity(s, &c);
        }
        let total = s.existing + s.in_progress;
        let per_container = |stale: u32| i64::from(stale.div_ceil(s.max_concurrency.max(1)));
        match (s.state, s.average_duration_ms) {
            (Running, None) if total == 0 && !s.initialized => Decision::AddInitialContainer,
            (NamespaceThrottled, _) => Decision::DisableNamespaceThrottling,
            (Running, _) if total == 0 && s.available_msgs > 0 => Decision::AddContainer(1),
            (Flushing, _) if total == 0 => Decision::AddInitialContainer,
            (Running, None) if s.stale > 0 => {
                let n = (per_container(s.stale) - i64::from(s.in_progress))
                    .min(i64::from(s.available_msgs));
                try_add(n, &c)
            }
            (Running, Some(d)) => self.running_with_duration(s, d, &c),
            (Removing, Some(d)) if s.stale > 0 => {
                let tput = self.throughput(d, s.max_concurrency);
                let n = (f64::from(s.stale) / tput).ceil().min(f64::from(s.stale))
                    - f64::from(s.in_progress);
                try_add(n as i64, &c)
            }
            (Removing, None) if s.stale > 0 => {
                let n = (per_container(s.stale) - i64::from(s.in_progress))
                    .min(i64::from(s.available_msgs));
                try_add(n, &c)
            }
            _ => Decision::Skip,
        }
    }
}

mod paced;
pub use paced::{PacedPolicy, Policy, PolicyKind};

#[cfg(test)]
mod tests;
