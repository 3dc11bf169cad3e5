//! The bench's world: our scheduler and the agent in this process (in-process bus,
//! coordinator and store; the real Docker engine), the controller's end of the bus, bare
//! containers of the image for the direct measurements, and the samples taken.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ow_compat::Codec;
use ow_compat::bus::{LocalBus, MessageBus, Record};
use ow_compat::coordination::MemoryCoordinator;
use ow_compat::grpc::ActivationServiceServer;
use ow_compat::messages::{ActivationMessage, ContainerDeletionMessage};
use ow_compat::records::WhiskActionDocument;
use ow_compat::store::MemoryStore;
use ow_compat::values::{DocRevision, TransactionId};
use ow_invoker_agent::action_http::ActionClient;
use ow_invoker_agent::agent::{self, Deps, Handle};
use ow_invoker_agent::config::AgentConfig;
use ow_invoker_agent::container_spec::LABEL_CLUSTER;
use ow_invoker_agent::outcome::HttpOutcome;
use ow_invoker_agent::runtime::{ContainerRuntime, ContainerSpec, DockerRuntime, StartedContainer};
use ow_scheduler::config::{SchedulerConfig, Settings};
use ow_scheduler::metrics::Metrics;
use ow_scheduler::service::Activations;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub const IMAGE: &str = "ow-python-runtime:latest";
const CLUSTER: &str = "agentbench";
/// Marks the containers this bench starts itself (the agent's carry the agent's labels).
const BARE_LABEL: &str = "ow.agent-bench";
const MANIFEST: &str = r#"{"runtimes":{"python":[{"kind":"python:3.10","default":true,"image":{"name":"ow-python-runtime","tag":"latest"}}]},"blackboxes":[]}"#;
const CODE: &str = "def main(args):\n    print('hello')\n    return {'greeting': 'Hello ' + args.get('name', 'stranger')}\n";
/// The container pauses at the first empty long poll (1 s) after this much idle time.
const PAUSE_GRACE: &str = "300 milliseconds";
/// Any single step that takes longer than this is a broken setup, not a slow one.
const STEP_LIMIT: Duration = Duration::from_secs(60);

/// The agent's edges: in-process bus, coordinator and store; the real Docker engine.
#[derive(Debug)]
pub struct BenchDeps;

impl Deps for BenchDeps {
    type Bus = LocalBus;
    type Coord = MemoryCoordinator;
    type Store = MemoryStore;
    type Runtime = DockerRuntime;
}

/// What an agent activation's result ack says about where its time went (milliseconds).
#[derive(Debug, Clone, Copy, Default)]
pub struct Phases {
    /// `waitTime`: from the activation's transaction start to the container's `/run` start
    /// (queueing, container creation, the fetch).
    pub wait: f64,
    /// `initTime`: `/init`, zero when warm.
    pub init: f64,
    /// `duration`: `/init` plus `/run`.
    pub duration: f64,
}

/// Scheduler, agent, the controller's end of the bus, and the samples taken so far.
pub struct Rig {
    pub rt: tokio::runtime::Runtime,
    pub bus: LocalBus,
    pub store: MemoryStore,
    pub agent: Handle<BenchDeps>,
    pub acks: mpsc::Receiver<Record>,
    pub docker: DockerRuntime,
    pub http: ActionClient,
    pub shutdown: CancellationToken,
    pub next_id: u64,
    /// Containers the scheduler asked for beyond the first, over all cold iterations.
    pub extra_containers: u64,
    pub samples: BTreeMap<&'static str, Vec<Duration>>,
    pub phases: BTreeMap<&'static str, Vec<Phases>>,
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

fn epoch_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The environment scheduler and agent share; no external service is named.
fn env(rpc: u16) -> BTreeMap<String, String> {
    let pairs = [
        ("KAFKA_HOSTS", "local".to_owned()),
        ("WHISK_SCHEDULER_ENDPOINTS_HOST", "127.0.0.1".to_owned()),
        ("WHISK_SCHEDULER_ENDPOINTS_RPCPORT", rpc.to_string()),
        ("LIMITS_ACTIONS_INVOKES_CONCURRENT", "1000".to_owned()),
        ("RUNTIMES_MANIFEST", MANIFEST.to_owned()),
        ("CONFIG_whisk_cluster_name", CLUSTER.to_owned()),
        ("CONFIG_whisk_etcd_hosts", "local".to_owned()),
        ("CONFIG_whisk_couchdb_host", "local".to_owned()),
        ("CONFIG_whisk_couchdb_port", "0".to_owned()),
        ("CONFIG_whisk_couchdb_username", "u".to_owned()),
        ("CONFIG_whisk_couchdb_password", "p".to_owned()),
        ("CONFIG_whisk_couchdb_databases_WhiskAuth", "s".to_owned()),
        ("CONFIG_whisk_couchdb_databases_WhiskEntity", "w".to_owned()),
        (
            "CONFIG_whisk_couchdb_databases_WhiskActivation",
            "a".to_owned(),
        ),
        ("CONFIG_whisk_containerPool_userMemory", "2048 m".to_owned()),
        (
            "CONFIG_whisk_containerProxy_timeouts_pauseGrace",
            PAUSE_GRACE.to_owned(),
        ),
        (
            "CONFIG_whisk_containerProxy_timeouts_idleContainer",
            "10 minutes".to_owned(),
        ),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn revision(n: u64) -> String {
    format!("1-{n:032x}")
}

fn action_doc(name: &str, rev: &str) -> WhiskActionDocument {
    let doc = format!(
        r#"{{"_id":"guest/{name}","_rev":"{rev}","name":"{name}","namespace":"guest","version":"0.0.1","publish":false,"annotations":[],"parameters":[],"limits":{{"timeout":60000,"memory":256,"logs":10,"concurrency":1}},"exec":{{"kind":"python:3.10","code":{},"binary":false}},"updated":1700000000000}}"#,
        serde_json::Value::String(CODE.into())
    );
    WhiskActionDocument::decode(doc.as_bytes()).expect("action document")
}

/// The controller's activation of `guest/<name>`; its transaction starts now.
fn activation(name: &str, rev: &str, id: u64) -> ActivationMessage {
    let now = epoch_millis();
    let json = format!(
        r#"{{"action":{{"name":"{name}","path":"guest","version":"0.0.1"}},"activationId":"{id:032x}","blocking":true,"content":{{"name":"Dorothy"}},"initArgs":[],"lockedArgs":{{}},"revision":"{rev}","rootControllerIndex":{{"asString":"0","instanceType":"controller"}},"transid":["{id:032x}",{now}],"user":{{"authkey":{{"api_key":"a:b"}},"limits":{{}},"namespace":{{"name":"guest","uuid":"u"}},"rights":["READ","PUT","DELETE","ACTIVATE"],"subject":"guest"}}}}"#
    );
    ActivationMessage::decode(json.as_bytes()).expect("activation")
}

/// A container of the image with this bench's label, as the agent would size it.
fn bare_spec(tag: &str) -> ContainerSpec {
    ContainerSpec {
        name: format!("agentbench_{tag}_{}", std::process::id()),
        image: IMAGE.into(),
        memory_mb: 256,
        cpu_shares: 128,
        env: vec![],
        labels: [(BARE_LABEL.to_owned(), "1".to_owned())].into(),
        network: "bridge".into(),
        dns: vec![],
    }
}

fn annotation(ack: &serde_json::Value, key: &str) -> f64 {
    ack["response"]["annotations"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["key"] == key)
        .and_then(|a| a["value"].as_f64())
        .unwrap_or(0.0)
}

impl Rig {
    /// Starts the scheduler (gRPC on loopback) and the agent, in this process.
    pub fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (bus, coord, store) = (
            LocalBus::default(),
            MemoryCoordinator::default(),
            MemoryStore::default(),
        );
        let shutdown = CancellationToken::new();
        let rpc = free_port();
        let env = env(rpc.port());
        let (agent, acks, docker, http) = rt.block_on(async {
            let docker = DockerRuntime::connect()
                .await
                .unwrap_or_else(|e| panic!("{e}; run tests/services/up"));
            remove_bare_leftovers(&docker).await;
            let settings = Settings::new(None, &env).expect("scheduler settings");
            let config = SchedulerConfig::from_settings("0", &settings).expect("scheduler config");
            let engine = ow_scheduler::engine::start(
                config,
                bus.clone(),
                coord.clone(),
                store.clone(),
                Metrics::default(),
                shutdown.child_token(),
            )
            .await
            .expect("scheduler starts");
            let service = ActivationServiceServer::new(Activations::new(engine));
            let server = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_shutdown(rpc, shutdown.clone().cancelled_owned());
            tokio::spawn(server);
            let acks = bus
                .subscribe("completed0", shutdown.child_token())
                .expect("completed0");
            let args = ["--id".to_owned(), "0".to_owned()];
            let config = AgentConfig::from_args_and_env(&args, &env).expect("agent config");
            let agent = agent::start::<BenchDeps>(
                config,
                bus.clone(),
                coord,
                store.clone(),
                docker.clone(),
                shutdown.child_token(),
            )
            .await
            .expect("agent starts");
            // Membership and the scheduler's invoker watch settle.
            tokio::time::sleep(Duration::from_millis(500)).await;
            (
                agent,
                acks,
                docker,
                ActionClient::new().expect("http client"),
            )
        });
        Self {
            rt,
            bus,
            store,
            agent,
            acks,
            docker,
            http,
            shutdown,
            next_id: 0,
            extra_containers: 0,
            samples: BTreeMap::new(),
            phases: BTreeMap::new(),
        }
    }

    pub fn record(&mut self, name: &'static str, d: Duration) {
        self.samples.entry(name).or_default().push(d);
    }

    /// Stores a new action (or revision) and returns its revision.
    pub fn put_action(&mut self, name: &str) -> String {
        self.next_id += 1;
        let rev = revision(self.next_id);
        self.store.put_action(action_doc(name, &rev));
        rev
    }

    /// Publishes an activation and waits for its result ack: (latency, phases).
    pub fn activate(&mut self, name: &str, rev: &str) -> (Duration, Phases) {
        self.next_id += 1;
        let msg = activation(name, rev, self.next_id);
        let id = msg.activation_id.to_string();
        let (bus, acks) = (&self.bus, &mut self.acks);
        self.rt.block_on(async {
            let started = Instant::now();
            bus.send("scheduler0", msg.encode())
                .await
                .expect("activation published");
            let ack = result_ack(acks, &id).await;
            let elapsed = started.elapsed();
            let response = &ack["response"]["response"];
            assert_eq!(response["statusCode"], 0, "activation {id} failed: {ack}");
            let phases = Phases {
                wait: annotation(&ack, "waitTime"),
                init: annotation(&ack, "initTime"),
                duration: ack["response"]["duration"].as_f64().unwrap_or(0.0),
            };
            (elapsed, phases)
        })
    }

    /// Sends the scheduler's deletion for `name` and waits until the agent has no container.
    pub fn remove_containers(&mut self, name: &str, rev: &str) {
        // The action's fully qualified name, as an activation carries it.
        let msg = activation(name, rev, 0);
        let doc = action_doc(name, rev);
        let deletion = ContainerDeletionMessage {
            transid: TransactionId::new("sid_containerDeletion", epoch_millis()),
            invocation_namespace: "guest".into(),
            action: msg.action,
            revision: DocRevision::new(rev),
            whisk_action_meta_data: doc.metadata(),
        };
        let (bus, agent) = (&self.bus, &self.agent);
        self.rt.block_on(async {
            bus.send("invoker0", deletion.encode())
                .await
                .expect("deletion published");
            wait_for("containers removed", || {
                agent.pool(|p| p.slots().count()) == 0
            })
            .await;
        });
    }

    /// Waits until the agent's one container is paused.
    pub fn wait_paused(&self) {
        let agent = &self.agent;
        self.rt.block_on(wait_for("container paused", || {
            agent.pool(|p| p.counts().paused) == 1
        }));
    }

    pub fn counts(&self) -> (u64, u64) {
        let m = &self.agent.metrics;
        (m.cold_starts.get(), m.resumes.get())
    }

    pub fn run_bare(&self, tag: &str) -> StartedContainer {
        self.rt
            .block_on(self.docker.run(&bare_spec(tag)))
            .unwrap_or_else(|e| panic!("{e}; is {IMAGE} built (tests/runtimes/build)?"))
    }

    /// `/init` of a started container with the bench's action, retried while the proxy starts.
    pub fn init_bare(&self, c: &StartedContainer) {
        let body = serde_json::json!({"value": {"name": "bare", "main": "main", "code": CODE,
            "binary": false, "env": {}}});
        let exchange =
            self.rt.block_on(
                self.http
                    .init(&c.address, body.to_string(), STEP_LIMIT, 1 << 20),
            );
        assert_ok(&exchange.outcome, "/init");
    }

    pub fn run_direct(&self, c: &StartedContainer) {
        let body = serde_json::json!({"value": {"name": "Dorothy"}, "action_name": "/guest/bare",
            "activation_id": format!("{:032x}", self.next_id), "namespace": "guest",
            "deadline": (epoch_millis() + 60_000).to_string()});
        let exchange =
            self.rt.block_on(
                self.http
                    .run(&c.address, body.to_string(), STEP_LIMIT, 1 << 20),
            );
        assert_ok(&exchange.outcome, "/run");
    }

    pub fn remove_bare(&self, c: &StartedContainer) {
        if let Err(e) = self.rt.block_on(self.docker.remove(&c.id)) {
            eprintln!("bench container {} not removed: {e}", c.id);
        }
    }

    /// Removes every container of this bench and of its agent (after a failure).
    pub fn sweep(&self) {
        let ours = [
            [(BARE_LABEL.to_owned(), "1".to_owned())],
            [(LABEL_CLUSTER.to_owned(), CLUSTER.to_owned())],
        ];
        self.rt.block_on(async {
            for labels in &ours {
                for id in self.docker.list(labels).await.unwrap_or_default() {
                    let _ = self.docker.unpause(&id).await;
                    if let Err(e) = self.docker.remove(&id).await {
                        eprintln!("container {id} not removed: {e}");
                    }
                }
            }
        });
    }

    /// Drains the agent (every container it made goes) and stops everything.
    pub fn stop(self) {
        self.rt.block_on(async {
            agent::drain(&self.agent, Duration::from_secs(30)).await;
            self.shutdown.cancel();
        });
        let left = self.agent.pool(|p| p.slots().count());
        if left > 0 {
            eprintln!("{left} agent containers still listed after the drain");
        }
        self.sweep();
    }
}

fn assert_ok(outcome: &HttpOutcome, what: &str) {
    match outcome {
        HttpOutcome::Response { status: 200, .. } => {}
        other => panic!("{what} of the bench container failed: {other:?}"),
    }
}

/// The result ack (or combined ack) of `id`; completions and other activations are skipped.
async fn result_ack(acks: &mut mpsc::Receiver<Record>, id: &str) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + STEP_LIMIT;
    loop {
        let rec = tokio::time::timeout_at(deadline, acks.recv())
            .await
            .unwrap_or_else(|_| panic!("no result ack for {id} within {STEP_LIMIT:?}"))
            .expect("completed0 consumer closed");
        let ack: serde_json::Value = serde_json::from_slice(&rec.payload).expect("ack is JSON");
        if ack["response"].is_object() && ack["response"]["activationId"] == id {
            return ack;
        }
    }
}

/// Polls `done` every 10 ms, for at most [`STEP_LIMIT`].
async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + STEP_LIMIT;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {STEP_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn remove_bare_leftovers(docker: &DockerRuntime) {
    let label = [(BARE_LABEL.to_owned(), "1".to_owned())];
    for id in docker.list(&label).await.unwrap_or_default() {
        let _ = docker.remove(&id).await;
    }
}
