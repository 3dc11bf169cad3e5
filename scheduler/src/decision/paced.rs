//! An opt-in provisioning rule (`policy = paced`): the stock rule without its blind cold-burst
//! fan-out.
//!
//! With no duration known, the stock rule asks for one container per stale activation minus
//! those in progress, on every tick (behaviour reference §3.4, upstream #5256/#5257). When
//! creations are slow — a Docker daemon that serialises, a burst over many actions — the
//! queue keeps growing while its first container starts, and every waiting activation gets a
//! container of its own even when the first one, once up, would serve them all in
//! milliseconds. Those extra creations also queue on the daemons ahead of other actions'
//! first containers.
//!
//! Paced waits for evidence before fanning out: while the duration is unknown it adds no
//! container as long as the action's containers keep asking for work (they were quiet for
//! less than the stale threshold), which includes the time its first container is still being
//! created. Once a container has been silent that long — busy with a long activation, or not
//! polling at all — or once a duration is known, the stock rule decides unchanged. Throttling
//! decisions are never changed, only the number of containers asked for. The price: a burst
//! on a new long-running action fans out one container start later than stock; and a short
//! action no longer keeps the containers the blind fan-out gave it, so it settles where the
//! stock formula puts it, which accepts waits up to the stale threshold (measured with
//! `ow-bench live`, 100 users, 2 ms: 100 actions need 120 creations instead of ~350, but one
//! action runs on 9 containers with a 60 ms queue wait instead of 100 containers and 9 ms).

use super::{Decision, ProvisioningPolicy, QueueState, Snapshot, StockPolicy};

/// Which rule the scheduler runs (`whisk.scheduler.scheduling.policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PolicyKind {
    /// [`StockPolicy`], exactly as upstream (the default: drop-in behaviour).
    #[default]
    Stock,
    /// [`PacedPolicy`].
    Paced,
}

impl PolicyKind {
    /// Reads the configured name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "paced" => Some(Self::Paced),
            "stock" => Some(Self::Stock),
            _ => None,
        }
    }
}

/// The stock rule, holding back fan-out until the action's containers show they need help.
#[derive(Debug, Clone, Copy, Default)]
pub struct PacedPolicy {
    /// The rule it defers to.
    pub stock: StockPolicy,
}

impl PacedPolicy {
    /// Adding now would be blind: no duration known, and the containers (or the creations
    /// under way) have not yet shown that they cannot keep up.
    fn blind(&self, s: &Snapshot) -> bool {
        let threshold = self.stock.config.stale_threshold_ms;
        s.average_duration_ms.is_none()
            && matches!(s.state, QueueState::Running | QueueState::Removing)
            && s.existing + s.in_progress > 0
            && (s.quiet_ms as f64) < threshold
    }
}

impl ProvisioningPolicy for PacedPolicy {
    fn decide(&self, s: &Snapshot) -> Decision {
        let decision = self.stock.decide(s);
        if !self.blind(s) {
            return decision;
        }
        match decision {
            Decision::AddContainer(_) => Decision::Skip,
            Decision::EnableNamespaceThrottling { drop_msgs, .. } => {
                Decision::EnableNamespaceThrottling { drop_msgs, add: 0 }
            }
            other => other,
        }
    }
}

/// The policy of a [`PolicyKind`].
#[derive(Debug, Clone, Copy)]
pub enum Policy {
    Paced(PacedPolicy),
    Stock(StockPolicy),
}

impl Policy {
    /// The configured rule with its settings.
    pub fn new(kind: PolicyKind, config: super::DecisionConfig) -> Self {
        let stock = StockPolicy { config };
        match kind {
            PolicyKind::Paced => Self::Paced(PacedPolicy { stock }),
            PolicyKind::Stock => Self::Stock(stock),
        }
    }
}

impl ProvisioningPolicy for Policy {
    fn decide(&self, s: &Snapshot) -> Decision {
        match self {
            Self::Paced(p) => p.decide(s),
            Self::Stock(p) => p.decide(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cold burst: no duration yet, `existing` containers up, one creation under way.
    fn burst(stale: u32, existing: u32, quiet_ms: u64) -> Snapshot {
        Snapshot {
            initialized: true,
            available_msgs: stale,
            existing,
            in_progress: 1,
            stale,
            namespace_existing: existing,
            namespace_in_progress: 1,
            average_duration_ms: None,
            namespace_limit: 1000,
            action_limit: 1000,
            max_concurrency: 1,
            state: QueueState::Running,
            quiet_ms,
        }
    }

    #[test]
    fn a_burst_waits_for_the_first_container_instead_of_one_each() {
        let s = burst(38, 0, 0);
        assert_eq!(
            StockPolicy::default().decide(&s),
            Decision::AddContainer(37)
        );
        assert_eq!(PacedPolicy::default().decide(&s), Decision::Skip);
    }

    #[test]
    fn containers_that_keep_polling_get_no_help_until_a_duration_is_known() {
        let s = burst(10, 1, 40);
        assert_eq!(PacedPolicy::default().decide(&s), Decision::Skip);
    }

    #[test]
    fn a_container_busy_past_the_threshold_lets_the_burst_fan_out_as_stock() {
        let s = burst(10, 1, 150);
        assert_eq!(PacedPolicy::default().decide(&s), Decision::AddContainer(9));
    }

    #[test]
    fn the_first_container_and_known_durations_are_stock() {
        let first = Snapshot {
            in_progress: 0,
            namespace_in_progress: 0,
            ..burst(5, 0, 0)
        };
        assert_eq!(
            PacedPolicy::default().decide(&first),
            Decision::AddContainer(1)
        );
        let known = Snapshot {
            average_duration_ms: Some(1000.0),
            ..burst(5, 1, 0)
        };
        let stock = StockPolicy::default().decide(&known);
        assert_eq!(PacedPolicy::default().decide(&known), stock);
        assert_eq!(stock, Decision::AddContainer(4));
    }

    #[test]
    fn throttling_is_kept_without_the_blind_additions() {
        let s = Snapshot {
            namespace_limit: 4,
            action_limit: 4,
            ..burst(10, 1, 0)
        };
        assert_eq!(
            StockPolicy::default().decide(&s),
            Decision::EnableNamespaceThrottling {
                drop_msgs: false,
                add: 2
            }
        );
        assert_eq!(
            PacedPolicy::default().decide(&s),
            Decision::EnableNamespaceThrottling {
                drop_msgs: false,
                add: 0
            }
        );
    }

    #[test]
    fn policy_names_parse() {
        assert_eq!(PolicyKind::parse("paced"), Some(PolicyKind::Paced));
        assert_eq!(PolicyKind::parse("stock"), Some(PolicyKind::Stock));
        assert_eq!(PolicyKind::parse("fast"), None);
    }
}
