//! The process runtime with real child processes running the real action proxy: `/init` and
//! `/run` through the agent's HTTP client, logs through the agent's log collector, pause and
//! unpause, removal, labels, the memory limit, clean-up when the runtime goes; and the agent's
//! own end-to-end flow (Kafka, etcd, CouchDB, our scheduler) with processes instead of Docker.

mod support;

use std::time::Duration;

use ow_compat::Codec;
use ow_compat::bus::KafkaBus;
use ow_compat::coordination::EtcdCoordinator;
use ow_compat::store::CouchStore;
use ow_invoker_agent::action_http::ActionClient;
use ow_invoker_agent::agent::{self, Deps};
use ow_invoker_agent::config::AgentConfig;
use ow_invoker_agent::container_spec::LABEL_CLUSTER;
use ow_invoker_agent::logs::LogCollector;
use ow_invoker_agent::outcome::HttpOutcome;
use ow_invoker_agent::runtime::{
    ContainerRuntime, ContainerSpec, ProcessRuntime, ProcessSettings, RuntimeChoice, RuntimeError,
    SelectedRuntime, StartedContainer,
};
use serde_json::json;
use support::*;
use tokio_util::sync::CancellationToken;

const LIMIT: Duration = Duration::from_secs(30);
const MAX_BYTES: u64 = 1 << 20;

async fn runtime() -> ProcessRuntime {
    ProcessRuntime::start(ProcessSettings::from_env())
        .await
        .expect("python3 on PATH")
}

fn spec(memory_mb: u64, labels: &[(&str, &str)]) -> ContainerSpec {
    ContainerSpec {
        name: unique("proc"),
        image: "ow-python-runtime:latest".into(),
        memory_mb,
        cpu_shares: 2,
        env: vec!["__OW_API_HOST=http://127.0.0.1:3233".into()],
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        network: "bridge".into(),
        dns: Vec::new(),
    }
}

fn init_body(code: &str) -> String {
    json!({"value": {"name": "hello", "main": "main", "code": code, "binary": false, "env": {}}})
        .to_string()
}

fn run_body(args: serde_json::Value) -> String {
    json!({"value": args, "activation_id": "a1", "namespace": "guest", "action_name": "/guest/hello",
           "deadline": "0", "transaction_id": "t1"})
    .to_string()
}

/// Starts a child and initializes it with `code`.
async fn started(runtime: &ProcessRuntime, code: &str, memory_mb: u64) -> StartedContainer {
    let container = runtime
        .run(&spec(memory_mb, &[]))
        .await
        .expect("child starts");
    let http = ActionClient::new().expect("client");
    let init = http
        .init(&container.address, init_body(code), LIMIT, MAX_BYTES)
        .await;
    assert!(
        matches!(init.outcome, HttpOutcome::Response { status: 200, .. }),
        "{init:?}"
    );
    container
}

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // a zombie (state Z) has exited and only waits to be reaped
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

fn refuses(address: &str) -> bool {
    std::net::TcpStream::connect(address).is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_runs_and_its_logs_end_at_the_sentinels() {
    let runtime = runtime().await;
    let cold = std::time::Instant::now();
    let container = started(&runtime, HELLO, 256).await;
    eprintln!("start and /init of an action process: {:?}", cold.elapsed());
    let mut logs = runtime.follow_logs(&container.id);
    let http = ActionClient::new().expect("client");
    let run = http
        .run(
            &container.address,
            run_body(json!({"name": "Dorothy"})),
            LIMIT,
            MAX_BYTES,
        )
        .await;
    let HttpOutcome::Response { status, body, .. } = run.outcome else {
        panic!("no answer: {run:?}")
    };
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).expect("json"),
        json!({"greeting": "Hello Dorothy"})
    );

    let mut collector = LogCollector::new(10, true);
    let complete = tokio::time::timeout(LIMIT, async {
        while let Some(line) = logs.recv().await {
            if collector.push(&line, 0) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(complete, Ok(true), "both sentinels arrive");
    let collected = collector.finish(false, false, 0);
    assert!(!collected.failed);
    assert_eq!(collected.lines.len(), 1, "{:?}", collected.lines);
    let line = &collected.lines[0];
    assert!(line.ends_with(" stdout: hello from the action"), "{line}");
    let time = line.split(' ').next().unwrap_or_default();
    assert_eq!(time.len(), 30, "RFC 3339 with nanoseconds: {time}");

    let pid = runtime.pid(&container.id).expect("a pid");
    runtime.remove(&container.id).await.expect("removed");
    assert!(refuses(&container.address), "port closed");
    assert!(!alive(pid), "process gone");
    runtime
        .remove(&container.id)
        .await
        .expect("already gone is fine");
    assert!(runtime.pid(&container.id).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_action_answers_only_after_unpause() {
    let runtime = runtime().await;
    let container = started(&runtime, HELLO, 256).await;
    runtime.pause(&container.id).await.expect("paused");
    let address = container.address.clone();
    let pending = tokio::spawn(async move {
        let http = ActionClient::new().expect("client");
        http.run(
            &address,
            run_body(json!({"name": "Toto"})),
            LIMIT,
            MAX_BYTES,
        )
        .await
    });
    // Only proves the absence of an answer so far: a slow machine cannot make this fail.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!pending.is_finished(), "a paused process answered");
    runtime.unpause(&container.id).await.expect("unpaused");
    let run = pending.await.expect("task");
    let HttpOutcome::Response { status, body, .. } = run.outcome else {
        panic!("no answer after unpause: {run:?}")
    };
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"greeting": "Hello Toto"}"#)
    );
    runtime.remove(&container.id).await.expect("removed");
    let paused_then_removed = runtime.pause(&container.id).await;
    assert!(
        matches!(
            paused_then_removed,
            Err(RuntimeError::Process {
                operation: "pause",
                ..
            })
        ),
        "{paused_then_removed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_are_listed_by_every_given_label() {
    let runtime = runtime().await;
    let x = runtime
        .run(&spec(128, &[("owner", "t"), ("action", "x")]))
        .await
        .expect("x");
    let y = runtime
        .run(&spec(128, &[("owner", "t"), ("action", "y")]))
        .await
        .expect("y");
    let label = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let mut both = runtime.list(&[label("owner", "t")]).await.expect("list");
    both.sort();
    let mut expected = vec![x.id.clone(), y.id.clone()];
    expected.sort();
    assert_eq!(both, expected);
    let only_x = runtime
        .list(&[label("owner", "t"), label("action", "x")])
        .await
        .expect("list");
    assert_eq!(only_x, std::slice::from_ref(&x.id));
    assert!(
        runtime
            .list(&[label("owner", "u")])
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(x.id.len(), 64);
    assert!(x.id.bytes().all(|b| b.is_ascii_hexdigit()), "{}", x.id);
    assert_ne!(x.address, y.address);

    runtime.remove(&x.id).await.expect("removed");
    assert_eq!(
        runtime.list(&[label("owner", "t")]).await.expect("list"),
        std::slice::from_ref(&y.id)
    );
    runtime.remove(&y.id).await.expect("removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_past_its_memory_limit_is_reported_out_of_memory() {
    let runtime = runtime().await;
    let code = "def main(args):\n    hog = bytearray(args['mb'] * 1024 * 1024)\n    return {'allocated': len(hog)}\n";
    let container = started(&runtime, code, 64).await;
    let http = ActionClient::new().expect("client");
    let within = http
        .run(
            &container.address,
            run_body(json!({"mb": 16})),
            LIMIT,
            MAX_BYTES,
        )
        .await;
    assert!(
        matches!(within.outcome, HttpOutcome::Response { status: 200, .. }),
        "16 MB fit in 64 MB: {within:?}"
    );
    assert!(!runtime.oom_killed(&container.id).await.expect("inspect"));
    let past = http
        .run(
            &container.address,
            run_body(json!({"mb": 256})),
            LIMIT,
            MAX_BYTES,
        )
        .await;
    assert_eq!(past.outcome, HttpOutcome::Lost, "{past:?}");
    assert!(runtime.oom_killed(&container.id).await.expect("inspect"));
    runtime.remove(&container.id).await.expect("removed");

    // A child this runtime kills is not taken for one the kernel killed.
    let other = started(&runtime, HELLO, 64).await;
    let pid = runtime.pid(&other.id).expect("pid");
    runtime.pause(&other.id).await.expect("paused");
    assert!(alive(pid));
    runtime
        .remove(&other.id)
        .await
        .expect("a paused child is removed too");
    assert!(!alive(pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_runtime_leaves_no_child_behind() {
    let runtime = runtime().await;
    let running = started(&runtime, HELLO, 128).await;
    let paused = started(&runtime, HELLO, 128).await;
    runtime.pause(&paused.id).await.expect("paused");
    let pids = [&running, &paused].map(|c| runtime.pid(&c.id).expect("pid"));
    assert!(pids.iter().all(|pid| alive(*pid)));
    drop(runtime);
    eventually("children gone", Duration::from_secs(10), async || {
        pids.iter().all(|pid| !alive(*pid))
    })
    .await;
    // Their ports are not checked: other tests' children may be given them at once.
}

/// The mechanism that takes the children along when the agent process dies without dropping
/// anything: the proxy exits once its stdin (a pipe from the parent) closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_exits_when_its_parent_closes_its_stdin() {
    let proxy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/runtimes/python/proxy.py"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut child = tokio::process::Command::new("python3")
        .arg(proxy)
        .env("OW_PROXY_HOST", "127.0.0.1")
        .env("OW_PROXY_PORT", port.to_string())
        .env("OW_PROXY_EXIT_WITH_STDIN", "1")
        .stdin(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3");
    let address = format!("127.0.0.1:{port}");
    eventually("listening", Duration::from_secs(10), async || {
        !refuses(&address)
    })
    .await;
    drop(child.stdin.take());
    let status = tokio::time::timeout(LIMIT, child.wait())
        .await
        .expect("exits after its stdin closed")
        .expect("status");
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_interpreter_is_a_clear_error() {
    let settings = ProcessSettings {
        python: "/nonexistent/python3".into(),
        ..ProcessSettings::from_env()
    };
    let err = ProcessRuntime::start(settings)
        .await
        .expect_err("no interpreter");
    let text = err.to_string();
    assert!(matches!(err, RuntimeError::Interpreter { .. }), "{err:?}");
    assert!(text.contains("/nonexistent/python3"), "{text}");
    assert!(text.contains("OW_PROCESS_PYTHON"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_selected_runtime_says_which_it_is() {
    let process = SelectedRuntime::select(
        RuntimeChoice::Process,
        ProcessSettings::from_env(),
        "ow-python-runtime:latest",
    )
    .await
    .expect("process runtime");
    assert_eq!(process.kind(), RuntimeChoice::Process);
    assert!(
        process.describe().starts_with("process ("),
        "{}",
        process.describe()
    );
    // Through the selector too: a child runs and goes.
    let container = process
        .run(&spec(128, &[("sel", "1")]))
        .await
        .expect("runs");
    let listed = process
        .list(&[("sel".into(), "1".into())])
        .await
        .expect("list");
    assert_eq!(listed, std::slice::from_ref(&container.id));
    process.remove(&container.id).await.expect("removed");

    // The services of tests/services/up include a Docker engine: auto takes it.
    let auto = SelectedRuntime::select(
        RuntimeChoice::Auto,
        ProcessSettings::from_env(),
        "ow-python-runtime:latest",
    )
    .await
    .expect("a runtime");
    eprintln!("auto: {}", auto.describe());
    assert_eq!(auto.kind(), RuntimeChoice::Docker, "{}", auto.describe());
}

/// The agent with child processes for containers.
#[derive(Debug)]
struct WithProcesses;

impl Deps for WithProcesses {
    type Bus = KafkaBus;
    type Coord = EtcdCoordinator;
    type Store = CouchStore;
    type Runtime = ProcessRuntime;
}

/// Starts agent 0 of `world` on `runtime`, as `launch` does with Docker.
async fn process_agent(
    world: &World,
    runtime: ProcessRuntime,
    shutdown: &CancellationToken,
) -> (agent::Handle<WithProcesses>, EtcdCoordinator) {
    let mut env = world.env();
    env.insert(
        "CONFIG_whisk_containerProxy_timeouts_pauseGrace".into(),
        "2 seconds".into(),
    );
    let config = AgentConfig::from_args_and_env(&["--id".to_owned(), "0".to_owned()], &env)
        .expect("agent config");
    let lease_key = format!(
        "{}/instance/{}/lease",
        config.cluster_name,
        config.invoker_name()
    );
    let coord = EtcdCoordinator::connect(
        &config.etcd_hosts,
        config.lease_ttl,
        lease_key,
        shutdown.child_token(),
    )
    .await
    .expect("etcd; run tests/services/up");
    let bus = KafkaBus::new(&config.kafka_hosts).expect("kafka");
    let store = CouchStore::new(config.couchdb.clone()).expect("couch");
    let handle = agent::start::<WithProcesses>(
        config,
        bus,
        coord.clone(),
        store,
        runtime,
        shutdown.child_token(),
    )
    .await
    .expect("agent starts");
    (handle, coord)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_runs_actions_in_processes_end_to_end() {
    init_tracing();
    with_world("proc_e2e", |world| async move {
        let rev = world.put_action("hello", HELLO, Limits::default()).await;
        let hog_code =
            "def main(a):\n    x = bytearray(400 * 1024 * 1024)\n    return {'n': len(x)}\n";
        let hog_limits = Limits {
            memory_mb: 128,
            ..Limits::default()
        };
        let hog_rev = world.put_action("hog", hog_code, hog_limits).await;
        let mut acks = listen(&format!("{}completed0", world.prefix));
        let runtime = runtime().await;
        let shutdown = CancellationToken::new();
        let (agent, coord) = process_agent(&world, runtime.clone(), &shutdown).await;
        let scheduler = Scheduler::start(&world).await;
        let topic = format!("{}scheduler0", world.prefix);
        let ours = [(LABEL_CLUSTER.to_owned(), world.cluster.clone())];

        // Cold: the result, then the completion, then the record with the action's log line.
        let first = activation("hello", &rev, true);
        let cold = std::time::Instant::now();
        produce(&topic, first.encode()).await;
        let (result, completion) = acks_of(&mut acks, first.activation_id.as_str(), LIMIT).await;
        eprintln!("cold activation through the agent: {:?}", cold.elapsed());
        assert_eq!(result["response"]["response"]["statusCode"], 0, "{result}");
        assert_eq!(
            result["response"]["response"]["result"],
            json!({"greeting": "Hello Dorothy"})
        );
        assert!(completion.is_some(), "a separate completion");
        let record = world.activation_record(first.activation_id.as_str()).await;
        let logs = record["logs"].to_string();
        assert!(logs.contains("stdout: hello from the action"), "{logs}");
        assert_eq!(runtime.list(&ours).await.expect("list").len(), 1);

        // Idle past the pause grace: the process is stopped; the next activation resumes it.
        eventually("paused", LIMIT, async || {
            agent.pool(|p| p.counts().paused) == 1
        })
        .await;
        let second = activation("hello", &rev, true);
        produce(&topic, second.encode()).await;
        let (result, _) = acks_of(&mut acks, second.activation_id.as_str(), LIMIT).await;
        assert_eq!(
            result["response"]["response"]["result"]["greeting"],
            "Hello Dorothy"
        );
        assert_eq!(agent.metrics.resumes.get(), 1);
        assert_eq!(agent.metrics.cold_starts.get(), 1);

        // Past its memory limit: the stock developer error, and the process is gone.
        let hog = activation("hog", &hog_rev, true);
        produce(&topic, hog.encode()).await;
        let (result, _) = acks_of(&mut acks, hog.activation_id.as_str(), LIMIT).await;
        let response = &result["response"]["response"];
        assert_eq!(response["statusCode"], 2, "{result}");
        assert_eq!(
            response["result"]["error"],
            "The action exhausted its memory and was aborted."
        );

        // Drain: every child goes.
        agent::drain(&agent, LIMIT).await;
        assert!(runtime.list(&ours).await.expect("list").is_empty());
        shutdown.cancel();
        coord.revoke().await;
        scheduler.stop();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_children_start_at_once_on_distinct_ports() {
    const CHILDREN: usize = 20;
    let runtime = runtime().await;
    let clock = std::time::Instant::now();
    let starts = (0..CHILDREN).map(|i| {
        let runtime = runtime.clone();
        async move {
            let container = started(&runtime, HELLO, 128).await;
            let http = ActionClient::new().expect("client");
            let name = format!("n{i}");
            let run = http
                .run(&container.address, run_body(json!({"name": name})), LIMIT, MAX_BYTES)
                .await;
            let expected = format!(r#"{{"greeting": "Hello n{i}"}}"#);
            assert!(
                matches!(&run.outcome, HttpOutcome::Response { status: 200, body, .. } if *body == expected),
                "{run:?}"
            );
            container
        }
    });
    let containers = futures::future::join_all(starts).await;
    eprintln!(
        "{CHILDREN} action processes started, initialized and run: {:?}",
        clock.elapsed()
    );
    let mut addresses: Vec<_> = containers.iter().map(|c| c.address.clone()).collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), CHILDREN);
    for container in &containers {
        runtime.remove(&container.id).await.expect("removed");
    }
    assert!(runtime.list(&[]).await.expect("list").is_empty());
}
