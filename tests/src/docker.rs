//! Docker through bollard: action containers created as the invoker creates them (spec 10.1),
//! marked with labels as test containers and removed even when a test fails.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, anyhow};
use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, HostConfigLogConfig, ResourcesUlimits};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use futures::StreamExt;

use crate::env::{START_HINT, services, unreachable};
use crate::side::block_on_side;
use crate::unique;

/// The Python action runtime built by `tests/runtimes/build`.
pub const PYTHON_IMAGE: &str = "ow-python-runtime:latest";
/// The blackbox image built by `tests/runtimes/build` (answers `/init`, echoes `/run`).
pub const BLACKBOX_IMAGE: &str = "ow-blackbox:latest";
/// Label on every container the tests create.
pub const TEST_LABEL: &str = "ow.test";
/// Label holding the container's unique test name.
pub const TEST_NAME_LABEL: &str = "ow.test.name";
/// Label holding the pid of the test process that created the container.
pub const TEST_PID_LABEL: &str = "ow.test.pid";

/// Connects to `DOCKER_HOST`, settles on an API version both sides speak and pings the engine.
pub async fn connect() -> anyhow::Result<Docker> {
    connect_to(&services().docker_host).await
}

/// Connects to `host` (`unix://…`, `tcp://…`, `http://…`), negotiates the API version, pings.
pub async fn connect_to(host: &str) -> anyhow::Result<Docker> {
    let docker = Docker::connect_with_host(host).with_context(|| unreachable("Docker", host))?;
    let docker = docker
        .negotiate_version()
        .await
        .with_context(|| unreachable("Docker", host))?;
    docker
        .ping()
        .await
        .with_context(|| unreachable("Docker", host))?;
    Ok(docker)
}

/// Fails with a hint to build the runtime images if `image` is not present.
pub async fn require_image(docker: &Docker, image: &str) -> anyhow::Result<()> {
    docker
        .inspect_image(image)
        .await
        .map(drop)
        .with_context(|| {
            format!(
                "Docker: image {image} is missing; `tests/runtimes/build` builds it ({START_HINT})"
            )
        })
}

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Image reference.
    pub image: String,
    /// Container name (unique per test by default).
    pub name: String,
    /// Memory limit in MB (`--memory` and `--memory-swap`).
    pub memory_mb: u64,
    /// `KEY=value` environment entries.
    pub env: Vec<String>,
    /// Labels besides the test labels.
    pub labels: HashMap<String, String>,
}

impl ContainerSpec {
    /// `image` with 256 MB, no env, and a unique name tagged with `tag`.
    pub fn new(image: &str, tag: &str) -> Self {
        Self {
            image: image.to_owned(),
            name: unique::unique_name(tag),
            memory_mb: 256,
            env: Vec::new(),
            labels: HashMap::new(),
        }
    }

    /// The create body: the invoker's `docker run` arguments (memory and swap limit, dropped
    /// `NET_RAW`/`NET_ADMIN`, `nofile` 1024, 1024 pids, json-file logs, the bridge network) and the
    /// test labels `ow.test=1`, `ow.test.name`, `ow.test.pid`.
    pub fn body(&self) -> ContainerCreateBody {
        let bytes = i64::try_from(self.memory_mb * 1024 * 1024).unwrap_or(i64::MAX);
        let mut labels = self.labels.clone();
        labels.insert(TEST_LABEL.into(), "1".into());
        labels.insert(TEST_NAME_LABEL.into(), self.name.clone());
        labels.insert(TEST_PID_LABEL.into(), std::process::id().to_string());
        ContainerCreateBody {
            image: Some(self.image.clone()),
            env: Some(self.env.clone()),
            labels: Some(labels),
            host_config: Some(HostConfig {
                memory: Some(bytes),
                memory_swap: Some(bytes),
                cap_drop: Some(vec!["NET_RAW".into(), "NET_ADMIN".into()]),
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
                network_mode: Some("bridge".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// Output of a container, split by stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Logs {
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

/// A container that belongs to one test. [`TestContainer::remove`] removes it; dropping it without
/// that removes it too (force, on a side thread, through a new connection to `DOCKER_HOST`), so a
/// failing or panicking test leaks no container.
#[derive(Debug)]
pub struct TestContainer {
    docker: Docker,
    host: String,
    id: String,
    name: String,
    removed: bool,
}

impl TestContainer {
    /// Creates (does not start) a container from `spec`.
    pub async fn create(docker: &Docker, spec: &ContainerSpec) -> anyhow::Result<Self> {
        require_image(docker, &spec.image).await?;
        let options = CreateContainerOptionsBuilder::new()
            .name(&spec.name)
            .build();
        let created = docker
            .create_container(Some(options), spec.body())
            .await
            .with_context(|| {
                format!("Docker: create container {} from {}", spec.name, spec.image)
            })?;
        for w in &created.warnings {
            eprintln!("Docker: warning creating {}: {w}", spec.name);
        }
        Ok(Self {
            docker: docker.clone(),
            host: services().docker_host.clone(),
            id: created.id,
            name: spec.name.clone(),
            removed: false,
        })
    }

    /// Creates and starts a container from `spec`.
    pub async fn run(docker: &Docker, spec: &ContainerSpec) -> anyhow::Result<Self> {
        let c = Self::create(docker, spec).await?;
        c.start().await?;
        Ok(c)
    }

    /// Container id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Container name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The client.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Starts it.
    pub async fn start(&self) -> anyhow::Result<()> {
        self.docker
            .start_container(&self.id, None)
            .await
            .with_context(|| format!("Docker: start container {}", self.name))
    }

    /// Its IP address on the bridge network (`docker inspect`), where the proxy listens on 8080.
    pub async fn ip(&self) -> anyhow::Result<String> {
        let info = self
            .docker
            .inspect_container(&self.id, None)
            .await
            .with_context(|| format!("Docker: inspect container {}", self.name))?;
        let networks = info
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default();
        let ip = networks
            .get("bridge")
            .into_iter()
            .chain(networks.values())
            .filter_map(|e| e.ip_address.clone())
            .find(|ip| !ip.is_empty());
        ip.ok_or_else(|| {
            anyhow!(
                "Docker: container {} has no IP address (networks: {:?})",
                self.name,
                networks.keys()
            )
        })
    }

    /// `(running, paused)` as `docker inspect` reports them.
    pub async fn state(&self) -> anyhow::Result<(bool, bool)> {
        let info = self
            .docker
            .inspect_container(&self.id, None)
            .await
            .with_context(|| format!("Docker: inspect container {}", self.name))?;
        let s = info.state.unwrap_or_default();
        Ok((s.running.unwrap_or(false), s.paused.unwrap_or(false)))
    }

    /// `docker pause`.
    pub async fn pause(&self) -> anyhow::Result<()> {
        self.docker
            .pause_container(&self.id)
            .await
            .with_context(|| format!("Docker: pause container {}", self.name))
    }

    /// `docker unpause`.
    pub async fn unpause(&self) -> anyhow::Result<()> {
        self.docker
            .unpause_container(&self.id)
            .await
            .with_context(|| format!("Docker: unpause container {}", self.name))
    }

    /// Everything the container wrote so far (`docker logs`), by stream.
    pub async fn logs(&self) -> anyhow::Result<Logs> {
        let options = LogsOptionsBuilder::new().stdout(true).stderr(true).build();
        let mut stream = self.docker.logs(&self.id, Some(options));
        let mut logs = Logs::default();
        while let Some(item) = stream.next().await {
            let item = item.with_context(|| format!("Docker: logs of container {}", self.name))?;
            match item {
                bollard::container::LogOutput::StdErr { message } => {
                    logs.stderr.push_str(&String::from_utf8_lossy(&message));
                }
                other => logs.stdout.push_str(&other.to_string()),
            }
        }
        Ok(logs)
    }

    /// Removes it (force: a running or paused container is killed first), with its volumes.
    pub async fn remove(mut self) -> anyhow::Result<()> {
        self.removed = true;
        remove_container(&self.docker, &self.id)
            .await
            .with_context(|| format!("Docker: remove container {}", self.name))
    }
}

async fn remove_container(docker: &Docker, id: &str) -> anyhow::Result<()> {
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

impl Drop for TestContainer {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let (host, id) = (self.host.clone(), self.id.clone());
        let done = block_on_side(Duration::from_secs(20), move || async move {
            let docker = connect_to(&host).await?;
            remove_container(&docker, &id).await
        });
        if !matches!(done, Some(Ok(()))) {
            eprintln!(
                "warning: could not remove test container {} ({}): {done:?}",
                self.name, self.id
            );
        }
    }
}

/// Ids of the containers (running or not) labelled with test name `name`.
pub async fn containers_named(docker: &Docker, name: &str) -> anyhow::Result<Vec<String>> {
    let filters = HashMap::from([("label", vec![format!("{TEST_NAME_LABEL}={name}")])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let list = docker
        .list_containers(Some(options))
        .await
        .with_context(|| format!("Docker: list containers labelled {TEST_NAME_LABEL}={name}"))?;
    Ok(list.into_iter().filter_map(|c| c.id).collect())
}
