//! [`ContainerRuntime`] without a container engine: every "container" is a child `python3`
//! running the same action proxy as the `ow-python-runtime` image (`tests/runtimes/python/proxy.py`,
//! embedded in the binary), on a free loopback port, in a process group of its own.
//!
//! What stands in for the engine: the spec's memory limit becomes the proxy's address-space
//! limit (an action that runs out of memory makes the proxy exit with [`OUT_OF_MEMORY_EXIT`]);
//! pause and unpause are SIGSTOP and SIGCONT to the group; removal is SIGKILL to the group. The
//! children hold a pipe to this process on stdin and exit when it closes, so they go with the
//! agent even when it is killed. The image is not interpreted: every spec runs the Python proxy.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustix::process::Signal;
use tokio::process::Command;
use tokio::sync::mpsc;

use super::process_child::{
    Listening, Proxy, child_env, ran_out_of_memory, reap, signal_group, wait_listening, watch_child,
};
use super::{ContainerRuntime, ContainerSpec, LogLine, RuntimeError, StartedContainer};
use crate::ids::random_id;

/// The proxy, written once per runtime to its directory.
const PROXY_SOURCE: &str = include_str!("../../../tests/runtimes/python/proxy.py");
/// The environment variable naming the interpreter (default `python3` on `PATH`).
pub const PYTHON_ENV: &str = "OW_PROCESS_PYTHON";
/// The proxy's exit status after an action ran out of memory (`OUT_OF_MEMORY_EXIT` in proxy.py).
pub const OUT_OF_MEMORY_EXIT: i32 = 86;
/// A child that exits before it listens is started again on another port this many times in
/// all: the port picked free may have been taken in between.
const START_ATTEMPTS: u32 = 3;
/// How long `oom_killed` waits for a child whose connection broke to be seen as exited.
const EXIT_WAIT: Duration = Duration::from_secs(1);
/// How long `remove` waits for a killed child to be reaped.
const REAP_WAIT: Duration = Duration::from_secs(10);
/// Lines a follower may be behind before the forwarder waits (the child never does).
const FOLLOW_BUFFER: usize = 4096;

/// Where the interpreter comes from and how long a child may take to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSettings {
    /// `python3`, or the value of [`PYTHON_ENV`].
    pub python: String,
    pub start_timeout: Duration,
}

impl ProcessSettings {
    /// The interpreter from [`PYTHON_ENV`], else `python3`; 30 s to start (a burst of a hundred
    /// interpreters on two busy cores took longer than 10 s).
    pub fn from_env() -> Self {
        let python = std::env::var(PYTHON_ENV)
            .ok()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "python3".to_owned());
        Self {
            python,
            start_timeout: Duration::from_secs(30),
        }
    }
}

/// Action proxies as child processes of this one.
#[derive(Debug, Clone)]
pub struct ProcessRuntime {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The resolved interpreter (not a shim), and the name it was asked for.
    python: PathBuf,
    asked_for: String,
    /// Holds `proxy.py`; removed with the runtime.
    dir: PathBuf,
    start_timeout: Duration,
    proxies: Mutex<HashMap<String, Proxy>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let proxies = self
            .proxies
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        for (id, proxy) in proxies.drain() {
            if proxy.exited().is_none() {
                proxy.killed_here.store(true, Ordering::SeqCst);
                if let Err(e) = signal_group(proxy.group, Signal::KILL) {
                    tracing::warn!(container = %id, error = %e, "killing an action process failed");
                }
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            tracing::debug!(dir = %self.dir.display(), error = %e, "runtime directory not removed");
        }
    }
}

fn process_error(operation: &'static str, id: &str, reason: impl ToString) -> RuntimeError {
    RuntimeError::Process {
        operation,
        container: id.to_owned(),
        reason: reason.to_string(),
    }
}

impl ProcessRuntime {
    /// Checks the interpreter (a missing one is an error naming it and [`PYTHON_ENV`]) and
    /// writes the proxy to a fresh directory under the system's temporary directory.
    pub async fn start(settings: ProcessSettings) -> Result<Self, RuntimeError> {
        let python = resolve_interpreter(&settings.python).await?;
        let dir = std::env::temp_dir().join(format!(
            "ow-process-runtime-{}-{}",
            std::process::id(),
            &random_id()[..8]
        ));
        write_proxy(&dir).map_err(|e| RuntimeError::Interpreter {
            python: settings.python.clone(),
            reason: format!("writing the action proxy to {}: {e}", dir.display()),
        })?;
        tracing::info!(python = %python.display(), dir = %dir.display(), "process runtime ready");
        Ok(Self {
            inner: Arc::new(Inner {
                python,
                asked_for: settings.python,
                dir,
                start_timeout: settings.start_timeout,
                proxies: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The interpreter the children run.
    pub fn python(&self) -> &Path {
        &self.inner.python
    }

    /// The pid of a live child (its process group), for diagnostics and tests.
    pub fn pid(&self, id: &str) -> Option<u32> {
        self.with_proxies(|p| {
            p.get(id)
                .map(|proxy| proxy.group.as_raw_pid().unsigned_abs())
        })
    }

    fn with_proxies<T>(&self, f: impl FnOnce(&mut HashMap<String, Proxy>) -> T) -> T {
        let mut proxies = self
            .inner
            .proxies
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut proxies)
    }

    fn command(&self, spec: &ContainerSpec, port_file: &Path) -> Command {
        let mut cmd = Command::new(&self.inner.python);
        cmd.arg(self.inner.dir.join("proxy.py"))
            .current_dir(&self.inner.dir)
            .env_clear()
            .envs(child_env(spec, port_file))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        cmd
    }

    /// Spawns one child and waits until it listens.
    async fn start_once(&self, spec: &ContainerSpec) -> Result<Attempt, RuntimeError> {
        let create_error = |reason: String| RuntimeError::Create {
            name: spec.name.clone(),
            image: spec.image.clone(),
            reason,
        };
        let id = format!("{}{}", random_id(), random_id());
        let port_file = self.inner.dir.join(format!("{id}.port"));
        let mut child = self
            .command(spec, &port_file)
            .spawn()
            .map_err(|e| create_error(format!("starting {}: {e}", self.inner.python.display())))?;
        let (proxy, exit_sender) = watch_child(&id, &mut child, spec.labels.clone())
            .map_err(|e| create_error(format!("child without pipes: {e}")))?;
        tokio::spawn(reap(child, proxy.group, exit_sender));
        match wait_listening(&port_file, proxy.exit.clone(), self.inner.start_timeout).await {
            Listening::Yes(port) => Ok(Attempt::Listening { id, port, proxy }),
            Listening::Exited(exit) => Ok(Attempt::Exited(format!(
                "{exit:?}, output: {}",
                proxy.drain_output().await
            ))),
            Listening::NotInTime => {
                proxy.killed_here.store(true, Ordering::SeqCst);
                let _ = signal_group(proxy.group, Signal::KILL);
                Err(create_error(format!(
                    "the action proxy did not report a listening port within {:?}; output: {}",
                    self.inner.start_timeout,
                    proxy.drain_output().await
                )))
            }
        }
    }

    /// The entry of a live child, or an error naming the operation.
    fn signal(
        &self,
        operation: &'static str,
        id: &str,
        signal: Signal,
    ) -> Result<(), RuntimeError> {
        let group = self.with_proxies(|p| match p.get(id) {
            None => Err(process_error(operation, id, "no such action process")),
            Some(proxy) => match proxy.exited() {
                Some(exit) => Err(process_error(operation, id, format!("exited ({exit:?})"))),
                None => Ok(proxy.group),
            },
        })?;
        signal_group(group, signal).map_err(|e| process_error(operation, id, e))
    }
}

/// One try at starting a child.
enum Attempt {
    Listening {
        id: String,
        port: u16,
        proxy: Proxy,
    },
    /// It exited before listening: how, and what it wrote.
    Exited(String),
}

/// Runs the interpreter once: it must be Python 3; answers its real path (not a shim).
async fn resolve_interpreter(python: &str) -> Result<PathBuf, RuntimeError> {
    let error = |reason: String| RuntimeError::Interpreter {
        python: python.to_owned(),
        reason,
    };
    let probe = Command::new(python)
        .args([
            "-c",
            "import sys; print(sys.version_info[0]); print(sys.executable)",
        ])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), probe)
        .await
        .map_err(|_| error("no answer within 30 s".into()))?
        .map_err(|e| error(format!("{e} (install Python 3 or set {PYTHON_ENV})")))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    match (output.status.success(), lines.next(), lines.next()) {
        (true, Some("3"), Some(path)) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => Err(error(format!(
            "not a Python 3 interpreter ({}; {})",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
    }
}

fn write_proxy(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("proxy.py"), PROXY_SOURCE)
}

impl ContainerRuntime for ProcessRuntime {
    async fn run(&self, spec: &ContainerSpec) -> Result<StartedContainer, RuntimeError> {
        let mut last = String::new();
        for attempt in 1..=START_ATTEMPTS {
            match self.start_once(spec).await? {
                Attempt::Listening { id, port, proxy } => {
                    tracing::debug!(container = %id, name = %spec.name, port, "action process started");
                    self.with_proxies(|p| p.insert(id.clone(), proxy));
                    return Ok(StartedContainer {
                        id,
                        address: format!("127.0.0.1:{port}"),
                    });
                }
                Attempt::Exited(how) => {
                    tracing::debug!(name = %spec.name, attempt, %how, "action process exited before listening");
                    last = how;
                }
            }
        }
        Err(RuntimeError::Create {
            name: spec.name.clone(),
            image: spec.image.clone(),
            reason: format!(
                "the action proxy ({} {}) exited before listening, {START_ATTEMPTS} times; last: {last}",
                self.inner.asked_for,
                self.inner.dir.join("proxy.py").display()
            ),
        })
    }

    async fn pause(&self, id: &str) -> Result<(), RuntimeError> {
        self.signal("pause", id, Signal::STOP)
    }

    async fn unpause(&self, id: &str) -> Result<(), RuntimeError> {
        self.signal("unpause", id, Signal::CONT)
    }

    async fn remove(&self, id: &str) -> Result<(), RuntimeError> {
        let Some(proxy) = self.with_proxies(|p| p.remove(id)) else {
            return Ok(());
        };
        if proxy.exited().is_some() {
            return Ok(());
        }
        proxy.killed_here.store(true, Ordering::SeqCst);
        match signal_group(proxy.group, Signal::KILL) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::SRCH.raw_os_error()) => {}
            Err(e) => return Err(process_error("remove", id, e)),
        }
        let mut exit = proxy.exit.clone();
        tokio::time::timeout(REAP_WAIT, exit.wait_for(Option::is_some))
            .await
            .map_err(|_| process_error("remove", id, "killed but not reaped in time"))?
            .map_err(|e| process_error("remove", id, e))?;
        Ok(())
    }

    async fn list(&self, labels: &[(String, String)]) -> Result<Vec<String>, RuntimeError> {
        Ok(self.with_proxies(|p| {
            p.iter()
                .filter(|(_, proxy)| {
                    labels
                        .iter()
                        .all(|(k, v)| proxy.labels.get(k).is_some_and(|have| have == v))
                })
                .map(|(id, _)| id.clone())
                .collect()
        }))
    }

    async fn oom_killed(&self, id: &str) -> Result<bool, RuntimeError> {
        let (mut exit, killed_here) = self.with_proxies(|p| {
            p.get(id)
                .map(|proxy| (proxy.exit.clone(), proxy.killed_here.clone()))
                .ok_or_else(|| process_error("inspect", id, "no such action process"))
        })?;
        // The broken connection can be seen a moment before the exit is reaped.
        let ended = match tokio::time::timeout(EXIT_WAIT, exit.wait_for(Option::is_some)).await {
            Ok(Ok(ended)) => *ended,
            Ok(Err(_)) | Err(_) => None,
        };
        Ok(ended.is_some_and(|e| ran_out_of_memory(e, killed_here.load(Ordering::SeqCst))))
    }

    fn follow_logs(&self, id: &str) -> mpsc::Receiver<LogLine> {
        let (tx, rx) = mpsc::channel(FOLLOW_BUFFER);
        let Some(mut lines) =
            self.with_proxies(|p| p.get_mut(id).and_then(|proxy| proxy.logs.take()))
        else {
            tracing::warn!(container = %id, "no output to follow: unknown process or already followed");
            return rx;
        };
        tokio::spawn(async move {
            while let Some(line) = lines.recv().await {
                if tx.send(line).await.is_err() {
                    return;
                }
            }
        });
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_proxy_knows_the_settings_this_runtime_passes() {
        for name in [
            "OW_PROXY_HOST",
            "OW_PROXY_PORT",
            "OW_PROXY_PORT_FILE",
            "OW_PROXY_MEMORY_LIMIT_MB",
            "OW_PROXY_EXIT_WITH_STDIN",
        ] {
            assert!(PROXY_SOURCE.contains(name), "{name}");
        }
        assert!(PROXY_SOURCE.contains(&format!("OUT_OF_MEMORY_EXIT = {OUT_OF_MEMORY_EXIT}")));
    }
}
