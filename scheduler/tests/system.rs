//! The scheduler against real Kafka, etcd and CouchDB, driven the way a stock controller and
//! stock invokers drive it.

mod support;

use std::time::Duration;

use ow_compat::Codec;
use ow_compat::coordination::Coordinator;
use ow_compat::messages::{ContainerCreationAckMessage, ContainerMessage};
use ow_compat::values::{ByteSize, InvokerInstanceId};
use support::*;

/// The invoker's success ack for a creation message.
async fn ack(world: &World, invoker: u32, msg: &ow_compat::messages::ContainerCreationMessage) {
    let ack = ContainerCreationAckMessage {
        transid: msg.transid.clone(),
        creation_id: msg.creation_id.clone(),
        invocation_namespace: msg.invocation_namespace.clone(),
        action: msg.action.clone(),
        revision: msg.revision.clone(),
        action_meta_data: msg.whisk_action_meta_data.clone(),
        root_invoker_index: InvokerInstanceId::new(
            i32::try_from(invoker).unwrap_or(0),
            ByteSize::mb(2048),
        ),
        scheduler_host: msg.scheduler_host.clone(),
        rpc_port: msg.rpc_port,
        retry_count: msg.retry_count,
        error: None,
        reason: None,
    };
    produce(
        &format!(
            "{}creationAck{}",
            world.prefix, msg.root_scheduler_index.as_string
        ),
        ack.encode(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_start_then_warm_reuse() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("ow_scheduler=debug")
        .try_init();
    let world = World::new("cold").await;
    let rev = world
        .put_action("guest", "hello", "def main(a): return a")
        .await;
    let mut invoker = Invoker::register(&world, 0, 2048).await;
    let scheduler = Scheduler::start(&world, 0).await;
    let topic = format!("{}scheduler0", world.prefix);

    let first = activation("guest", "hello", &rev, true);
    produce(&topic, first.encode()).await;
    let ContainerMessage::Creation(creation) = invoker.next_command().await else {
        panic!("expected a creation")
    };
    assert_eq!(creation.action.doc_id(), "guest/hello");
    assert_eq!(creation.rpc_port, scheduler.rpc.port());
    let container = "c0ffee";
    let ns_key = format!(
        "{}/namespace/guest/guest/hello/{rev}/invoker0/container/{container}",
        world.cluster
    );
    invoker.coord.put(&ns_key, "").await.expect("namespace key");
    // Like the stock invoker, the container's client polls as the ack goes out.
    let got = fetch(scheduler.rpc, "guest", "hello", &rev, container, false).await;
    ack(&world, 0, &creation).await;
    assert!(
        got.contains(first.activation_id.as_str()),
        "first activation delivered: {got}"
    );

    // A warm container is already long-polling when the next activation arrives, as with the
    // stock invoker; the activation is handed to that poll.
    let rpc = scheduler.rpc;
    let rev2 = rev.clone();
    let poll =
        tokio::spawn(async move { fetch(rpc, "guest", "hello", &rev2, container, true).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = activation("guest", "hello", &rev, false);
    produce(&topic, second.encode()).await;
    let mut got = poll.await.expect("fetch task");
    while got.contains("NoActivationMessage") {
        got = fetch(scheduler.rpc, "guest", "hello", &rev, container, true).await;
    }
    assert!(
        got.contains(second.activation_id.as_str()),
        "second activation delivered: {got}"
    );

    let extra = tokio::time::timeout(Duration::from_secs(2), invoker.commands.recv()).await;
    assert!(
        extra.is_err(),
        "no further container was created for the warm activation"
    );
    scheduler.stop();
}
