//! Wiring to the real services: etcd (the invoker's lease), Kafka, CouchDB, the Docker engine,
//! and the admin HTTP server.

use std::net::SocketAddr;
use std::time::Duration;

use ow_compat::bus::{BusError, KafkaBus};
use ow_compat::coordination::{CoordinationError, EtcdCoordinator};
use ow_compat::store::{CouchStore, StoreError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::agent::{self, Deps, Handle, StartError};
use crate::config::AgentConfig;
use crate::runtime::{DockerRuntime, RuntimeError};

/// The real edges.
#[derive(Debug)]
pub struct Live;

impl Deps for Live {
    type Bus = KafkaBus;
    type Coord = EtcdCoordinator;
    type Store = CouchStore;
    type Runtime = DockerRuntime;
}

/// A service the agent could not start with.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("etcd: {0}")]
    Etcd(#[from] CoordinationError),
    #[error("kafka: {0}")]
    Kafka(#[from] BusError),
    #[error("couchdb: {0}")]
    Couch(#[from] StoreError),
    #[error("docker: {0}")]
    Docker(#[from] RuntimeError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("binding the admin port {port}: {reason}")]
    Admin { port: u16, reason: String },
}

/// A running agent and its admin server.
#[derive(Debug)]
pub struct Running {
    pub agent: Handle<Live>,
    /// Where the admin routes listen.
    pub admin: SocketAddr,
    coord: EtcdCoordinator,
    shutdown: CancellationToken,
    admin_task: JoinHandle<()>,
}

/// Connects to every service and starts the agent and its admin server.
pub async fn launch(config: AgentConfig) -> Result<Running, LaunchError> {
    let shutdown = CancellationToken::new();
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
    .await?;
    let bus = KafkaBus::new(&config.kafka_hosts)?;
    let store = CouchStore::new(config.couchdb.clone())?;
    let runtime = DockerRuntime::connect().await?;
    let port = config.admin_port;
    let agent = agent::start::<Live>(
        config,
        bus,
        coord.clone(),
        store,
        runtime,
        shutdown.child_token(),
    )
    .await?;
    let (admin, admin_task) = serve_admin(&agent, port, shutdown.clone()).await?;
    Ok(Running {
        agent,
        admin,
        coord,
        shutdown,
        admin_task,
    })
}

/// Binds the admin port (0 picks one) and serves the admin routes until `shutdown`.
async fn serve_admin(
    agent: &Handle<Live>,
    port: u16,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, JoinHandle<()>), LaunchError> {
    let error = |e: std::io::Error| LaunchError::Admin {
        port,
        reason: e.to_string(),
    };
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], port)))
        .await
        .map_err(error)?;
    let admin = listener.local_addr().map_err(error)?;
    let server = axum::serve(listener, crate::admin::router(agent.clone()))
        .with_graceful_shutdown(shutdown.cancelled_owned());
    let task = tokio::spawn(async move {
        if let Err(e) = server.await {
            tracing::error!(error = %e, "admin server failed");
        }
    });
    tracing::info!(%admin, "admin routes listening");
    Ok((admin, task))
}

impl Running {
    /// Drains (at most `limit`), then revokes the lease so every key of this invoker vanishes.
    pub async fn stop(self, limit: Duration) {
        agent::drain(&self.agent, limit).await;
        self.shutdown.cancel();
        self.coord.revoke().await;
        let _ = self.admin_task.await;
    }
}
