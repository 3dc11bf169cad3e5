//! `GET /pool` (stock `TotalContainerPoolState`, vector 80): the busy and paused containers
//! with their action, the stem cells counted by kind, the containers being created. Pure: the
//! body is built from the pool's slots.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::pool::{Pool, Slot, SlotState};

/// The compact JSON body of `GET /pool`.
pub fn render(pool: &Pool) -> String {
    let (mut busy, mut paused) = (Vec::new(), Vec::new());
    let mut prewarm: BTreeMap<String, u64> = BTreeMap::new();
    let mut in_progress = 0u64;
    for (_, slot) in pool.slots() {
        match slot.state {
            SlotState::Busy => busy.push(container(slot)),
            SlotState::Paused => paused.push(container(slot)),
            SlotState::Prewarm | SlotState::PrewarmStarting => {
                *prewarm.entry(slot.kind.clone()).or_default() += 1;
            }
            SlotState::Creating | SlotState::Resuming => in_progress += 1,
            SlotState::Removing => {}
        }
    }
    let prewarm_total: u64 = prewarm.values().sum();
    let total = busy.len() as u64 + paused.len() as u64 + prewarm_total;
    // Keys in the stock writer's (alphabetical) order.
    json!({
        "busyPool": {"containers": busy.clone(), "total": busy.len()},
        "inProgressCount": in_progress,
        "pausedPool": {"containers": paused.clone(), "total": paused.len()},
        "prewarmedPool": {"countsByKind": prewarm, "total": prewarm_total},
        "totalContainers": total,
    })
    .to_string()
}

/// One container: its action's name and namespace (the path before the name), id and kind.
fn container(slot: &Slot) -> Value {
    let doc_id = slot.key.as_ref().map_or("", |k| k.doc_id.as_str());
    let (namespace, action) = doc_id.rsplit_once('/').unwrap_or(("", doc_id));
    json!({
        "action": action,
        "containerId": slot.container_id.as_deref().unwrap_or(""),
        "kind": slot.kind,
        "namespace": namespace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{ActionKey, Admission, Request};

    const V80: &str = include_str!("../../../shared/spec/vectors/80-invoker-http-pool-state.json");

    #[test]
    fn the_body_matches_vector_80() {
        let mut pool = Pool::new(2048);
        for _ in 0..2 {
            let cell = pool.add_prewarm("nodejs:20", 256, 1);
            pool.prewarm_ready(cell);
        }
        let req = Request {
            key: ActionKey {
                invocation_namespace: "guest".into(),
                doc_id: "guest/hello".into(),
                revision: Some("1-a".into()),
            },
            kind: "nodejs:20".into(),
            // Not the stem cells' size, so they stay and a cold container is made.
            memory_mb: 512,
        };
        let Admission::Cold { slot, .. } = pool.admit(&req, 2) else {
            panic!("a cold container");
        };
        pool.set_container(
            slot,
            "3f5c0e9b8a7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c",
        );
        pool.mark_busy(slot, 3);
        let body = render(&pool);
        let expected: Value = serde_json::from_str(V80.trim()).expect("vector 80");
        let got: Value = serde_json::from_str(&body).expect("our body");
        assert_eq!(got, expected);
        assert_eq!(body, V80.trim());
    }
}
