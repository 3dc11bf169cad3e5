//! The runtime in use: Docker when its engine answers, else action proxies as child processes,
//! or whichever the operator named. [`SelectedRuntime`] delegates to it and says which it is
//! and why.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{
    ContainerRuntime, ContainerSpec, DockerRuntime, LogLine, ProcessRuntime, ProcessSettings,
    RuntimeError, StartedContainer,
};

/// How long the Docker engine has to answer before the choice falls to processes.
const DOCKER_PROBE: Duration = Duration::from_secs(5);

/// The operator's choice (`--runtime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuntimeChoice {
    /// Docker when the engine answers, else processes.
    #[default]
    Auto,
    Docker,
    Process,
}

/// A runtime name that is none of `auto`, `docker`, `process`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown runtime {0:?}: expected docker, process or auto")]
pub struct UnknownRuntime(pub String);

impl FromStr for RuntimeChoice {
    type Err = UnknownRuntime;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "docker" => Ok(Self::Docker),
            "process" => Ok(Self::Process),
            _ => Err(UnknownRuntime(s.to_owned())),
        }
    }
}

impl fmt::Display for RuntimeChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Docker => "docker",
            Self::Process => "process",
        })
    }
}

#[derive(Debug, Clone)]
enum Engine {
    Docker(DockerRuntime),
    Process(ProcessRuntime),
}

/// Docker or child processes, chosen once at start.
#[derive(Debug, Clone)]
pub struct SelectedRuntime {
    engine: Engine,
    /// Which one and why, for the logs and the startup banner.
    description: Arc<str>,
}

impl SelectedRuntime {
    /// Applies `choice`: an explicit runtime that cannot start is an error; `Auto` takes Docker
    /// when its engine answers within a few seconds and has `image` (the runtime image actions
    /// need; it cannot be pulled on every host), else processes.
    pub async fn select(
        choice: RuntimeChoice,
        settings: ProcessSettings,
        image: &str,
    ) -> Result<Self, RuntimeError> {
        let selected = match choice {
            RuntimeChoice::Docker => Self::docker(connect_docker().await?, "chosen"),
            RuntimeChoice::Process => Self::process(settings, "chosen".into()).await?,
            RuntimeChoice::Auto => match connect_docker().await {
                Ok(docker) if docker.has_image(image).await => {
                    Self::docker(docker, "its engine answered")
                }
                Ok(_) => {
                    let why = format!("Docker answered but has no image {image}");
                    Self::process(settings, why).await?
                }
                Err(e) => Self::process(settings, format!("Docker unavailable: {e}")).await?,
            },
        };
        tracing::info!(runtime = %selected.description, "action runtime selected");
        Ok(selected)
    }

    /// Docker, already connected.
    pub fn from_docker(docker: DockerRuntime) -> Self {
        Self::docker(docker, "given")
    }

    /// Child processes, already started.
    pub fn from_process(process: ProcessRuntime) -> Self {
        let description = describe_process(&process, "given");
        Self {
            engine: Engine::Process(process),
            description: description.into(),
        }
    }

    fn docker(docker: DockerRuntime, why: &str) -> Self {
        let host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "the local socket".into());
        Self {
            engine: Engine::Docker(docker),
            description: format!("docker (engine at {host}; {why})").into(),
        }
    }

    async fn process(settings: ProcessSettings, why: String) -> Result<Self, RuntimeError> {
        let process = ProcessRuntime::start(settings).await?;
        let description = describe_process(&process, &why);
        Ok(Self {
            engine: Engine::Process(process),
            description: description.into(),
        })
    }

    /// E.g. `docker (engine at the local socket; its engine answered)` or `process (python3
    /// children of /usr/bin/python3; Docker unavailable: …)`.
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Which runtime this is: [`RuntimeChoice::Docker`] or [`RuntimeChoice::Process`].
    pub fn kind(&self) -> RuntimeChoice {
        match self.engine {
            Engine::Docker(_) => RuntimeChoice::Docker,
            Engine::Process(_) => RuntimeChoice::Process,
        }
    }
}

fn describe_process(process: &ProcessRuntime, why: &str) -> String {
    format!(
        "process (action proxies as child processes of {}; {why})",
        process.python().display()
    )
}

async fn connect_docker() -> Result<DockerRuntime, RuntimeError> {
    match tokio::time::timeout(DOCKER_PROBE, DockerRuntime::connect()).await {
        Ok(connected) => connected,
        Err(_) => Err(RuntimeError::Connect {
            host: std::env::var("DOCKER_HOST").unwrap_or_else(|_| "the local socket".into()),
            reason: format!("no answer within {DOCKER_PROBE:?}"),
        }),
    }
}

impl ContainerRuntime for SelectedRuntime {
    async fn run(&self, spec: &ContainerSpec) -> Result<StartedContainer, RuntimeError> {
        match &self.engine {
            Engine::Docker(r) => r.run(spec).await,
            Engine::Process(r) => r.run(spec).await,
        }
    }

    async fn pause(&self, id: &str) -> Result<(), RuntimeError> {
        match &self.engine {
            Engine::Docker(r) => r.pause(id).await,
            Engine::Process(r) => r.pause(id).await,
        }
    }

    async fn unpause(&self, id: &str) -> Result<(), RuntimeError> {
        match &self.engine {
            Engine::Docker(r) => r.unpause(id).await,
            Engine::Process(r) => r.unpause(id).await,
        }
    }

    async fn remove(&self, id: &str) -> Result<(), RuntimeError> {
        match &self.engine {
            Engine::Docker(r) => r.remove(id).await,
            Engine::Process(r) => r.remove(id).await,
        }
    }

    async fn list(&self, labels: &[(String, String)]) -> Result<Vec<String>, RuntimeError> {
        match &self.engine {
            Engine::Docker(r) => r.list(labels).await,
            Engine::Process(r) => r.list(labels).await,
        }
    }

    async fn oom_killed(&self, id: &str) -> Result<bool, RuntimeError> {
        match &self.engine {
            Engine::Docker(r) => r.oom_killed(id).await,
            Engine::Process(r) => r.oom_killed(id).await,
        }
    }

    fn follow_logs(&self, id: &str) -> mpsc::Receiver<LogLine> {
        match &self.engine {
            Engine::Docker(r) => r.follow_logs(id),
            Engine::Process(r) => r.follow_logs(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_from_their_names() {
        assert_eq!("docker".parse(), Ok(RuntimeChoice::Docker));
        assert_eq!(" Process ".parse(), Ok(RuntimeChoice::Process));
        assert_eq!("auto".parse(), Ok(RuntimeChoice::Auto));
        assert_eq!(
            "podman".parse::<RuntimeChoice>(),
            Err(UnknownRuntime("podman".into()))
        );
        assert_eq!(
            UnknownRuntime("podman".into()).to_string(),
            "unknown runtime \"podman\": expected docker, process or auto"
        );
        for choice in [
            RuntimeChoice::Auto,
            RuntimeChoice::Docker,
            RuntimeChoice::Process,
        ] {
            assert_eq!(choice.to_string().parse(), Ok(choice));
        }
    }
}
