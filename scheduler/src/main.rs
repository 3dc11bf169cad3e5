//! `ow-scheduler`: wires the scheduler's components and owns their shutdown.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use ow_compat::bus::KafkaBus;
use ow_compat::coordination::EtcdCoordinator;
use ow_compat::grpc::ActivationServiceServer;
use ow_compat::store::CouchStore;
use ow_scheduler::config::{ConfigError, SchedulerConfig, Settings};
use ow_scheduler::metrics::Metrics;
use ow_scheduler::service::Activations;
use ow_scheduler::{admin, engine};
use tokio_util::sync::CancellationToken;

const USAGE: &str = "usage: ow-scheduler INSTANCE_ID [--config FILE]
       ow-scheduler standalone [--help | OPTIONS]

Runs OpenWhisk scheduler INSTANCE_ID (as the stock image's `/init.sh INSTANCE_ID`). Settings come
from the environment variables the stock scheduler reads (PORT, KAFKA_HOSTS,
WHISK_SCHEDULER_ENDPOINTS_HOST/RPCPORT/PEKKOPORT, LIMITS_ACTIONS_INVOKES_CONCURRENT,
CONFIG_whisk_etcd_hosts, CONFIG_whisk_couchdb_*, CONFIG_whisk_scheduler_*, ...), over an optional
TOML file with the same keys (e.g. [whisk.scheduler.queue] idle-grace = \"10 minutes\").
RUST_LOG sets the log filter (default info).";

/// How long a drain waits for queues to hand over before the process stops anyway.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("standalone") {
        return standalone(&args[1..]);
    }
    let config = match parse(&args) {
        Ok(Some(c)) => c,
        Ok(None) => {
            // A closed stdout (e.g. `| head`) is not an error worth a panic.
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("ow-scheduler: {e}\n\n{USAGE}");
            return ExitCode::from(64);
        }
    };
    serve("ow-scheduler", run(config))
}

/// Starts logging and the async runtime, runs `job` to its end, and maps the outcome to the
/// exit status.
fn serve(name: &str, job: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{name}: cannot start the runtime: {e}");
            return ExitCode::from(70);
        }
    };
    match runtime.block_on(job) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{name} stopped: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `ow-scheduler standalone ...`: a single-node platform in this process.
fn standalone(args: &[String]) -> ExitCode {
    use ow_scheduler::standalone::{self, settings};
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let options = match settings::parse_args(args, &env) {
        Ok(Some(o)) => o,
        Ok(None) => {
            let _ = writeln!(std::io::stdout(), "{}", settings::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("ow-scheduler standalone: {e}\n\n{}", settings::USAGE);
            return ExitCode::from(64);
        }
    };
    let job =
        async move { Ok(standalone::run(options, ow_compat::admin::wait_for_signal()).await?) };
    serve("ow-scheduler standalone", job)
}

fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
}

fn parse(args: &[String]) -> Result<Option<SchedulerConfig>, ConfigError> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(None);
    }
    let (mut instance, mut file) = (None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--config" => {
                file = Some(
                    it.next()
                        .ok_or_else(|| ConfigError::Usage("--config needs a file".into()))?
                        .clone(),
                )
            }
            a if a.starts_with('-') => {
                return Err(ConfigError::Usage(format!("unknown option {a}")));
            }
            a if instance.is_none() => instance = Some(a.to_owned()),
            a => return Err(ConfigError::Usage(format!("unexpected argument {a}"))),
        }
    }
    let instance =
        instance.ok_or_else(|| ConfigError::Usage("the instance id is missing".into()))?;
    let text = match &file {
        Some(path) => Some(
            std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                path: path.clone(),
                reason: e.to_string(),
            })?,
        ),
        None => None,
    };
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let settings = Settings::new(file.as_deref().zip(text.as_deref()), &env)?;
    SchedulerConfig::from_settings(&instance, &settings).map(Some)
}

async fn run(config: SchedulerConfig) -> anyhow::Result<()> {
    if let Some(manifest) = &config.runtimes_manifest {
        let m = ow_compat::runtimes::RuntimesManifest::from_json(manifest)
            .context("RUNTIMES_MANIFEST does not parse")?;
        ow_compat::runtimes::set_manifest(m);
    }
    let shutdown = CancellationToken::new();
    let lease_key = format!(
        "{}/instance/scheduler{}/lease",
        config.cluster_name, config.instance.as_string
    );
    let coord = EtcdCoordinator::connect(
        &config.etcd_hosts,
        config.lease_ttl,
        lease_key,
        shutdown.child_token(),
    )
    .await
    .context("connecting to etcd")?;
    let bus = KafkaBus::new(&config.kafka_hosts)?;
    let store = CouchStore::new(config.couchdb.clone())?;
    let (rpc_port, admin_port) = (config.endpoints.rpc_port, config.admin_port);
    let engine = engine::start(
        config,
        bus,
        coord.clone(),
        store,
        Metrics::default(),
        shutdown.child_token(),
    )
    .await?;
    let grpc = tonic::transport::Server::builder()
        .add_service(ActivationServiceServer::new(Activations::new(
            engine.clone(),
        )))
        .serve_with_shutdown(
            SocketAddr::from(([0, 0, 0, 0], rpc_port)),
            shutdown.clone().cancelled_owned(),
        );
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], admin_port)))
        .await
        .with_context(|| format!("binding the admin port {admin_port}"))?;
    let admin = axum::serve(listener, admin::router(engine.clone()))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned());
    tracing::info!(instance = %engine.config.instance.as_string, rpc_port, admin_port, "ow-scheduler started");
    let grpc_task = tokio::spawn(grpc);
    let admin_task = tokio::spawn(async move { admin.await });
    ow_compat::admin::wait_for_signal().await;
    tracing::info!("stopping: draining queues");
    engine::drain(&engine).await;
    let deadline = tokio::time::Instant::now() + DRAIN_LIMIT;
    while engine.waiting() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shutdown.cancel();
    coord.revoke().await;
    let _ = grpc_task.await;
    let _ = admin_task.await;
    Ok(())
}
