//! The agent against real Kafka, etcd, CouchDB and Docker, with our scheduler in the same
//! process: controller stand-in → `ow-scheduler` → `ow-invoker-agent` → a container of
//! `ow-python-runtime` → acks on `completed0` and records in CouchDB.

mod support;

use std::time::{Duration, Instant};

use ow_compat::Codec;
use ow_compat::coordination::Coordinator;
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_action_cold_warm_paused_resumed_and_drained() {
    init_tracing();
    with_world("e2e", |world| async move {
        let rev = world.put_action("hello", HELLO, Limits::default()).await;
        let mut acks = listen(&format!("{}completed0", world.prefix));
        let mut events = listen(&format!("{}ue_events", world.prefix));
        let events_prefix = format!("{}ue_", world.prefix);
        let agent = world
            .agent(
                0,
                &[
                    // Long enough to outlast the cold activation's checks on a loaded
                    // machine, so the warm step finds the container unpaused.
                    (
                        "CONFIG_whisk_containerProxy_timeouts_pauseGrace",
                        "5 seconds",
                    ),
                    ("CONFIG_whisk_userEvents_enabled", "true"),
                    ("CONFIG_whisk_kafka_topics_userEvent_prefix", &events_prefix),
                ],
            )
            .await;
        let scheduler = Scheduler::start(&world).await;
        let topic = format!("{}scheduler0", world.prefix);

        // Cold start: a blocking activation with logs gets the result, then the completion.
        let started = Instant::now();
        let first = activation("hello", &rev, true);
        produce(&topic, first.encode()).await;
        let result = next_json(&mut acks, "result ack", Duration::from_secs(60)).await;
        eprintln!("cold activation: {:?}", started.elapsed());
        assert!(
            result.get("instance").is_none(),
            "a result message: {result}"
        );
        let response = &result["response"];
        assert_eq!(response["activationId"], first.activation_id.as_str());
        assert_eq!(response["response"]["statusCode"], 0, "{result}");
        assert_eq!(
            response["response"]["result"],
            json!({"greeting": "Hello Dorothy"})
        );
        assert!(
            response["annotations"].to_string().contains("initTime"),
            "{result}"
        );
        let completion = next_json(&mut acks, "completion ack", Duration::from_secs(10)).await;
        assert_eq!(completion["activationId"], first.activation_id.as_str());
        assert_eq!(completion["isSystemError"], false);
        assert_eq!(completion["instance"]["instanceType"], "invoker");
        let record = world.activation_record(first.activation_id.as_str()).await;
        assert_eq!(record["response"]["result"]["greeting"], "Hello Dorothy");
        let event = next_json(&mut events, "user event", Duration::from_secs(10)).await;
        assert_eq!(
            (
                &event["source"],
                &event["eventType"],
                &event["body"]["activationId"]
            ),
            (
                &json!("invoker0"),
                &json!("Activation"),
                &json!(first.activation_id.as_str())
            ),
            "{event}"
        );
        assert_eq!(event["body"]["statusCode"], 0, "{event}");
        assert!(event["body"]["initTime"].as_i64() > Some(0), "{event}");
        let logs = record["logs"].to_string();
        assert!(logs.contains("stdout: hello from the action"), "{logs}");
        assert_eq!(world.containers().await.len(), 1);

        // Warm: a non-blocking activation reuses the container; only a completion comes back.
        let started = Instant::now();
        let second = activation("hello", &rev, false);
        produce(&topic, second.encode()).await;
        let completion = next_json(&mut acks, "warm completion", Duration::from_secs(20)).await;
        eprintln!("warm activation: {:?}", started.elapsed());
        assert_eq!(completion["activationId"], second.activation_id.as_str());
        assert!(completion.get("response").is_none(), "{completion}");
        let record = world.activation_record(second.activation_id.as_str()).await;
        assert!(
            !record["annotations"].to_string().contains("initTime"),
            "warm: {record}"
        );
        assert_eq!(agent.agent.metrics.cold_starts.get(), 1);

        // Idle for the pause grace: paused, and the warmed key replaces the namespace key.
        eventually("paused", Duration::from_secs(15), async || {
            agent.agent.pool(|p| p.counts().paused) == 1
        })
        .await;
        let warmed = scheduler
            .coord
            .list(&format!(
                "{}/warmed/guest/guest/hello/{rev}/invoker/0/container/",
                world.cluster
            ))
            .await
            .expect("etcd");
        assert_eq!(warmed.len(), 1, "warmed key: {warmed:?}");
        let namespace = format!("{}/namespace/guest/guest/hello/{rev}/", world.cluster);
        assert!(
            scheduler
                .coord
                .list(&namespace)
                .await
                .expect("etcd")
                .is_empty()
        );

        // The next activation resumes the paused container rather than starting another.
        let started = Instant::now();
        let third = activation("hello", &rev, true);
        produce(&topic, third.encode()).await;
        let result = next_json(&mut acks, "result after resume", Duration::from_secs(30)).await;
        eprintln!("activation on a paused container: {:?}", started.elapsed());
        assert_eq!(
            result["response"]["activationId"],
            third.activation_id.as_str()
        );
        assert_eq!(
            result["response"]["response"]["result"]["greeting"],
            "Hello Dorothy"
        );
        assert_eq!(agent.agent.metrics.resumes.get(), 1);
        assert_eq!(agent.agent.metrics.cold_starts.get(), 1);

        // Drain: every container goes, and with the revoked lease every key of the invoker.
        let invoker = agent.agent.clone();
        agent.stop(Duration::from_secs(20)).await;
        assert_eq!(invoker.pool(|p| p.slots().count()), 0);
        assert!(
            world.containers().await.is_empty(),
            "containers left behind"
        );
        let keys = scheduler
            .coord
            .list(&format!("{}/invokers/", world.cluster))
            .await
            .expect("etcd");
        assert!(keys.is_empty(), "invoker key left: {keys:?}");
        scheduler.stop();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_classified_as_stock_and_broken_containers_removed() {
    init_tracing();
    with_world("fail", |world| async move {
        let short = Limits { timeout_ms: 1_000, ..Limits::default() };
        let small_logs = Limits { logs_mb: 1, ..Limits::default() };
        let actions = [
            ("raises", "def main(a):\n    raise Exception('boom')\n", Limits::default()),
            ("slow", "import time\ndef main(a):\n    time.sleep(5)\n    return {}\n", short),
            ("broken", "def main(a) return\n", Limits::default()),
            ("big", "def main(a):\n    return {'x': 'a' * 2000000}\n", Limits::default()),
            ("chatty", "def main(a):\n    for i in range(30000):\n        print('x' * 100)\n    return {'done': True}\n", small_logs),
        ];
        let hog = Limits {
            memory_mb: 128,
            ..Limits::default()
        };
        let actions = [
            actions[0],
            actions[1],
            actions[2],
            actions[3],
            actions[4],
            (
                "hog",
                "def main(a):\n    x = bytearray(400 * 1024 * 1024)\n    return {'n': len(x)}\n",
                hog,
            ),
        ];
        let mut revs = std::collections::HashMap::new();
        for (name, code, limits) in actions {
            revs.insert(name, world.put_action(name, code, limits).await);
        }
        let mut acks = listen(&format!("{}completed0", world.prefix));
        let agent = world.agent(0, &[]).await;
        let scheduler = Scheduler::start(&world).await;
        let topic = format!("{}scheduler0", world.prefix);
        let mut run = async |name: &str| {
            let msg = activation(name, &revs[name], true);
            produce(&topic, msg.encode()).await;
            let (result, _) = acks_of(&mut acks, msg.activation_id.as_str(), Duration::from_secs(60)).await;
            let record = world.activation_record(msg.activation_id.as_str()).await;
            (result["response"]["response"].clone(), record)
        };

        let (raised, _) = run("raises").await;
        assert_eq!(raised["statusCode"], 1, "application error: {raised}");
        assert_eq!(raised["result"], json!({"error": "boom"}));

        let (slow, record) = run("slow").await;
        assert_eq!(slow["statusCode"], 2, "{slow}");
        assert_eq!(
            slow["result"]["error"],
            "The action exceeded its time limits of 1000 milliseconds."
        );
        assert!(record["annotations"].to_string().contains(r#""key":"timeout","value":true"#), "{record}");

        let (broken, record) = run("broken").await;
        assert_eq!(broken["statusCode"], 2, "{broken}");
        assert!(broken["result"]["error"].as_str().unwrap_or_default().contains("SyntaxError"), "{broken}");
        assert!(
            record["logs"].to_string().contains("The action did not initialize or run as expected."),
            "{record}"
        );

        // Kafka refuses the full result ack; it goes shrunk, and the record tells the result.
        let (shrunk, record) = run("big").await;
        assert!(shrunk.is_null(), "{shrunk}");
        let big = &record["response"];
        assert_eq!(big["statusCode"], 1, "{big}");
        let text = big["result"]["error"].as_str().unwrap_or_default();
        assert!(text.starts_with("The action produced a response that exceeded the allowed length: 2000009 > 1048576 bytes."), "{}", &text[..200.min(text.len())]);

        let (chatty, record) = run("chatty").await;
        assert_eq!(chatty["statusCode"], 0, "{chatty}");
        let logs = record["logs"].as_array().cloned().unwrap_or_default();
        let last = logs.last().and_then(|l| l.as_str()).unwrap_or_default();
        assert!(last.ends_with("Logs were truncated because the total bytes size exceeds the limit of 1048576 bytes."), "{last}");
        assert!(logs.len() < 30_000);

        let (hog, _) = run("hog").await;
        assert_eq!(hog["statusCode"], 2, "{hog}");
        assert_eq!(
            hog["result"]["error"],
            "The action exhausted its memory and was aborted."
        );

        // Developer errors and unreadable logs remove their containers; the application errors'
        // containers stay.
        let m = &agent.agent.metrics;
        assert_eq!(m.cold_starts.get(), 6);
        eventually("failed containers removed", Duration::from_secs(20), async || {
            world.containers().await.len() == 2
        })
        .await;
        agent.stop(Duration::from_secs(20)).await;
        scheduler.stop();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_revision_replaces_the_old_container() {
    init_tracing();
    with_world("rev", |world| async move {
        let v1 = "def main(a):\n    return {'v': 1}\n";
        let rev1 = world.put_action("upd", v1, Limits::default()).await;
        let mut acks = listen(&format!("{}completed0", world.prefix));
        // Once idle, the old container pauses; the outdated queue then has no container left,
        // goes, and the scheduler sends the deletion that removes the paused container.
        let agent = world
            .agent(
                0,
                &[(
                    "CONFIG_whisk_containerProxy_timeouts_pauseGrace",
                    "3 seconds",
                )],
            )
            .await;
        let scheduler = Scheduler::start(&world).await;
        let topic = format!("{}scheduler0", world.prefix);
        let first = activation("upd", &rev1, true);
        produce(&topic, first.encode()).await;
        let (result, _) = acks_of(
            &mut acks,
            first.activation_id.as_str(),
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(result["response"]["response"]["result"], json!({"v": 1}));

        let v2 = "def main(a):\n    return {'v': 2}\n";
        let rev2 = world.put_action("upd", v2, Limits::default()).await;
        let second = activation("upd", &rev2, true);
        produce(&topic, second.encode()).await;
        let (result, _) = acks_of(
            &mut acks,
            second.activation_id.as_str(),
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(result["response"]["response"]["result"], json!({"v": 2}));
        assert_eq!(agent.agent.metrics.cold_starts.get(), 2);
        let coord = &scheduler.coord;
        let old_keys = |kind: &str| format!("{}/{kind}/guest/guest/upd/{rev1}/", world.cluster);
        eventually(
            "the old revision's container is gone",
            Duration::from_secs(30),
            async || {
                coord
                    .list(&old_keys("namespace"))
                    .await
                    .is_ok_and(|k| k.is_empty())
                    && coord
                        .list(&old_keys("warmed"))
                        .await
                        .is_ok_and(|k| k.is_empty())
                    && world.containers().await.len() == 1
            },
        )
        .await;
        agent.stop(Duration::from_secs(10)).await;
        scheduler.stop();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_container_is_paused_then_removed() {
    init_tracing();
    with_world("idle", |world| async move {
        let rev = world.put_action("hello", HELLO, Limits::default()).await;
        let mut acks = listen(&format!("{}completed0", world.prefix));
        let agent = world
            .agent(
                0,
                &[
                    (
                        "CONFIG_whisk_containerProxy_timeouts_pauseGrace",
                        "1 second",
                    ),
                    (
                        "CONFIG_whisk_containerProxy_timeouts_idleContainer",
                        "2 seconds",
                    ),
                ],
            )
            .await;
        let scheduler = Scheduler::start(&world).await;
        let msg = activation("hello", &rev, true);
        produce(&format!("{}scheduler0", world.prefix), msg.encode()).await;
        acks_of(
            &mut acks,
            msg.activation_id.as_str(),
            Duration::from_secs(60),
        )
        .await;
        let warmed = format!("{}/warmed/", world.cluster);
        let coord = &scheduler.coord;
        eventually(
            "paused with a warmed key",
            Duration::from_secs(10),
            async || coord.list(&warmed).await.is_ok_and(|k| k.len() == 1),
        )
        .await;
        eventually(
            "removed after the idle timeout",
            Duration::from_secs(10),
            async || {
                world.containers().await.is_empty()
                    && coord.list(&warmed).await.is_ok_and(|k| k.is_empty())
            },
        )
        .await;
        assert_eq!(agent.agent.metrics.pauses.get(), 1);
        assert_eq!(agent.agent.pool(|p| p.slots().count()), 0);
        agent.stop(Duration::from_secs(10)).await;
        scheduler.stop();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stem_cell_is_taken_for_its_kind_and_replaced() {
    init_tracing();
    with_world("stem", |world| async move {
        let manifest = MANIFEST.replace(
            r#""kind":"python:3.10","default":true,"#,
            r#""kind":"python:3.10","default":true,"stemCells":[{"initialCount":1,"memory":"256 MB"}],"#,
        );
        assert_ne!(manifest, MANIFEST);
        let rev = world.put_action("hello", HELLO, Limits::default()).await;
        let mut acks = listen(&format!("{}completed0", world.prefix));
        let agent = world.agent(0, &[("RUNTIMES_MANIFEST", &manifest)]).await;
        let invoker = agent.agent.clone();
        let ready = |p: &mut ow_invoker_agent::pool::Pool| {
            p.slots()
                .filter(|(_, s)| s.state == ow_invoker_agent::pool::SlotState::Prewarm)
                .count()
        };
        eventually("a stem cell is ready", Duration::from_secs(20), async || {
            invoker.pool(ready) == 1
        })
        .await;
        assert_eq!(invoker.pool(|p| p.memory().free), 2048, "stem cells are outside the budget");
        let scheduler = Scheduler::start(&world).await;
        let msg = activation("hello", &rev, true);
        produce(&format!("{}scheduler0", world.prefix), msg.encode()).await;
        let (result, _) = acks_of(&mut acks, msg.activation_id.as_str(), Duration::from_secs(60)).await;
        assert_eq!(result["response"]["response"]["result"]["greeting"], "Hello Dorothy");
        assert_eq!(invoker.metrics.prewarm_taken.get(), 1);
        assert_eq!(invoker.metrics.cold_starts.get(), 0);
        eventually("a replacement stem cell", Duration::from_secs(20), async || {
            invoker.pool(ready) == 1 && world.containers().await.len() == 2
        })
        .await;
        agent.stop(Duration::from_secs(10)).await;
        assert!(world.containers().await.is_empty(), "stem cells removed on drain");
        scheduler.stop();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_stored_as_an_attachment_is_fetched_for_init() {
    init_tracing();
    with_world("attach", |world| async move {
        let code = "def main(a):\n    return {'from': 'attachment'}\n";
        let couch = world.put_attached_action("incouch", code, true).await;
        let inline = world.put_attached_action("inname", code, false).await;
        let mut acks = listen(&format!("{}completed0", world.prefix));
        let agent = world.agent(0, &[]).await;
        let scheduler = Scheduler::start(&world).await;
        for (name, rev) in [("incouch", couch), ("inname", inline)] {
            let msg = activation(name, &rev, true);
            produce(&format!("{}scheduler0", world.prefix), msg.encode()).await;
            let (result, _) = acks_of(
                &mut acks,
                msg.activation_id.as_str(),
                Duration::from_secs(60),
            )
            .await;
            assert_eq!(
                result["response"]["response"]["result"],
                json!({"from": "attachment"}),
                "{name}: {result}"
            );
        }
        agent.stop(Duration::from_secs(10)).await;
        scheduler.stop();
    })
    .await;
}
