//! Carrying out what a queue decided: answer fetches, complete activations, write throttle
//! keys, ask for containers, re-route, clean up.

use std::sync::Arc;

use ow_compat::coordination::Coordinator;
use ow_compat::messages::ActivationMessage;

use super::{Engine, PollOutcome, QueueCell, acks, containers, deletions};
use crate::metrics::Metrics;
use crate::queue::{Effect, Throttle};
use ow_compat::bus::MessageBus;
use ow_compat::store::Store;

/// Runs `effects` of `cell`'s queue in order.
pub async fn run<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &Arc<QueueCell>,
    effects: Vec<Effect<Arc<ActivationMessage>>>,
) {
    for effect in effects {
        match effect {
            Effect::Deliver { poll, msg } => deliver(engine, cell, poll, msg),
            Effect::Answer { poll, answer } => {
                engine.registry.complete(poll, PollOutcome::Empty(answer));
            }
            Effect::Fail { msg, reason, kind } => {
                let engine = Arc::clone(engine);
                let cell = Arc::clone(cell);
                tokio::spawn(async move {
                    acks::complete_with_error(&engine, msg, Some(&cell.action), &reason, kind)
                        .await;
                });
            }
            Effect::InitThrottleKeys => init_throttles(engine, cell).await,
            Effect::SetThrottle { scope, on } => set_throttle(engine, cell, scope, on).await,
            Effect::CreateContainers { count } => containers::create(engine, cell, count).await,
            Effect::Forward(msgs) => {
                for m in msgs {
                    let _ = engine.reroute.send(m);
                }
            }
            Effect::UnregisterKeys => unregister(engine, cell).await,
            Effect::DeleteContainers => deletions::delete_revision(engine, cell).await,
            Effect::Removed => {
                engine.registry.remove(&cell.key);
                tracing::info!(queue = ?cell.key, "queue removed");
            }
        }
    }
}

/// Hands an activation to a waiting fetch; if that fetch is gone, the activation goes back to
/// the queue rather than being lost.
fn deliver<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &Arc<QueueCell>,
    poll: u64,
    msg: Arc<ActivationMessage>,
) {
    if engine
        .registry
        .complete(poll, PollOutcome::Activation(Arc::clone(&msg)))
    {
        Metrics::inc(&engine.metrics.activations_delivered);
        let waited = super::Shared::<B, C, S>::epoch_millis() - msg.transid.start_millis;
        engine
            .metrics
            .observe_activation_wait(u64::try_from(waited).unwrap_or(0));
        return;
    }
    let now = engine.now();
    let again = cell
        .queue
        .lock()
        .map(|mut q| q.enqueue(msg, now))
        .unwrap_or_default();
    if !again.is_empty() {
        let engine = Arc::clone(engine);
        let cell = Arc::clone(cell);
        tokio::spawn(async move { Box::pin(run(&engine, &cell, again)).await });
    }
}

async fn init_throttles<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &QueueCell,
) {
    let ns = &cell.key.invocation_namespace;
    let ns_key = engine.cluster.throttling_namespace(ns);
    let action_key = engine.cluster.throttling_action(ns, &cell.key.doc_id);
    if let Err(e) = engine.coord.put_if_absent(&ns_key, "false").await {
        tracing::warn!(error = %e, "namespace throttle key not initialised");
    }
    if let Err(e) = engine.coord.put(&action_key, "false").await {
        tracing::warn!(error = %e, "action throttle key not initialised");
    }
}

async fn set_throttle<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &QueueCell,
    scope: Throttle,
    on: bool,
) {
    let ns = &cell.key.invocation_namespace;
    let key = match scope {
        Throttle::Namespace => engine.cluster.throttling_namespace(ns),
        Throttle::Action => engine.cluster.throttling_action(ns, &cell.key.doc_id),
    };
    tracing::info!(queue = ?cell.key, ?scope, on, "throttle changed");
    if let Err(e) = engine
        .coord
        .put(&key, if on { "true" } else { "false" })
        .await
    {
        tracing::warn!(error = %e, %key, "throttle key not written");
    }
}

/// Deletes the leader key and both throttle keys of a queue that is going away.
async fn unregister<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &QueueCell,
) {
    let ns = &cell.key.invocation_namespace;
    let keys = [
        engine.cluster.queue_leader(ns, &cell.key.doc_id),
        engine.cluster.throttling_namespace(ns),
        engine.cluster.throttling_action(ns, &cell.key.doc_id),
    ];
    for key in keys {
        if let Err(e) = engine.coord.delete(&key).await {
            tracing::warn!(error = %e, %key, "queue key not deleted");
        }
    }
}
