//! The invoker's health in etcd (spec 5.4, 7.6, 7.7): `<cluster>/invokers/<N>[/<u>[/<d>]]` holds
//! an `InvokerResourceMessage` on the agent's lease, written when it changes (checked every
//! second, and at once after a memory change), and again after a lost lease.

use std::time::Duration;

use ow_compat::Codec;
use ow_compat::coordination::Coordinator;
use ow_compat::messages::InvokerResourceMessage;

use super::{Agent, Deps, Handle};

/// `whisk.container-pool.memory-sync-interval`.
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// What the invoker publishes now.
pub fn resource_message<D: Deps>(agent: &Agent<D>) -> InvokerResourceMessage {
    let memory = agent.pool(|p| p.memory());
    InvokerResourceMessage {
        status: agent.status(),
        free_memory: memory.free,
        busy_memory: memory.busy,
        in_progress_memory: memory.in_progress,
        tags: agent.config.tags.clone(),
        dedicated_namespaces: agent.config.dedicated_namespaces.clone(),
    }
}

fn key<D: Deps>(agent: &Agent<D>) -> String {
    let c = &agent.config;
    agent.cluster.invoker(
        c.instance,
        c.unique_name.as_deref(),
        c.displayed_name.as_deref(),
    )
}

/// Publishes on change until the agent stops.
pub async fn run<D: Deps>(agent: Handle<D>) {
    let key = key(&agent);
    let epochs = agent.coord.lease_epoch();
    let mut written: Option<(String, u64)> = None;
    loop {
        let text = resource_message(&agent).encode();
        let epoch = *epochs.borrow();
        if written.as_ref() != Some(&(text.clone(), epoch)) {
            match agent.coord.put(&key, &text).await {
                Ok(()) => written = Some((text, epoch)),
                Err(e) => tracing::warn!(error = %e, "invoker health not written; retrying"),
            }
        }
        tokio::select! {
            () = agent.shutdown.cancelled() => return,
            () = agent.changed.notified() => {}
            () = tokio::time::sleep(SYNC_INTERVAL) => {}
        }
    }
}

/// Writes the current state once (the final `down` of a drain).
pub async fn publish_now<D: Deps>(agent: &Agent<D>) {
    let text = resource_message(agent).encode();
    if let Err(e) = agent.coord.put(&key(agent), &text).await {
        tracing::warn!(error = %e, "invoker health not written");
    }
}
