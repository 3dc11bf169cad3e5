//! [`ContainerRuntime`] on the local Docker engine through bollard.

use std::collections::HashMap;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::models::{ContainerCreateBody, HostConfig, HostConfigLogConfig, ResourcesUlimits};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListContainersOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::{
    ContainerRuntime, ContainerSpec, LogLine, LogStream, RuntimeError, StartedContainer,
    parse_log_frame,
};

/// Where the action proxy listens inside every action container.
const PROXY_PORT: u16 = 8080;
/// How long (checks × interval) to wait for a container whose action broke its connection to
/// be seen as exited.
const OOM_CHECKS: u32 = 10;
const OOM_CHECK_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// The Docker engine of `DOCKER_HOST` (else the local socket).
#[derive(Clone)]
pub struct DockerRuntime {
    docker: Docker,
}

impl std::fmt::Debug for DockerRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DockerRuntime")
    }
}

fn op_error(operation: &'static str, container: &str, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Operation {
        operation,
        container: container.to_owned(),
        reason: e.to_string(),
    }
}

fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

impl DockerRuntime {
    /// `docker pull image`; any failure is [`RuntimeError::ImageUnavailable`].
    async fn pull(&self, image: &str) -> Result<(), RuntimeError> {
        tracing::info!(%image, "pulling an image missing on this host");
        let options = CreateImageOptionsBuilder::new().from_image(image).build();
        let mut progress = self.docker.create_image(Some(options), None, None);
        while let Some(step) = progress.next().await {
            if let Err(e) = step {
                return Err(RuntimeError::ImageUnavailable {
                    image: image.to_owned(),
                    reason: e.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Connects as the `docker` CLI would, settles the API version and pings the engine.
    pub async fn connect() -> Result<Self, RuntimeError> {
        let host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "the local socket".into());
        let connect_error = |e: bollard::errors::Error| RuntimeError::Connect {
            host: host.clone(),
            reason: e.to_string(),
        };
        let docker = Docker::connect_with_defaults().map_err(connect_error)?;
        let docker = docker.negotiate_version().await.map_err(connect_error)?;
        docker.ping().await.map_err(connect_error)?;
        Ok(Self { docker })
    }

    /// Whether `image` is on this host (nothing is pulled).
    pub async fn has_image(&self, image: &str) -> bool {
        self.docker.inspect_image(image).await.is_ok()
    }

    fn body(spec: &ContainerSpec) -> ContainerCreateBody {
        let bytes = i64::try_from(spec.memory_mb.saturating_mul(1 << 20)).unwrap_or(i64::MAX);
        ContainerCreateBody {
            image: Some(spec.image.clone()),
            env: Some(spec.env.clone()),
            labels: Some(spec.labels.clone()),
            host_config: Some(HostConfig {
                memory: Some(bytes),
                memory_swap: Some(bytes),
                cpu_shares: Some(spec.cpu_shares),
                cap_drop: Some(vec!["NET_RAW".into(), "NET_ADMIN".into()]),
                security_opt: Some(vec!["no-new-privileges".into()]),
                ulimits: Some(vec![ResourcesUlimits {
                    name: Some("nofile".into()),
                    soft: Some(1024),
                    hard: Some(1024),
                }]),
                pids_limit: Some(1024),
                log_config: Some(HostConfigLogConfig {
                    typ: Some("json-file".into()),
                    config: None,
                }),
                network_mode: Some(spec.network.clone()),
                dns: (!spec.dns.is_empty()).then(|| spec.dns.clone()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    async fn address(&self, id: &str, network: &str) -> Result<String, RuntimeError> {
        let info = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(|e| op_error("inspect", id, e))?;
        let networks = info
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default();
        networks
            .get(network)
            .into_iter()
            .chain(networks.values())
            .filter_map(|e| e.ip_address.clone())
            .find(|ip| !ip.is_empty())
            .map(|ip| format!("{ip}:{PROXY_PORT}"))
            .ok_or_else(|| RuntimeError::NoAddress {
                container: id.to_owned(),
                network: network.to_owned(),
            })
    }

    async fn start_and_locate(
        &self,
        id: &str,
        spec: &ContainerSpec,
    ) -> Result<String, RuntimeError> {
        self.docker
            .start_container(id, None)
            .await
            .map_err(|e| op_error("start", id, e))?;
        self.address(id, &spec.network).await
    }
}

impl ContainerRuntime for DockerRuntime {
    async fn run(&self, spec: &ContainerSpec) -> Result<StartedContainer, RuntimeError> {
        let options = CreateContainerOptionsBuilder::new()
            .name(&spec.name)
            .build();
        let create_error = |e: bollard::errors::Error| RuntimeError::Create {
            name: spec.name.clone(),
            image: spec.image.clone(),
            reason: e.to_string(),
        };
        let created = match self
            .docker
            .create_container(Some(options.clone()), Self::body(spec))
            .await
        {
            Err(e) if is_not_found(&e) => {
                // An image not on the host (a user's blackbox image): pull it once, as stock.
                self.pull(&spec.image).await?;
                self.docker
                    .create_container(Some(options), Self::body(spec))
                    .await
                    .map_err(create_error)?
            }
            other => other.map_err(create_error)?,
        };
        match self.start_and_locate(&created.id, spec).await {
            Ok(address) => Ok(StartedContainer {
                id: created.id,
                address,
            }),
            Err(e) => {
                // A container that never served must not be left behind.
                if let Err(rm) = self.remove(&created.id).await {
                    tracing::warn!(container = %created.id, error = %rm, "removing a failed container failed");
                }
                Err(e)
            }
        }
    }

    async fn pause(&self, id: &str) -> Result<(), RuntimeError> {
        self.docker
            .pause_container(id)
            .await
            .map_err(|e| op_error("pause", id, e))
    }

    async fn unpause(&self, id: &str) -> Result<(), RuntimeError> {
        self.docker
            .unpause_container(id)
            .await
            .map_err(|e| op_error("unpause", id, e))
    }

    async fn remove(&self, id: &str) -> Result<(), RuntimeError> {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(op_error("remove", id, e)),
        }
    }

    async fn list(&self, labels: &[(String, String)]) -> Result<Vec<String>, RuntimeError> {
        let wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let filters = HashMap::from([("label".to_owned(), wanted)]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let found = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| RuntimeError::List {
                reason: e.to_string(),
            })?;
        Ok(found.into_iter().filter_map(|c| c.id).collect())
    }

    async fn oom_killed(&self, id: &str) -> Result<bool, RuntimeError> {
        // The engine records the kill only once it has seen the container exit, which can be a
        // moment after the action's connection broke.
        for _ in 0..OOM_CHECKS {
            let info = self
                .docker
                .inspect_container(id, None)
                .await
                .map_err(|e| op_error("inspect", id, e))?;
            let state = info.state.unwrap_or_default();
            if state.oom_killed == Some(true) {
                return Ok(true);
            }
            if state.running != Some(true) {
                return Ok(false);
            }
            tokio::time::sleep(OOM_CHECK_EVERY).await;
        }
        Ok(false)
    }

    fn follow_logs(&self, id: &str) -> mpsc::Receiver<LogLine> {
        let (tx, rx) = mpsc::channel(4096);
        let docker = self.docker.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            let options = LogsOptionsBuilder::new()
                .follow(true)
                .stdout(true)
                .stderr(true)
                .timestamps(true)
                .build();
            let mut stream = docker.logs(&id, Some(options));
            while let Some(item) = stream.next().await {
                let line = match item {
                    Ok(LogOutput::StdErr { message }) => {
                        parse_log_frame(&String::from_utf8_lossy(&message), LogStream::Stderr)
                    }
                    Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                        parse_log_frame(&String::from_utf8_lossy(&message), LogStream::Stdout)
                    }
                    Ok(LogOutput::StdIn { .. }) => continue,
                    Err(e) => {
                        tracing::debug!(container = %id, error = %e, "log stream ended");
                        return;
                    }
                };
                if tx.send(line).await.is_err() {
                    return;
                }
            }
        });
        rx
    }
}
