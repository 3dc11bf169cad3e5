//! The agent's own contracts against the real services, without a scheduler: container
//! commands on `invoker0` answered with the stock acks, the admin routes, and the binary killed
//! and restarted.

mod support;

use std::time::Duration;

use ow_compat::Codec;
use ow_compat::coordination::Coordinator;
use support::*;

/// A creation request for `guest/<name>` as our scheduler would send it (vector 52 with a
/// Python kind), from a scheduler at `host:port`.
fn creation(name: &str, memory_mb: u32, exec: &str, host: &str, port: u16) -> String {
    let cid = ow_invoker_agent::ids::random_id();
    format!(
        r#"{{"action":{{"name":"{name}","path":"guest","version":"0.0.1"}},"creationId":"{cid}","invocationNamespace":"guest","retryCount":0,"revision":"1-6a9d0f0c2c5b4e8d9a1b2c3d4e5f6a7b","rootSchedulerIndex":{{"asString":"0"}},"rpcPort":{port},"schedulerHost":"{host}","transid":["sid_containerCreation",1699999000000],"whiskActionMetaData":{{"annotations":[],"exec":{exec},"limits":{{"concurrency":1,"logs":10,"memory":{memory_mb},"timeout":60000}},"name":"{name}","namespace":"guest","parameters":[],"publish":false,"updated":1699990000000,"version":"0.0.1"}}}}"#
    )
}

const PYTHON: &str = r#"{"kind":"python:3.10","binary":false}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_commands_are_answered_with_the_stock_acks() {
    init_tracing();
    with_world("cmds", |world| async move {
        // A container a previous run of invoker 0 left behind is removed at start.
        let docker = ow_invoker_agent::runtime::DockerRuntime::connect().await.expect("docker");
        let mut config_env = world.env();
        config_env.insert("PORT".into(), "0".into());
        let config = ow_invoker_agent::config::AgentConfig::from_args_and_env(
            &["--id".to_owned(), "0".to_owned()],
            &config_env,
        )
        .expect("config");
        let leftover = ow_invoker_agent::runtime::ContainerSpec {
            name: format!("{}_leftover", world.cluster),
            image: "ow-python-runtime:latest".into(),
            memory_mb: 128,
            cpu_shares: 2,
            env: vec![],
            labels: ow_invoker_agent::container_spec::owner_labels(&config).into_iter().collect(),
            network: "bridge".into(),
            dns: vec![],
        };
        use ow_invoker_agent::runtime::ContainerRuntime;
        docker.run(&leftover).await.expect("leftover container");
        assert_eq!(world.containers().await.len(), 1);
        let mut acks = listen(&format!("{}creationAck0", world.prefix));
        let agent = world.agent(0, &[]).await;
        assert!(world.containers().await.is_empty(), "leftover removed");

        let topic = format!("{}invoker0", world.prefix);
        let warm_up = include_str!("../../../shared/spec/vectors/53-kafka-containercreationmessage-warmup.json")
            .replace("nodejs:20", "python:3.10");
        produce(&topic, warm_up.trim().to_owned()).await;
        produce(&topic, "not a command".into()).await;

        let too_big = creation("huge", 4096, PYTHON, "127.0.0.1", 1);
        produce(&topic, too_big.clone()).await;
        let ack = next_json(&mut acks, "creation ack", Duration::from_secs(30)).await;
        let cid = serde_json::from_str::<serde_json::Value>(&too_big).expect("json")["creationId"].clone();
        assert_eq!(ack["creationId"], cid, "the warm-up got no ack: {ack}");
        assert_eq!(ack["error"], "ResourceNotEnoughError");
        assert_eq!(
            ack["reason"],
            format!("creationId: {}, invoker[invoker0] doesn't have enough resource for container: guest/huge@0.0.1", cid.as_str().unwrap_or_default())
        );
        assert_eq!(ack["rootInvokerIndex"]["userMemory"], "2147483648 B");

        let sequence = creation("seq", 256, r#"{"kind":"sequence","components":["/guest/a"]}"#, "127.0.0.1", 1);
        produce(&topic, sequence).await;
        let ack = next_json(&mut acks, "creation ack", Duration::from_secs(10)).await;
        assert_eq!(ack["error"], "NonExecutableActionError");

        // Nothing listens where this creation says the scheduler is: the container cannot get
        // a client, the creation fails with the stock reason, and the container goes.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        produce(&topic, creation("lonely", 256, PYTHON, "127.0.0.1", port)).await;
        let ack = next_json(&mut acks, "creation ack", Duration::from_secs(30)).await;
        assert_eq!((ack["error"].as_str(), ack["reason"].as_str()), (Some("UnknownError"), Some("ContainerProxy init failed.")), "{ack}");
        eventually("failed container removed", Duration::from_secs(10), async || world.containers().await.is_empty()).await;
        assert_eq!(agent.agent.metrics.malformed_commands.get(), 1);

        // While disabled, creations are refused as shutting down.
        let admin = format!("http://{}", agent.admin);
        let http = reqwest::Client::new();
        let denied = http.post(format!("{admin}/disable")).send().await.expect("admin");
        assert_eq!(denied.status(), 401);
        let body = http
            .post(format!("{admin}/disable"))
            .basic_auth("invoker.user", Some("invoker.pass"))
            .send()
            .await
            .expect("admin")
            .text()
            .await
            .expect("body");
        assert_eq!(body, "invoker0 is now disabled.");
        let enabled = http
            .get(format!("{admin}/isEnabled"))
            .basic_auth("invoker.user", Some("invoker.pass"))
            .send()
            .await
            .expect("admin")
            .text()
            .await
            .expect("body");
        assert_eq!(enabled, r#"{"enabled":false}"#);
        produce(&topic, creation("late", 256, PYTHON, "127.0.0.1", port)).await;
        let ack = next_json(&mut acks, "creation ack", Duration::from_secs(10)).await;
        assert_eq!(ack["error"], "ShuttingDownError");
        let health = world_invoker_health(&world).await;
        assert_eq!(health["status"], "down", "{health}");
        let metrics = http.get(format!("{admin}/metrics")).send().await.expect("metrics").text().await.expect("body");
        assert!(metrics.contains("openwhisk_invoker_creation_not_enough_memory_total 1"), "{metrics}");

        agent.stop(Duration::from_secs(10)).await;
        drop(docker);
    })
    .await;
}

/// The invoker's health as published in etcd (eventually `down` after a disable).
async fn world_invoker_health(world: &World) -> serde_json::Value {
    let coord = ow_compat::coordination::EtcdCoordinator::connect(
        &[ETCD.to_owned()],
        Duration::from_secs(5),
        format!("{}/instance/reader/lease", world.cluster),
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect("etcd");
    let key = format!("{}/invokers/0", world.cluster);
    let mut value = serde_json::Value::Null;
    for _ in 0..50 {
        if let Ok(Some(text)) = coord.get(&key).await {
            value = serde_json::from_str(&text).expect("json");
            if value["status"] == "down" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    coord.revoke().await;
    value
}

/// The `ow-invoker-agent` binary as a child process with this test's environment.
fn spawn_binary(world: &World, log: &str) -> std::process::Child {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{}_{log}.log", world.cluster));
    let out = std::fs::File::create(&path).expect("log file");
    std::process::Command::new(env!("CARGO_BIN_EXE_ow-invoker-agent"))
        .args(["--id", "0"])
        .env_clear()
        .envs(world.env())
        .env(
            "CONFIG_whisk_containerProxy_timeouts_pauseGrace",
            "60 seconds",
        )
        .env("RUST_LOG", "ow_invoker_agent=debug")
        .stdout(std::process::Stdio::null())
        .stderr(out)
        .spawn()
        .expect("agent binary starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agent_leaves_nothing_once_restarted_and_its_keys_expire() {
    init_tracing();
    with_world("kill", |world| async move {
        let rev = world.put_action("hello", HELLO, Limits::default()).await;
        let mut acks = listen(&format!("{}completed0", world.prefix));
        let scheduler = Scheduler::start(&world).await;
        let mut agent = spawn_binary(&world, "first");
        let msg = activation("hello", &rev, true);
        produce(&format!("{}scheduler0", world.prefix), msg.encode()).await;
        let (result, _) = acks_of(
            &mut acks,
            msg.activation_id.as_str(),
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(result["response"]["response"]["statusCode"], 0, "{result}");
        assert_eq!(world.containers().await.len(), 1);

        agent.kill().expect("SIGKILL");
        let _ = agent.wait();
        assert_eq!(
            world.containers().await.len(),
            1,
            "a killed agent cannot clean up"
        );
        let coord = &scheduler.coord;
        let (namespace, invokers) = (
            format!("{}/namespace/", world.cluster),
            format!("{}/invokers/", world.cluster),
        );
        eventually(
            "keys expire with the lease",
            Duration::from_secs(15),
            async || {
                coord.list(&namespace).await.is_ok_and(|k| k.is_empty())
                    && coord.list(&invokers).await.is_ok_and(|k| k.is_empty())
            },
        )
        .await;

        let mut agent = spawn_binary(&world, "second");
        eventually(
            "restarted agent registered",
            Duration::from_secs(30),
            async || coord.list(&invokers).await.is_ok_and(|k| k.len() == 1),
        )
        .await;
        assert!(
            world.containers().await.is_empty(),
            "the restart removed the leftover container"
        );

        // SIGTERM drains and exits cleanly; the lease is revoked at once.
        let pid = agent.id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = tokio::task::spawn_blocking(move || agent.wait())
            .await
            .expect("join")
            .expect("wait");
        assert!(exit.success(), "agent exit: {exit}");
        assert!(coord.list(&invokers).await.expect("etcd").is_empty());
        scheduler.stop();
    })
    .await;
}
