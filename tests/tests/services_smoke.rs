//! Smoke tests of the real services (`tests/services/up`), each used the way the scheduler and the
//! invoker will use it. Every test is independent, names its resources uniquely and cleans up.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, ensure};
use ow_compat::Codec;
use ow_compat::json::Wire;
use ow_compat::messages::ActivationMessage;
use ow_compat::records::{
    ActivationDocument, ActivationResponse, WhiskActionDocument, WhiskActivation,
};
use ow_compat::values::{
    ActionLimits, ActivationId, Attachment, CodeBody, EntityName, EntityPath, Exec, Parameters,
    SemVer,
};
use ow_system_tests::couchdb::CouchDb;
use ow_system_tests::docker::{self, ContainerSpec, TestContainer};
use ow_system_tests::etcd::{self, KeepAlive, PrefixWatch, TestCluster};
use ow_system_tests::kafka::{self, Kafka};
use ow_system_tests::runtime::{self, ActionProxy, SENTINEL};
use ow_system_tests::{Attempt, spec, unique, wait_until};
use rdkafka::message::Message;
use serde_json::{Value, json};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

fn parse<T>(r: Result<T, String>) -> anyhow::Result<T> {
    r.map_err(anyhow::Error::msg)
}

// --- Kafka -----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_topic_configs_null_keys_and_committed_offsets() -> anyhow::Result<()> {
    let kafka = Kafka::connect().await?;
    let topic = format!("{}scheduler0", unique::topic_prefix("kafka"));
    kafka.create_topic(&topic, &kafka::SCHEDULER).await?;
    let outcome = kafka_exercise(&kafka, &topic).await;
    let cleanup = kafka.delete_topics(&[&topic]).await;
    outcome?;
    cleanup
}

async fn kafka_exercise(kafka: &Kafka, topic: &str) -> anyhow::Result<()> {
    // The topic carries the `scheduler` block's configs (the broker may need a moment to serve them).
    let wanted = kafka::SCHEDULER.entries();
    let configs = wait_until(
        Duration::from_secs(10),
        format!("topic {topic} to report the scheduler block's configs"),
        || async {
            let c = kafka.topic_config(topic).await?;
            let seen: Vec<_> = wanted
                .iter()
                .map(|(k, _)| (*k, c.get(*k).cloned()))
                .collect();
            Ok(if wanted.iter().all(|(k, v)| c.get(*k) == Some(v)) {
                Attempt::Done(c)
            } else {
                Attempt::pending(seen)
            })
        },
    )
    .await?;
    for (k, v) in &wanted {
        ensure!(
            configs.get(*k) == Some(v),
            "{topic}: {k} = {:?}, wanted {v}",
            configs.get(*k)
        );
    }

    // An ActivationMessage (vector 50), produced with a null key.
    let first = spec::vector_json("50")?;
    let second = first.replace("a3f1c2e4b5d64e7f8a9b0c1d2e3f4a5b", &unique::hex_id());
    ensure!(
        first != second,
        "vector 50 no longer has the activation id this test replaces"
    );
    let producer = kafka.producer()?;
    let (partition, offset) = kafka::produce(&producer, topic, &first).await?;
    ensure!(
        partition == 0,
        "{topic} has one partition, the record went to {partition}"
    );

    // Consumer group = topic name, no auto commit, earliest; commit synchronously after receiving.
    let consumer = kafka.consumer(topic)?;
    let got = kafka::recv_and_commit(&consumer, Duration::from_secs(20)).await?;
    ensure!(got.key().is_none(), "the record has a key: {:?}", got.key());
    ensure!(
        got.offset() == offset,
        "received offset {}, produced {offset}",
        got.offset()
    );
    let text = kafka::payload_text(&got)?;
    ensure!(
        text == first,
        "payload differs from what was produced: {text}"
    );
    let message = ActivationMessage::decode(text.as_bytes())?;
    ensure!(
        message.encode() == text,
        "ActivationMessage does not re-encode byte-identically"
    );
    ensure!(message.activation_id.as_str() == "a3f1c2e4b5d64e7f8a9b0c1d2e3f4a5b");
    let committed = kafka::committed_offset(&consumer, topic, 0)?;
    ensure!(
        committed == Some(offset + 1),
        "committed offset {committed:?}, wanted {}",
        offset + 1
    );
    // Dropping a consumer leaves the group (librdkafka's close blocks until done).
    tokio::task::spawn_blocking(move || drop(consumer))
        .await
        .context("closing the first consumer")?;

    // A second consumer of the same group starts at the committed offset: the first record it
    // gets is the one produced after the commit, not a re-delivery.
    let (_, offset2) = kafka::produce(&producer, topic, &second).await?;
    let consumer2 = kafka.consumer(topic)?;
    let got2 = kafka::recv(&consumer2, Duration::from_secs(20)).await?;
    ensure!(
        got2.offset() == offset2,
        "the second consumer got offset {} (wanted {offset2}): the committed offset was not honoured",
        got2.offset()
    );
    let text2 = kafka::payload_text(&got2)?;
    ensure!(text2 == second, "second payload differs: {text2}");
    ensure!(ActivationMessage::decode(text2.as_bytes())?.encode() == text2);
    tokio::task::spawn_blocking(move || drop(consumer2))
        .await
        .context("closing the second consumer")?;
    Ok(())
}

// --- etcd ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_leases_keep_alive_create_if_absent_and_watch() -> anyhow::Result<()> {
    let mut client = etcd::connect().await?;
    let cluster = TestCluster::new("etcd");
    let outcome = etcd_exercise(&mut client, &cluster).await;
    let cleanup = cluster.cleanup(&mut client).await;
    outcome?;
    cleanup.map(drop)
}

async fn etcd_exercise(
    client: &mut etcd_client::Client,
    cluster: &TestCluster,
) -> anyhow::Result<()> {
    const TTL_S: i64 = 2;
    let mut watch = PrefixWatch::start(client, &cluster.prefix()).await?;

    // One lease per component, its id written under `instance/<id>/lease` with that lease.
    let lease = etcd::grant_lease(client, TTL_S).await?;
    let lease_key = cluster.key("instance/scheduler0/lease");
    etcd::put_with_lease(client, &lease_key, &lease.to_string(), lease).await?;
    let keep_alive = KeepAlive::start(client, lease, Duration::from_millis(500)).await?;
    let e = watch.next(Duration::from_secs(5)).await?;
    ensure!(
        e.put && e.key == lease_key && e.value == lease.to_string(),
        "watch saw {e:?}"
    );

    // Kept alive for longer than the TTL, the key survives.
    tokio::time::sleep(Duration::from_millis(u64::try_from(TTL_S)? * 1000 + 1000)).await;
    ensure!(keep_alive.is_running(), "the keep-alive loop stopped");
    ensure!(
        keep_alive.acks() >= 3,
        "only {} keep-alives answered",
        keep_alive.acks()
    );
    ensure!(
        keep_alive.last_ttl() >= TTL_S,
        "keep-alive answered TTL {}",
        keep_alive.last_ttl()
    );
    let value = etcd::get(client, &lease_key).await?;
    ensure!(
        value == Some(lease.to_string()),
        "{lease_key} after {TTL_S}+1 s of keep-alive: {value:?}"
    );

    // Queue leader election: create-if-absent succeeds once, then fails and leaves the value.
    let leader = cluster.key("queue/guest/guest/hello/leader");
    let me = r#"{"host":"10.0.0.1","pekkoPort":25520,"rpcPort":13001}"#;
    let other = r#"{"host":"10.0.0.2","pekkoPort":25520,"rpcPort":13001}"#;
    ensure!(
        etcd::create_if_absent(client, &leader, me, Some(lease)).await?,
        "first election lost"
    );
    ensure!(
        !etcd::create_if_absent(client, &leader, other, Some(lease)).await?,
        "second election won"
    );
    ensure!(
        etcd::get(client, &leader).await?.as_deref() == Some(me),
        "leader value changed"
    );
    let e = watch.next(Duration::from_secs(5)).await?;
    ensure!(
        e.put && e.key == leader && e.value == me,
        "watch saw {e:?} (wanted the leader put)"
    );
    let listed = etcd::list_prefix(client, &cluster.prefix()).await?;
    ensure!(listed.len() == 2, "keys of the test cluster: {listed:?}");

    // The watch sees a delete.
    ensure!(etcd::delete_prefix(client, &cluster.key("queue/")).await? == 1);
    let e = watch.next(Duration::from_secs(5)).await?;
    ensure!(
        !e.put && e.key == leader,
        "watch saw {e:?} (wanted the leader delete)"
    );

    // Without keep-alives the lease expires and takes its key along; watchers see the delete.
    keep_alive.stop().await?;
    let stopped = Instant::now();
    let mut probe = client.clone();
    wait_until(
        Duration::from_secs(u64::try_from(TTL_S)? + 4),
        format!("{lease_key} to vanish once lease {lease:x} is no longer kept alive"),
        || {
            let mut c = probe.clone();
            let key = lease_key.clone();
            async move {
                Ok(Attempt::check(
                    etcd::get(&mut c, &key).await?,
                    Option::is_none,
                ))
            }
        },
    )
    .await?;
    let gone_after = stopped.elapsed();
    ensure!(
        gone_after >= Duration::from_millis(500),
        "the key vanished {gone_after:?} after the keep-alive stopped, before the lease could expire"
    );
    let e = watch.next(Duration::from_secs(5)).await?;
    ensure!(
        !e.put && e.key == lease_key,
        "watch saw {e:?} (wanted the lease key's delete)"
    );
    let ttl = etcd::lease_ttl(&mut probe, lease).await?;
    ensure!(ttl == -1, "lease {lease:x} still has TTL {ttl}");
    Ok(())
}

// --- CouchDB ---------------------------------------------------------------------------------------

const PY_CODE: &str =
    "def main(args):\n    return {\"greeting\": \"Hello \" + args.get(\"name\", \"stranger\")}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn couchdb_action_document_attachment_and_bulk_activation() -> anyhow::Result<()> {
    let couch = CouchDb::connect().await?;
    let db = couch.test_db("couch").await?;
    let name = db.name().to_owned();
    let outcome = couchdb_exercise(&couch, &name).await;
    let cleanup = db.delete().await;
    outcome?;
    cleanup?;
    ensure!(
        !couch.db_exists(&name).await?,
        "database {name} still exists after delete"
    );
    Ok(())
}

async fn couchdb_exercise(couch: &CouchDb, db: &str) -> anyhow::Result<()> {
    // The action document, code as a `couch:<uuid>` attachment (how the controller stores code).
    let attachment_id = unique::hex_id();
    let action = WhiskActionDocument {
        id: Some("guest/hello".into()),
        rev: None,
        namespace: parse(EntityPath::parse("guest"))?,
        name: parse(EntityName::parse("hello"))?,
        exec: Exec::Code {
            kind: "python:3.10".into(),
            code: CodeBody::Attached(Attachment {
                attachment_name: format!("couch:{attachment_id}"),
                attachment_type: "text/plain".into(),
                length: Some(i64::try_from(PY_CODE.len())?),
                digest: None,
            }),
            binary: false,
            main: None,
        },
        parameters: Parameters::from_pairs([("name", json!("stranger"))]),
        limits: ActionLimits::default(),
        version: SemVer::default(),
        publish: false,
        annotations: Parameters::from_pairs([("exec", json!("python"))]),
        updated: now_ms(),
    };
    let rev1 = couch.seed_action(db, &action).await?;
    let rev2 = couch
        .put_attachment(
            db,
            "guest/hello",
            &rev1,
            &attachment_id,
            "text/plain",
            PY_CODE.into(),
        )
        .await?;
    ensure!(
        rev2 != rev1 && rev2.starts_with("2-"),
        "revisions {rev1} then {rev2}"
    );

    // Read back and decoded as the invoker does.
    let bytes = couch.get_doc_bytes(db, "guest/hello").await?;
    let read = WhiskActionDocument::decode(&bytes)
        .with_context(|| format!("decoding {}", String::from_utf8_lossy(&bytes)))?;
    ensure!(
        read.rev.as_deref() == Some(rev2.as_str()),
        "read _rev {:?}, wanted {rev2}",
        read.rev
    );
    ensure!(read.id.as_deref() == Some("guest/hello"));
    let expected = WhiskActionDocument {
        rev: Some(rev2.clone()),
        ..action.clone()
    };
    ensure!(read == expected, "read back {read:?}\nwanted {expected:?}");
    let at_rev = couch.get_doc_if_match(db, "guest/hello", &rev2).await?;
    ensure!(at_rev.get("_rev").and_then(Value::as_str) == Some(rev2.as_str()));

    let Exec::Code {
        code: CodeBody::Attached(a),
        ..
    } = &read.exec
    else {
        return Err(anyhow!("exec lost its attachment: {:?}", read.exec));
    };
    let stored_name = a
        .attachment_name
        .strip_prefix("couch:")
        .ok_or_else(|| anyhow!("attachment name {}", a.attachment_name))?;
    let (content_type, code) = couch.get_attachment(db, "guest/hello", stored_name).await?;
    ensure!(
        code == PY_CODE.as_bytes(),
        "attachment bytes: {:?}",
        String::from_utf8_lossy(&code)
    );
    ensure!(
        content_type.starts_with("text/plain"),
        "attachment content type {content_type}"
    );

    // An activation record, written with _bulk_docs as the invoker writes them.
    let start = now_ms();
    let activation = WhiskActivation {
        namespace: parse(EntityPath::parse("guest"))?,
        name: parse(EntityName::parse("hello"))?,
        subject: "guest".into(),
        activation_id: parse(ActivationId::parse(&unique::hex_id()))?,
        start,
        end: start + 12,
        cause: None,
        response: ActivationResponse::success(json!({"greeting": "Hello Dorothy"}), Some(28)),
        logs: vec!["2026-01-01T00:00:00.000000000Z stdout: hi".into()],
        version: SemVer::default(),
        publish: false,
        annotations: Parameters::from_pairs([
            ("path", json!("guest/hello")),
            ("kind", json!("python:3.10")),
            ("limits", ActionLimits::default().write()),
            ("timeout", json!(false)),
            ("waitTime", json!(5)),
        ]),
        duration: Some(12),
    };
    let record = ActivationDocument::new(activation.clone(), start + 13);
    let record_json: Value = serde_json::from_str(&record.encode())?;
    let results = couch.bulk_docs(db, vec![record_json]).await?;
    ensure!(results.len() == 1, "_bulk_docs answered {results:?}");
    ensure!(
        results[0].id == record.id && results[0].rev.is_some(),
        "_bulk_docs: {results:?}"
    );
    let stored = ActivationDocument::decode(&couch.get_doc_bytes(db, &record.id).await?)?;
    ensure!(
        stored.activation == activation,
        "stored activation {stored:?}"
    );
    ensure!(stored.updated == record.updated);
    Ok(())
}

// --- Docker ----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_python_runtime_init_run_pause_and_logs() -> anyhow::Result<()> {
    let docker = docker::connect().await?;
    let spec = ContainerSpec::new(docker::PYTHON_IMAGE, "py");
    let container = TestContainer::run(&docker, &spec).await?;
    let outcome = docker_exercise(&container).await;
    let removed = container.remove().await;
    outcome?;
    removed?;
    let left = docker::containers_named(&docker, &spec.name).await?;
    ensure!(left.is_empty(), "containers left behind: {left:?}");
    Ok(())
}

async fn docker_exercise(container: &TestContainer) -> anyhow::Result<()> {
    let ip = container.ip().await?;
    let proxy = ActionProxy::new(&ip)?;

    let init = proxy
        .init(
            &runtime::init_request("hello", PY_CODE),
            Duration::from_secs(10),
        )
        .await?;
    ensure!(init.status == 200, "/init answered {init:?}");

    let run =
        |who: &str| runtime::run_request("guest", "hello", &unique::hex_id(), json!({"name": who}));
    let answer = proxy.run(&run("Dorothy")).await?;
    ensure!(answer.status == 200, "/run answered {answer:?}");
    ensure!(
        answer.json()? == json!({"greeting": "Hello Dorothy"}),
        "/run answered {answer:?}"
    );

    container.pause().await?;
    ensure!(
        container.state().await? == (true, true),
        "not paused: {:?}",
        container.state().await?
    );
    container.unpause().await?;
    ensure!(
        container.state().await? == (true, false),
        "not resumed: {:?}",
        container.state().await?
    );
    let answer = proxy.run(&run("Toto")).await?;
    ensure!(
        answer.json()? == json!({"greeting": "Hello Toto"}),
        "/run after unpause: {answer:?}"
    );

    // Two activations: two sentinel lines on stdout and two on stderr.
    let count = |s: &str| s.lines().filter(|l| *l == SENTINEL).count();
    wait_until(
        Duration::from_secs(5),
        "two sentinels on stdout and on stderr",
        || async {
            let logs = container.logs().await?;
            let seen = (count(&logs.stdout), count(&logs.stderr));
            Ok(if seen == (2, 2) {
                Attempt::Done(())
            } else {
                Attempt::pending((seen, logs))
            })
        },
    )
    .await
}
