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
        recent_wait_ms: None,
        backlog_ms: 0,
        backlog_served: 0,
        quiet_ms: 0,
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

/// Every case of the upstream `SchedulingDecisionMakerTests` that pins a decision (38 cases,
/// transcribed as numbers by `../shared/spec/tools/openwhisk-sdm-reference.py`): initialized,
/// available messages, existing, in progress, stale, namespace existing, namespace in progress,
/// average duration, namespace limit, action limit, concurrency, state, over-provision, ratio,
/// expected decision.
#[test]
fn every_pinned_upstream_case() {
    use Decision::*;
    use QueueState::*;
    #[allow(clippy::type_complexity)]
    let cases: Vec<(
        u32,
        bool,
        u32,
        u32,
        u32,
        u32,
        u32,
        u32,
        Option<f64>,
        i64,
        i64,
        u32,
        QueueState,
        bool,
        f64,
        Decision,
    )> = vec![
        (
            1, false, 0, 0, 0, 0, 0, 0, None, 0, 0, 1, Running, false, 1.5, Pausing,
        ),
        (
            2, false, 0, 0, 0, 0, 0, 0, None, 0, 0, 1, Flushing, false, 1.5, Skip,
        ),
        (
            3,
            true,
            0,
            0,
            0,
            0,
            1,
            1,
            None,
            2,
            2,
            1,
            Running,
            false,
            1.5,
            EnableNamespaceThrottling {
                drop_msgs: true,
                add: 0,
            },
        ),
        (
            4,
            true,
            0,
            1,
            1,
            0,
            2,
            2,
            None,
            4,
            4,
            1,
            Running,
            false,
            1.5,
            EnableNamespaceThrottling {
                drop_msgs: false,
                add: 0,
            },
        ),
        (
            5,
            false,
            0,
            0,
            0,
            0,
            1,
            1,
            None,
            2,
            2,
            1,
            Running,
            true,
            1.5,
            AddInitialContainer,
        ),
        (
            6,
            true,
            0,
            0,
            0,
            0,
            1,
            1,
            None,
            2,
            2,
            1,
            Running,
            true,
            1.0,
            EnableNamespaceThrottling {
                drop_msgs: true,
                add: 0,
            },
        ),
        (
            7,
            true,
            0,
            1,
            0,
            0,
            1,
            1,
            None,
            2,
            2,
            1,
            NamespaceThrottled,
            true,
            1.1,
            DisableNamespaceThrottling,
        ),
        (
            8,
            true,
            0,
            1,
            0,
            0,
            1,
            1,
            None,
            2,
            2,
            1,
            Running,
            true,
            1.0,
            EnableNamespaceThrottling {
                drop_msgs: false,
                add: 0,
            },
        ),
        (
            9, true, 0, 1, 1, 0, 2, 2, None, 4, 4, 1, Running, true, 1.5, Skip,
        ),
        (
            10,
            false,
            0,
            0,
            0,
            0,
            1,
            1,
            None,
            4,
            4,
            1,
            Running,
            false,
            1.5,
            AddInitialContainer,
        ),
        (
            11,
            false,
            1,
            0,
            0,
            0,
            1,
            1,
            None,
            4,
            4,
            1,
            NamespaceThrottled,
            false,
            1.5,
            DisableNamespaceThrottling,
        ),
        (
            12,
            false,
            0,
            1,
            1,
            0,
            1,
            1,
            None,
            4,
            4,
            1,
            NamespaceThrottled,
            false,
            1.5,
            DisableNamespaceThrottling,
        ),
        (
            13,
            true,
            1,
            0,
            0,
            0,
            1,
            1,
            None,
            4,
            4,
            1,
            Running,
            false,
            1.5,
            AddContainer(1),
        ),
        (
            14, true, 0, 0, 0, 0, 1, 1, None, 4, 4, 1, Running, false, 1.5, Skip,
        ),
        (
            15,
            true,
            0,
            0,
            0,
            0,
            1,
            1,
            None,
            4,
            4,
            1,
            Flushing,
            false,
            1.5,
            AddInitialContainer,
        ),
        (
            16,
            true,
            0,
            0,
            0,
            0,
            1,
            1,
            None,
            4,
            4,
            1,
            Flushing,
            false,
            1.5,
            AddInitialContainer,
        ),
        (
            17,
            true,
            2,
            1,
            0,
            2,
            1,
            1,
            None,
            4,
            4,
            1,
            Running,
            false,
            1.5,
            AddContainer(2),
        ),
        (
            18,
            true,
            2,
            1,
            1,
            2,
            1,
            1,
            None,
            4,
            4,
            1,
            Running,
            false,
            1.5,
            AddContainer(1),
        ),
        (
            19,
            true,
            6,
            1,
            1,
            6,
            1,
            1,
            None,
            4,
            4,
            1,
            Running,
            false,
            1.5,
            EnableNamespaceThrottling {
                drop_msgs: false,
                add: 2,
            },
        ),
        (
            20, true, 2, 1, 6, 2, 1, 6, None, 10, 10, 1, Running, false, 1.5, Skip,
        ),
        (
            21,
            true,
            6,
            1,
            0,
            6,
            1,
            0,
            Some(50.0),
            10,
            10,
            1,
            Running,
            false,
            1.5,
            AddContainer(3),
        ),
        (
            22,
            true,
            2,
            1,
            0,
            2,
            1,
            0,
            Some(1000.0),
            10,
            10,
            1,
            Running,
            false,
            1.5,
            AddContainer(2),
        ),
        (
            23,
            true,
            10,
            1,
            0,
            10,
            1,
            0,
            Some(1000.0),
            4,
            4,
            1,
            Running,
            false,
            1.5,
            EnableNamespaceThrottling {
                drop_msgs: false,
                add: 3,
            },
        ),
        (
            24,
            true,
            6,
            1,
            0,
            0,
            1,
            0,
            Some(1000.0),
            10,
            10,
            1,
            Running,
            false,
            1.5,
            AddContainer(5),
        ),
        (
            25,
            true,
            6,
            1,
            0,
            0,
            1,
            0,
            Some(1000.0),
            4,
            4,
            1,
            Running,
            false,
            1.5,
            EnableNamespaceThrottling {
                drop_msgs: false,
                add: 3,
            },
        ),
        (
            26,
            true,
            4,
            5,
            0,
            0,
            5,
            0,
            Some(1000.0),
            10,
            10,
            1,
            Running,
            false,
            1.5,
            Skip,
        ),
        (
            27,
            true,
            4,
            0,
            0,
            0,
            0,
            0,
            None,
            10,
            10,
            1,
            Running,
            false,
            1.5,
            AddContainer(1),
        ),
        (
            28,
            true,
            4,
            1,
            1,
            4,
            1,
            1,
            Some(1000.0),
            10,
            10,
            1,
            Removing,
            false,
            1.5,
            AddContainer(3),
        ),
        (
            29,
            true,
            4,
            1,
            2,
            4,
            1,
            2,
            None,
            10,
            10,
            1,
            Removing,
            false,
            1.5,
            AddContainer(2),
        ),
        (
            30,
            true,
            5,
            2,
            0,
            2,
            2,
            0,
            Some(1000.0),
            10,
            10,
            1,
            Running,
            false,
            1.5,
            AddContainer(3),
        ),
        (
            31,
            true,
            5,
            2,
            0,
            2,
            2,
            0,
            Some(50.0),
            10,
            10,
            1,
            Running,
            false,
            1.5,
            AddContainer(1),
        ),
        (
            32,
            true,
            4,
            1,
            2,
            4,
            1,
            2,
            None,
            4,
            4,
            1,
            Removing,
            false,
            1.5,
            EnableNamespaceThrottling {
                drop_msgs: false,
                add: 1,
            },
        ),
        (
            33,
            true,
            4,
            2,
            0,
            0,
            2,
            0,
            Some(100.0),
            4,
            4,
            2,
            Running,
            false,
            1.5,
            Skip,
        ),
        (
            34,
            true,
            20,
            2,
            0,
            0,
            2,
            0,
            Some(50.0),
            10,
            10,
            3,
            Running,
            false,
            1.5,
            AddContainer(2),
        ),
        (
            35,
            true,
            30,
            2,
            0,
            10,
            2,
            0,
            Some(50.0),
            10,
            10,
            3,
            Running,
            false,
            1.5,
            AddContainer(4),
        ),
        (
            36,
            true,
            10,
            1,
            0,
            10,
            2,
            0,
            None,
            10,
            10,
            3,
            Running,
            false,
            1.5,
            AddContainer(4),
        ),
        (
            37,
            true,
            100,
            1,
            0,
            0,
            2,
            0,
            Some(100.0),
            10,
            5,
            3,
            Running,
            false,
            1.5,
            AddContainer(4),
        ),
        (
            38,
            true,
            100,
            1,
            0,
            0,
            7,
            0,
            Some(100.0),
            10,
            5,
            3,
            Running,
            false,
            1.5,
            EnableNamespaceThrottling {
                drop_msgs: false,
                add: 3,
            },
        ),
    ];
    for (n, init, avail, e, p, s, ns_e, ns_p, d, l_ns, l_a, c, state, ovp, ratio, expected) in cases
    {
        let snapshot = Snapshot {
            initialized: init,
            available_msgs: avail,
            existing: e,
            in_progress: p,
            stale: s,
            namespace_existing: ns_e,
            namespace_in_progress: ns_p,
            average_duration_ms: d,
            namespace_limit: l_ns,
            action_limit: l_a,
            max_concurrency: c,
            state,
            recent_wait_ms: None,
            backlog_ms: 0,
            backlog_served: 0,
            quiet_ms: 0,
        };
        let config = DecisionConfig {
            allow_over_provision: ovp,
            over_provision_ratio: ratio,
            ..DecisionConfig::default()
        };
        assert_eq!(
            StockPolicy { config }.decide(&snapshot),
            expected,
            "upstream case {n}: {snapshot:?}"
        );
    }
}

/// Containers a decision asks for.
fn added(d: Decision) -> u32 {
    match d {
        Decision::AddContainer(n) | Decision::EnableNamespaceThrottling { add: n, .. } => n,
        Decision::AddInitialContainer => 1,
        _ => 0,
    }
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
        quiet_ms in 0u64..300, recent_wait_ms in prop::option::of(0.0f64..500.0), backlog_ms in 0u64..1000,
        backlog_served in 0u32..200,
    ) -> Snapshot {
        Snapshot {
            initialized, available_msgs: available, existing, in_progress,
            stale: (f64::from(available) * stale_frac) as u32,
            namespace_existing: existing + others, namespace_in_progress: in_progress,
            average_duration_ms: d, namespace_limit, action_limit: action_limit.min(namespace_limit),
            max_concurrency: c, state, quiet_ms, recent_wait_ms, backlog_ms, backlog_served,
        }
    }
}

proptest! {
    #[test]
    fn never_asks_for_more_containers_than_both_limits_allow(s in any_snapshot()) {
        let total = i64::from(s.existing + s.in_progress);
        let ns_room = s.namespace_limit - i64::from(s.namespace_existing + s.namespace_in_progress);
        let room = ns_room.min(s.action_limit - total).max(0);
        for decision in [decide(&s), PacedPolicy::default().decide(&s)] {
            let added = i64::from(added(decision));
            prop_assert!(added <= room, "added {added} with room {room} for {s:?}");
        }
    }

    #[test]
    fn paced_holds_back_while_blind_and_tops_up_only_a_standing_queue(s in any_snapshot()) {
        let stock = decide(&s);
        let paced = PacedPolicy::default().decide(&s);
        let throttle = |d: Decision| match d {
            Decision::EnableNamespaceThrottling { drop_msgs, .. } => Some(drop_msgs),
            _ => None,
        };
        prop_assert_eq!(throttle(paced), throttle(stock), "throttling unchanged for {:?}", s);
        match s.average_duration_ms {
            Some(d) if d >= 100.0 => prop_assert_eq!(paced, stock, "long actions are stock's for {:?}", s),
            Some(_) if s.backlog_ms >= 300 => prop_assert!(
                added(paced) <= added(stock).max(s.available_msgs),
                "paced {paced:?} adds at most the queued activations for {s:?}"
            ),
            _ => prop_assert!(added(paced) <= added(stock), "paced {paced:?} vs stock {stock:?} for {s:?}"),
        }
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
