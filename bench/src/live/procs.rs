//! The scheduler and the agent as child processes, built by cargo, configured through the
//! stock environment, with their CPU time read from `/proc/<pid>/stat`.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process that failed to build, start or answer.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("cargo build of {package} ({profile}) failed: {reason}")]
    Build {
        package: String,
        profile: &'static str,
        reason: String,
    },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{name} did not listen on {addr} within {secs} s (log: {log})")]
    NotReady {
        name: String,
        addr: SocketAddr,
        secs: u64,
        log: String,
    },
}

/// Which cargo profile the binaries come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Debug,
    Release,
}

impl Profile {
    fn dir(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Release => "release",
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The binary `bin`: `OW_BENCH_<BIN>_BIN` when set (e.g. `OW_BENCH_OW_SCHEDULER_BIN`, a
/// frozen copy while the tree is being edited), else built from `package` with cargo.
pub fn build(package: &str, bin: &str, profile: Profile) -> Result<PathBuf, ProcError> {
    let var = format!(
        "OW_BENCH_{}_BIN",
        bin.to_ascii_uppercase().replace('-', "_")
    );
    if let Ok(path) = std::env::var(var) {
        return Ok(PathBuf::from(path));
    }
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace_root())
        .args(["build", "-q", "-p", package, "--bin", bin]);
    if profile == Profile::Release {
        cmd.arg("--release");
    }
    let error = |reason: String| ProcError::Build {
        package: package.to_owned(),
        profile: profile.dir(),
        reason,
    };
    let out = cmd.output().map_err(|e| error(e.to_string()))?;
    if !out.status.success() {
        return Err(error(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map_or_else(|_| workspace_root().join("target"), PathBuf::from);
    Ok(target.join(profile.dir()).join(bin))
}

/// A port nobody listens on right now.
pub fn free_port() -> Result<u16, ProcError> {
    let io = |source| ProcError::Io {
        what: "binding",
        path: "127.0.0.1:0".into(),
        source,
    };
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io)?;
    Ok(listener.local_addr().map_err(io)?.port())
}

/// A running child, terminated (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct ChildProc {
    pub name: String,
    pub pid: u32,
    pub log: PathBuf,
    child: Child,
}

impl ChildProc {
    /// Starts `bin args` with `env` added, stdout and stderr to `log`.
    pub fn spawn(
        name: &str,
        bin: &Path,
        args: &[String],
        env: &[(String, String)],
        log: PathBuf,
    ) -> Result<Self, ProcError> {
        let io = |what, path: &Path| {
            let path = path.display().to_string();
            move |source| ProcError::Io { what, path, source }
        };
        let out = File::create(&log).map_err(io("creating log", &log))?;
        let err = out.try_clone().map_err(io("creating log", &log))?;
        let child = Command::new(bin)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(io("starting", bin))?;
        Ok(Self {
            name: name.to_owned(),
            pid: child.id(),
            log,
            child,
        })
    }

    /// Waits until `addr` accepts connections.
    pub async fn wait_listening(&self, addr: SocketAddr, limit: Duration) -> Result<(), ProcError> {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(ProcError::NotReady {
            name: self.name.clone(),
            addr,
            secs: limit.as_secs(),
            log: self.log.display().to_string(),
        })
    }

    /// SIGTERM (the components drain on it), then SIGKILL after `grace`.
    pub fn terminate(&mut self, grace: Duration) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.terminate(Duration::from_secs(5));
        }
    }
}

/// CPU time (utime + stime) of a process.
pub fn process_cpu_time(pid: u32) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = stat_cpu_ticks(&text)?;
    Some(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
}

/// `utime + stime` from a `/proc/<pid>/stat` line: fields 14 and 15, counted after the
/// parenthesised command name (which may hold spaces).
pub fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state), so field 14 is index 11.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100)
    })
}

/// Pids of processes whose command line contains `needle` (for the services' CPU share).
pub fn pids_matching(needle: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_after_the_command_name() {
        let stat = "4242 (ow sched) S 1 4242 4242 0 -1 4194560 100 0 0 0 731 42 0 0 20 0 9 0 1 2 3";
        assert_eq!(stat_cpu_ticks(stat), Some(773));
        assert_eq!(stat_cpu_ticks("garbage"), None);
    }

    #[test]
    fn this_process_has_a_cpu_time() {
        assert!(process_cpu_time(std::process::id()).is_some());
    }
}
