//! The agent started in-process against the real services of `tests/services/up`, our scheduler
//! started in-process beside it (as `scheduler/tests/support` does), and the controller's side:
//! activations in, acks out. Every test has its own topic prefix, etcd cluster and databases.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub use ow_system_tests::World;

use ow_compat::Codec;
use ow_compat::bus::{KafkaBus, MessageBus, Record};
use ow_compat::coordination::EtcdCoordinator;
use ow_compat::grpc::ActivationServiceServer;
use ow_compat::messages::ActivationMessage;
use ow_compat::store::CouchStore;
use ow_invoker_agent::config::AgentConfig;
use ow_invoker_agent::container_spec::LABEL_CLUSTER;
use ow_invoker_agent::runtime::{ContainerRuntime, DockerRuntime};
use ow_invoker_agent::{Running, launch};
use ow_scheduler::config::{SchedulerConfig, Settings};
use ow_scheduler::engine::{self, Engine};
use ow_scheduler::metrics::Metrics;
use ow_scheduler::service::Activations;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub const KAFKA: &str = "127.0.0.1:9092";
pub const ETCD: &str = "127.0.0.1:2379";
pub const COUCH: &str = "http://127.0.0.1:5984";
pub const COUCH_USER: &str = "whisk_admin";
pub const COUCH_PASS: &str = "some_passw0rd";

/// Python kinds run in the image `tests/runtimes/build` makes.
pub const MANIFEST: &str = r#"{"runtimes":{"python":[{"kind":"python:3.10","default":true,"image":{"name":"ow-python-runtime","tag":"latest"}},{"kind":"python:3.11","image":{"name":"ow-python-runtime","tag":"latest"},"attached":{"attachmentName":"codefile","attachmentType":"text/plain"}}]},"blackboxes":[{"name":"ow-blackbox","tag":"latest"}]}"#;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name no other test uses: lower case, digits and `_`.
pub fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "t{}_{}_{}_{tag}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos % 100_000
    )
}

/// Limits of a test action.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout_ms: u64,
    pub memory_mb: u32,
    pub logs_mb: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout_ms: 60_000,
            memory_mb: 256,
            logs_mb: 10,
        }
    }
}

/// What these tests add to the shared [`World`].
#[allow(async_fn_in_trait)]
pub trait WorldExt {
    /// Stores a Python action and returns its revision.
    async fn put_action(&self, name: &str, code: &str, limits: Limits) -> String;
    /// Stores a `python:3.11` action whose code is an attachment: in CouchDB (`codefile`) or
    /// inlined in the attachment name (`mem:`). Returns the revision to invoke.
    async fn put_attached_action(&self, name: &str, code: &str, in_couch: bool) -> String;
    /// The activation record, once it is stored (waits up to 10 s).
    async fn activation_record(&self, activation_id: &str) -> serde_json::Value;
    /// The environment both components are started with.
    fn env(&self) -> BTreeMap<String, String>;
    /// Starts invoker agent `id` with extra settings (environment variable, value).
    async fn agent(&self, id: u32, extra: &[(&str, &str)]) -> Running;
    /// Ids of the Docker containers of this test's agents.
    async fn containers(&self) -> Vec<String>;
    /// Removes whatever containers this test left (after a failure).
    async fn sweep(&self);
}

impl WorldExt for World {
    /// Stores a Python action and returns its revision.
    async fn put_action(&self, name: &str, code: &str, limits: Limits) -> String {
        let Limits {
            timeout_ms,
            memory_mb,
            logs_mb,
        } = limits;
        let doc = format!(
            r#"{{"name":"{name}","namespace":"guest","version":"0.0.1","publish":false,"annotations":[],"parameters":[],"limits":{{"timeout":{timeout_ms},"memory":{memory_mb},"logs":{logs_mb},"concurrency":1}},"exec":{{"kind":"python:3.10","code":{},"binary":false}},"updated":1700000000000,"entityType":"action"}}"#,
            serde_json::Value::String(code.into())
        );
        let path = format!("{}whisks/guest%2F{name}", self.db_prefix);
        let existing = self.couch(reqwest::Method::GET, &path, None).await;
        let path = match existing.get("_rev").and_then(|r| r.as_str()) {
            Some(rev) => format!("{path}?rev={rev}"),
            None => path,
        };
        let resp = self.couch(reqwest::Method::PUT, &path, Some(doc)).await;
        resp["rev"]
            .as_str()
            .unwrap_or_else(|| panic!("action not stored: {resp}"))
            .to_owned()
    }

    /// Stores a `python:3.11` action whose code is an attachment: in CouchDB (`codefile`) or
    /// inlined in the attachment name (`mem:`). Returns the revision to invoke.
    async fn put_attached_action(&self, name: &str, code: &str, in_couch: bool) -> String {
        use base64::Engine as _;
        let attachment_name = if in_couch {
            "codefile".to_owned()
        } else {
            format!(
                "mem:{}",
                base64::engine::general_purpose::URL_SAFE.encode(code)
            )
        };
        let doc = format!(
            r#"{{"name":"{name}","namespace":"guest","version":"0.0.1","publish":false,"annotations":[],"parameters":[],"limits":{{"timeout":60000,"memory":256,"logs":10,"concurrency":1}},"exec":{{"kind":"python:3.11","code":{{"attachmentName":"{attachment_name}","attachmentType":"text/plain"}},"binary":false}},"updated":1700000000000,"entityType":"action"}}"#
        );
        let path = format!("{}whisks/guest%2F{name}", self.db_prefix);
        let resp = self.couch(reqwest::Method::PUT, &path, Some(doc)).await;
        let rev = resp["rev"]
            .as_str()
            .unwrap_or_else(|| panic!("action not stored: {resp}"));
        if !in_couch {
            return rev.to_owned();
        }
        let resp = self
            .http
            .put(format!("{COUCH}/{path}/codefile?rev={rev}"))
            .basic_auth(COUCH_USER, Some(COUCH_PASS))
            .header("Content-Type", "text/plain")
            .body(code.to_owned())
            .send()
            .await
            .expect("attachment stored");
        let body: serde_json::Value = resp.json().await.expect("json");
        body["rev"]
            .as_str()
            .unwrap_or_else(|| panic!("attachment not stored: {body}"))
            .to_owned()
    }

    /// The activation record, once it is stored (waits up to 10 s).
    async fn activation_record(&self, activation_id: &str) -> serde_json::Value {
        let path = format!("{}activations/guest%2F{activation_id}", self.db_prefix);
        for _ in 0..100 {
            let doc = self.couch(reqwest::Method::GET, &path, None).await;
            if doc.get("activationId").is_some() {
                return doc;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("activation {activation_id} not stored within 10 s")
    }

    /// The environment both components are started with.
    fn env(&self) -> BTreeMap<String, String> {
        let pairs = [
            ("PORT", "0".to_owned()),
            ("KAFKA_HOSTS", KAFKA.to_owned()),
            ("WHISK_SCHEDULER_ENDPOINTS_HOST", "127.0.0.1".to_owned()),
            ("WHISK_SCHEDULER_ENDPOINTS_PEKKOPORT", "17355".to_owned()),
            ("LIMITS_ACTIONS_INVOKES_CONCURRENT", "30".to_owned()),
            ("RUNTIMES_MANIFEST", MANIFEST.to_owned()),
            ("CONFIG_whisk_kafka_topics_prefix", self.prefix.clone()),
            ("CONFIG_whisk_etcd_hosts", ETCD.to_owned()),
            ("CONFIG_whisk_etcd_lease_timeout", "2".to_owned()),
            ("CONFIG_whisk_cluster_name", self.cluster.clone()),
            ("CONFIG_whisk_couchdb_host", "127.0.0.1".to_owned()),
            ("CONFIG_whisk_couchdb_port", "5984".to_owned()),
            ("CONFIG_whisk_couchdb_username", COUCH_USER.to_owned()),
            ("CONFIG_whisk_couchdb_password", COUCH_PASS.to_owned()),
            (
                "CONFIG_whisk_couchdb_databases_WhiskAuth",
                format!("{}subjects", self.db_prefix),
            ),
            (
                "CONFIG_whisk_couchdb_databases_WhiskEntity",
                format!("{}whisks", self.db_prefix),
            ),
            (
                "CONFIG_whisk_couchdb_databases_WhiskActivation",
                format!("{}activations", self.db_prefix),
            ),
            ("CONFIG_whisk_containerPool_userMemory", "2048 m".to_owned()),
        ];
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    /// Starts invoker agent `id` with extra settings (environment variable, value).
    async fn agent(&self, id: u32, extra: &[(&str, &str)]) -> Running {
        let mut env = self.env();
        for (k, v) in extra {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        let args = vec!["--id".to_owned(), id.to_string()];
        let config = AgentConfig::from_args_and_env(&args, &env).expect("agent config");
        launch(config)
            .await
            .unwrap_or_else(|e| panic!("agent does not start: {e}; run tests/services/up"))
    }

    /// Ids of the Docker containers of this test's agents.
    async fn containers(&self) -> Vec<String> {
        let docker = DockerRuntime::connect().await.expect("docker");
        docker
            .list(&[(LABEL_CLUSTER.to_owned(), self.cluster.clone())])
            .await
            .expect("list containers")
    }

    /// Removes whatever containers this test left (after a failure).
    async fn sweep(&self) {
        let docker = DockerRuntime::connect().await.expect("docker");
        for id in self.containers().await {
            let _ = docker.remove(&id).await;
        }
    }
}

/// Runs a test body and removes its containers even when it fails.
pub async fn with_world<F, Fut>(tag: &str, body: F)
where
    F: FnOnce(World) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use futures::FutureExt;
    let world = World::new(tag).await;
    let outcome = std::panic::AssertUnwindSafe(body(world.clone()))
        .catch_unwind()
        .await;
    world.sweep().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Our scheduler, in this process.
pub struct Scheduler {
    pub engine: Engine<KafkaBus, EtcdCoordinator, CouchStore>,
    pub rpc: SocketAddr,
    pub coord: EtcdCoordinator,
    pub shutdown: CancellationToken,
}

impl Scheduler {
    pub async fn start(world: &World) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        let rpc = listener.local_addr().expect("address");
        drop(listener);
        let mut env = world.env();
        env.insert(
            "WHISK_SCHEDULER_ENDPOINTS_RPCPORT".into(),
            rpc.port().to_string(),
        );
        let settings = Settings::new(None, &env).expect("settings");
        let config = SchedulerConfig::from_settings("0", &settings).expect("scheduler config");
        let shutdown = CancellationToken::new();
        let lease_key = format!("{}/instance/scheduler0/lease", world.cluster);
        let coord = EtcdCoordinator::connect(
            &config.etcd_hosts,
            config.lease_ttl,
            lease_key,
            shutdown.child_token(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}; run tests/services/up"));
        let bus = KafkaBus::new(KAFKA).expect("kafka");
        let store = CouchStore::new(config.couchdb.clone()).expect("couch");
        let engine = engine::start(
            config,
            bus,
            coord.clone(),
            store,
            Metrics::default(),
            shutdown.child_token(),
        )
        .await
        .expect("scheduler starts");
        let server = tonic::transport::Server::builder()
            .add_service(ActivationServiceServer::new(Activations::new(
                engine.clone(),
            )))
            .serve_with_shutdown(rpc, shutdown.clone().cancelled_owned());
        tokio::spawn(server);
        tokio::time::sleep(Duration::from_millis(100)).await;
        Self {
            engine,
            rpc,
            coord,
            shutdown,
        }
    }

    pub fn stop(&self) {
        self.shutdown.cancel();
    }
}

/// Consumes a topic from the beginning into a channel.
pub fn listen(topic: &str) -> mpsc::Receiver<Record> {
    let (tx, rx) = mpsc::channel(1024);
    ow_compat::bus::consume(KAFKA, topic, tx, CancellationToken::new()).expect("consumer");
    rx
}

pub async fn next_json(
    rx: &mut mpsc::Receiver<Record>,
    what: &str,
    within: Duration,
) -> serde_json::Value {
    let rec = tokio::time::timeout(within, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no {what} within {within:?}"))
        .unwrap_or_else(|| panic!("{what}: consumer closed"));
    serde_json::from_slice(&rec.payload).expect("record is JSON")
}

/// The controller's side: an activation of `guest/<name>` with `{"name":"Dorothy"}`.
pub fn activation(name: &str, rev: &str, blocking: bool) -> ActivationMessage {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let id = format!(
        "{:032x}",
        (now << 20) ^ u128::from(COUNTER.fetch_add(1, Ordering::Relaxed))
    );
    let json = format!(
        r#"{{"action":{{"name":"{name}","path":"guest","version":"0.0.1"}},"activationId":"{id}","blocking":{blocking},"content":{{"name":"Dorothy"}},"initArgs":[],"lockedArgs":{{}},"revision":"{rev}","rootControllerIndex":{{"asString":"0","instanceType":"controller"}},"transid":["{id}",{now}],"user":{{"authkey":{{"api_key":"a:b"}},"limits":{{}},"namespace":{{"name":"guest","uuid":"u"}},"rights":["READ","PUT","DELETE","ACTIVATE"],"subject":"guestxxxxx"}}}}"#
    );
    ActivationMessage::decode(json.as_bytes()).expect("activation")
}

pub async fn produce(topic: &str, payload: String) {
    static BUS: std::sync::OnceLock<KafkaBus> = std::sync::OnceLock::new();
    let bus = BUS.get_or_init(|| KafkaBus::new(KAFKA).expect("kafka"));
    bus.send(topic, payload).await.expect("produce");
}

/// The acks of one activation: the result (or combined) message, and the completion when one
/// comes separately. Acks of other activations are skipped.
pub async fn acks_of(
    rx: &mut mpsc::Receiver<Record>,
    activation_id: &str,
    within: Duration,
) -> (serde_json::Value, Option<serde_json::Value>) {
    let deadline = tokio::time::Instant::now() + within;
    let mut result = None;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let ack = next_json(rx, "ack", left).await;
        let id = ack["response"]["activationId"]
            .as_str()
            .or_else(|| ack["activationId"].as_str())
            .or_else(|| ack["response"].as_str())
            .unwrap_or_default();
        if id != activation_id {
            continue;
        }
        match (ack.get("instance").is_some(), ack.get("response").is_some()) {
            (true, true) => return (ack, None),
            (false, _) => result = Some(ack),
            (true, false) => return (result.unwrap_or_else(|| ack.clone()), Some(ack)),
        }
    }
}

/// A Python action that greets `name` and writes one log line.
pub const HELLO: &str = "def main(args):\n    print('hello from the action')\n    return {'greeting': 'Hello ' + args.get('name', 'stranger')}\n";

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("ow_invoker_agent=debug,ow_scheduler=info")
        .try_init();
}

/// Waits up to `within` for `check`.
pub async fn eventually(what: &str, within: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within {within:?}");
}
