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
//! polling at all — the stock rule decides unchanged.
//!
//! Without the fan-out a short action would settle where the stock duration formula puts it,
//! which accepts queue waits up to the stale threshold (measured: one action, 100 users, 2 ms:
//! 9 containers and 60 ms waits). So once a duration is known paced also tops up a *standing*
//! queue — more activations waiting than containers for 300 ms — whose moving average of
//! waits (counted from when the action had a container, so a cold start does not count) is
//! past a target of twice the duration, at least 10 ms, at most half the stale threshold, one
//! step at a time (not while its creations are still coming). Throttling decisions are never
//! changed, only the number of containers asked for.
//!
//! Measured with `ow-bench live` (100 users, 2 ms, 4 simulated invokers on the shared 2-core
//! host): 1 / 10 / 100 actions get 72–89 / 147–219 / ~125 containers, where stock makes
//! 100 / 113 / ~330, at the same or higher throughput (`bench/results/report.md`).

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

    /// The average queue wait a known duration `d` should stay under: twice the duration, at
    /// least [`MIN_WAIT_TARGET_MS`], at most half the stale threshold.
    fn wait_target(&self, d: f64) -> f64 {
        (2.0 * d)
            .min(self.stock.config.stale_threshold_ms / 2.0)
            .max(MIN_WAIT_TARGET_MS)
    }

    /// Containers to add so that activations wait about the target again. Only for a standing
    /// queue (more activations waiting than containers for [`STANDING_MS`]) whose moving
    /// average of waits is past the target, and only once the previous top-up has landed: the
    /// work now waiting is spread over proportionally more containers (never more than the
    /// activations queued). A momentary collision of a few activations on a short action is left
    /// alone: topping up on those grew every action of a hundred to its peak and never back.
    ///
    /// Waiting for creations under way matters when creations are slow: the waits keep growing
    /// until the new containers poll, and sizing from them tick after tick ordered containers
    /// for a backlog that the first ones would clear (measured: 10 actions × 100 users, 4
    /// simulated daemons starting ~28 containers a second, 322 containers instead of ~110).
    fn top_up(&self, s: &Snapshot) -> i64 {
        let (Some(d), Some(w)) = (s.average_duration_ms, s.recent_wait_ms) else {
            return 0;
        };
        let target = self.wait_target(d);
        let standing = s.backlog_ms >= STANDING_MS && w > target;
        if s.state != QueueState::Running || !standing || s.in_progress > 0 {
            return 0;
        }
        let serving = f64::from(s.existing.max(1));
        (serving * (w / target - 1.0))
            .ceil()
            .min(f64::from(s.available_msgs)) as i64
    }
}

/// How long a backlog must stand before it is met with more containers.
const STANDING_MS: u64 = 300;

/// Below this an average wait is the normal cost of a hand-over behind a busy container (its
/// ack and next fetch). 25 ms, the figure before connections were shared, left one action at
/// 100 users with a third of its users waiting (34 containers, 2,850 TPS against stock's 4,000).
const MIN_WAIT_TARGET_MS: f64 = 10.0;

impl ProvisioningPolicy for PacedPolicy {
    fn decide(&self, s: &Snapshot) -> Decision {
        let decision = self.stock.decide(s);
        if self.blind(s) {
            return match decision {
                Decision::AddContainer(_) => Decision::Skip,
                Decision::EnableNamespaceThrottling { drop_msgs, .. } => {
                    Decision::EnableNamespaceThrottling { drop_msgs, add: 0 }
                }
                other => other,
            };
        }
        // Topping up only ever adds within the room left; throttling stays the stock rule's call.
        let extra = self.top_up(s).min(self.stock.capacity(s).cap);
        let extra = u32::try_from(extra).unwrap_or(0);
        match decision {
            Decision::Skip if extra > 0 => Decision::AddContainer(extra),
            Decision::AddContainer(n) if extra > n => Decision::AddContainer(extra),
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
            recent_wait_ms: None,
            backlog_ms: 0,
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

    /// A short action (2 ms) whose queue keeps `available` activations waiting.
    fn backlog(existing: u32, available: u32, recent: f64, backlog_ms: u64) -> Snapshot {
        Snapshot {
            available_msgs: available,
            average_duration_ms: Some(2.0),
            in_progress: 0,
            namespace_in_progress: 0,
            recent_wait_ms: Some(recent),
            backlog_ms,
            ..burst(0, existing, 0)
        }
    }

    #[test]
    fn a_standing_queue_is_spread_over_more_containers() {
        // 9 containers, activations wait 25 ms on average for a 10 ms target: 2.5× the work
        // per container, so 14 more.
        let s = backlog(9, 90, 25.0, 400);
        assert_eq!(StockPolicy::default().decide(&s), Decision::Skip);
        assert_eq!(
            PacedPolicy::default().decide(&s),
            Decision::AddContainer(14)
        );
        // Until those 14 poll, the waits still look as bad: no second order on top of them.
        let coming = Snapshot {
            in_progress: 1,
            ..s
        };
        assert_eq!(PacedPolicy::default().decide(&coming), Decision::Skip);
    }

    #[test]
    fn a_wait_that_is_over_or_short_adds_nothing() {
        let drained = backlog(9, 2, 60.0, 0);
        assert_eq!(PacedPolicy::default().decide(&drained), Decision::Skip);
        let usual = backlog(9, 20, 8.0, 400);
        assert_eq!(PacedPolicy::default().decide(&usual), Decision::Skip);
        let collision = backlog(1, 3, 60.0, 200);
        assert_eq!(PacedPolicy::default().decide(&collision), Decision::Skip);
    }

    #[test]
    fn topping_up_never_exceeds_the_queued_activations_or_the_limit() {
        assert_eq!(
            PacedPolicy::default().decide(&backlog(50, 60, 100.0, 400)),
            Decision::AddContainer(60)
        );
        let limited = Snapshot {
            namespace_limit: 12,
            action_limit: 12,
            ..backlog(9, 90, 60.0, 400)
        };
        assert_eq!(
            PacedPolicy::default().decide(&limited),
            Decision::AddContainer(3)
        );
    }

    #[test]
    fn policy_names_parse() {
        assert_eq!(PolicyKind::parse("paced"), Some(PolicyKind::Paced));
        assert_eq!(PolicyKind::parse("stock"), Some(PolicyKind::Stock));
        assert_eq!(PolicyKind::parse("fast"), None);
    }
}
