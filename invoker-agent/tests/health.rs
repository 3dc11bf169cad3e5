//! The invoker's health with a real Docker engine: containers that cannot start make it
//! `unhealthy`, the health test action brings it back `up`; a blackbox image that cannot be
//! pulled is the user's error (`BlackBoxError`) and leaves the health alone. Its own test
//! binary, because the runtimes manifest is process-wide.

mod support;

use std::time::Duration;

use ow_compat::messages::InvokerStatus;
use support::*;

/// Python kinds as in the other tests, plus one whose image exists nowhere.
const BROKEN_MANIFEST: &str = r#"{"runtimes":{"python":[{"kind":"python:3.10","default":true,"image":{"name":"ow-python-runtime","tag":"latest"}},{"kind":"python:broken","image":{"name":"ow-missing-image","tag":"none"}}]},"blackboxes":[{"name":"ow-blackbox","tag":"latest"}]}"#;

/// A creation request for `guest/<name>` with `exec`, from a scheduler nobody listens at.
fn creation(name: &str, exec: &str) -> String {
    let cid = ow_invoker_agent::ids::random_id();
    format!(
        r#"{{"action":{{"name":"{name}","path":"guest","version":"0.0.1"}},"creationId":"{cid}","invocationNamespace":"guest","retryCount":0,"revision":"1-6a9d0f0c2c5b4e8d9a1b2c3d4e5f6a7b","rootSchedulerIndex":{{"asString":"0"}},"rpcPort":1,"schedulerHost":"127.0.0.1","transid":["sid_containerCreation",1699999000000],"whiskActionMetaData":{{"annotations":[],"exec":{exec},"limits":{{"concurrency":1,"logs":10,"memory":256,"timeout":60000}},"name":"{name}","namespace":"guest","parameters":[],"publish":false,"updated":1699990000000,"version":"0.0.1"}}}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_failures_make_it_unhealthy_and_the_test_action_brings_it_back() {
    init_tracing();
    with_world("health", |world| async move {
        let mut acks = listen(&format!("{}creationAck0", world.prefix));
        let agent = world
            .agent(0, &[("RUNTIMES_MANIFEST", BROKEN_MANIFEST)])
            .await;
        let handle = agent.agent.clone();
        assert_eq!(handle.status(), InvokerStatus::Up);
        let topic = format!("{}invoker0", world.prefix);

        // A user's blackbox image that cannot be pulled: the user's error, not the invoker's.
        let blackbox = r#"{"kind":"blackbox","image":"ow-missing-blackbox:none","binary":false}"#;
        produce(&topic, creation("boxed", blackbox)).await;
        let ack = next_json(&mut acks, "blackbox ack", Duration::from_secs(30)).await;
        assert_eq!(ack["error"], "BlackBoxError", "{ack}");
        assert_eq!(
            ack["reason"],
            "Failed to pull container image 'ow-missing-blackbox:none'."
        );
        assert_eq!(handle.metrics.health_changes.get(), 0);

        // Three containers of a managed kind that cannot start: whisk errors, unhealthy.
        let broken = r#"{"kind":"python:broken","binary":false}"#;
        for i in 0..3 {
            produce(&topic, creation(&format!("broken{i}"), broken)).await;
            let ack = next_json(&mut acks, "failure ack", Duration::from_secs(30)).await;
            assert_eq!(ack["error"], "WhiskError", "{ack}");
            assert_eq!(
                ack["reason"],
                "Failed to provision resources to run the action."
            );
        }
        eventually("unhealthy", Duration::from_secs(10), async || {
            handle.metrics.health_changes.get() >= 1
        })
        .await;
        // The health test action (the default python kind) answers: up again.
        eventually("up again", Duration::from_secs(60), async || {
            handle.status() == InvokerStatus::Up && handle.metrics.health_changes.get() == 2
        })
        .await;
        eventually(
            "the test container is removed",
            Duration::from_secs(20),
            async || world.containers().await.is_empty(),
        )
        .await;

        let pool = reqwest::Client::new()
            .get(format!("http://{}/pool", agent.admin))
            .basic_auth("invoker.user", Some("invoker.pass"))
            .send()
            .await
            .expect("admin")
            .text()
            .await
            .expect("body");
        assert_eq!(
            pool,
            r#"{"busyPool":{"containers":[],"total":0},"inProgressCount":0,"pausedPool":{"containers":[],"total":0},"prewarmedPool":{"countsByKind":{},"total":0},"totalContainers":0}"#
        );
        agent.stop(Duration::from_secs(10)).await;
    })
    .await;
}
