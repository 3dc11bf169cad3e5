//! The default provisioning rule (`policy = paced`; `stock` selects upstream's rule unchanged):
//! the stock rule without its blind cold-burst fan-out.
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
//! Once a duration below the stale threshold is known (a *short* action), a stale activation
//! alone adds nothing: a container serves many per window, and on a shared host a stall makes
//! every action's activations stale at once. Instead paced tops up a *standing* queue — one that
//! has held waiting activations without a break for 300 ms while its containers kept taking
//! them, so none was idle and none stalled — with a container per waiting activation, at most
//! twice the serving containers per step, one step at a time (not while its creations are still
//! coming). Without that top-up a short action would settle where the stock duration formula
//! puts it, which accepts waits up to the stale threshold (measured: one action, 100 users,
//! 2 ms: 9 containers and 60 ms waits). Actions as long as the threshold or longer are decided
//! by the stock rule. Throttling decisions are never changed, only the number of containers.
//!
//! Measured with `ow-bench live` (100 users, 4 simulated invokers on the shared 2-core host),
//! the figures are in `bench/results/report.md`.

use super::{Decision, ProvisioningPolicy, QueueState, Snapshot, StockPolicy};

/// Which rule the scheduler runs (`whisk.scheduler.scheduling.policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PolicyKind {
    /// [`StockPolicy`], exactly as upstream: for running beside the stock scheduler, or for
    /// an operator who wants its container counts unchanged.
    Stock,
    /// [`PacedPolicy`], the default: the stock rule without the cold-burst over-provisioning
    /// that makes throughput fall with the number of actions.
    #[default]
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

    /// A short action: its duration is known and below the stale threshold, so one container
    /// serves many activations per threshold window and a stale one says little on its own.
    fn short(&self, s: &Snapshot) -> bool {
        s.average_duration_ms
            .is_some_and(|d| d < self.stock.config.stale_threshold_ms)
    }

    /// The queue has held activations without a break for [`STANDING_MS`] while its containers
    /// kept taking them ([`MIN_SERVED`] each on average): every container was busy all along
    /// (an idle one would have emptied the queue), and they were working, not stalled.
    ///
    /// The served count matters on a shared host: a stall of the host or of the invokers'
    /// processes makes every queue stand and every activation stale at once. An earlier paced
    /// rule that looked at the stretch alone grew a hundred actions for each stall, creeping to
    /// ~240 containers over 50 s where ~100 serve.
    fn standing(&self, s: &Snapshot) -> bool {
        s.backlog_ms >= STANDING_MS
            && u64::from(s.backlog_served) >= MIN_SERVED * u64::from(s.existing.max(1))
    }

    /// How many containers the stock rule may add this tick: none while blind; for a short
    /// action in Running, what it would add counting stale activations as fresh unless the queue
    /// stands; otherwise what it asks for.
    fn allowed(&self, s: &Snapshot) -> u32 {
        if self.blind(s) {
            return 0;
        }
        if s.state == QueueState::Running && self.short(s) && !self.standing(s) {
            let fresh = Snapshot { stale: 0, ..*s };
            return match self.stock.decide(&fresh) {
                Decision::AddContainer(n) => n,
                Decision::EnableNamespaceThrottling { add, .. } => add,
                _ => 0,
            };
        }
        u32::MAX
    }

    /// Containers to add for a standing queue of a short action: each waiting activation gets a
    /// slot (a container runs `max_concurrency` at once), at most twice as many containers as
    /// are serving per step, and only once the previous step has landed.
    ///
    /// The stock rule sizes from the activation duration `d` and accepts waits up to the stale
    /// threshold; a container's real cycle also holds the round trip of its next fetch, which on
    /// a loaded host is several times a short `d`, so it settles far too low (one action,
    /// 100 users, 2 ms: 9 containers). An earlier paced rule aimed the average wait at twice `d`; with
    /// 20 ms actions it stopped at 52 containers for 100 users and 58 % of stock's throughput.
    /// A queue that keeps emptying is left alone: a momentary collision of a few activations on
    /// a short action clears within the window, and topping up on those grew every action of a
    /// hundred to its peak and never back.
    ///
    /// Waiting for creations under way matters when creations are slow: the queue keeps standing
    /// until the new containers poll, and sizing from it tick after tick ordered containers for a
    /// backlog that the first ones would clear (measured: 10 actions × 100 users, 4 simulated
    /// daemons starting ~28 containers a second, 322 containers instead of ~110).
    fn top_up(&self, s: &Snapshot) -> i64 {
        let ready = s.state == QueueState::Running && s.in_progress == 0;
        if !ready || !self.short(s) || !self.standing(s) {
            return 0;
        }
        let wanted = s.available_msgs.div_ceil(s.max_concurrency.max(1));
        let step = MAX_STEP_FACTOR * i64::from(s.existing.max(1));
        i64::from(wanted).min(step)
    }
}

/// How long a queue must hold activations without a break before it gets more containers.
const STANDING_MS: u64 = 300;

/// Activations each container must have taken during that stretch, on average.
const MIN_SERVED: u64 = 3;

/// A top-up adds at most this many containers per serving container: 1 → 3 → 9 → 27 → 81,
/// so a sustained spike is met in a few steps without betting the cluster on one sample.
const MAX_STEP_FACTOR: i64 = 2;

impl ProvisioningPolicy for PacedPolicy {
    fn decide(&self, s: &Snapshot) -> Decision {
        // Throttling stays the stock rule's call; only the number of containers changes.
        let allowed = self.allowed(s);
        let decision = match self.stock.decide(s) {
            Decision::AddContainer(n) if n.min(allowed) == 0 => Decision::Skip,
            Decision::AddContainer(n) => Decision::AddContainer(n.min(allowed)),
            Decision::EnableNamespaceThrottling { drop_msgs, add } => {
                Decision::EnableNamespaceThrottling {
                    drop_msgs,
                    add: add.min(allowed),
                }
            }
            other => other,
        };
        // Topping up only ever adds within the room left.
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
            backlog_served: 0,
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

    /// A short action (2 ms) whose queue has held `available` activations for 400 ms while its
    /// containers took `served`.
    fn backlog(existing: u32, available: u32, served: u32) -> Snapshot {
        Snapshot {
            available_msgs: available,
            average_duration_ms: Some(2.0),
            in_progress: 0,
            namespace_in_progress: 0,
            recent_wait_ms: Some(20.0),
            backlog_ms: 400,
            backlog_served: served,
            ..burst(0, existing, 0)
        }
    }

    #[test]
    fn a_standing_queue_gets_a_container_per_waiting_activation() {
        // 70 containers busy, 30 users waiting behind them: stock sees 2 ms activations and
        // thinks two containers would clear them within the threshold.
        let s = backlog(70, 30, 900);
        assert_eq!(StockPolicy::default().decide(&s), Decision::Skip);
        assert_eq!(
            PacedPolicy::default().decide(&s),
            Decision::AddContainer(30)
        );
        // Until those 30 poll the queue still stands: no second order on top of them.
        let coming = Snapshot {
            in_progress: 1,
            ..s
        };
        assert_eq!(PacedPolicy::default().decide(&coming), Decision::Skip);
    }

    #[test]
    fn a_stalled_queue_or_a_lone_stale_activation_adds_nothing() {
        // The containers took almost nothing while the queue stood: a stall, not a shortage.
        let stalled = Snapshot {
            stale: 3,
            ..backlog(2, 3, 1)
        };
        assert_eq!(
            StockPolicy::default().decide(&stalled),
            Decision::AddContainer(1)
        );
        assert_eq!(PacedPolicy::default().decide(&stalled), Decision::Skip);
        // A long action's stale activations are the stock rule's to answer.
        let long = Snapshot {
            average_duration_ms: Some(500.0),
            ..stalled
        };
        assert_eq!(
            PacedPolicy::default().decide(&long),
            StockPolicy::default().decide(&long)
        );
    }

    #[test]
    fn one_step_adds_at_most_twice_the_serving_containers() {
        let s = backlog(1, 99, 50);
        assert_eq!(StockPolicy::default().decide(&s), Decision::AddContainer(1));
        assert_eq!(PacedPolicy::default().decide(&s), Decision::AddContainer(2));
        assert_eq!(
            PacedPolicy::default().decide(&backlog(9, 99, 50)),
            Decision::AddContainer(18)
        );
    }

    #[test]
    fn concurrent_containers_take_several_waiting_activations_each() {
        let s = Snapshot {
            max_concurrency: 4,
            ..backlog(10, 30, 100)
        };
        assert_eq!(PacedPolicy::default().decide(&s), Decision::AddContainer(8));
    }

    #[test]
    fn a_queue_that_keeps_emptying_adds_nothing() {
        let collision = Snapshot {
            backlog_ms: 200,
            ..backlog(1, 3, 5)
        };
        assert_eq!(PacedPolicy::default().decide(&collision), Decision::Skip);
        let unknown = Snapshot {
            average_duration_ms: None,
            ..backlog(9, 20, 100)
        };
        assert_eq!(PacedPolicy::default().decide(&unknown), Decision::Skip);
    }

    #[test]
    fn topping_up_never_exceeds_the_limit() {
        let limited = Snapshot {
            namespace_limit: 12,
            action_limit: 12,
            ..backlog(9, 90, 100)
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
