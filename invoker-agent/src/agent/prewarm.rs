//! Stem cells (spec 7.5): containers of a runtime kind started ahead of demand, as the runtimes
//! manifest's `stemCells` ask, kept outside the memory budget until a creation request of that
//! kind and memory takes one; a replacement starts at once. Reactive sizing and expiry are not
//! done yet: the initial count is kept.

use std::sync::Arc;

use ow_compat::runtimes::RuntimesManifest;
use tracing::Instrument;

use super::container::{ContainerTask, Mailbox};
use super::{Command, Deps, Handle};
use crate::container_spec::{container_name, prewarm_spec};
use crate::pool::SlotId;
use crate::runtime::{ContainerRuntime, StartedContainer};

/// A stem cell to keep: kind, memory, image, whether its runtime prints the log sentinels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StemCell {
    pub kind: String,
    pub memory_mb: u64,
    pub image: String,
    pub sentinels: bool,
}

/// Every stem cell of a runtimes manifest, `initialCount` times each.
pub fn configured(m: &RuntimesManifest) -> Vec<StemCell> {
    let mut cells = Vec::new();
    for kind in m.kinds() {
        for cell in &kind.stem_cells {
            let one = StemCell {
                kind: kind.kind.clone(),
                memory_mb: cell.memory.to_mb(),
                image: kind.image.reference(),
                sentinels: kind.sentinelled_logs,
            };
            cells.extend(std::iter::repeat_n(one, cell.initial_count as usize));
        }
    }
    cells
}

/// Starts the stem cells of the agent's manifest.
pub fn start_all<D: Deps>(agent: &Handle<D>) {
    for cell in agent.stem_cells.clone() {
        start(agent, cell);
    }
}

/// Starts one stem cell (unless the invoker is disabled).
pub fn start<D: Deps>(agent: &Handle<D>, cell: StemCell) {
    if !agent.is_enabled() {
        return;
    }
    let now = agent.now();
    let (slot, mailbox) = agent.pool(|p| {
        let slot = p.add_prewarm(&cell.kind, cell.memory_mb, now);
        (slot, super::commands::open_mailbox(agent, slot))
    });
    let span = tracing::info_span!(parent: None, "prewarm", kind = %cell.kind, slot);
    tokio::spawn(run(Arc::clone(agent), slot, mailbox, cell).instrument(span));
}

/// The replacement for a stem cell of `kind` and `memory_mb` that was just taken.
pub fn replace<D: Deps>(agent: &Handle<D>, kind: &str, memory_mb: u64) {
    let cell = agent
        .stem_cells
        .iter()
        .find(|c| c.kind == kind && c.memory_mb == memory_mb)
        .cloned();
    if let Some(cell) = cell {
        start(agent, cell);
    }
}

async fn run<D: Deps>(agent: Handle<D>, slot: SlotId, mut mailbox: Mailbox, cell: StemCell) {
    let name = container_name(
        &agent.config,
        &agent.boot,
        agent.next_name(),
        "prewarm",
        &cell.kind,
    );
    let spec = prewarm_spec(
        &agent.config,
        &cell.kind,
        cell.image.clone(),
        cell.memory_mb,
        name,
    );
    let started = match agent.start_container(&spec).await {
        Ok(started) => started,
        Err(e) => {
            tracing::warn!(error = %e, "stem cell not started");
            agent.metrics.start_failures.inc();
            return forget(&agent, slot);
        }
    };
    agent.pool(|p| {
        p.set_container(slot, &started.id);
        p.prewarm_ready(slot);
    });
    tracing::info!(container = %started.id, "stem cell ready");
    match mailbox.recv().await {
        Some(Command::Claim(creation)) => {
            tracing::info!(tid = %creation.transid.id, action = %creation.action, "stem cell taken");
            let task = ContainerTask::new(
                Arc::clone(&agent),
                slot,
                started,
                &creation,
                mailbox,
                cell.sentinels,
            );
            task.run(*creation).await;
        }
        Some(Command::Remove) | None => remove(&agent, slot, &started).await,
    }
}

async fn remove<D: Deps>(agent: &Handle<D>, slot: SlotId, started: &StartedContainer) {
    if let Err(e) = agent.runtime.remove(&started.id).await {
        tracing::error!(error = %e, "stem cell not removed; the next start removes it");
    }
    forget(agent, slot);
}

fn forget<D: Deps>(agent: &Handle<D>, slot: SlotId) {
    agent.pool(|p| p.remove(slot));
    agent.mailboxes(|m| m.remove(&slot));
}
