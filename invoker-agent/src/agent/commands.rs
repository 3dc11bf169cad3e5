//! The container commands on `invoker<N>` (spec 3.3.2, 3.3.3, 7.1): a creation takes a paused
//! container of the same action revision, a prewarmed one, or a cold one, or is refused with
//! the stock error ack; a deletion removes the containers of outdated revisions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ow_compat::bus::Record;
use ow_compat::json::{Path, Wire};
use ow_compat::messages::{
    ContainerCreationMessage, ContainerDeletionMessage, ContainerMessage, CreationError,
};
use ow_compat::values::ExecMetaData;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::container::{ContainerTask, Mailbox};
use super::{Agent, Command, Deps, Handle};
use crate::container_spec::{container_name, image_for, spec_for};
use crate::pool::{ActionKey, Admission, Request, SlotId};
use crate::runtime::RuntimeError;

/// Stock reason when a container cannot be started.
const PROVISION_ERROR: &str = "Failed to provision resources to run the action.";

/// Handles records until the consumer stops. Records are handled one at a time, as they come;
/// container starts run in their own tasks so a slow start does not hold up the topic.
pub async fn consume<D: Deps>(agent: Handle<D>, mut records: mpsc::Receiver<Record>) {
    while let Some(record) = records.recv().await {
        let message = ow_compat::json::parse(&record.payload)
            .and_then(|v| ContainerMessage::read(&v, Path::Root));
        match message {
            Ok(ContainerMessage::Creation(c)) => {
                let span = tracing::info_span!("creation", tid = %c.transid.id, creation_id = %c.creation_id, action = %c.action);
                create(&agent, c).instrument(span).await;
            }
            Ok(ContainerMessage::Deletion(d)) => {
                let span = tracing::info_span!("deletion", tid = %d.transid.id, action = %d.action);
                delete(&agent, &d).instrument(span).await;
            }
            Err(e) => {
                agent.metrics.malformed_commands.inc();
                tracing::warn!(topic = %record.topic, offset = record.offset, error = %e, "malformed container command skipped");
            }
        }
    }
}

/// A creation request: a warm-up is dropped, a refusal acked, else the pool's choice carried
/// out (resume, stem cell, cold start, or the resource error ack).
async fn create<D: Deps>(agent: &Handle<D>, c: ContainerCreationMessage) {
    if c.action.is_warm_up() {
        tracing::debug!("warm-up creation dropped");
        return;
    }
    let (image, sentinels) = match accept(agent, &c) {
        Ok(runtime) => runtime,
        Err(refusal) => return agent.ack_creation(&c, Some(refusal)).await,
    };
    let (admission, mailbox) = admit(agent, &c);
    agent.publish_soon();
    match (admission, mailbox) {
        (Admission::Resume(slot), _) => resume(agent, slot, c).await,
        (Admission::Cold { slot, evict }, Some(mailbox)) => {
            evict_all(agent, &evict);
            agent.metrics.cold_starts.inc();
            let task = cold_start(Arc::clone(agent), slot, mailbox, c, image, sentinels);
            tokio::spawn(task.in_current_span());
        }
        (Admission::NotEnough, _) => {
            agent.metrics.not_enough_memory.inc();
            let reason = format!(
                "creationId: {}, invoker[{}] doesn't have enough resource for container: {}",
                c.creation_id,
                agent.config.invoker_name(),
                c.action
            );
            let refusal = (CreationError::ResourceNotEnoughError, reason);
            agent.ack_creation(&c, Some(refusal)).await;
        }
        (Admission::Prewarm { slot, evict }, _) => take_prewarm(agent, slot, &evict, c).await,
        (Admission::Cold { slot, .. }, None) => {
            // Cannot happen: a cold slot always gets its mailbox under the pool's lock.
            agent.pool(|p| p.remove(slot));
            let refusal = (CreationError::UnknownError, PROVISION_ERROR.to_owned());
            agent.ack_creation(&c, Some(refusal)).await;
        }
    }
}

/// Gives a ready stem cell the action and starts its replacement.
async fn take_prewarm<D: Deps>(
    agent: &Handle<D>,
    slot: SlotId,
    evict: &[SlotId],
    c: ContainerCreationMessage,
) {
    evict_all(agent, evict);
    agent.metrics.prewarm_taken.inc();
    let (kind, memory_mb) = (
        c.whisk_action_meta_data.exec.kind().to_owned(),
        memory_of(&c),
    );
    if !agent.tell(slot, Command::Claim(Box::new(c.clone()))) {
        agent.pool(|p| p.remove(slot));
        tracing::warn!(slot, "the stem cell chosen is gone; trying again");
        retry(Arc::clone(agent), c).await;
    }
    super::prewarm::replace(agent, &kind, memory_mb);
}

/// The stock refusals before the pool is asked (shutting down, not executable, a kind without
/// an image); else the image and whether its runtime prints the log sentinels.
fn accept<D: Deps>(
    agent: &Agent<D>,
    c: &ContainerCreationMessage,
) -> Result<(String, bool), (CreationError, String)> {
    if !agent.is_enabled() {
        let reason = format!(
            "creationId: {}, invoker is shutting down, reschedule {}",
            c.creation_id,
            c.action.doc_id()
        );
        return Err((CreationError::ShuttingDownError, reason));
    }
    let exec = &c.whisk_action_meta_data.exec;
    if !exec.is_executable() {
        let reason = format!(
            "non-executable action: {} with rev: {}",
            c.action, c.revision
        );
        return Err((CreationError::NonExecutableActionError, reason));
    }
    image_for(exec).ok_or_else(|| {
        tracing::warn!(
            kind = exec.kind(),
            "no image for this kind in the runtimes manifest"
        );
        (CreationError::WhiskError, PROVISION_ERROR.to_owned())
    })
}

/// The pool's choice, and for a new container its command channel, opened under the pool's
/// lock so that nothing can address the container before the channel exists.
fn admit<D: Deps>(agent: &Agent<D>, c: &ContainerCreationMessage) -> (Admission, Option<Mailbox>) {
    let meta = &c.whisk_action_meta_data;
    let request = Request {
        key: action_key(c),
        kind: meta.exec.kind().to_owned(),
        memory_mb: memory_of(c),
    };
    let now = agent.now();
    agent.pool(|p| {
        let admission = p.admit(&request, now);
        let mailbox = match &admission {
            Admission::Cold { slot, .. } => Some(open_mailbox(agent, *slot)),
            _ => None,
        };
        (admission, mailbox)
    })
}

/// `create` again, boxed: a creation can come back to `create` when its container is lost on
/// the way, and a boxed future breaks that cycle.
pub(super) fn retry<D: Deps>(
    agent: Handle<D>,
    c: ContainerCreationMessage,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move { create(&agent, c).await })
}

fn memory_of(c: &ContainerCreationMessage) -> u64 {
    u64::from(c.whisk_action_meta_data.limits.memory_mb)
}

fn action_key(c: &ContainerCreationMessage) -> ActionKey {
    ActionKey {
        invocation_namespace: c.invocation_namespace.clone(),
        doc_id: c.action.doc_id(),
        revision: c.revision.as_str().map(str::to_owned),
    }
}

/// Opens the command channel of a new container before anything can address it, so a deletion
/// that arrives while it starts is not lost.
pub(super) fn open_mailbox<D: Deps>(agent: &Agent<D>, slot: SlotId) -> Mailbox {
    let (tx, rx) = mpsc::unbounded_channel();
    agent.mailboxes(|m| m.insert(slot, tx));
    rx
}

fn evict_all<D: Deps>(agent: &Agent<D>, evict: &[SlotId]) {
    for slot in evict {
        tracing::info!(slot, "evicting a paused container to make room");
        agent.tell(*slot, Command::Remove);
    }
}

async fn resume<D: Deps>(agent: &Handle<D>, slot: SlotId, c: ContainerCreationMessage) {
    agent.metrics.resumes.inc();
    if !agent.tell(slot, Command::Claim(Box::new(c.clone()))) {
        // The container's task ended between the choice and the message: start afresh.
        agent.pool(|p| p.remove(slot));
        tracing::warn!(slot, "the paused container chosen is gone; trying again");
        retry(Arc::clone(agent), c).await;
    }
}

async fn cold_start<D: Deps>(
    agent: Handle<D>,
    slot: SlotId,
    mailbox: Mailbox,
    c: ContainerCreationMessage,
    image: String,
    sentinels: bool,
) {
    let name = container_name(
        &agent.config,
        &agent.boot,
        agent.next_name(),
        &c.whisk_action_meta_data.namespace.to_string(),
        c.whisk_action_meta_data.name.as_str(),
    );
    let spec = spec_for(&agent.config, &c, image, name);
    match agent.start_container(&spec).await {
        Ok(started) => {
            tracing::info!(container = %started.id, name = %spec.name, "container started");
            let task =
                ContainerTask::new(Arc::clone(&agent), slot, started, &c, mailbox, sentinels);
            task.run(c).await;
        }
        Err(e) => {
            tracing::error!(error = %e, "container could not be started");
            agent.metrics.start_failures.inc();
            let refusal = start_failure(&c, &e);
            // A user's image that cannot be had is the user's error, not the invoker's health.
            if refusal.0 != CreationError::BlackBoxError {
                super::report_health(&agent, false);
            }
            agent.pool(|p| p.remove(slot));
            agent.mailboxes(|m| m.remove(&slot));
            agent.publish_soon();
            agent.ack_creation(&c, Some(refusal)).await;
        }
    }
}

async fn delete<D: Deps>(agent: &Handle<D>, d: &ContainerDeletionMessage) {
    let generation = d.revision.generation().unwrap_or(0);
    let doc_id = d.action.doc_id();
    let slots = agent.pool(|p| p.outdated(&d.invocation_namespace, &doc_id, generation));
    tracing::info!(containers = slots.len(), revision = %d.revision, "removing containers of outdated revisions");
    for slot in slots {
        agent.tell(slot, Command::Remove);
    }
    agent.publish_soon();
}

/// The stock creation error of a container that did not start: a blackbox image that cannot be
/// pulled is a `BlackBoxError`, anything else a `WhiskError`.
fn start_failure(c: &ContainerCreationMessage, e: &RuntimeError) -> (CreationError, String) {
    let blackbox = matches!(c.whisk_action_meta_data.exec, ExecMetaData::Blackbox { .. });
    match e {
        RuntimeError::ImageUnavailable { image, .. } if blackbox => (
            CreationError::BlackBoxError,
            format!("Failed to pull container image '{image}'."),
        ),
        _ => (CreationError::WhiskError, PROVISION_ERROR.into()),
    }
}
