use proptest::prelude::*;

use super::*;

fn key(name: &str, rev: &str) -> ActionKey {
    ActionKey {
        invocation_namespace: "guest".into(),
        doc_id: format!("guest/{name}"),
        revision: Some(rev.into()),
    }
}

fn req(name: &str, rev: &str, memory_mb: u64) -> Request {
    Request {
        key: key(name, rev),
        kind: "python:3.10".into(),
        memory_mb,
    }
}

/// A busy container of `name` created at `now`.
fn busy(pool: &mut Pool, name: &str, memory_mb: u64, now: u64) -> SlotId {
    let Admission::Cold { slot, .. } = pool.admit(&req(name, "1-a", memory_mb), now) else {
        panic!("cold start expected");
    };
    pool.mark_busy(slot, now);
    slot
}

fn paused(pool: &mut Pool, name: &str, memory_mb: u64, now: u64) -> SlotId {
    let slot = busy(pool, name, memory_mb, now);
    assert!(pool.mark_paused(slot));
    slot
}

#[test]
fn a_paused_container_of_the_same_revision_is_resumed_first() {
    let mut pool = Pool::new(1024);
    let old = busy(&mut pool, "a", 256, 10);
    let newer = busy(&mut pool, "a", 256, 20);
    let _other = paused(&mut pool, "b", 256, 30);
    assert!(pool.mark_paused(old) && pool.mark_paused(newer));
    assert_eq!(
        pool.admit(&req("a", "1-a", 256), 40),
        Admission::Resume(newer)
    );
    assert_eq!(pool.slot(newer).map(|s| s.state), Some(SlotState::Resuming));
    assert_eq!(
        pool.admit(&req("a", "1-a", 256), 41),
        Admission::Resume(old)
    );
    // Another revision never takes a paused container of the old one.
    assert!(matches!(
        pool.admit(&req("a", "2-b", 256), 42),
        Admission::Cold { .. }
    ));
}

#[test]
fn a_prewarm_of_the_same_kind_and_memory_comes_before_a_cold_start() {
    let mut pool = Pool::new(1024);
    let small = pool.add_prewarm("python:3.10", 128, 0);
    let fit = pool.add_prewarm("python:3.10", 256, 0);
    let other_kind = pool.add_prewarm("nodejs:20", 256, 0);
    for id in [small, fit, other_kind] {
        pool.prewarm_ready(id);
    }
    let got = pool.admit(&req("a", "1-a", 256), 5);
    assert_eq!(
        got,
        Admission::Prewarm {
            slot: fit,
            evict: vec![]
        }
    );
    assert_eq!(
        pool.slot(fit).and_then(|s| s.key.clone()),
        Some(key("a", "1-a"))
    );
    // The last python stem cell has the wrong size: cold.
    assert!(matches!(
        pool.admit(&req("b", "1-a", 256), 6),
        Admission::Cold { .. }
    ));
}

#[test]
fn memory_counts_busy_and_in_progress_but_not_paused_or_stem_cells() {
    let mut pool = Pool::new(2048);
    busy(&mut pool, "a", 256, 1);
    paused(&mut pool, "b", 512, 2);
    let _creating = pool.admit(&req("c", "1-a", 128), 3);
    let stem = pool.add_prewarm("python:3.10", 256, 4);
    pool.prewarm_ready(stem);
    assert_eq!(
        pool.memory(),
        Memory {
            free: 2048 - 256 - 128,
            busy: 256,
            in_progress: 128
        }
    );
    assert_eq!(
        pool.counts(),
        Counts {
            busy: 1,
            paused: 1,
            in_progress: 1,
            prewarm: 1
        }
    );
}

#[test]
fn the_oldest_paused_containers_are_evicted_to_make_room() {
    let mut pool = Pool::new(1024);
    let oldest = paused(&mut pool, "a", 256, 1);
    let middle = paused(&mut pool, "b", 256, 2);
    let _newest = paused(&mut pool, "c", 256, 3);
    busy(&mut pool, "d", 256, 4);
    let got = pool.admit(&req("e", "1-a", 512), 5);
    let Admission::Cold { evict, .. } = got else {
        panic!("cold expected, got {got:?}")
    };
    assert_eq!(evict, vec![oldest, middle]);
    assert_eq!(
        pool.slot(oldest).map(|s| s.state),
        Some(SlotState::Removing)
    );
}

#[test]
fn not_enough_memory_when_busy_containers_fill_the_pool() {
    let mut pool = Pool::new(512);
    busy(&mut pool, "a", 256, 1);
    busy(&mut pool, "b", 256, 2);
    assert_eq!(pool.admit(&req("c", "1-a", 128), 3), Admission::NotEnough);
    // Nothing was reserved by the refusal.
    assert_eq!(pool.memory().free, 0);
}

#[test]
fn a_claimed_container_cannot_be_retired_and_a_retired_one_cannot_be_claimed() {
    let mut pool = Pool::new(1024);
    let a = paused(&mut pool, "a", 256, 1);
    assert_eq!(pool.admit(&req("a", "1-a", 256), 2), Admission::Resume(a));
    assert!(
        !pool.retire(a),
        "the idle timer lost the race to the creation"
    );
    pool.mark_busy(a, 3);
    assert!(pool.mark_paused(a));
    assert!(pool.retire(a));
    assert!(matches!(
        pool.admit(&req("a", "1-a", 256), 4),
        Admission::Cold { .. }
    ));
}

#[test]
fn a_deletion_takes_this_and_older_revisions_of_the_action_only() {
    let mut pool = Pool::new(4096);
    let old = busy(&mut pool, "a", 256, 1);
    let Admission::Cold { slot: current, .. } = pool.admit(&req("a", "2-b", 256), 2) else {
        panic!()
    };
    pool.mark_busy(current, 2);
    let Admission::Cold { slot: newer, .. } = pool.admit(&req("a", "3-c", 256), 3) else {
        panic!()
    };
    let other = busy(&mut pool, "b", 256, 4);
    let hit = pool.outdated("guest", "guest/a", 2);
    assert_eq!(hit, vec![old, current]);
    for id in [newer, other] {
        assert_ne!(pool.slot(id).map(|s| s.state), Some(SlotState::Removing));
    }
}

#[test]
fn revision_generations() {
    assert_eq!(revision_generation(Some("12-abc")), 12);
    assert_eq!(revision_generation(None), 0);
    assert_eq!(revision_generation(Some("garbage")), 0);
}

#[derive(Debug, Clone)]
enum Op {
    Admit { action: u8, memory: u64 },
    Busy(usize),
    Pause(usize),
    Retire(usize),
    Remove(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..4, prop::sample::select(vec![128u64, 256, 512]))
            .prop_map(|(action, memory)| { Op::Admit { action, memory } }),
        (0usize..16).prop_map(Op::Busy),
        (0usize..16).prop_map(Op::Pause),
        (0usize..16).prop_map(Op::Retire),
        (0usize..16).prop_map(Op::Remove),
    ]
}

proptest! {
    /// Whatever happens, the containers in the budget never hold more than the user memory, and
    /// the reported free memory is never below zero.
    #[test]
    fn the_budget_is_never_overcommitted(ops in prop::collection::vec(op(), 1..80)) {
        let mut pool = Pool::new(1024);
        let mut ids: Vec<SlotId> = Vec::new();
        for (now, op) in (1u64..).zip(ops) {
            let pick = |i: usize| ids.get(i % ids.len().max(1)).copied();
            match op {
                Op::Admit { action, memory } => {
                    match pool.admit(&req(&format!("a{action}"), "1-a", memory), now) {
                        Admission::Cold { slot, evict } | Admission::Prewarm { slot, evict } => {
                            for e in evict { pool.remove(e); }
                            ids.push(slot);
                        }
                        Admission::Resume(slot) => ids.push(slot),
                        Admission::NotEnough => {}
                    }
                }
                Op::Busy(i) => if let Some(id) = pick(i) { pool.mark_busy(id, now) },
                Op::Pause(i) => if let Some(id) = pick(i) { pool.mark_paused(id); },
                Op::Retire(i) => if let Some(id) = pick(i) { pool.retire(id); },
                Op::Remove(i) => {
                    if let Some(id) = pick(i)
                        && pool.slot(id).is_some_and(|s| s.state == SlotState::Removing)
                    {
                        pool.remove(id);
                    }
                }
            }
            let held: u64 = pool.slots().filter(|(_, s)| matches!(
                s.state,
                SlotState::Busy | SlotState::Paused | SlotState::Creating | SlotState::Resuming
            )).map(|(_, s)| s.memory_mb).sum();
            prop_assert!(held <= 1024, "held {held} MB");
            prop_assert!(pool.memory().free >= 0);
        }
    }
}
