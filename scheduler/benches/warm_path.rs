//! Warm path benchmark: an activation enters the scheduler (its activation topic) and is
//! delivered to a container's parked `FetchActivation` over real gRPC on loopback. The message
//! bus, coordinator and store are the in-process ones, so the figures are the scheduler's own
//! cost plus one gRPC hop; a bare tonic unary round trip is measured in the same run.
//!
//! Run: `cargo bench -p ow-scheduler --bench warm_path` (env `WARM_PATH_N` sets the sample size).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ow_compat::Codec;
use ow_compat::bus::{LocalBus, MessageBus};
use ow_compat::coordination::{Coordinator, MemoryCoordinator};
use ow_compat::grpc::{
    self, ActivationService, ActivationServiceClient, ActivationServiceServer, FetchRequest,
    FetchResponse, RescheduleRequest, RescheduleResponse,
};
use ow_compat::messages::{
    ContainerCreationAckMessage, ContainerMessage, InvokerResourceMessage, InvokerStatus,
};
use ow_compat::records::WhiskActionDocument;
use ow_compat::store::MemoryStore;
use ow_compat::values::{ByteSize, InvokerInstanceId};
use ow_scheduler::config::{SchedulerConfig, Settings};
use ow_scheduler::engine;
use ow_scheduler::metrics::Metrics;
use ow_scheduler::service::Activations;
use tokio_util::sync::CancellationToken;

const REV: &str = "1-0123456789abcdef0123456789abcdef";

fn action() -> WhiskActionDocument {
    let doc = format!(
        r#"{{"_id":"guest/bench","_rev":"{REV}","name":"bench","namespace":"guest","version":"0.0.1","publish":false,"annotations":[],"parameters":[],"limits":{{"timeout":60000,"memory":256}},"exec":{{"kind":"python:3.10","code":"def main(a): return a","binary":false}},"updated":1700000000000}}"#
    );
    WhiskActionDocument::decode(doc.as_bytes()).expect("action document")
}

fn activation(i: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!(
        r#"{{"action":{{"name":"bench","path":"guest","version":"0.0.1"}},"activationId":"{i:032x}","blocking":true,"content":{{"name":"Dorothy","place":"Kansas"}},"initArgs":[],"lockedArgs":{{}},"revision":"{REV}","rootControllerIndex":{{"asString":"0","instanceType":"controller"}},"transid":["{i:032x}",{now}],"user":{{"authkey":{{"api_key":"a:b"}},"limits":{{}},"namespace":{{"name":"guest","uuid":"u"}},"rights":["READ","PUT","DELETE","ACTIVATE"],"subject":"guest"}}}}"#
    )
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

fn config(rpc: u16) -> SchedulerConfig {
    let env: BTreeMap<String, String> = [
        ("KAFKA_HOSTS", "local"),
        ("WHISK_SCHEDULER_ENDPOINTS_HOST", "127.0.0.1"),
        ("LIMITS_ACTIONS_INVOKES_CONCURRENT", "1000"),
        ("CONFIG_whisk_etcd_hosts", "local"),
        ("CONFIG_whisk_couchdb_host", "local"),
        ("CONFIG_whisk_couchdb_port", "0"),
        ("CONFIG_whisk_couchdb_username", "u"),
        ("CONFIG_whisk_couchdb_password", "p"),
        ("CONFIG_whisk_couchdb_databases_WhiskAuth", "s"),
        ("CONFIG_whisk_couchdb_databases_WhiskEntity", "w"),
        ("CONFIG_whisk_couchdb_databases_WhiskActivation", "a"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .chain([(
        "WHISK_SCHEDULER_ENDPOINTS_RPCPORT".to_owned(),
        rpc.to_string(),
    )])
    .collect();
    SchedulerConfig::from_settings("0", &Settings::new(None, &env).expect("settings"))
        .expect("config")
}

/// Plays the invoker for creations: registers the container and acks.
async fn fake_invoker(bus: LocalBus, coord: MemoryCoordinator) {
    let mut commands = bus
        .subscribe("invoker0", CancellationToken::new())
        .expect("invoker topic");
    while let Some(rec) = commands.recv().await {
        let v = ow_compat::json::parse(&rec.payload).expect("json");
        let Ok(ContainerMessage::Creation(c)) =
            ow_compat::json::Wire::read(&v, ow_compat::json::Path::Root)
        else {
            continue;
        };
        let key = format!(
            "whisk/namespace/guest/guest/bench/{REV}/invoker0/container/c{}",
            c.creation_id
        );
        coord.put(&key, "").await.ok();
        let ack = ContainerCreationAckMessage::answering(
            &c,
            InvokerInstanceId::new(0, ByteSize::mb(1_000_000)),
            None,
        );
        bus.send("creationAck0", ack.encode()).await.ok();
    }
}

fn fetch_request(container: &str) -> FetchRequest {
    FetchRequest {
        transaction_id: "[\"x\",1]".into(),
        invocation_namespace: "guest".into(),
        fqn: r#"{"name":"bench","path":"guest","version":"0.0.1"}"#.into(),
        rev: format!("\"{REV}\""),
        container_id: container.into(),
        warmed: true,
        last_duration: Some(2),
        alive: true,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Sequential: park one fetch, enqueue one activation, time until the fetch returns it.
async fn latency(bus: &LocalBus, rpc: SocketAddr, n: u64, first_id: u64) -> Vec<Duration> {
    let mut client = ActivationServiceClient::connect(format!("http://{rpc}"))
        .await
        .expect("connect");
    let mut samples = Vec::with_capacity(n as usize);
    for i in 0..n {
        let mut c = client.clone();
        let poll = tokio::spawn(async move { c.fetch_activation(fetch_request("lat")).await });
        tokio::time::sleep(Duration::from_micros(300)).await;
        let started = Instant::now();
        bus.send("scheduler0", activation(first_id + i))
            .await
            .expect("enqueue");
        let got = poll
            .await
            .expect("poll task")
            .expect("fetch")
            .into_inner()
            .activation_message;
        if got.contains("activationId") {
            samples.push(started.elapsed());
        } else {
            // The poll expired before the activation arrived; take it with the next fetch.
            client.fetch_activation(fetch_request("lat")).await.ok();
        }
    }
    samples.sort();
    samples
}

/// Open loop: `containers` clients poll continuously while `n` activations are enqueued.
async fn throughput(
    bus: &LocalBus,
    rpc: SocketAddr,
    n: u64,
    containers: usize,
    first_id: u64,
) -> (Duration, f64) {
    let delivered = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stop = CancellationToken::new();
    for c in 0..containers {
        let (delivered, stop) = (Arc::clone(&delivered), stop.clone());
        let mut client = ActivationServiceClient::connect(format!("http://{rpc}"))
            .await
            .expect("connect");
        tokio::spawn(async move {
            let name = format!("tp{c}");
            while !stop.is_cancelled() {
                if let Ok(r) = client.fetch_activation(fetch_request(&name)).await
                    && r.into_inner().activation_message.contains("activationId")
                {
                    delivered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (cpu0, started) = (cpu_seconds(), Instant::now());
    for i in 0..n {
        bus.send("scheduler0", activation(first_id + i))
            .await
            .expect("enqueue");
    }
    while delivered.load(std::sync::atomic::Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = started.elapsed();
    stop.cancel();
    (elapsed, cpu_seconds() - cpu0)
}

/// A service that answers every fetch at once: the bare cost of a tonic unary round trip.
#[derive(Debug)]
struct Echo;

#[tonic::async_trait]
impl ActivationService for Echo {
    async fn fetch_activation(
        &self,
        _r: tonic::Request<FetchRequest>,
    ) -> Result<tonic::Response<FetchResponse>, tonic::Status> {
        Ok(tonic::Response::new(FetchResponse {
            activation_message: grpc::NO_ACTIVATION_MESSAGE.into(),
        }))
    }
    async fn reschedule_activation(
        &self,
        _r: tonic::Request<RescheduleRequest>,
    ) -> Result<tonic::Response<RescheduleResponse>, tonic::Status> {
        Ok(tonic::Response::new(RescheduleResponse {
            is_rescheduled: false,
        }))
    }
}

async fn bare_unary(n: u64) -> Vec<Duration> {
    let addr = free_port();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ActivationServiceServer::new(Echo))
            .serve(addr),
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut client = ActivationServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let mut samples = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let started = Instant::now();
        client
            .fetch_activation(fetch_request("echo"))
            .await
            .expect("echo");
        samples.push(started.elapsed());
    }
    samples.sort();
    samples
}

fn report(name: &str, s: &[Duration]) {
    println!(
        "{name:<44} n={:<6} p50={:>8.1}µs  p99={:>8.1}µs",
        s.len(),
        percentile(s, 0.5).as_secs_f64() * 1e6,
        percentile(s, 0.99).as_secs_f64() * 1e6
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too, then a small n suffices.
    let n: u64 = std::env::var("WARM_PATH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::args().any(|a| a == "--bench") {
            2000
        } else {
            50
        });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (bus, coord, store) = (LocalBus::default(), MemoryCoordinator::default(), MemoryStore::default());
        store.put_action(action());
        let up = InvokerResourceMessage {
            status: InvokerStatus::Up,
            free_memory: 1_000_000,
            busy_memory: 0,
            in_progress_memory: 0,
            tags: vec![],
            dedicated_namespaces: vec![],
        };
        coord.put("whisk/invokers/0", &up.encode()).await.expect("invoker");
        tokio::spawn(fake_invoker(bus.clone(), coord.clone()));
        let rpc = free_port();
        let shutdown = CancellationToken::new();
        let engine = engine::start(config(rpc.port()), bus.clone(), coord, store, Metrics::default(), shutdown.clone())
            .await
            .expect("scheduler");
        tokio::spawn(
            tonic::transport::Server::builder().add_service(ActivationServiceServer::new(Activations::new(engine))).serve(rpc),
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        latency(&bus, rpc, 20, 1_000_000).await; // warm-up: the queue exists, connections are open
        let bare = bare_unary(n).await;
        let warm = latency(&bus, rpc, n, 0).await;
        let (elapsed, cpu) = throughput(&bus, rpc, n * 5, 8, 2_000_000).await;
        println!("warm path benchmark (2 worker threads; in-process bus, coordinator and store; gRPC over loopback)");
        report("bare tonic unary round trip", &bare);
        report("enqueue -> FetchActivation delivery", &warm);
        let ratio = percentile(&warm, 0.5).as_secs_f64() / percentile(&bare, 0.5).as_secs_f64().max(1e-9);
        println!("{:<44} {ratio:.2}", "p50 ratio (warm path / bare unary)");
        let total = n * 5;
        println!(
            "{:<44} {total} activations in {:.2}s = {:.0}/s wall, {:.0}/s per CPU-second ({cpu:.2} CPU-s)",
            "throughput, 8 polling containers",
            elapsed.as_secs_f64(),
            total as f64 / elapsed.as_secs_f64(),
            total as f64 / cpu.max(1e-9)
        );
        shutdown.cancel();
    });
}
