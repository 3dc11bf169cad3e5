//! Removing a revision's containers: every invoker holding one (running or paused) is told on
//! its `invoker<N>` topic (stock `ContainerDeletionMessage`).

use std::collections::HashSet;

use ow_compat::Codec;
use ow_compat::bus::MessageBus;
use ow_compat::coordination::Coordinator;
use ow_compat::etcd_keys::{ContainerKind, EtcdKey};
use ow_compat::messages::ContainerDeletionMessage;
use ow_compat::store::Store;
use ow_compat::values::{DocRevision, TransactionId};

use super::{Engine, QueueCell};

/// Tells every invoker holding containers of this action with this revision or older to remove them.
pub async fn delete_revision<B: MessageBus, C: Coordinator, S: Store>(
    engine: &Engine<B, C, S>,
    cell: &QueueCell,
) {
    let mut invokers = HashSet::new();
    for kind in [ContainerKind::Namespace, ContainerKind::Warmed] {
        let prefix = engine.cluster.container_prefix_for_docid(
            kind,
            &cell.key.invocation_namespace,
            &cell.key.doc_id,
        );
        for (key, _) in engine.coord.list(&prefix).await.unwrap_or_default() {
            if let Ok(
                EtcdKey::NamespaceContainer { invoker, .. }
                | EtcdKey::WarmedContainer { invoker, .. },
            ) = engine.cluster.parse(&key)
            {
                invokers.insert(invoker);
            }
        }
    }
    let message = ContainerDeletionMessage {
        transid: TransactionId::new(
            "sid_containerDeletion",
            super::Shared::<B, C, S>::epoch_millis(),
        ),
        invocation_namespace: cell.key.invocation_namespace.clone(),
        action: cell.fqn.clone(),
        revision: DocRevision::new(cell.key.rev().unwrap_or_default()),
        whisk_action_meta_data: cell.action.clone(),
    };
    for invoker in invokers {
        let topic = engine.topic(&format!("invoker{invoker}"));
        if let Err(e) = engine.bus.send(&topic, message.encode()).await {
            tracing::warn!(invoker, error = %e, "container deletion not delivered");
        }
    }
}
