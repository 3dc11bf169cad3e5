//! The queue's transitions (behaviour reference §2.3–2.7) and the conservation property: every
//! activation is delivered, failed or handed back exactly once.

use std::collections::BTreeMap;

use ow_compat::messages::CreationError;
use proptest::prelude::*;

use super::*;
use crate::decision::Decision;

type Q = ActionQueue<u32>;

fn queue(config: QueueConfig) -> Q {
    ActionQueue::start(config, 0).0
}

/// Limits of a namespace of 30 containers with nothing else running.
fn limits(action_limit: i64) -> Limits {
    Limits {
        namespace_existing: 0,
        namespace_in_progress: 0,
        namespace_limit: 30,
        action_limit,
        max_concurrency: 1,
    }
}

fn fetch(poll: PollId, container: &str, warmed: bool) -> Fetch {
    Fetch {
        poll,
        container_id: container.into(),
        warmed,
        alive: true,
        last_duration_ms: None,
    }
}

#[test]
fn parked_polls_are_served_warmed_first_then_largest_container_id() {
    let mut q = queue(QueueConfig::default());
    assert!(q.fetch(fetch(1, "b", false), 0).is_empty());
    assert!(q.fetch(fetch(2, "a", true), 0).is_empty());
    assert!(q.fetch(fetch(3, "c", true), 0).is_empty());
    assert_eq!(q.enqueue(10, 5), vec![Effect::Deliver { poll: 3, msg: 10 }]);
    assert_eq!(q.enqueue(11, 5), vec![Effect::Deliver { poll: 2, msg: 11 }]);
    assert_eq!(q.enqueue(12, 5), vec![Effect::Deliver { poll: 1, msg: 12 }]);
    assert!(q.enqueue(13, 5).is_empty());
    assert_eq!(
        q.fetch(fetch(4, "a", true), 6),
        vec![Effect::Deliver { poll: 4, msg: 13 }]
    );
}

#[test]
fn a_long_poll_ends_empty_after_one_second() {
    let mut q = queue(QueueConfig::default());
    q.fetch(fetch(1, "a", true), 0);
    assert!(q.tick(999).is_empty());
    assert_eq!(
        q.tick(1000),
        vec![Effect::Answer {
            poll: 1,
            answer: PollAnswer::NoActivation
        }]
    );
}

#[test]
fn the_action_throttle_engages_at_the_retention_size_and_lifts_below_the_fraction() {
    let mut q = queue(QueueConfig {
        max_retention_size: 10,
        ..QueueConfig::default()
    });
    for i in 0..9 {
        assert!(q.enqueue(i, 0).is_empty());
    }
    assert_eq!(
        q.enqueue(9, 0),
        vec![Effect::SetThrottle {
            scope: Throttle::Action,
            on: true
        }]
    );
    assert_eq!(q.state(), QueueState::ActionThrottled);
    assert!(matches!(
        q.enqueue(99, 0).as_slice(),
        [Effect::Fail { msg: 99, .. }]
    ));
    assert_eq!(
        q.fetch(fetch(1, "a", true), 1),
        vec![
            Effect::Deliver { poll: 1, msg: 0 },
            Effect::SetThrottle {
                scope: Throttle::Action,
                on: false
            }
        ]
    );
    assert_eq!(q.state(), QueueState::Running);
}

#[test]
fn an_action_throttle_lifts_when_retention_empties_the_backlog() {
    let cfg = QueueConfig {
        max_retention_size: 4,
        ..QueueConfig::default()
    };
    let mut q = queue(cfg);
    for i in 0..4 {
        q.enqueue(i, 0);
    }
    assert_eq!(q.state(), QueueState::ActionThrottled);
    let out = q.tick(cfg.max_retention_ms);
    assert!(
        out.contains(&Effect::SetThrottle {
            scope: Throttle::Action,
            on: false
        }),
        "{out:?}"
    );
    assert_ne!(q.state(), QueueState::ActionThrottled);
}

#[test]
fn an_action_throttle_set_while_namespace_throttled_is_lifted_too() {
    let cfg = QueueConfig {
        max_retention_size: 2,
        ..QueueConfig::default()
    };
    let mut q = queue(cfg);
    q.container_seen("a", 0);
    q.apply(
        Decision::EnableNamespaceThrottling {
            drop_msgs: false,
            add: 0,
        },
        0,
    );
    q.enqueue(1, 0);
    assert_eq!(
        q.enqueue(2, 0),
        vec![Effect::SetThrottle {
            scope: Throttle::Action,
            on: true
        }]
    );
    assert_eq!(q.state(), QueueState::NamespaceThrottled);
    let mut out = q.fetch(fetch(1, "a", true), 1);
    out.extend(q.tick(2));
    assert!(
        out.contains(&Effect::SetThrottle {
            scope: Throttle::Action,
            on: false
        }),
        "{out:?}"
    );
    assert_eq!(q.state(), QueueState::NamespaceThrottled);
}

#[test]
fn namespace_throttling_drops_the_backlog_and_rejects_until_disabled() {
    let mut q = queue(QueueConfig::default());
    q.enqueue(1, 0);
    let out = q.apply(
        Decision::EnableNamespaceThrottling {
            drop_msgs: true,
            add: 0,
        },
        1,
    );
    assert_eq!(
        out,
        vec![
            Effect::SetThrottle {
                scope: Throttle::Namespace,
                on: true
            },
            Effect::Fail {
                msg: 1,
                reason: THROTTLED.into(),
                kind: FailureKind::Developer
            },
        ]
    );
    assert!(matches!(
        q.enqueue(2, 2).as_slice(),
        [Effect::Fail { msg: 2, .. }]
    ));
    q.container_seen("a", 0);
    assert!(
        q.enqueue(3, 3).is_empty(),
        "with a container, activations wait"
    );
    let out = q.apply(Decision::DisableNamespaceThrottling, 4);
    assert_eq!(
        out,
        vec![Effect::SetThrottle {
            scope: Throttle::Namespace,
            on: false
        }]
    );
    assert_eq!(q.state(), QueueState::Running);
}

#[test]
fn an_unused_queue_idles_then_stops_and_deletes_its_keys() {
    let cfg = QueueConfig::default();
    let mut q = queue(cfg);
    assert!(q.tick(cfg.idle_grace_ms - 1).is_empty());
    q.tick(cfg.idle_grace_ms);
    assert_eq!(q.state(), QueueState::Idle);
    assert_eq!(
        q.fetch(fetch(1, "a", true), cfg.idle_grace_ms + 1),
        vec![Effect::Answer {
            poll: 1,
            answer: PollAnswer::NoActivation
        }]
    );
    let out = q.tick(cfg.idle_grace_ms + cfg.stop_grace_ms + 1);
    assert_eq!(out, vec![Effect::UnregisterKeys, Effect::Removed]);
    assert_eq!(q.enqueue(7, 0), vec![Effect::Forward(vec![7])]);
}

#[test]
fn an_idle_queue_wakes_up_on_an_activation() {
    let cfg = QueueConfig::default();
    let mut q = queue(cfg);
    q.tick(cfg.idle_grace_ms);
    q.enqueue(1, cfg.idle_grace_ms + 1);
    assert_eq!(q.state(), QueueState::Running);
    assert_eq!(q.len(), 1);
}

#[test]
fn a_developer_creation_error_flushes_and_rejects_until_a_container_comes_up() {
    let mut q = queue(QueueConfig::default());
    q.enqueue(1, 0);
    q.creation_started("c1");
    let out = q.creation_finished(
        "c1",
        Err((CreationError::BlackBoxError, "image broken".into())),
        1,
    );
    assert_eq!(
        out,
        vec![Effect::Fail {
            msg: 1,
            reason: "image broken".into(),
            kind: FailureKind::Developer
        }]
    );
    assert_eq!(q.state(), QueueState::Flushing);
    assert!(
        matches!(q.enqueue(2, 2).as_slice(), [Effect::Fail { msg: 2, reason, .. }] if reason == "image broken")
    );
    q.creation_started("c2");
    assert!(q.creation_finished("c2", Ok(()), 3).is_empty());
    assert_eq!(q.state(), QueueState::Running);
}

#[test]
fn a_whisk_creation_error_keeps_activations_until_retention() {
    let cfg = QueueConfig::default();
    let mut q = queue(cfg);
    q.apply(Decision::Pausing, 0);
    assert_eq!(q.state(), QueueState::Flushing);
    assert!(q.enqueue(1, 10).is_empty());
    let out = q.tick(10 + cfg.max_retention_ms);
    assert_eq!(
        out,
        vec![Effect::Fail {
            msg: 1,
            reason: ZERO_LIMIT.into(),
            kind: FailureKind::Whisk
        }]
    );
}

#[test]
fn retention_drops_old_activations_as_whisk_errors() {
    let cfg = QueueConfig::default();
    let mut q = queue(cfg);
    q.enqueue(1, 0);
    q.enqueue(2, 500);
    let out = q.tick(cfg.max_retention_ms);
    let reason = format!(
        "Activation processing is not initiated for {} ms",
        cfg.max_retention_ms
    );
    assert_eq!(
        out,
        vec![Effect::Fail {
            msg: 1,
            reason,
            kind: FailureKind::Whisk
        }]
    );
    assert_eq!(q.len(), 1);
}

#[test]
fn graceful_shutdown_serves_the_backlog_then_stops() {
    let cfg = QueueConfig::default();
    let mut q = queue(cfg);
    q.enqueue(1, 0);
    assert_eq!(q.graceful_shutdown(1), vec![Effect::UnregisterKeys]);
    assert_eq!(q.state(), QueueState::Removing);
    assert!(
        q.tick(1 + cfg.removing_check_ms).is_empty(),
        "backlog still waiting"
    );
    assert_eq!(
        q.fetch(fetch(1, "a", true), 2),
        vec![Effect::Deliver { poll: 1, msg: 1 }]
    );
    let out = q.tick(2 + 2 * cfg.removing_check_ms);
    assert_eq!(out, vec![Effect::UnregisterKeys, Effect::Removed]);
}

#[test]
fn an_outdated_queue_hands_back_its_backlog_and_keeps_the_shared_keys() {
    let mut q = queue(QueueConfig::default());
    q.container_seen("old", 0);
    q.enqueue(1, 0);
    let out = q.outdated(1);
    assert_eq!(
        out,
        vec![
            Effect::Forward(vec![1]),
            Effect::DeleteContainers,
            Effect::Removed
        ]
    );
}

#[test]
fn a_closing_container_ends_its_parked_polls() {
    let mut q = queue(QueueConfig::default());
    q.fetch(fetch(1, "a", true), 0);
    let closing = Fetch {
        alive: false,
        ..fetch(2, "a", true)
    };
    assert_eq!(
        q.fetch(closing, 1),
        vec![
            Effect::Answer {
                poll: 1,
                answer: PollAnswer::NoActivation
            },
            Effect::Answer {
                poll: 2,
                answer: PollAnswer::NoActivation
            },
        ]
    );
}

#[test]
fn quiet_time_counts_from_the_last_fetch_or_hand_over_while_containers_exist() {
    let mut q = queue(QueueConfig::default());
    let limits = limits(30);
    q.enqueue(1, 0);
    assert_eq!(q.snapshot(500, limits).quiet_ms, 0, "no container yet");
    q.container_seen("a", 600);
    assert_eq!(
        q.snapshot(650, limits).quiet_ms,
        50,
        "a new container gets a grace"
    );
    q.fetch(fetch(1, "a", false), 700);
    q.enqueue(2, 710);
    assert_eq!(
        q.snapshot(900, limits).quiet_ms,
        200,
        "busy since its fetch"
    );
    q.fetch(fetch(2, "a", false), 950);
    assert!(q.fetch(fetch(3, "a", false), 1_000).is_empty(), "parked");
    q.enqueue(3, 1_500);
    assert_eq!(
        q.snapshot(1_550, limits).quiet_ms,
        50,
        "handed work from a parked poll"
    );
}

#[test]
fn a_new_container_counts_as_being_created_until_its_first_fetch_or_the_grace() {
    let mut q = queue(QueueConfig::default());
    let limits = limits(30);
    let counts = |q: &Q, now| {
        let s = q.snapshot(now, limits);
        (s.existing, s.in_progress)
    };
    q.creation_started("c1");
    q.creation_started("c2");
    q.container_seen("a", 100);
    q.creation_finished("c1", Ok(()), 100);
    assert_eq!(counts(&q, 150), (0, 2), "a not polling yet");
    q.fetch(fetch(1, "a", false), 200);
    assert_eq!(counts(&q, 250), (1, 1), "a polled");
    q.container_seen("b", 300);
    q.creation_finished("c2", Ok(()), 300);
    assert_eq!(counts(&q, 300 + FIRST_POLL_GRACE_MS - 1), (1, 1));
    assert_eq!(
        counts(&q, 300 + FIRST_POLL_GRACE_MS),
        (2, 0),
        "b never polled: counted as existing after the grace, as stock"
    );
    q.container_seen("c", 400);
    q.container_gone("c");
    assert_eq!(counts(&q, 450), (1, 1), "b still within its grace; c gone");
}

#[test]
fn a_backlog_stands_while_the_queue_never_empties() {
    let mut q = queue(QueueConfig::default());
    let limits = limits(30);
    q.enqueue(1, 0);
    q.tick(100);
    assert_eq!(q.snapshot(100, limits).backlog_ms, 0, "no container yet");
    q.container_seen("a", 100);
    q.tick(200);
    q.enqueue(2, 250);
    q.fetch(fetch(1, "a", false), 300);
    q.tick(500);
    let s = q.snapshot(500, limits);
    assert_eq!(s.backlog_ms, 300, "waiting since the tick at 200");
    assert_eq!(s.backlog_served, 1, "one handed out meanwhile");
    q.fetch(fetch(2, "a", false), 550);
    assert_eq!(q.snapshot(550, limits).backlog_ms, 0, "emptied by a fetch");
    q.enqueue(3, 560);
    q.tick(600);
    assert_eq!(q.snapshot(700, limits).backlog_ms, 100, "a new stretch");
}

#[test]
fn the_snapshot_counts_the_stale_prefix_and_averages_durations() {
    let mut q = queue(QueueConfig::default());
    q.enqueue(1, 0);
    q.enqueue(2, 50);
    q.enqueue(3, 200);
    let limits = limits(100);
    let s = q.snapshot(150, limits);
    assert_eq!((s.available_msgs, s.stale, s.action_limit), (3, 2, 30));
    for (poll, d) in [(1, 100), (2, 300)] {
        q.fetch(
            Fetch {
                last_duration_ms: Some(d),
                ..fetch(poll, "a", true)
            },
            300,
        );
    }
    assert_eq!(q.average_duration_ms(), Some(200.0));
}

#[derive(Debug, Clone)]
enum Op {
    Enqueue,
    Fetch { container: u8, warmed: bool },
    Close { container: u8 },
    Tick { advance: u64 },
    Decide(u8),
    CreationFails { whisk: bool },
    Shutdown,
    Outdated,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Enqueue),
        3 => (0u8..4, any::<bool>()).prop_map(|(container, warmed)| Op::Fetch { container, warmed }),
        1 => (0u8..4).prop_map(|container| Op::Close { container }),
        3 => (0u64..30_000).prop_map(|advance| Op::Tick { advance }),
        2 => (0u8..6).prop_map(Op::Decide),
        1 => any::<bool>().prop_map(|whisk| Op::CreationFails { whisk }),
        1 => Just(Op::Shutdown),
        1 => Just(Op::Outdated),
    ]
}

fn decision(n: u8) -> Decision {
    match n {
        0 => Decision::AddInitialContainer,
        1 => Decision::AddContainer(2),
        2 => Decision::EnableNamespaceThrottling {
            drop_msgs: true,
            add: 0,
        },
        3 => Decision::DisableNamespaceThrottling,
        4 => Decision::Pausing,
        _ => Decision::Skip,
    }
}

proptest! {
    #[test]
    fn every_activation_is_delivered_failed_or_handed_back_exactly_once(ops in prop::collection::vec(op(), 1..200)) {
        let (mut q, _) = ActionQueue::<u32>::start(QueueConfig { max_retention_size: 5, ..QueueConfig::default() }, 0);
        let (mut now, mut next_msg, mut next_poll) = (0u64, 0u32, 0u64);
        let mut seen: BTreeMap<u32, usize> = BTreeMap::new();
        let mut removed = false;
        for o in ops {
            next_poll += 1;
            let effects = match o {
                Op::Enqueue => { next_msg += 1; q.enqueue(next_msg, now) }
                Op::Fetch { container, warmed } => q.fetch(fetch(next_poll, &container.to_string(), warmed), now),
                Op::Close { container } => {
                    q.fetch(Fetch { alive: false, ..fetch(next_poll, &container.to_string(), true) }, now)
                }
                Op::Tick { advance } => { now += advance; q.tick(now) }
                Op::Decide(n) => q.apply(decision(n), now),
                Op::CreationFails { whisk } => {
                    let err = if whisk { CreationError::WhiskError } else { CreationError::DBFetchError };
                    q.creation_finished("c", Err((err, "failed".into())), now)
                }
                Op::Shutdown => q.graceful_shutdown(now),
                Op::Outdated => q.outdated(now),
            };
            for e in effects {
                match e {
                    Effect::Deliver { msg, .. } | Effect::Fail { msg, .. } => *seen.entry(msg).or_default() += 1,
                    Effect::Forward(msgs) => msgs.into_iter().for_each(|m| *seen.entry(m).or_default() += 1),
                    Effect::Removed => removed = true,
                    _ => {}
                }
            }
        }
        prop_assert!(seen.values().all(|n| *n == 1), "an activation was handled twice: {seen:?}");
        prop_assert_eq!(seen.len() + q.len(), next_msg as usize, "activations lost");
        if removed {
            prop_assert_eq!(q.state(), QueueState::Removed);
        }
    }
}
