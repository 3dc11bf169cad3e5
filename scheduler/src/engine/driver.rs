//! The decision loop of one queue: every `check-interval`, advance its timers, take a snapshot,
//! ask the provisioning policy, and carry out the result.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ow_compat::coordination::Coordinator;

use super::{Engine, QueueCell, effects, watcher};
use crate::decision::ProvisioningPolicy;
use crate::queue::{Limits, QueueState};
use ow_compat::bus::MessageBus;
use ow_compat::store::Store;

/// How often the namespace limit is read again from the subjects database (the stock identity
/// cache keeps entries five minutes).
const LIMIT_REFRESH: Duration = Duration::from_secs(300);

/// Runs the loop until the queue is removed or the scheduler stops.
pub fn spawn<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: Arc<QueueCell>,
) {
    let engine = Arc::clone(engine);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(engine.config.check_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_limit_refresh = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = engine.shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            if tokio::time::Instant::now() >= next_limit_refresh {
                refresh_limit(&engine, &cell).await;
                next_limit_refresh = tokio::time::Instant::now() + LIMIT_REFRESH;
            }
            if !step(&engine, &cell).await {
                return;
            }
        }
    });
}

/// One tick; false once the queue is gone.
async fn step<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &Arc<QueueCell>,
) -> bool {
    let now = engine.now();
    let counts = watcher::namespace_counts(engine, &cell.key.invocation_namespace);
    let limits = Limits {
        namespace_existing: counts.0,
        namespace_in_progress: counts.1,
        namespace_limit: cell.namespace_limit.load(Ordering::Relaxed),
        action_limit: cell.action.limits.instances.map_or(i64::MAX, i64::from),
        max_concurrency: cell.action.limits.concurrency,
    };
    let (effects, state) = match cell.queue.lock() {
        Ok(mut q) => {
            let mut out = q.tick(now);
            if q.state() != QueueState::Removed {
                let snapshot = q.snapshot(now, limits);
                let decision = engine.policy.decide(&snapshot);
                if decision != crate::decision::Decision::Skip {
                    tracing::debug!(queue = ?cell.key, ?decision, ?snapshot, "provisioning decision");
                }
                out.extend(q.apply(decision, now));
            }
            (out, q.state())
        }
        Err(_) => return false,
    };
    effects::run(engine, cell, effects).await;
    state != QueueState::Removed || engine.registry.get(&cell.key).is_some()
}

async fn refresh_limit<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &QueueCell,
) {
    let ns = &cell.key.invocation_namespace;
    let limit = match engine.store.namespace_limit(ns).await {
        Ok(Some(limit)) => limit,
        Ok(None) => engine.config.namespace_default_limit,
        Err(e) => {
            tracing::debug!(namespace = %ns, error = %e, "namespace limit lookup failed; using the default limit");
            engine.config.namespace_default_limit
        }
    };
    cell.namespace_limit.store(limit, Ordering::Relaxed);
}
