//! The standalone's command line and the settings it gives the embedded scheduler and agent
//! (pure): the same configuration readers as production, fed a fixed environment.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use ow_invoker_agent::runtime::RuntimeChoice;

/// OpenWhisk's well-known guest key (`uuid:secret`), as the stock standalone uses it.
pub const GUEST_KEY: &str = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

/// The image the python kinds run in under Docker (`tests/runtimes/build` makes it).
pub const PYTHON_IMAGE: &str = "ow-python-runtime:latest";

/// The standalone's runtimes: the local Python image serves `python:3.10` (the family default)
/// and `python:3.11`; `ow-blackbox` is the trusted blackbox image.
pub const MANIFEST: &str = r#"{"runtimes":{"python":[{"kind":"python:3.10","default":true,"image":{"name":"ow-python-runtime","tag":"latest"}},{"kind":"python:3.11","image":{"name":"ow-python-runtime","tag":"latest"}}]},"blackboxes":[{"name":"ow-blackbox","tag":"latest"}]}"#;

pub const USAGE: &str =
    "usage: ow-scheduler standalone [--port N] [--data-dir DIR] [--runtime docker|process]

Runs a single-node OpenWhisk-compatible platform in one process: the scheduler and the invoker
agent with an in-process message bus and coordinator and a persistent store in DIR (default
./.ow-standalone), serving the OpenWhisk REST API on 127.0.0.1:N (default 3233) with the guest key.
--runtime picks where actions run (default: docker when the engine answers, else process).
OW_STANDALONE_USER_MEMORY (MB, default 4096) sets the memory for action containers.";

/// Everything `standalone` is started with.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub data_dir: PathBuf,
    /// API port on 127.0.0.1 (0 picks a free one).
    pub port: u16,
    pub runtime: RuntimeChoice,
    /// Memory for action containers, in MB.
    pub user_memory_mb: u64,
    /// How long a blocking invoke waits (stock: 60 s).
    pub blocking_timeout: Duration,
    /// Activations the guest namespace may have in flight (429 beyond).
    pub concurrency_limit: usize,
    /// Labels this instance's containers; two instances on one host need different names.
    pub cluster_name: String,
    /// How long Ctrl-C waits for running activations before containers are removed anyway.
    pub drain_limit: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(".ow-standalone"),
            port: 3233,
            runtime: RuntimeChoice::Auto,
            user_memory_mb: 4096,
            blocking_timeout: Duration::from_secs(60),
            concurrency_limit: 500,
            cluster_name: "standalone".into(),
            drain_limit: Duration::from_secs(30),
        }
    }
}

/// Reads `standalone`'s arguments (after the subcommand); `Ok(None)` for `--help`.
pub fn parse_args(
    args: &[String],
    env: &BTreeMap<String, String>,
) -> Result<Option<Options>, String> {
    let mut options = Options::default();
    if let Some(mb) = env.get("OW_STANDALONE_USER_MEMORY") {
        options.user_memory_mb = mb
            .parse()
            .map_err(|_| format!("OW_STANDALONE_USER_MEMORY={mb:?} is not a number of MB"))?;
    }
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "--help" | "-h" => return Ok(None),
            "--port" => {
                let v = value()?;
                options.port = v
                    .parse()
                    .map_err(|_| format!("--port {v:?} is not a port"))?;
            }
            "--data-dir" => options.data_dir = PathBuf::from(value()?),
            "--runtime" => options.runtime = runtime_choice(&value()?)?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Some(options))
}

fn runtime_choice(v: &str) -> Result<RuntimeChoice, String> {
    v.parse().map_err(|e| format!("--runtime: {e}"))
}

fn env_map(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// The edges are in-process, so the service addresses only have to parse.
fn service_placeholders() -> Vec<(&'static str, String)> {
    vec![
        ("KAFKA_HOSTS", "in-process".into()),
        ("CONFIG_whisk_etcd_hosts", "in-process".into()),
        ("CONFIG_whisk_couchdb_host", "in-process".into()),
        ("CONFIG_whisk_couchdb_port", "0".into()),
        ("CONFIG_whisk_couchdb_username", "standalone".into()),
        ("CONFIG_whisk_couchdb_password", "standalone".into()),
        (
            "CONFIG_whisk_couchdb_databases_WhiskAuth",
            "subjects".into(),
        ),
        (
            "CONFIG_whisk_couchdb_databases_WhiskEntity",
            "whisks".into(),
        ),
        (
            "CONFIG_whisk_couchdb_databases_WhiskActivation",
            "activations".into(),
        ),
    ]
}

/// The environment the embedded scheduler 0 reads, its gRPC on `127.0.0.1:rpc_port`.
pub fn scheduler_env(options: &Options, rpc_port: u16) -> BTreeMap<String, String> {
    let mut pairs = service_placeholders();
    pairs.extend([
        ("PORT", "0".to_owned()),
        ("WHISK_SCHEDULER_ENDPOINTS_HOST", "127.0.0.1".to_owned()),
        ("WHISK_SCHEDULER_ENDPOINTS_RPCPORT", rpc_port.to_string()),
        (
            "LIMITS_ACTIONS_INVOKES_CONCURRENT",
            options.concurrency_limit.to_string(),
        ),
        ("CONFIG_whisk_cluster_name", options.cluster_name.clone()),
        ("RUNTIMES_MANIFEST", MANIFEST.to_owned()),
        // One local engine starts every container, 2–5 a second on a small machine: a burst of
        // a hundred new actions takes most of a minute. A creation timed out at stock's 20 s
        // only asks for a duplicate of a container still coming, and an activation failed at
        // stock's 60 s retention was about to run; here they wait longer (a blocking call still
        // answers 202 after 60 s).
        (
            "CONFIG_whisk_scheduler_inProgressJobRetention",
            "60 seconds".to_owned(),
        ),
        (
            "CONFIG_whisk_scheduler_queue_maxRetentionMs",
            "180 seconds".to_owned(),
        ),
    ]);
    env_map(&pairs)
}

/// The command line and environment of the embedded invoker agent 0.
pub fn agent_args_and_env(options: &Options) -> (Vec<String>, BTreeMap<String, String>) {
    let mut pairs = service_placeholders();
    pairs.extend([
        ("PORT", "0".to_owned()),
        ("CONFIG_whisk_cluster_name", options.cluster_name.clone()),
        (
            "CONFIG_whisk_containerPool_userMemory",
            format!("{} m", options.user_memory_mb),
        ),
        ("RUNTIMES_MANIFEST", MANIFEST.to_owned()),
    ]);
    (vec!["--id".into(), "0".into()], env_map(&pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_override_the_defaults() {
        let o = parse_args(
            &args(&["--port", "0", "--data-dir=/tmp/x", "--runtime", "process"]),
            &BTreeMap::new(),
        )
        .expect("parses")
        .expect("options");
        assert_eq!((o.port, o.runtime), (0, RuntimeChoice::Process));
        assert_eq!(o.data_dir, PathBuf::from("/tmp/x"));
        let d = parse_args(&[], &BTreeMap::new())
            .expect("parses")
            .expect("options");
        assert_eq!(
            (d.port, d.runtime, d.user_memory_mb),
            (3233, RuntimeChoice::Auto, 4096)
        );
        assert_eq!(parse_args(&args(&["--help"]), &BTreeMap::new()), Ok(None));
    }

    #[test]
    fn bad_flags_name_themselves() {
        let e = |a: &[&str]| parse_args(&args(a), &BTreeMap::new()).expect_err("refused");
        assert!(e(&["--port", "x"]).contains("--port"));
        assert!(e(&["--runtime", "vm"]).contains("--runtime"));
        assert!(e(&["--port"]).contains("needs a value"));
        assert!(e(&["--nope"]).contains("--nope"));
    }

    #[test]
    fn the_production_readers_accept_the_embedded_settings() {
        let o = Options::default();
        let env = scheduler_env(&o, 4321);
        let settings = crate::config::Settings::new(None, &env).expect("settings");
        let config = crate::config::SchedulerConfig::from_settings("0", &settings).expect("config");
        assert_eq!(config.endpoints.rpc_port, 4321);
        assert_eq!(config.in_progress_job_retention.as_secs(), 60);
        assert_eq!(config.queue.max_retention_ms, 180_000);
        let (a, env) = agent_args_and_env(&o);
        let agent = ow_invoker_agent::config::AgentConfig::from_args_and_env(&a, &env)
            .expect("agent config");
        assert_eq!(agent.user_memory_mb, 4096);
        assert_eq!(agent.cluster_name, "standalone");
    }
}
