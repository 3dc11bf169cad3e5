//! The stock rule's worked examples (behaviour reference §3.3, taken from the upstream
//! `SchedulingDecisionMakerTests`), plus properties that hold for every snapshot.

use proptest::prelude::*;

use super::*;

fn snap(available: u32, existing: u32, stale: u32, d: Option<f64>, limit: i64) -> Snapshot {
    Snapshot {
        initialized: true,
        available_msgs: available,
        existing,
        in_progress: 0,
        stale,
        namespace_existing: existing,
        namespace_in_progress: 0,
        average_duration_ms: d,
        namespace_limit: limit,
        action_limit: limit,
        max_concurrency: 1,
        state: QueueState::Running,
    }
}

fn decide(s: &Snapshot) -> Decision {
    StockPolicy::default().decide(s)
}

#[test]
fn worked_examples_of_the_stock_rule() {
    use Decision::*;
    let throttle = |add| EnableNamespaceThrottling {
        drop_msgs: false,
        add,
    };
    let cases: Vec<(&str, Snapshot, Decision)> = vec![
        (
            "all stale, short duration",
            snap(6, 1, 6, Some(50.0), 10),
            AddContainer(3),
        ),
        (
            "stale, long duration",
            snap(2, 1, 2, Some(1000.0), 10),
            AddContainer(2),
        ),
        (
            "stale beyond the limits",
            snap(10, 1, 10, Some(1000.0), 4),
            throttle(3),
        ),
        (
            "queued plus incoming",
            snap(6, 1, 0, Some(1000.0), 10),
            AddContainer(5),
        ),
        ("enough containers", snap(4, 5, 0, Some(1000.0), 10), Skip),
        (
            "fresh and stale",
            snap(5, 2, 2, Some(1000.0), 10),
            AddContainer(3),
        ),
        (
            "fresh below throughput",
            snap(5, 2, 2, Some(50.0), 10),
            AddContainer(1),
        ),
        (
            "concurrency 2, exactly enough",
            Snapshot {
                max_concurrency: 2,
                ..snap(4, 2, 0, Some(100.0), 4)
            },
            Skip,
        ),
        (
            "namespace full, empty queue",
            Snapshot {
                existing: 0,
                namespace_existing: 10,
                ..snap(0, 0, 0, None, 10)
            },
            EnableNamespaceThrottling {
                drop_msgs: true,
                add: 0,
            },
        ),
        (
            "no duration, first tick",
            Snapshot {
                initialized: false,
                ..snap(0, 0, 0, None, 10)
            },
            AddInitialContainer,
        ),
        (
            "no duration, one message",
            snap(1, 0, 0, None, 10),
            AddContainer(1),
        ),
        (
            "no duration, stale fan-out",
            snap(5, 1, 5, None, 10),
            AddContainer(5),
        ),
        ("zero limit", snap(1, 0, 0, None, 0), Pausing),
    ];
    for (name, s, expected) in cases {
        assert_eq!(decide(&s), expected, "{name}");
    }
}

#[test]
fn action_limit_binds_before_namespace_limit() {
    let base = Snapshot {
        action_limit: 5,
        namespace_existing: 2,
        max_concurrency: 3,
        ..snap(100, 1, 0, Some(100.0), 10)
    };
    assert_eq!(decide(&base), Decision::AddContainer(4));
    let tight = Snapshot {
        namespace_existing: 7,
        ..base
    };
    assert_eq!(
        decide(&tight),
        Decision::EnableNamespaceThrottling {
            drop_msgs: false,
            add: 3
        }
    );
}

#[test]
fn removing_queue_still_serves_its_stale_backlog() {
    let s = Snapshot {
        state: QueueState::Removing,
        in_progress: 2,
        namespace_in_progress: 2,
        ..snap(4, 1, 4, None, 4)
    };
    assert_eq!(
        decide(&s),
        Decision::EnableNamespaceThrottling {
            drop_msgs: false,
            add: 1
        }
    );
}

#[test]
fn over_provision_allows_one_container_past_the_namespace_limit() {
    let policy = StockPolicy {
        config: DecisionConfig {
            allow_over_provision: true,
            ..DecisionConfig::default()
        },
    };
    let full = Snapshot {
        existing: 0,
        namespace_existing: 10,
        ..snap(1, 0, 0, Some(100.0), 10)
    };
    assert_eq!(policy.decide(&full), Decision::AddContainer(1));
    let throttled = Snapshot {
        state: QueueState::NamespaceThrottled,
        ..full
    };
    assert_eq!(
        policy.decide(&throttled),
        Decision::DisableNamespaceThrottling
    );
}

fn any_state() -> impl Strategy<Value = QueueState> {
    prop_oneof![
        Just(QueueState::Running),
        Just(QueueState::Idle),
        Just(QueueState::Flushing),
        Just(QueueState::Removing),
        Just(QueueState::Removed),
        Just(QueueState::ActionThrottled),
        Just(QueueState::NamespaceThrottled),
    ]
}

prop_compose! {
    fn any_snapshot()(
        initialized in any::<bool>(), available in 0u32..500, existing in 0u32..50, in_progress in 0u32..50,
        stale_frac in 0.0f64..=1.0, others in 0u32..100, d in prop::option::of(0.0f64..5000.0),
        namespace_limit in -2i64..200, action_limit in -2i64..200, c in 1u32..8, state in any_state(),
    ) -> Snapshot {
        Snapshot {
            initialized, available_msgs: available, existing, in_progress,
            stale: (f64::from(available) * stale_frac) as u32,
            namespace_existing: existing + others, namespace_in_progress: in_progress,
            average_duration_ms: d, namespace_limit, action_limit: action_limit.min(namespace_limit),
            max_concurrency: c, state,
        }
    }
}

proptest! {
    #[test]
    fn never_asks_for_more_containers_than_both_limits_allow(s in any_snapshot()) {
        let total = i64::from(s.existing + s.in_progress);
        let ns_room = s.namespace_limit - i64::from(s.namespace_existing + s.namespace_in_progress);
        let room = ns_room.min(s.action_limit - total).max(0);
        let added = match decide(&s) {
            Decision::AddContainer(n) | Decision::EnableNamespaceThrottling { add: n, .. } => i64::from(n),
            Decision::AddInitialContainer => 1,
            _ => 0,
        };
        prop_assert!(added <= room, "added {added} with room {room} for {s:?}");
    }

    #[test]
    fn zero_limit_pauses_unless_flushing(s in any_snapshot()) {
        let d = decide(&s);
        if s.namespace_limit.min(s.action_limit) <= 0 {
            let expected = if s.state == QueueState::Flushing { Decision::Skip } else { Decision::Pausing };
            prop_assert_eq!(d, expected);
        } else {
            prop_assert_ne!(d, Decision::Pausing);
        }
    }
}
