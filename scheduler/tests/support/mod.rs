//! A scheduler started in-process against the real services of `tests/services/up`, and the
//! stand-ins for the stock controller and invoker that drive it over the real contracts.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub use ow_system_tests::World;

use ow_compat::Codec;
use ow_compat::bus::{KafkaBus, MessageBus, Record};
use ow_compat::coordination::{Coordinator, EtcdCoordinator};
use ow_compat::grpc::{ActivationServiceClient, ActivationServiceServer, FetchRequest};
use ow_compat::messages::{
    ActivationMessage, ContainerMessage, InvokerResourceMessage, InvokerStatus,
};
use ow_compat::store::CouchStore;
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

/// What these tests add to the shared [`World`].
#[allow(async_fn_in_trait)]
pub trait WorldExt {
    /// Stores a Python action and returns its revision.
    async fn put_action(&self, namespace: &str, name: &str, code: &str) -> String;
    fn env(&self, instance: u16) -> BTreeMap<String, String>;
}

impl WorldExt for World {
    /// Stores a Python action and returns its revision.
    async fn put_action(&self, namespace: &str, name: &str, code: &str) -> String {
        let doc = format!(
            r#"{{"name":"{name}","namespace":"{namespace}","version":"0.0.1","publish":false,"annotations":[],"parameters":[],"limits":{{"timeout":60000,"memory":256,"logs":10,"concurrency":1}},"exec":{{"kind":"python:3.10","code":{},"binary":false}},"updated":1700000000000,"entityType":"action"}}"#,
            serde_json::Value::String(code.into())
        );
        let id = format!("{namespace}%2F{name}");
        let existing = self
            .couch(
                reqwest::Method::GET,
                &format!("{}whisks/{id}", self.db_prefix),
                None,
            )
            .await;
        let path = match existing.get("_rev").and_then(|r| r.as_str()) {
            Some(rev) => format!("{}whisks/{id}?rev={rev}", self.db_prefix),
            None => format!("{}whisks/{id}", self.db_prefix),
        };
        let resp = self.couch(reqwest::Method::PUT, &path, Some(doc)).await;
        resp["rev"]
            .as_str()
            .unwrap_or_else(|| panic!("action not stored: {resp}"))
            .to_owned()
    }

    fn env(&self, instance: u16) -> BTreeMap<String, String> {
        let pairs = [
            ("PORT", "0".to_owned()),
            ("KAFKA_HOSTS", KAFKA.to_owned()),
            ("WHISK_SCHEDULER_ENDPOINTS_HOST", "127.0.0.1".to_owned()),
            ("WHISK_SCHEDULER_ENDPOINTS_RPCPORT", (0u16).to_string()),
            (
                "WHISK_SCHEDULER_ENDPOINTS_PEKKOPORT",
                (17355 + instance).to_string(),
            ),
            ("LIMITS_ACTIONS_INVOKES_CONCURRENT", "30".to_owned()),
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
        ];
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

/// A scheduler running in this process.
pub struct Scheduler {
    pub engine: Engine<KafkaBus, EtcdCoordinator, CouchStore>,
    pub rpc: SocketAddr,
    pub coord: EtcdCoordinator,
    pub shutdown: CancellationToken,
}

impl Scheduler {
    pub async fn start(world: &World, instance: u16) -> Self {
        Self::start_with(world, instance, &[]).await
    }

    /// Starts with extra settings (environment variable, value).
    pub async fn start_with(world: &World, instance: u16, extra: &[(&str, &str)]) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        let rpc = listener.local_addr().expect("address");
        drop(listener);
        let mut env = world.env(instance);
        env.insert(
            "WHISK_SCHEDULER_ENDPOINTS_RPCPORT".into(),
            rpc.port().to_string(),
        );
        for (k, v) in extra {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        let settings = Settings::new(None, &env).expect("settings");
        let config =
            SchedulerConfig::from_settings(&instance.to_string(), &settings).expect("config");
        let shutdown = CancellationToken::new();
        let lease_key = format!("{}/instance/scheduler{instance}/lease", world.cluster);
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

    /// Stops as a crash would look to the others once the lease is gone: no drain.
    pub async fn kill(&self) {
        self.shutdown.cancel();
        self.coord.revoke().await;
    }
}

/// Consumes a topic from the beginning into a channel.
pub fn listen(topic: &str) -> mpsc::Receiver<Record> {
    let (tx, rx) = mpsc::channel(1024);
    ow_compat::bus::consume(KAFKA, topic, tx, CancellationToken::new()).expect("consumer");
    rx
}

pub async fn next_record(rx: &mut mpsc::Receiver<Record>, what: &str) -> Record {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no {what} within 20 s"))
        .unwrap_or_else(|| panic!("{what}: consumer closed"))
}

/// The stock controller's side: produce activations, read acks.
pub fn activation(namespace: &str, name: &str, rev: &str, blocking: bool) -> ActivationMessage {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let id = format!(
        "{:032x}",
        (now << 20) ^ u128::from(COUNTER.fetch_add(1, Ordering::Relaxed))
    );
    let json = format!(
        r#"{{"action":{{"name":"{name}","path":"{namespace}","version":"0.0.1"}},"activationId":"{id}","blocking":{blocking},"content":{{"name":"Dorothy"}},"initArgs":[],"lockedArgs":{{}},"revision":"{rev}","rootControllerIndex":{{"asString":"0","instanceType":"controller"}},"transid":["{id}",{now}],"user":{{"authkey":{{"api_key":"a:b"}},"limits":{{}},"namespace":{{"name":"{namespace}","uuid":"u"}},"rights":["READ","PUT","DELETE","ACTIVATE"],"subject":"{namespace}xxxxx"}}}}"#
    );
    ActivationMessage::decode(json.as_bytes()).expect("activation")
}

pub async fn produce(topic: &str, payload: String) {
    static BUS: std::sync::OnceLock<KafkaBus> = std::sync::OnceLock::new();
    let bus = BUS.get_or_init(|| KafkaBus::new(KAFKA).expect("kafka"));
    bus.send(topic, payload).await.expect("produce");
}

/// The stock invoker's side: registration, creation messages, acks, fetches.
pub struct Invoker {
    pub id: u32,
    pub commands: mpsc::Receiver<Record>,
    pub coord: EtcdCoordinator,
    pub world: World,
}

impl Invoker {
    pub async fn register(world: &World, id: u32, free_mb: i64) -> Self {
        let commands = listen(&format!("{}invoker{id}", world.prefix));
        let lease_key = format!("{}/instance/invoker{id}/lease", world.cluster);
        let coord = EtcdCoordinator::connect(
            &[ETCD.to_owned()],
            Duration::from_secs(10),
            lease_key,
            CancellationToken::new(),
        )
        .await
        .expect("etcd");
        let health = InvokerResourceMessage {
            status: InvokerStatus::Up,
            free_memory: free_mb,
            busy_memory: 0,
            in_progress_memory: 0,
            tags: vec![],
            dedicated_namespaces: vec![],
        };
        coord
            .put(
                &format!("{}/invokers/{id}", world.cluster),
                &health.encode(),
            )
            .await
            .expect("register");
        Self {
            id,
            commands,
            coord,
            world: world.clone(),
        }
    }

    pub async fn next_command(&mut self) -> ContainerMessage {
        let rec = next_record(&mut self.commands, "container command").await;
        ow_compat::json::Wire::read(
            &ow_compat::json::parse(&rec.payload).expect("json"),
            ow_compat::json::Path::Root,
        )
        .expect("container message")
    }
}

/// Reads the next ack on `completed0`.
pub async fn next_ack(acks: &mut mpsc::Receiver<Record>) -> serde_json::Value {
    let rec = next_record(acks, "ack").await;
    serde_json::from_slice(&rec.payload).expect("ack is JSON")
}

pub async fn fetch(
    rpc: SocketAddr,
    namespace: &str,
    name: &str,
    rev: &str,
    container: &str,
    warmed: bool,
) -> String {
    let mut client = ActivationServiceClient::connect(format!("http://{rpc}"))
        .await
        .expect("grpc connect");
    let req = FetchRequest {
        transaction_id: "[\"x\",1]".into(),
        invocation_namespace: namespace.into(),
        fqn: format!(r#"{{"name":"{name}","path":"{namespace}","version":"0.0.1"}}"#),
        rev: format!("\"{rev}\""),
        container_id: container.into(),
        warmed,
        last_duration: None,
        alive: true,
    };
    client
        .fetch_activation(req)
        .await
        .expect("fetch")
        .into_inner()
        .activation_message
}
