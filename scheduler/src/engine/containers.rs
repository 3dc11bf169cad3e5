//! Container creation (the stock ContainerManager and CreationJobManager): placement, warm
//! preference, in-progress keys, creation messages, acks, retries with back-off, timeouts, and
//! deletion messages for outdated revisions.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ow_compat::Codec;
use ow_compat::coordination::Coordinator;
use ow_compat::etcd_keys::{ContainerKind, EtcdKey};
use ow_compat::messages::{ContainerCreationAckMessage, ContainerCreationMessage, CreationError};
use ow_compat::values::{CreationId, DocRevision, TransactionId};

use super::{Engine, QueueCell, QueueKey, effects, ids};
use crate::metrics::Metrics;
use crate::placement::{self, CreationRequest, InvokerCandidate, XorShift};
use ow_compat::bus::MessageBus;
use ow_compat::store::Store;

/// Creation retries allowed for reschedulable errors, as stock.
const MAX_RETRIES: u32 = 5;

/// A creation in flight.
#[derive(Debug, Clone)]
struct Job {
    queue: QueueKey,
    message: ContainerCreationMessage,
    in_progress_key: String,
    /// The paused container reserved for this creation, released when the job ends.
    warm_key: Option<String>,
}

/// Creation jobs by creation id.
#[derive(Debug, Default)]
pub struct Jobs {
    jobs: Mutex<HashMap<String, Job>>,
    /// Warmed keys reserved for a creation, so two creations don't claim the same paused container.
    reserved: Mutex<HashSet<String>>,
}

impl Jobs {
    /// Jobs in flight.
    pub fn len(&self) -> usize {
        self.jobs.lock().map_or(0, |j| j.len())
    }

    /// The in-progress keys of the jobs in flight.
    pub fn in_progress_keys(&self) -> Vec<String> {
        self.jobs
            .lock()
            .map(|j| j.values().map(|job| job.in_progress_key.clone()).collect())
            .unwrap_or_default()
    }

    /// No job in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Starts the ack consumer.
pub async fn start<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
) -> anyhow::Result<()> {
    let topic = engine.topic(&format!("creationAck{}", engine.config.instance.as_string));
    let configs = [
        ("retention.ms", "3600000"),
        ("max.message.bytes", "1054644"),
    ];
    engine.bus.ensure_topic(&topic, &configs).await?;
    let mut rx = engine.bus.subscribe(&topic, engine.shutdown.clone())?;
    let engine = Arc::clone(engine);
    tokio::spawn(async move {
        while let Some(record) = rx.recv().await {
            match ContainerCreationAckMessage::decode(&record.payload) {
                Ok(ack) => on_ack(&engine, ack).await,
                Err(e) => {
                    tracing::warn!(offset = record.offset, error = %e, "creation ack skipped")
                }
            }
        }
    });
    Ok(())
}

fn candidates<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
) -> Vec<InvokerCandidate> {
    let Ok(invokers) = engine.view.invokers.lock() else {
        return Vec::new();
    };
    invokers
        .iter()
        .filter_map(|(key, msg)| match engine.cluster.parse(key) {
            Ok(EtcdKey::Invoker { id, .. }) => Some(InvokerCandidate {
                id: i32::try_from(id).ok()?,
                status: msg.status,
                free_memory_mb: msg.free_memory,
                tags: msg.tags.clone(),
                dedicated_namespaces: msg.dedicated_namespaces.clone(),
            }),
            _ => None,
        })
        .collect()
}

fn request_of(cell: &QueueCell) -> CreationRequest {
    let tags = match cell.action.annotations.get("invoker-resources") {
        Some(ow_compat::json::Value::Array(items)) => items
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    CreationRequest {
        invocation_namespace: cell.key.invocation_namespace.clone(),
        memory_mb: i64::from(cell.action.limits.memory_mb),
        blackbox: cell.action.exec.is_blackbox(),
        required_tags: tags,
        strict_tags: cell
            .action
            .annotations
            .is_truthy("invoker-resources-strict-policy", true),
    }
}

/// Asks for `count` containers for `cell`'s queue.
pub async fn create<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &Arc<QueueCell>,
    count: u32,
) {
    let messages: Vec<ContainerCreationMessage> = (0..count)
        .filter_map(|_| CreationId::parse(&ids::random_hex32()).ok())
        .map(|cid| creation_message(engine, cell, cid, 0))
        .collect();
    let choices = choose(engine, cell, &messages);
    for (message, (invoker, warm_key)) in messages.into_iter().zip(choices) {
        dispatch(engine, cell, message, invoker, warm_key).await;
    }
}

type Choice = (Result<i32, CreationError>, Option<String>);

/// Invokers for a batch: paused containers of this revision first, the rest placed together
/// so that the batch's reservations accumulate.
fn choose<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &QueueCell,
    messages: &[ContainerCreationMessage],
) -> Vec<Choice> {
    let mut out: Vec<Option<Choice>> = Vec::with_capacity(messages.len());
    let mut cold = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        match warm_invoker(engine, cell, m.creation_id.as_str()) {
            Some((id, key)) => out.push(Some((Ok(id), Some(key)))),
            None => {
                out.push(None);
                cold.push(i);
            }
        }
    }
    let seed = messages
        .first()
        .and_then(|m| u64::from_str_radix(&m.creation_id.as_str()[..16], 16).ok());
    let requests = vec![request_of(cell); cold.len()];
    let placed = placement::schedule(
        &candidates(engine),
        &requests,
        engine.config.fractions,
        &mut XorShift::new(seed.unwrap_or(1)),
    );
    for (i, p) in cold.into_iter().zip(placed) {
        out[i] = Some((p, None));
    }
    out.into_iter()
        .map(|c| c.unwrap_or((Err(CreationError::NoAvailableInvokersError), None)))
        .collect()
}

fn creation_message<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &QueueCell,
    creation_id: CreationId,
    retry_count: u32,
) -> ContainerCreationMessage {
    ContainerCreationMessage {
        transid: TransactionId::new(
            "sid_containerCreation",
            super::Shared::<B, C, S>::epoch_millis(),
        ),
        invocation_namespace: cell.key.invocation_namespace.clone(),
        action: cell.fqn.clone(),
        revision: DocRevision::new(cell.key.rev().unwrap_or_default()),
        whisk_action_meta_data: cell.action.clone(),
        root_scheduler_index: engine.config.instance.clone(),
        scheduler_host: engine.config.endpoints.host.clone(),
        rpc_port: engine.config.endpoints.rpc_port,
        retry_count,
        creation_id,
    }
}

/// Picks an invoker (a paused container of this revision first) and sends the message.
async fn place_and_send<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    queue: &QueueKey,
    message: ContainerCreationMessage,
) {
    let Some(cell) = engine.registry.get(queue) else {
        return;
    };
    let choice = choose(engine, &cell, std::slice::from_ref(&message)).pop();
    let (invoker, warm_key) =
        choice.unwrap_or((Err(CreationError::NoAvailableInvokersError), None));
    dispatch(engine, &cell, message, invoker, warm_key).await;
}

/// Sends the creation to its invoker, or fails the job when no invoker could take it.
async fn dispatch<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &Arc<QueueCell>,
    message: ContainerCreationMessage,
    invoker: Result<i32, CreationError>,
    warm_key: Option<String>,
) {
    match invoker {
        Ok(id) => send_creation(engine, cell, message, id, warm_key).await,
        Err(error) => {
            Metrics::inc(&engine.metrics.creation_failures);
            let reason = format!(
                "no invoker can take a container for {}: {}",
                cell.fqn,
                error.name()
            );
            tracing::warn!(queue = ?cell.key, %reason, "container creation not placed");
            finish(
                engine,
                &cell.key,
                message.creation_id.as_str(),
                Err((error, reason)),
            )
            .await;
        }
    }
}

/// An invoker holding an unreserved paused container of this exact revision, if healthy.
fn warm_invoker<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &QueueCell,
    cid: &str,
) -> Option<(i32, String)> {
    let prefix = engine.cluster.container_prefix_for_action(
        ContainerKind::Warmed,
        &cell.key.invocation_namespace,
        &cell.key.doc_id,
        cell.key.rev(),
    );
    let healthy: Vec<i32> = placement::eligible(&candidates(engine), &request_of(cell))
        .iter()
        .map(|i| i.id)
        .collect();
    let warmed = engine
        .view
        .warmed
        .lock()
        .ok()?
        .iter()
        .filter(|k| k.starts_with(&prefix))
        .cloned()
        .collect::<Vec<_>>();
    let mut reserved = engine.jobs.reserved.lock().ok()?;
    for key in warmed {
        if reserved.contains(&key) {
            continue;
        }
        if let Ok(EtcdKey::WarmedContainer { invoker, .. }) = engine.cluster.parse(&key)
            && let Ok(id) = i32::try_from(invoker)
            && healthy.contains(&id)
        {
            reserved.insert(key.clone());
            tracing::debug!(creation = cid, invoker = id, "reusing a paused container");
            return Some((id, key));
        }
    }
    None
}

async fn send_creation<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &Arc<QueueCell>,
    message: ContainerCreationMessage,
    invoker: i32,
    warm_key: Option<String>,
) {
    let cid = message.creation_id.to_string();
    let key = engine.cluster.in_progress(
        &cell.key.invocation_namespace,
        &cell.key.doc_id,
        cell.key.rev(),
        &engine.config.instance.as_string,
        &cid,
    );
    let fresh = message.retry_count == 0;
    if let Ok(mut jobs) = engine.jobs.jobs.lock() {
        let job = Job {
            queue: cell.key.clone(),
            message: message.clone(),
            in_progress_key: key.clone(),
            warm_key,
        };
        jobs.insert(cid.clone(), job);
    }
    if fresh {
        if let Ok(mut q) = cell.queue.lock() {
            q.creation_started(&cid);
        }
        if let Err(e) = engine.coord.put(&key, "").await {
            tracing::warn!(error = %e, "in-progress key not written");
        }
        arm_timeout(engine, cell, &cid);
    }
    Metrics::inc(&engine.metrics.containers_requested);
    let topic = engine.topic(&format!("invoker{invoker}"));
    tracing::info!(queue = ?cell.key, creation = %cid, invoker, retry = message.retry_count, "container creation sent");
    if let Err(e) = engine.bus.send(&topic, message.encode()).await {
        tracing::error!(creation = %cid, error = %e, "creation message not delivered; the job will time out");
    }
}

fn arm_timeout<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &QueueCell,
    cid: &str,
) {
    let mut after = engine.config.in_progress_job_retention;
    if cell.action.exec.is_blackbox() {
        after *= engine.config.blackbox_multiple;
    }
    let (engine, queue, cid) = (Arc::clone(engine), cell.key.clone(), cid.to_owned());
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let pending = engine
            .jobs
            .jobs
            .lock()
            .map(|j| j.contains_key(&cid))
            .unwrap_or(false);
        if pending {
            let reason = format!(
                "creationId: {cid}, the invoker did not answer within {} ms",
                after.as_millis()
            );
            finish(
                &engine,
                &queue,
                &cid,
                Err((CreationError::TimeoutError, reason)),
            )
            .await;
        }
    });
}

async fn on_ack<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    ack: ContainerCreationAckMessage,
) {
    let cid = ack.creation_id.to_string();
    let Some(job) = engine
        .jobs
        .jobs
        .lock()
        .ok()
        .and_then(|j| j.get(&cid).cloned())
    else {
        tracing::debug!(creation = %cid, "ack for an unknown creation");
        return;
    };
    match ack.error {
        None => finish(engine, &job.queue, &cid, Ok(())).await,
        Some(error) if error.is_reschedulable() && ack.retry_count < MAX_RETRIES => {
            let delay = Duration::from_millis(100 << ack.retry_count);
            tracing::info!(creation = %cid, error = error.name(), retry = ack.retry_count + 1, "creation rescheduled");
            let engine = Arc::clone(engine);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let mut message = job.message;
                message.retry_count = ack.retry_count + 1;
                if let Ok(mut jobs) = engine.jobs.jobs.lock() {
                    jobs.remove(&cid);
                }
                Box::pin(place_and_send(&engine, &job.queue, message)).await;
            });
        }
        Some(error) => {
            let reason = ack.reason.unwrap_or_else(|| error.name().to_owned());
            finish(engine, &job.queue, &cid, Err((error, reason))).await;
        }
    }
}

/// Ends a job: the in-progress key goes, the queue learns the outcome.
async fn finish<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    queue: &QueueKey,
    cid: &str,
    outcome: Result<(), (CreationError, String)>,
) {
    let job = engine.jobs.jobs.lock().ok().and_then(|mut j| j.remove(cid));
    if let Some(warm) = job.as_ref().and_then(|j| j.warm_key.as_ref())
        && let Ok(mut reserved) = engine.jobs.reserved.lock()
    {
        reserved.remove(warm);
    }
    let key = job.map(|j| j.in_progress_key).unwrap_or_else(|| {
        engine.cluster.in_progress(
            &queue.invocation_namespace,
            &queue.doc_id,
            queue.rev(),
            &engine.config.instance.as_string,
            cid,
        )
    });
    if let Err(e) = engine.coord.delete(&key).await {
        tracing::warn!(error = %e, "in-progress key not deleted");
    }
    if outcome.is_err() {
        Metrics::inc(&engine.metrics.creation_failures);
    }
    let Some(cell) = engine.registry.get(queue) else {
        return;
    };
    let arrived = match outcome {
        Ok(()) => running_containers(engine, queue).await,
        Err(_) => Vec::new(),
    };
    let now = engine.now();
    let out = cell
        .queue
        .lock()
        .map(|mut q| {
            for id in &arrived {
                q.container_seen(id, now);
            }
            q.creation_finished(cid, outcome, now)
        })
        .unwrap_or_default();
    // Boxed: running effects can create containers, whose failure runs effects again.
    Box::pin(effects::run(engine, &cell, out)).await;
}

/// The ids of this revision's running containers, read from etcd. The invoker writes its
/// container key before it acks, but the key reaches us through a separate watch: counting the
/// creation done before the container is known would make the policy ask for another.
async fn running_containers<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    queue: &QueueKey,
) -> Vec<String> {
    let prefix = engine.cluster.container_prefix_for_action(
        ContainerKind::Namespace,
        &queue.invocation_namespace,
        &queue.doc_id,
        queue.rev(),
    );
    match engine.coord.list(&prefix).await {
        Ok(pairs) => pairs
            .iter()
            .filter_map(|(key, _)| match engine.cluster.parse(key) {
                Ok(EtcdKey::NamespaceContainer { container_id, .. }) => Some(container_id),
                _ => None,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, %prefix, "running containers not read; the watch will tell");
            Vec::new()
        }
    }
}
