//! Keeping queue ownership true in etcd: a leader key that disappears while its queue lives is
//! claimed again, and after the lease was replaced every key this scheduler owns is written
//! again. A queue whose key another scheduler took in the meantime hands its work over.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ow_compat::coordination::Coordinator;

use super::{Engine, QueueCell, effects};
use crate::queue::QueueState;
use ow_compat::bus::MessageBus;
use ow_compat::store::Store;

/// Claims the leader key of `cell` again; a queue that lost it to another scheduler stops.
pub async fn reclaim<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &Arc<QueueCell>,
) {
    let leaving = cell.queue.lock().map_or(true, |q| {
        matches!(q.state(), QueueState::Removed | QueueState::Removing)
    });
    if engine.draining.load(Ordering::Acquire) || leaving {
        return;
    }
    let key = engine
        .cluster
        .queue_leader(&cell.key.invocation_namespace, &cell.key.doc_id);
    let ours = match engine
        .coord
        .put_if_absent(&key, &engine.endpoints_json)
        .await
    {
        Ok(true) => true,
        Ok(false) => {
            engine.coord.get(&key).await.ok().flatten().as_deref()
                == Some(engine.endpoints_json.as_str())
        }
        Err(e) => {
            tracing::warn!(error = %e, %key, "leader key not reclaimed; retrying with the next change");
            true
        }
    };
    if ours {
        return;
    }
    tracing::warn!(queue = ?cell.key, "another scheduler took over this queue; handing its work over");
    let out = cell
        .queue
        .lock()
        .map(|mut q| q.superseded())
        .unwrap_or_default();
    effects::run(engine, cell, out).await;
}

/// After a new lease: every leader key, in-progress key and the state key are written again.
pub async fn reassert<B: MessageBus, C: Coordinator, S: Store>(engine: &Engine<B, C, S>) {
    for cell in engine.registry.all() {
        reclaim(engine, &cell).await;
    }
    for key in engine.jobs.in_progress_keys() {
        if let Err(e) = engine.coord.put(&key, "").await {
            tracing::warn!(error = %e, %key, "in-progress key not written again");
        }
    }
}
