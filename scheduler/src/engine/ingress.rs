//! Activation intake (the stock QueueManager): decode, drop warm-ups and stale records, find or
//! create the queue, elect its leader, and forward to the leader when another scheduler owns it.
//!
//! Forwarding between schedulers of this project goes through Kafka: the activation is produced
//! to the leader's own `scheduler<sid>` topic, found by matching the leader key's endpoints with
//! `<cluster>/scheduler/*`. An activation is forwarded at most `MAX_FORWARDS` times by one
//! scheduler; after that it fails with the stock "failed to get the queue endpoint" reason, so a
//! stale leader key can never make an activation circle forever.

use std::collections::HashMap;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};

use ow_compat::Codec;
use ow_compat::coordination::Coordinator;
use ow_compat::messages::ActivationMessage;
use ow_compat::values::{DocRevision, SchedulerStates};
use tokio::sync::mpsc;

use super::{Engine, QueueCell, QueueKey, acks, driver, effects};
use crate::metrics::Metrics;
use crate::queue::{ActionQueue, FailureKind};
use ow_compat::bus::MessageBus;
use ow_compat::store::Store;

const MAX_FORWARDS: u8 = 3;
const TOO_OLD: &str = "The activation has not been processed: too old activation is arrived.";
const NO_ENDPOINT: &str =
    "The activation has not been processed: failed to get the queue endpoint.";

/// Activations waiting for their queue to be created, by queue key.
type Pending = Arc<Mutex<HashMap<QueueKey, Vec<Arc<ActivationMessage>>>>>;

/// Starts consuming `scheduler<sid>` and the re-route channel.
pub async fn start<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    mut reroute: mpsc::UnboundedReceiver<Arc<ActivationMessage>>,
) -> anyhow::Result<()> {
    let topic = engine.topic(&format!("scheduler{}", engine.config.instance.as_string));
    let configs = [
        ("retention.ms", "86400000"),
        ("max.message.bytes", "1054644"),
    ];
    engine.bus.ensure_topic(&topic, &configs).await?;
    let mut rx = engine.bus.subscribe(&topic, engine.shutdown.clone())?;
    let pending: Pending = Arc::default();
    let engine = Arc::clone(engine);
    tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                Some(record) = rx.recv() => match ActivationMessage::decode(&record.payload) {
                    Ok(m) => { Metrics::inc(&engine.metrics.activations_received); Arc::new(m) }
                    Err(e) => {
                        Metrics::inc(&engine.metrics.activations_malformed);
                        tracing::warn!(topic = %record.topic, offset = record.offset, error = %e, "malformed activation skipped");
                        continue;
                    }
                },
                Some(m) = reroute.recv() => m,
                else => return,
            };
            admit(&engine, &pending, msg).await;
        }
    });
    Ok(())
}

/// Routes one activation.
async fn admit<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    pending: &Pending,
    msg: Arc<ActivationMessage>,
) {
    if msg.action.is_warm_up() {
        return;
    }
    let age = super::Shared::<B, C, S>::epoch_millis() - msg.transid.start_millis;
    if age > i64::try_from(engine.config.max_scheduling_time.as_millis()).unwrap_or(i64::MAX) {
        acks::complete_with_error(engine, msg, None, TOO_OLD, FailureKind::Whisk).await;
        return;
    }
    let key = QueueKey::of(&msg);
    if let Some(cell) = engine.registry.get(&key) {
        enqueue(engine, &cell, msg).await;
        return;
    }
    if let Some(current) = engine.registry.other_revision(&key)
        && generation(&key.revision) < generation(&current.key.revision)
    {
        // Older revisions are served by the current queue, as stock.
        let mut upgraded = (*msg).clone();
        upgraded.revision = DocRevision::new(current.key.rev().unwrap_or_default());
        enqueue(engine, &current, Arc::new(upgraded)).await;
        return;
    }
    let first_for_key = match pending.lock() {
        Ok(mut p) => {
            let waiting = p.entry(key.clone()).or_default();
            waiting.push(Arc::clone(&msg));
            waiting.len() == 1
        }
        Err(_) => false,
    };
    if first_for_key {
        let (engine, pending) = (Arc::clone(engine), Arc::clone(pending));
        tokio::spawn(async move { open_queue(&engine, &pending, key, msg).await });
    }
}

fn generation(revision: &str) -> u64 {
    DocRevision::new(revision).generation().unwrap_or(0)
}

async fn enqueue<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &Arc<QueueCell>,
    msg: Arc<ActivationMessage>,
) {
    let now = engine.now();
    let out = cell
        .queue
        .lock()
        .map(|mut q| q.enqueue(msg, now))
        .unwrap_or_default();
    effects::run(engine, cell, out).await;
}

/// Elects this scheduler leader of the queue (or finds the leader), then creates the queue or
/// forwards everything that waited for it.
async fn open_queue<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    pending: &Pending,
    key: QueueKey,
    first: Arc<ActivationMessage>,
) {
    let leader_key = engine
        .cluster
        .queue_leader(&key.invocation_namespace, &key.doc_id);
    let ours = if engine.registry.other_revision(&key).is_some() {
        true // a newer revision of a queue this scheduler already leads: no new election
    } else {
        match engine
            .coord
            .put_if_absent(&leader_key, &engine.endpoints_json)
            .await
        {
            Ok(true) => true,
            Ok(false) => {
                engine
                    .coord
                    .get(&leader_key)
                    .await
                    .ok()
                    .flatten()
                    .as_deref()
                    == Some(engine.endpoints_json.as_str())
            }
            Err(e) => {
                tracing::error!(error = %e, "leader election failed");
                false
            }
        }
    };
    let take_waiting = || {
        pending
            .lock()
            .ok()
            .and_then(|mut p| p.remove(&key))
            .unwrap_or_default()
    };
    if !ours {
        for msg in take_waiting() {
            forward(engine, &leader_key, msg).await;
        }
        return;
    }
    // The queue is registered before the waiting activations are taken, so an activation that
    // arrives meanwhile finds either the queue or the pending list, never neither.
    let created = create_queue(engine, &key, &first).await;
    let waiting = take_waiting();
    match created {
        Some(cell) => {
            for msg in waiting {
                enqueue(engine, &cell, msg).await;
            }
        }
        None => {
            let reason = format!(
                "non-executable action: {} with rev: {} reached queueManager",
                first.action, key.revision
            );
            for msg in waiting {
                acks::complete_with_error(engine, msg, None, &reason, FailureKind::Whisk).await;
            }
        }
    }
}

/// Reads the action and starts its queue; an older revision's queue is told it is outdated.
async fn create_queue<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    key: &QueueKey,
    msg: &ActivationMessage,
) -> Option<Arc<QueueCell>> {
    let action = match engine.store.action(&key.doc_id, key.rev()).await {
        Ok(a) if a.is_executable() => a,
        Ok(_) => return None,
        Err(e) => {
            tracing::warn!(queue = ?key, error = %e, "action not readable");
            return None;
        }
    };
    let mut meta = action.metadata();
    meta.binding = msg.action.binding.clone();
    let mut config = engine.config.queue;
    if meta.exec.is_blackbox() {
        config.max_retention_ms =
            u64::try_from(engine.config.blackbox_retention.as_millis()).unwrap_or(u64::MAX);
    }
    let (queue, start_effects) = ActionQueue::start(config, engine.now());
    let cell = Arc::new(QueueCell {
        key: key.clone(),
        fqn: msg.action.clone(),
        action: meta,
        queue: Mutex::new(queue),
        namespace_limit: AtomicI64::new(engine.config.namespace_default_limit),
    });
    let previous = engine.registry.other_revision(key);
    engine.registry.insert(Arc::clone(&cell));
    effects::run(engine, &cell, start_effects).await;
    if let Some(old) = previous {
        let now = engine.now();
        let out = old
            .queue
            .lock()
            .map(|mut q| q.outdated(now))
            .unwrap_or_default();
        effects::run(engine, &old, out).await;
    }
    driver::spawn(engine, Arc::clone(&cell));
    tracing::info!(queue = ?key, "queue created");
    Some(cell)
}

/// Sends `msg` to the scheduler whose endpoints the leader key holds.
async fn forward<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    leader_key: &str,
    msg: Arc<ActivationMessage>,
) {
    let hops = engine.forwarded.lock().map(|mut f| {
        if f.len() > 100_000 {
            f.clear();
        }
        let n = f.entry(msg.activation_id.to_string()).or_insert(0);
        *n = n.saturating_add(1);
        *n
    });
    let hops = hops.unwrap_or(u8::MAX);
    let target = match (hops, engine.coord.get(leader_key).await) {
        (n, Ok(Some(leader))) if n <= MAX_FORWARDS => leader_topic(engine, &leader).await,
        _ => None,
    };
    match target {
        Some(topic) => {
            Metrics::inc(&engine.metrics.activations_forwarded);
            if let Err(e) = engine.bus.send(&topic, msg.encode()).await {
                tracing::error!(error = %e, "forward to the queue leader failed");
                acks::complete_with_error(engine, msg, None, NO_ENDPOINT, FailureKind::Whisk).await;
            }
        }
        None => acks::complete_with_error(engine, msg, None, NO_ENDPOINT, FailureKind::Whisk).await,
    }
}

/// The `scheduler<sid>` topic of the scheduler publishing `leader` as its endpoints.
async fn leader_topic<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    leader: &str,
) -> Option<String> {
    let states = engine
        .coord
        .list(&engine.cluster.scheduler_prefix())
        .await
        .ok()?;
    let wanted = ow_compat::values::SchedulerEndpoints::decode(leader.as_bytes()).ok()?;
    states.iter().find_map(|(_, v)| {
        let s = SchedulerStates::decode(v.as_bytes()).ok()?;
        (s.endpoints == wanted).then(|| engine.topic(&format!("scheduler{}", s.sid.as_string)))
    })
}
