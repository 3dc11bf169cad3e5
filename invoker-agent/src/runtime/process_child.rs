//! One action process of [`super::ProcessRuntime`]: its environment, its pipes, the task that
//! reaps it, and how its start and its end are read.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process_group};
use tokio::process::{Child, ChildStdin};
use tokio::sync::{mpsc, watch};

use super::process::OUT_OF_MEMORY_EXIT;
use super::process_output::{LogSink, read_lines};
use super::{ContainerSpec, LogLine, LogStream};

/// How often a starting child is probed.
const PROBE_EVERY: Duration = Duration::from_millis(10);
/// How long a failed start's output is awaited, line by line.
const OUTPUT_PAUSE: Duration = Duration::from_millis(200);

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Exit {
    Code(i32),
    Signal(i32),
}

impl From<ExitStatus> for Exit {
    fn from(status: ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => Self::Code(code),
            (None, Some(signal)) => Self::Signal(signal),
            (None, None) => Self::Code(-1),
        }
    }
}

/// Whether an exit means the action ran out of memory: the proxy's own status, or a SIGKILL
/// this runtime did not send (the kernel's OOM killer).
pub(super) fn ran_out_of_memory(exit: Exit, killed_here: bool) -> bool {
    match exit {
        Exit::Code(code) => code == OUT_OF_MEMORY_EXIT,
        Exit::Signal(signal) => signal == Signal::KILL.as_raw() && !killed_here,
    }
}

/// One live child.
#[derive(Debug)]
pub(super) struct Proxy {
    /// Its pid, which is also its process group id.
    pub(super) group: Pid,
    pub(super) labels: HashMap<String, String>,
    /// Its output until a follower takes it.
    pub(super) logs: Option<mpsc::UnboundedReceiver<LogLine>>,
    pub(super) exit: watch::Receiver<Option<Exit>>,
    /// Set before this runtime kills the group, so the kill is not taken for the OOM killer.
    pub(super) killed_here: Arc<AtomicBool>,
    /// Held open: the proxy exits when it closes (this runtime dropped or this process gone).
    pub(super) _stdin: ChildStdin,
}

impl Proxy {
    pub(super) fn exited(&self) -> Option<Exit> {
        *self.exit.borrow()
    }
}

pub(super) fn signal_group(group: Pid, signal: Signal) -> std::io::Result<()> {
    kill_process_group(group, signal).map_err(std::io::Error::from)
}

impl Proxy {
    /// What the child wrote, for an error message: its output up to its end, or up to a
    /// short pause when it is still running.
    pub(super) async fn drain_output(mut self) -> String {
        let mut text = Vec::new();
        if let Some(logs) = self.logs.as_mut() {
            while let Ok(Some(line)) = tokio::time::timeout(OUTPUT_PAUSE, logs.recv()).await {
                text.push(format!("{}: {}", line.stream.as_str(), line.text));
            }
        }
        if text.is_empty() {
            "(none)".to_owned()
        } else {
            text.join(" | ")
        }
    }
}

/// Takes the child's pipes: output to line readers, stdin kept.
pub(super) fn watch_child(
    id: &str,
    child: &mut Child,
    labels: HashMap<String, String>,
) -> Result<(Proxy, watch::Sender<Option<Exit>>), &'static str> {
    let raw = child.id().ok_or("no pid")?;
    let group = i32::try_from(raw)
        .ok()
        .filter(|pid| *pid > 1)
        .and_then(Pid::from_raw)
        .ok_or("unusable pid")?;
    let stdin = child.stdin.take().ok_or("no stdin")?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(read_lines(
        stdout,
        LogStream::Stdout,
        LogSink::new(id, tx.clone()),
    ));
    tokio::spawn(read_lines(stderr, LogStream::Stderr, LogSink::new(id, tx)));
    let (exit_tx, exit_rx) = watch::channel(None);
    let proxy = Proxy {
        group,
        labels,
        logs: Some(rx),
        exit: exit_rx,
        killed_here: Arc::new(AtomicBool::new(false)),
        _stdin: stdin,
    };
    Ok((proxy, exit_tx))
}

/// Waits for the child, then kills what is left of its group (an action's own subprocesses, as
/// a container's end would) and publishes the exit.
pub(super) async fn reap(mut child: Child, group: Pid, exit: watch::Sender<Option<Exit>>) {
    let status = child.wait().await;
    // The group id cannot have been reused yet while members remain; once it is empty this
    // signal finds nothing (ESRCH), which is expected.
    let _ = signal_group(group, Signal::KILL);
    let ended = match status {
        Ok(status) => Exit::from(status),
        Err(e) => {
            tracing::warn!(pid = group.as_raw_pid(), error = %e, "waiting for an action process failed");
            Exit::Code(-1)
        }
    };
    exit.send_replace(Some(ended));
}

pub(super) enum Listening {
    /// On this port, which the child itself reported.
    Yes(u16),
    Exited(Exit),
    NotInTime,
}

/// Waits for the child to write the port it bound (port 0: the kernel's pick, so two children
/// never race for one port) and for that port to accept connections.
pub(super) async fn wait_listening(
    port_file: &Path,
    mut exit: watch::Receiver<Option<Exit>>,
    within: Duration,
) -> Listening {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(ended) = *exit.borrow_and_update() {
            return Listening::Exited(ended);
        }
        if let Some(port) = reported_port(port_file)
            && tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        {
            let _ = std::fs::remove_file(port_file);
            return Listening::Yes(port);
        }
        if tokio::time::Instant::now() >= deadline {
            return Listening::NotInTime;
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
}

fn reported_port(port_file: &Path) -> Option<u16> {
    let text = std::fs::read_to_string(port_file).ok()?;
    text.trim().parse().ok()
}

/// The child's whole environment: a usable `PATH` and locale, the proxy's settings, the spec's
/// entries (which win, as a container's `--env` would).
pub(super) fn child_env(spec: &ContainerSpec, port_file: &Path) -> Vec<(String, String)> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    let mut env = vec![
        ("PATH".to_owned(), path),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
        ("PYTHONDONTWRITEBYTECODE".to_owned(), "1".to_owned()),
        // glibc reserves 64 MB of address space per extra malloc arena; one arena keeps the
        // address-space limit close to what the action really uses.
        ("MALLOC_ARENA_MAX".to_owned(), "1".to_owned()),
        ("OW_PROXY_HOST".to_owned(), "127.0.0.1".to_owned()),
        ("OW_PROXY_PORT".to_owned(), "0".to_owned()),
        (
            "OW_PROXY_PORT_FILE".to_owned(),
            port_file.display().to_string(),
        ),
        ("OW_PROXY_EXIT_WITH_STDIN".to_owned(), "1".to_owned()),
    ];
    if spec.memory_mb > 0 {
        env.push((
            "OW_PROXY_MEMORY_LIMIT_MB".to_owned(),
            spec.memory_mb.to_string(),
        ));
    }
    env.extend(spec.env.iter().map(|entry| match entry.split_once('=') {
        Some((k, v)) => (k.to_owned(), v.to_owned()),
        None => (entry.clone(), String::new()),
    }));
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(env: &[&str], memory_mb: u64) -> ContainerSpec {
        ContainerSpec {
            name: "wsk0_x_1_guest_hello".into(),
            image: "ow-python-runtime:latest".into(),
            memory_mb,
            cpu_shares: 2,
            env: env.iter().map(|e| (*e).to_owned()).collect(),
            labels: HashMap::new(),
            network: "bridge".into(),
            dns: Vec::new(),
        }
    }

    fn value<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
        env.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn the_child_environment_carries_port_limit_and_spec_entries() {
        let env = child_env(
            &spec(&["__OW_API_HOST=http://x", "LANG=de_DE.UTF-8", "BARE"], 128),
            Path::new("/tmp/x.port"),
        );
        assert_eq!(value(&env, "OW_PROXY_PORT"), Some("0"));
        assert_eq!(value(&env, "OW_PROXY_PORT_FILE"), Some("/tmp/x.port"));
        assert_eq!(value(&env, "OW_PROXY_HOST"), Some("127.0.0.1"));
        assert_eq!(value(&env, "OW_PROXY_MEMORY_LIMIT_MB"), Some("128"));
        assert_eq!(value(&env, "__OW_API_HOST"), Some("http://x"));
        assert_eq!(
            value(&env, "LANG"),
            Some("de_DE.UTF-8"),
            "the spec's entries win"
        );
        assert_eq!(value(&env, "BARE"), Some(""));
        assert!(value(&env, "PATH").is_some());
        let unlimited = child_env(&spec(&[], 0), Path::new("/tmp/y.port"));
        assert_eq!(value(&unlimited, "OW_PROXY_MEMORY_LIMIT_MB"), None);
    }

    #[test]
    fn out_of_memory_is_the_proxy_status_or_a_kill_from_elsewhere() {
        assert!(ran_out_of_memory(Exit::Code(OUT_OF_MEMORY_EXIT), false));
        assert!(!ran_out_of_memory(Exit::Code(0), false));
        assert!(!ran_out_of_memory(Exit::Code(1), false));
        assert!(ran_out_of_memory(Exit::Signal(9), false));
        assert!(!ran_out_of_memory(Exit::Signal(9), true));
        assert!(!ran_out_of_memory(Exit::Signal(15), false));
    }
}
