//! The container engine as the agent needs it: run a container, pause, unpause, remove, list
//! ours, follow its output. [`DockerRuntime`] is the real one (bollard on the local engine);
//! no bollard type appears here. [`ProcessRuntime`] runs the Python action proxy as child
//! processes where no engine exists; [`SelectedRuntime`] is whichever of the two is in use.

mod docker;
mod process;
mod process_child;
mod process_output;
mod select;

use std::collections::HashMap;
use std::future::Future;

use tokio::sync::mpsc;

pub use docker::DockerRuntime;
pub use process::{OUT_OF_MEMORY_EXIT, PYTHON_ENV, ProcessRuntime, ProcessSettings};
pub use select::{RuntimeChoice, SelectedRuntime, UnknownRuntime};

/// What to run: the stock `docker run` arguments of an action container (spec 10.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    /// `--memory` and `--memory-swap`, in MB.
    pub memory_mb: u64,
    /// `--cpu-shares`.
    pub cpu_shares: i64,
    /// `KEY=value` entries.
    pub env: Vec<String>,
    /// Labels that identify the agent and the action.
    pub labels: HashMap<String, String>,
    /// `--network`.
    pub network: String,
    /// `--dns` servers.
    pub dns: Vec<String>,
}

/// A started container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedContainer {
    /// Engine id (64 hex).
    pub id: String,
    /// `ip:8080`, where the action proxy listens.
    pub address: String,
}

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

impl LogStream {
    /// `stdout` or `stderr`, as the json-file driver names them.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// One line a container wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// RFC 3339 time with nanoseconds, as the engine stamped it.
    pub time: String,
    pub stream: LogStream,
    /// The text without its trailing newline.
    pub text: String,
}

/// A container engine operation that failed; every variant names the operation and container.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    #[error("docker engine at {host} unreachable: {reason}")]
    Connect { host: String, reason: String },
    #[error("creating container {name} from {image} failed: {reason}")]
    Create {
        name: String,
        image: String,
        reason: String,
    },
    #[error("docker {operation} of container {container} failed: {reason}")]
    Operation {
        operation: &'static str,
        container: String,
        reason: String,
    },
    /// The image is not on the host and could not be pulled.
    #[error("image {image} is not on this host and could not be pulled: {reason}")]
    ImageUnavailable { image: String, reason: String },
    #[error("container {container} has no IP address on network {network}")]
    NoAddress { container: String, network: String },
    #[error("listing containers failed: {reason}")]
    List { reason: String },
    #[error("python interpreter {python} unusable: {reason}")]
    Interpreter { python: String, reason: String },
    #[error("{operation} of action process {container} failed: {reason}")]
    Process {
        operation: &'static str,
        container: String,
        reason: String,
    },
}

/// The engine operations of the agent.
pub trait ContainerRuntime: Clone + Send + Sync + 'static {
    /// Creates and starts a container and reads its address; a container that fails to start
    /// is removed again.
    fn run(
        &self,
        spec: &ContainerSpec,
    ) -> impl Future<Output = Result<StartedContainer, RuntimeError>> + Send;
    /// `docker pause`.
    fn pause(&self, id: &str) -> impl Future<Output = Result<(), RuntimeError>> + Send;
    /// `docker unpause`.
    fn unpause(&self, id: &str) -> impl Future<Output = Result<(), RuntimeError>> + Send;
    /// `docker rm -f`; a container that is already gone is not an error.
    fn remove(&self, id: &str) -> impl Future<Output = Result<(), RuntimeError>> + Send;
    /// Ids of the containers (running or not) carrying every one of these labels.
    fn list(
        &self,
        labels: &[(String, String)],
    ) -> impl Future<Output = Result<Vec<String>, RuntimeError>> + Send;
    /// Whether the kernel killed the container for exceeding its memory.
    fn oom_killed(&self, id: &str) -> impl Future<Output = Result<bool, RuntimeError>> + Send;
    /// Everything the container writes from its start on, line by line, until it is removed.
    fn follow_logs(&self, id: &str) -> mpsc::Receiver<LogLine>;
}

/// Splits an engine log frame `<RFC3339Nano> <text>\n` (logs read with timestamps) into a line.
pub fn parse_log_frame(frame: &str, stream: LogStream) -> LogLine {
    let frame = frame.strip_suffix('\n').unwrap_or(frame);
    let (time, text) = match frame.split_once(' ') {
        Some((t, rest)) if looks_like_time(t) => (t, rest),
        _ => ("", frame),
    };
    LogLine {
        time: time.to_owned(),
        stream,
        text: text.to_owned(),
    }
}

fn looks_like_time(t: &str) -> bool {
    t.len() >= 20 && t.as_bytes().get(4) == Some(&b'-') && t.contains('T')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_with_timestamps_become_lines() {
        let line = parse_log_frame(
            "2023-11-14T22:13:20.180254874Z Hello Dorothy\n",
            LogStream::Stdout,
        );
        assert_eq!(line.time, "2023-11-14T22:13:20.180254874Z");
        assert_eq!(line.text, "Hello Dorothy");
        let bare = parse_log_frame("no time here", LogStream::Stderr);
        assert_eq!(
            (bare.time.as_str(), bare.text.as_str()),
            ("", "no time here")
        );
        let empty = parse_log_frame("2023-11-14T22:13:20.180254874Z \n", LogStream::Stdout);
        assert_eq!(empty.text, "");
    }
}
