//! The scheduler against real Kafka, etcd and CouchDB, driven the way a stock controller and
//! stock invokers drive it.

mod support;

use std::time::Duration;

use ow_compat::Codec;
use ow_compat::coordination::Coordinator;
use ow_compat::messages::{ContainerCreationAckMessage, ContainerMessage, CreationError};
use ow_compat::values::{ByteSize, InvokerInstanceId};
use support::*;

/// The invoker's success ack for a creation message.
async fn ack(world: &World, invoker: u32, msg: &ow_compat::messages::ContainerCreationMessage) {
    let invoker = InvokerInstanceId::new(i32::try_from(invoker).unwrap_or(0), ByteSize::mb(2048));
    let ack = ContainerCreationAckMessage::answering(msg, invoker, None);
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

/// Serves creations the way a stock invoker does: register the container, poll, ack.
async fn serve_creation(world: &World, invoker: &mut Invoker, rpc: std::net::SocketAddr) -> String {
    let ContainerMessage::Creation(c) = invoker.next_command().await else {
        panic!("expected a creation")
    };
    let container = format!("cont{}", c.creation_id);
    let rev = c.revision.to_string();
    let (ns, name) = (c.invocation_namespace.clone(), c.action.name.to_string());
    let key = format!(
        "{}/namespace/{ns}/{}/{rev}/invoker{}/container/{container}",
        world.cluster,
        c.action.doc_id(),
        invoker.id
    );
    invoker.coord.put(&key, "").await.expect("namespace key");
    let got = fetch(rpc, &ns, &name, &rev, &container, false).await;
    ack(world, invoker.id, &c).await;
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_on_an_empty_queue_answers_after_about_a_second() {
    let world = World::new("poll").await;
    let rev = world
        .put_action("guest", "idle", "def main(a): return a")
        .await;
    let mut invoker = Invoker::register(&world, 0, 2048).await;
    let scheduler = Scheduler::start(&world, 0).await;
    let unknown = fetch(scheduler.rpc, "guest", "nothing", &rev, "c1", true).await;
    assert!(unknown.contains("NoMemoryQueue"), "{unknown}");
    produce(
        &format!("{}scheduler0", world.prefix),
        activation("guest", "idle", &rev, true).encode(),
    )
    .await;
    let first = serve_creation(&world, &mut invoker, scheduler.rpc).await;
    assert!(first.contains("activationId"), "{first}");
    let started = std::time::Instant::now();
    let empty = fetch(scheduler.rpc, "guest", "idle", &rev, "cont-x", true).await;
    let waited = started.elapsed();
    assert!(empty.contains("NoActivationMessage"), "{empty}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "held for {waited:?}"
    );
    scheduler.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_records_are_skipped_and_counted() {
    let world = World::new("bad").await;
    let rev = world
        .put_action("guest", "ok", "def main(a): return a")
        .await;
    let mut invoker = Invoker::register(&world, 0, 2048).await;
    let scheduler = Scheduler::start(&world, 0).await;
    let topic = format!("{}scheduler0", world.prefix);
    produce(&topic, "not json".into()).await;
    produce(&topic, r#"{"activationId":"nope"}"#.into()).await;
    produce(&topic, activation("guest", "ok", &rev, true).encode()).await;
    let got = serve_creation(&world, &mut invoker, scheduler.rpc).await;
    assert!(got.contains("activationId"), "{got}");
    let malformed = scheduler
        .engine
        .metrics
        .activations_malformed
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(malformed, 2);
    scheduler.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_invoker_capacity_activations_fail_after_retention() {
    let world = World::new("full").await;
    let rev = world
        .put_action("guest", "big", "def main(a): return a")
        .await;
    let _invoker = Invoker::register(&world, 0, 0).await;
    let mut acks = listen(&format!("{}completed0", world.prefix));
    let mut events = listen(&format!("{}events", world.prefix));
    let scheduler = Scheduler::start_with(
        &world,
        0,
        &[
            ("CONFIG_whisk_scheduler_queue_maxRetentionMs", "1500"),
            ("CONFIG_whisk_userEvents_enabled", "true"),
            ("CONFIG_whisk_kafka_topics_userEvent_prefix", &world.prefix),
        ],
    )
    .await;
    let msg = activation("guest", "big", &rev, true);
    produce(&format!("{}scheduler0", world.prefix), msg.encode()).await;
    let ack = next_ack(&mut acks).await;
    assert_eq!(ack["response"]["activationId"], msg.activation_id.as_str());
    assert_eq!(ack["response"]["response"]["statusCode"], 3, "{ack}");
    assert_eq!(ack["isSystemError"], true);
    assert_eq!(
        ack["instance"]["instanceType"], "invoker",
        "the controller can parse the instance"
    );
    let reason = ack["response"]["response"]["result"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(reason.contains("NoAvailable"), "{reason}");
    let event = next_ack(&mut events).await;
    assert_eq!(event["eventType"], "Activation");
    assert_eq!(event["source"], "scheduler0");
    assert_eq!(event["body"]["statusCode"], 3);
    scheduler.stop();
}

async fn reply_error(
    world: &World,
    invoker: u32,
    c: &ow_compat::messages::ContainerCreationMessage,
    error: CreationError,
    reason: &str,
) {
    let invoker = InvokerInstanceId::new(i32::try_from(invoker).unwrap_or(0), ByteSize::mb(2048));
    let ack = ContainerCreationAckMessage::answering(c, invoker, Some((error, reason.to_owned())));
    produce(&format!("{}creationAck0", world.prefix), ack.encode()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creation_errors_are_retried_or_fail_the_activation() {
    let world = World::new("errs").await;
    let rev = world
        .put_action("guest", "flaky", "def main(a): return a")
        .await;
    let mut invoker = Invoker::register(&world, 0, 2048).await;
    let mut acks = listen(&format!("{}completed0", world.prefix));
    let scheduler = Scheduler::start(&world, 0).await;
    let msg = activation("guest", "flaky", &rev, true);
    produce(&format!("{}scheduler0", world.prefix), msg.encode()).await;

    let ContainerMessage::Creation(first) = invoker.next_command().await else {
        panic!("creation")
    };
    reply_error(
        &world,
        0,
        &first,
        CreationError::ResourceNotEnoughError,
        "no memory",
    )
    .await;
    let ContainerMessage::Creation(retry) = invoker.next_command().await else {
        panic!("retry")
    };
    assert_eq!(
        (retry.creation_id.clone(), retry.retry_count),
        (first.creation_id.clone(), 1),
        "same job, next try"
    );

    reply_error(
        &world,
        0,
        &retry,
        CreationError::BlackBoxError,
        "image does not start",
    )
    .await;
    let ack = next_ack(&mut acks).await;
    assert_eq!(ack["response"]["activationId"], msg.activation_id.as_str());
    assert_eq!(
        ack["response"]["response"]["statusCode"], 2,
        "developer error: {ack}"
    );
    assert_eq!(
        ack["response"]["response"]["result"]["error"],
        "image does not start"
    );
    scheduler.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_actions_each_get_their_activation_exactly_once() {
    let world = World::new("many").await;
    let mut revs = Vec::new();
    for i in 0..100 {
        revs.push(
            world
                .put_action("guest", &format!("a{i}"), "def main(a): return a")
                .await,
        );
    }
    let mut invoker = Invoker::register(&world, 0, 100_000).await;
    // The namespace limit counts containers; 100 actions need 100 of them.
    let scheduler =
        Scheduler::start_with(&world, 0, &[("LIMITS_ACTIONS_INVOKES_CONCURRENT", "200")]).await;
    let topic = format!("{}scheduler0", world.prefix);
    let mut expected = std::collections::BTreeSet::new();
    for (i, rev) in revs.iter().enumerate() {
        let msg = activation("guest", &format!("a{i}"), rev, false);
        expected.insert(msg.activation_id.to_string());
        produce(&topic, msg.encode()).await;
    }
    let mut delivered = Vec::new();
    while delivered.len() < 100 {
        let got = serve_creation(&world, &mut invoker, scheduler.rpc).await;
        let v: serde_json::Value = serde_json::from_str(&got).expect("json");
        if let Some(id) = v["message"]["activationId"].as_str() {
            delivered.push(id.to_owned());
        }
    }
    let unique: std::collections::BTreeSet<String> = delivered.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        delivered.len(),
        "an activation was delivered twice"
    );
    assert_eq!(unique, expected);
    scheduler.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_revision_gets_a_new_queue_and_old_containers_are_removed() {
    let world = World::new("rev").await;
    let rev1 = world
        .put_action("guest", "upd", "def main(a): return {'v': 1}")
        .await;
    let mut invoker = Invoker::register(&world, 0, 2048).await;
    let scheduler = Scheduler::start(&world, 0).await;
    let topic = format!("{}scheduler0", world.prefix);
    produce(&topic, activation("guest", "upd", &rev1, true).encode()).await;
    serve_creation(&world, &mut invoker, scheduler.rpc).await;

    let rev2 = world
        .put_action("guest", "upd", "def main(a): return {'v': 2}")
        .await;
    assert_ne!(rev1, rev2);
    let second = activation("guest", "upd", &rev2, true);
    produce(&topic, second.encode()).await;
    let mut saw_deletion = false;
    let mut saw_creation = false;
    while !(saw_deletion && saw_creation) {
        match invoker.next_command().await {
            ContainerMessage::Deletion(d) => {
                assert_eq!(d.revision.to_string(), rev1);
                saw_deletion = true;
            }
            ContainerMessage::Creation(c) => {
                assert_eq!(c.revision.to_string(), rev2);
                saw_creation = true;
            }
        }
    }
    let stale = fetch(scheduler.rpc, "guest", "upd", &rev1, "old", true).await;
    assert!(
        stale.contains("ActionMismatch"),
        "an old-revision container is told to go: {stale}"
    );
    scheduler.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_scheduler_forwards_to_the_queue_leader() {
    let world = World::new("fwd").await;
    let rev = world
        .put_action("guest", "shared", "def main(a): return a")
        .await;
    let mut invoker = Invoker::register(&world, 0, 2048).await;
    let leader = Scheduler::start(&world, 0).await;
    let other = Scheduler::start(&world, 1).await;
    produce(
        &format!("{}scheduler0", world.prefix),
        activation("guest", "shared", &rev, true).encode(),
    )
    .await;
    let ContainerMessage::Creation(c) = invoker.next_command().await else {
        panic!("creation")
    };
    assert_eq!(c.rpc_port, leader.rpc.port(), "scheduler 0 leads the queue");
    let container = "lead1";
    let key = format!(
        "{}/namespace/guest/guest/shared/{rev}/invoker0/container/{container}",
        world.cluster
    );
    invoker.coord.put(&key, "").await.expect("key");
    fetch(leader.rpc, "guest", "shared", &rev, container, false).await;
    ack(&world, 0, &c).await;
    // Wait until scheduler 0 has published its state, then send to scheduler 1.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let via_other = activation("guest", "shared", &rev, true);
    produce(&format!("{}scheduler1", world.prefix), via_other.encode()).await;
    let mut got = fetch(leader.rpc, "guest", "shared", &rev, container, true).await;
    for _ in 0..10 {
        if got.contains(via_other.activation_id.as_str()) {
            break;
        }
        got = fetch(leader.rpc, "guest", "shared", &rev, container, true).await;
    }
    assert!(
        got.contains(via_other.activation_id.as_str()),
        "forwarded to the leader: {got}"
    );
    assert_eq!(
        other
            .engine
            .metrics
            .activations_forwarded
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    leader.stop();
    other.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_scheduler_leaves_no_stuck_keys_and_rebuilds_its_queues() {
    let world = World::new("restart").await;
    let rev = world
        .put_action("guest", "again", "def main(a): return a")
        .await;
    let mut invoker = Invoker::register(&world, 0, 2048).await;
    let first = Scheduler::start(&world, 0).await;
    let topic = format!("{}scheduler0", world.prefix);
    produce(&topic, activation("guest", "again", &rev, true).encode()).await;
    serve_creation(&world, &mut invoker, first.rpc).await;
    let leader_key = format!("{}/queue/guest/guest/again/leader", world.cluster);
    assert!(invoker.coord.get(&leader_key).await.expect("get").is_some());
    first.kill().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        invoker.coord.get(&leader_key).await.expect("get"),
        None,
        "the leader key went with the lease"
    );
    let scheduler_key = format!("{}/scheduler/0", world.cluster);
    assert_eq!(invoker.coord.get(&scheduler_key).await.expect("get"), None);

    let second = Scheduler::start(&world, 0).await;
    let msg = activation("guest", "again", &rev, true);
    produce(&topic, msg.encode()).await;
    let got = serve_creation(&world, &mut invoker, second.rpc).await;
    assert!(got.contains(msg.activation_id.as_str()), "{got}");
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_leader_key_is_claimed_again() {
    let world = World::new("reclaim").await;
    let rev = world
        .put_action("guest", "keep", "def main(a): return a")
        .await;
    let mut invoker = Invoker::register(&world, 0, 2048).await;
    let scheduler = Scheduler::start(&world, 0).await;
    produce(
        &format!("{}scheduler0", world.prefix),
        activation("guest", "keep", &rev, true).encode(),
    )
    .await;
    serve_creation(&world, &mut invoker, scheduler.rpc).await;
    let key = format!("{}/queue/guest/guest/keep/leader", world.cluster);
    invoker.coord.delete(&key).await.expect("delete");
    let mut value = None;
    for _ in 0..50 {
        value = invoker.coord.get(&key).await.expect("get");
        if value.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        value.as_deref(),
        Some(scheduler.engine.endpoints_json.as_str())
    );
    scheduler.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_answer_as_stock() {
    let world = World::new("admin").await;
    let scheduler = Scheduler::start(&world, 0).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = ow_scheduler::admin::router(scheduler.engine.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://{addr}{p}");
    let ping = http.get(url("/ping")).send().await.expect("ping");
    assert_eq!(ping.text().await.expect("body"), "pong");
    let denied = http.get(url("/state")).send().await.expect("state");
    assert_eq!(denied.status(), 401);
    let body: serde_json::Value = denied.json().await.expect("json");
    assert_eq!(
        body["error"],
        "Authentication is possible but has failed or not yet been provided."
    );
    let state = http
        .get(url("/state"))
        .basic_auth("scheduler.user", Some("scheduler.pass"))
        .send()
        .await
        .expect("state");
    assert_eq!(
        state.text().await.expect("body"),
        r#"{"queue":"0","creationCount":"0"}"#
    );
    let count = http
        .get(url("/activation/count"))
        .basic_auth("scheduler.user", Some("scheduler.pass"))
        .send()
        .await
        .expect("count");
    assert_eq!(count.text().await.expect("body"), "0");
    let queues = http
        .get(url("/queues"))
        .basic_auth("scheduler.user", Some("scheduler.pass"))
        .send()
        .await
        .expect("queues");
    assert_eq!(queues.text().await.expect("body"), "[]");
    let metrics = http
        .get(url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    assert!(
        metrics.contains("openwhisk_scheduler_activations_received_total 0"),
        "{metrics}"
    );
    let disabled = http
        .post(url("/disable"))
        .basic_auth("scheduler.user", Some("scheduler.pass"))
        .send()
        .await
        .expect("disable");
    assert_eq!(disabled.text().await.expect("body"), "scheduler disabled");
    let state_key = format!("{}/scheduler/0", world.cluster);
    assert_eq!(
        scheduler.coord.get(&state_key).await.expect("get"),
        None,
        "a drained scheduler unregisters"
    );
    scheduler.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_old_activation_is_completed_with_the_stock_error() {
    let world = World::new("old").await;
    let rev = world
        .put_action("guest", "late", "def main(a): return a")
        .await;
    let mut acks = listen(&format!("{}completed0", world.prefix));
    let scheduler = Scheduler::start(&world, 0).await;
    let mut msg = activation("guest", "late", &rev, true);
    msg.transid.start_millis -= 30_000;
    produce(&format!("{}scheduler0", world.prefix), msg.encode()).await;
    let ack = next_ack(&mut acks).await;
    assert_eq!(ack["response"]["activationId"], msg.activation_id.as_str());
    assert_eq!(
        ack["response"]["response"]["result"]["error"],
        "The activation has not been processed: too old activation is arrived."
    );
    scheduler.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rescheduled_activation_is_served_again() {
    let world = World::new("resched").await;
    let rev = world
        .put_action("guest", "again2", "def main(a): return a")
        .await;
    let mut invoker = Invoker::register(&world, 0, 2048).await;
    let scheduler = Scheduler::start(&world, 0).await;
    let msg = activation("guest", "again2", &rev, true);
    produce(&format!("{}scheduler0", world.prefix), msg.encode()).await;
    let first = serve_creation(&world, &mut invoker, scheduler.rpc).await;
    assert!(first.contains(msg.activation_id.as_str()));
    let mut client =
        ow_compat::grpc::ActivationServiceClient::connect(format!("http://{}", scheduler.rpc))
            .await
            .expect("connect");
    let fqn = r#"{"name":"again2","path":"guest","version":"0.0.1"}"#.to_owned();
    let request = |fqn: String, ns: &str| ow_compat::grpc::RescheduleRequest {
        invocation_namespace: ns.into(),
        fqn,
        rev: format!("\"{rev}\""),
        activation_message: msg.encode(),
    };
    let unknown = client
        .reschedule_activation(request(fqn.clone(), "nobody"))
        .await
        .expect("call");
    assert!(
        !unknown.into_inner().is_rescheduled,
        "no queue, nothing rescheduled"
    );
    let known = client
        .reschedule_activation(request(fqn, "guest"))
        .await
        .expect("call");
    assert!(known.into_inner().is_rescheduled);
    let again = fetch(scheduler.rpc, "guest", "again2", &rev, "another", true).await;
    assert!(again.contains(msg.activation_id.as_str()), "{again}");
    scheduler.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_creation_times_out_and_is_retried() {
    let world = World::new("timeout").await;
    let rev = world
        .put_action("guest", "slow", "def main(a): return a")
        .await;
    let mut invoker = Invoker::register(&world, 0, 2048).await;
    let extra = [("CONFIG_whisk_scheduler_inProgressJobRetention", "1 second")];
    let scheduler = Scheduler::start_with(&world, 0, &extra).await;
    produce(
        &format!("{}scheduler0", world.prefix),
        activation("guest", "slow", &rev, true).encode(),
    )
    .await;
    let ContainerMessage::Creation(first) = invoker.next_command().await else {
        panic!("creation")
    };
    let in_progress = format!(
        "{}/in-progress/guest/guest/slow/{rev}/scheduler/0/creationId/{}",
        world.cluster, first.creation_id
    );
    // No ack: after the retention the job fails with TimeoutError, its key goes, and the
    // queue (Flushing on a whisk error) asks for a container again.
    let ContainerMessage::Creation(second) = invoker.next_command().await else {
        panic!("creation")
    };
    assert_ne!(second.creation_id, first.creation_id);
    assert_eq!(
        invoker.coord.get(&in_progress).await.expect("get"),
        None,
        "the timed-out job's key is gone"
    );
    scheduler.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activation_of_a_missing_action_is_completed_with_an_error() {
    let world = World::new("missing").await;
    let mut acks = listen(&format!("{}completed0", world.prefix));
    let scheduler = Scheduler::start(&world, 0).await;
    let msg = activation(
        "guest",
        "ghost",
        "1-00000000000000000000000000000000",
        false,
    );
    produce(&format!("{}scheduler0", world.prefix), msg.encode()).await;
    let ack = next_ack(&mut acks).await;
    assert_eq!(
        ack["activationId"],
        msg.activation_id.as_str(),
        "a completion for a non-blocking activation"
    );
    assert_eq!(ack["isSystemError"], true);
    let metrics = scheduler.engine.metrics.render(0, 0);
    assert!(
        metrics.contains("openwhisk_scheduler_activations_failed_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("openwhisk_scheduler_activation_wait_seconds_count"),
        "{metrics}"
    );
    scheduler.stop();
}
