//! `ow-scheduler standalone`: the real scheduler engine and the real invoker agent in one
//! process, with the in-process message bus and coordinator, a persistent embedded store, a
//! small controller (activations out, acks back) and OpenWhisk's REST API on loopback.
//!
//! - [`settings`]: the command line and the embedded components' settings (pure);
//! - [`action_doc`]: action documents from REST bodies, and their views (pure);
//! - [`data`]: the redb store behind the scheduler's `Store` and the agent's `ActionStore`;
//! - [`controller`]: activation messages and ack routing;
//! - [`api`]: the REST routes.

pub mod action_doc;
pub mod api;
pub mod controller;
pub mod data;
pub mod settings;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ow_compat::bus::LocalBus;
use ow_compat::coordination::MemoryCoordinator;
use ow_compat::grpc::ActivationServiceServer;
use ow_invoker_agent::agent::{self, Deps, Handle};
use ow_invoker_agent::config::AgentConfig;
use ow_invoker_agent::runtime::{ProcessSettings, SelectedRuntime};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{SchedulerConfig, Settings};
use crate::engine::{self, Engine};
use crate::metrics::Metrics;
use crate::service::Activations;
use controller::{Controller, Guest};
use data::DataStore;
pub use settings::{GUEST_KEY, Options, RuntimeChoice};

/// The standalone's edges.
#[derive(Debug)]
pub struct Embedded;

impl Deps for Embedded {
    type Bus = LocalBus;
    type Coord = MemoryCoordinator;
    type Store = DataStore;
    type Runtime = SelectedRuntime;
}

/// Why standalone did not start.
#[derive(Debug, thiserror::Error)]
pub enum StandaloneError {
    #[error(transparent)]
    Data(#[from] data::DataError),
    #[error("configuration of the embedded {component}: {reason}")]
    Config {
        component: &'static str,
        reason: String,
    },
    #[error("binding {what} on {addr}: {reason}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        reason: String,
    },
    #[error("the scheduler did not start: {0:#}")]
    Scheduler(anyhow::Error),
    #[error("no action runtime: {0}")]
    Runtime(#[from] ow_invoker_agent::runtime::RuntimeError),
    #[error("the invoker agent did not start: {0}")]
    Agent(#[from] agent::StartError),
    #[error("the controller did not start: {0}")]
    Controller(#[from] ow_compat::bus::BusError),
}

/// A running standalone.
#[derive(Debug)]
pub struct Standalone {
    /// Where the REST API listens.
    pub api: SocketAddr,
    /// Which runtime runs the actions, and why.
    pub runtime: String,
    pub data_dir: PathBuf,
    pub store: DataStore,
    engine: Engine<LocalBus, MemoryCoordinator, DataStore>,
    agent: Handle<Embedded>,
    controller: Controller<LocalBus>,
    /// Stops the API first, so nothing new arrives during the drain.
    api_stop: CancellationToken,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    drain_limit: Duration,
}

fn config_error(component: &'static str) -> impl FnOnce(String) -> StandaloneError {
    move |reason| StandaloneError::Config { component, reason }
}

async fn bind(
    what: &'static str,
    addr: SocketAddr,
) -> Result<tokio::net::TcpListener, StandaloneError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| StandaloneError::Bind {
            what,
            addr,
            reason: e.to_string(),
        })
}

/// Installs the runtimes manifest the scheduler, the agent and the kind resolution read.
fn install_manifest() -> Result<(), StandaloneError> {
    let m = ow_compat::runtimes::RuntimesManifest::from_json(settings::MANIFEST)
        .map_err(|e| config_error("runtimes manifest")(e.to_string()))?;
    ow_compat::runtimes::set_manifest(m);
    Ok(())
}

/// Starts every part: store, scheduler (and its gRPC on a loopback port), agent, controller, API.
pub async fn start(options: Options) -> Result<Standalone, StandaloneError> {
    install_manifest()?;
    let store = DataStore::open(&options.data_dir)?;
    let (bus, coord) = (LocalBus::default(), MemoryCoordinator::default());
    let shutdown = CancellationToken::new();
    let mut tasks = Vec::new();
    let (engine, grpc) = start_scheduler(&options, &bus, &coord, &store, &shutdown).await?;
    tasks.push(grpc);
    let runtime = SelectedRuntime::select(
        options.runtime,
        ProcessSettings::from_env(),
        settings::PYTHON_IMAGE,
    )
    .await?;
    let description = runtime.describe().to_owned();
    let (args, env) = settings::agent_args_and_env(&options);
    let agent_config = AgentConfig::from_args_and_env(&args, &env)
        .map_err(|e| config_error("agent")(e.to_string()))?;
    let agent = agent::start::<Embedded>(
        agent_config,
        bus.clone(),
        coord.clone(),
        store.clone(),
        runtime,
        shutdown.child_token(),
    )
    .await?;
    let guest = Guest {
        namespace: "guest".into(),
        api_key: GUEST_KEY.into(),
    };
    let controller = Controller::start(
        bus,
        "scheduler0".into(),
        "completed0",
        guest.clone(),
        options.concurrency_limit,
        shutdown.child_token(),
    )?;
    let state = api::ApiState {
        store: store.clone(),
        controller: controller.clone(),
        guest,
        blocking_timeout: options.blocking_timeout,
        max_payload_bytes: 1024 * 1024,
    };
    let api_stop = CancellationToken::new();
    let (api, api_task) = serve_api(state, options.port, api_stop.clone()).await?;
    tasks.push(api_task);
    Ok(Standalone {
        api,
        runtime: description,
        data_dir: options.data_dir.clone(),
        store,
        engine,
        agent,
        controller,
        api_stop,
        shutdown,
        tasks,
        drain_limit: options.drain_limit,
    })
}

async fn start_scheduler(
    options: &Options,
    bus: &LocalBus,
    coord: &MemoryCoordinator,
    store: &DataStore,
    shutdown: &CancellationToken,
) -> Result<
    (
        Engine<LocalBus, MemoryCoordinator, DataStore>,
        JoinHandle<()>,
    ),
    StandaloneError,
> {
    let listener = bind(
        "the scheduler's gRPC",
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await?;
    let rpc = listener
        .local_addr()
        .map_err(|e| config_error("scheduler")(e.to_string()))?;
    let env = settings::scheduler_env(options, rpc.port());
    let config = Settings::new(None, &env)
        .and_then(|s| SchedulerConfig::from_settings("0", &s))
        .map_err(|e| config_error("scheduler")(e.to_string()))?;
    let engine = engine::start(
        config,
        bus.clone(),
        coord.clone(),
        store.clone(),
        Metrics::default(),
        shutdown.child_token(),
    )
    .await
    .map_err(StandaloneError::Scheduler)?;
    let server = tonic::transport::Server::builder()
        .add_service(ActivationServiceServer::new(Activations::new(
            engine.clone(),
        )))
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            shutdown.clone().cancelled_owned(),
        );
    let task = tokio::spawn(async move {
        if let Err(e) = server.await {
            tracing::error!(error = %e, "the scheduler's gRPC server failed");
        }
    });
    tracing::info!(%rpc, "scheduler 0 started");
    Ok((engine, task))
}

async fn serve_api(
    state: api::ApiState,
    port: u16,
    stop: CancellationToken,
) -> Result<(SocketAddr, JoinHandle<()>), StandaloneError> {
    let listener = bind("the REST API", SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let addr = listener
        .local_addr()
        .map_err(|e| config_error("REST API")(e.to_string()))?;
    let server =
        axum::serve(listener, api::router(state)).with_graceful_shutdown(stop.cancelled_owned());
    let task = tokio::spawn(async move {
        if let Err(e) = server.await {
            tracing::error!(error = %e, "the REST API server failed");
        }
    });
    Ok((addr, task))
}

impl Standalone {
    /// The lines an operator needs: where the API is, the key, the runtime and the data.
    pub fn banner(&self) -> String {
        format!(
            "OpenWhisk standalone (ow-scheduler) is ready\n  API:      http://{api}\n  auth:     {GUEST_KEY}\n  \
             namespace: guest (or _)\n  runtime:  {runtime}\n  data:     {data}\n  try:      curl -u {GUEST_KEY} http://{api}/api/v1/namespaces/_/actions\n  \
             Ctrl-C drains and stops.",
            api = self.api,
            runtime = self.runtime,
            data = self.store.path().display(),
        )
    }

    /// The ordered drain: the API stops taking requests; running activations get up to the
    /// drain limit to finish; the agent removes its containers; the scheduler's queues stop;
    /// then every task ends.
    pub async fn stop(self) {
        self.api_stop.cancel();
        let deadline = tokio::time::Instant::now() + self.drain_limit;
        while self.controller.in_flight("guest") > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        agent::drain(&self.agent, left.max(Duration::from_secs(5))).await;
        engine::drain(&self.engine).await;
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
        // Tasks that have not ended yet hold clones of the store; closing frees the file now.
        self.store.close();
        tracing::info!("standalone stopped");
    }
}

/// `ow-scheduler standalone`: starts, prints the banner, runs until Ctrl-C or SIGTERM, drains.
pub async fn run(
    options: Options,
    stop_signal: impl std::future::Future<Output = ()>,
) -> Result<(), StandaloneError> {
    let standalone = start(options).await?;
    tracing::info!(api = %standalone.api, runtime = %standalone.runtime, "standalone started");
    println!("{}", standalone.banner());
    stop_signal.await;
    tracing::info!("stopping: draining");
    standalone.stop().await;
    Ok(())
}
