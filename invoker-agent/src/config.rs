//! Configuration the way the stock invoker is configured: `--id N [--uniqueName U]
//! [--displayedName D]` on the command line and the environment variables the OpenWhisk ansible
//! role passes (`PORT`, `KAFKA_HOSTS`, `RUNTIMES_MANIFEST`, `CONFIG_whisk_*`, `WHISK_API_HOST_*`).
//!
//! Pure: the caller passes the arguments and the environment. Every error names the argument or
//! the environment variable to fix.

use std::collections::BTreeMap;
use std::time::Duration;

use ow_compat::duration::parse_duration;
use ow_compat::store::CouchDbConfig;
use ow_compat::values::ByteSize;

/// A setting that is missing or does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required environment variable is absent or blank.
    #[error("missing setting: environment variable {env}")]
    Missing { env: String },
    /// A variable has a value of the wrong shape.
    #[error("invalid setting {env}={value:?}: {reason}")]
    Invalid {
        env: String,
        value: String,
        reason: String,
    },
    /// The command line does not parse.
    #[error("{0}")]
    Usage(String),
}

/// Everything the agent needs to start.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// `--id`: the invoker number (topic `invoker<N>`).
    pub instance: u32,
    /// `--uniqueName`.
    pub unique_name: Option<String>,
    /// `--displayedName`.
    pub displayed_name: Option<String>,
    /// Admin HTTP port (`PORT`, 0 picks a free one).
    pub admin_port: u16,
    /// Admin basic auth (`whisk.invoker.username` / `password`).
    pub admin_username: String,
    pub admin_password: String,
    pub kafka_hosts: String,
    pub topics_prefix: String,
    pub etcd_hosts: Vec<String>,
    pub lease_ttl: Duration,
    pub cluster_name: String,
    pub couchdb: CouchDbConfig,
    /// Memory for action containers (`whisk.container-pool.user-memory`), in MB.
    pub user_memory_mb: u64,
    /// Idle time before a warm container is paused.
    pub pause_grace: Duration,
    /// Time a paused container is kept before it is removed.
    pub idle_container: Duration,
    /// Resource tags and dedicated namespaces published with the invoker's health.
    pub tags: Vec<String>,
    pub dedicated_namespaces: Vec<String>,
    /// Docker network of action containers.
    pub network: String,
    /// DNS servers of action containers (empty: Docker's default).
    pub dns_servers: Vec<String>,
    /// `__OW_API_HOST` given to every container, when the API host is configured.
    pub api_host: Option<String>,
    /// `RUNTIMES_MANIFEST`, if given (else the built-in stock kinds).
    pub runtimes_manifest: Option<String>,
    /// `whisk.docker.client.parallel-runs`: container starts at once (0: no limit).
    pub parallel_runs: usize,
    /// `whisk.user-events.enabled`: an `Activation` event per activation on `{prefix}events`.
    pub user_events: bool,
    /// `whisk.kafka.topics.user-event.prefix`.
    pub user_events_prefix: String,
}

/// Defaults of the stock `application.conf`.
const USER_MEMORY: &str = "1024 m";
const PAUSE_GRACE: Duration = Duration::from_secs(10);
const IDLE_CONTAINER: Duration = Duration::from_secs(600);
const PARALLEL_RUNS: usize = 10;

impl AgentConfig {
    /// Reads the command line (`args` without the program name) and the environment.
    pub fn from_args_and_env(
        args: &[String],
        env: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let cli = Cli::parse(args)?;
        let e = Env(env);
        Ok(Self {
            instance: cli.id,
            unique_name: cli.unique_name,
            displayed_name: cli.displayed_name,
            admin_port: e.parsed("PORT", 8080)?,
            admin_username: e.string("CONFIG_whisk_invoker_username", "invoker.user"),
            admin_password: e.string("CONFIG_whisk_invoker_password", "invoker.pass"),
            kafka_hosts: e.required("KAFKA_HOSTS")?.to_owned(),
            topics_prefix: e.string("CONFIG_whisk_kafka_topics_prefix", ""),
            etcd_hosts: list(e.required("CONFIG_whisk_etcd_hosts")?),
            lease_ttl: Duration::from_secs(e.parsed("CONFIG_whisk_etcd_lease_timeout", 10)?),
            cluster_name: e
                .string("CONFIG_whisk_cluster_name", "whisk")
                .to_lowercase(),
            couchdb: couchdb(&e)?,
            user_memory_mb: e.memory_mb("CONFIG_whisk_containerPool_userMemory", USER_MEMORY)?,
            pause_grace: e.duration(
                "CONFIG_whisk_containerProxy_timeouts_pauseGrace",
                PAUSE_GRACE,
            )?,
            idle_container: e.duration(
                "CONFIG_whisk_containerProxy_timeouts_idleContainer",
                IDLE_CONTAINER,
            )?,
            tags: list(&e.string("CONFIG_whisk_invoker_resource_tags", "")),
            dedicated_namespaces: list(&e.string("CONFIG_whisk_invoker_dedicated_namespaces", "")),
            network: e.string(
                "CONFIG_whisk_containerFactory_containerArgs_network",
                "bridge",
            ),
            dns_servers: list(
                &e.string("CONFIG_whisk_containerFactory_containerArgs_dnsServers", ""),
            ),
            api_host: api_host(&e),
            runtimes_manifest: e.get("RUNTIMES_MANIFEST").map(str::to_owned),
            parallel_runs: e.parsed("CONFIG_whisk_docker_client_parallelRuns", PARALLEL_RUNS)?,
            user_events: e.parsed("CONFIG_whisk_userEvents_enabled", false)?,
            user_events_prefix: e.string("CONFIG_whisk_kafka_topics_userEvent_prefix", ""),
        })
    }

    /// The invoker's `toString`: `invoker<N>[/<uniqueName>[/<displayedName>]]`.
    pub fn invoker_name(&self) -> String {
        self.invoker_id().to_string()
    }

    /// The invoker id as acks carry it; the memory in bytes, as the stock invoker renders it.
    pub fn invoker_id(&self) -> ow_compat::values::InvokerInstanceId {
        let mut id = ow_compat::values::InvokerInstanceId::new(
            i32::try_from(self.instance).unwrap_or(i32::MAX),
            ByteSize {
                size: self.user_memory_mb.saturating_mul(1 << 20),
                unit: ow_compat::values::SizeUnit::B,
            },
        );
        id.unique_name = self.unique_name.clone();
        id.displayed_name = self.displayed_name.clone();
        id.tags = self.tags.clone();
        id.dedicated_namespaces = self.dedicated_namespaces.clone();
        id
    }
}

/// The invoker's command line, as the stock `Invoker` main reads it.
#[derive(Debug, Default)]
struct Cli {
    id: u32,
    unique_name: Option<String>,
    displayed_name: Option<String>,
}

impl Cli {
    fn parse(args: &[String]) -> Result<Self, ConfigError> {
        let mut cli = Self::default();
        let mut id = None;
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .cloned()
                    .ok_or_else(|| ConfigError::Usage(format!("{name} needs a value")))
            };
            match arg.as_str() {
                "--id" => {
                    let v = value("--id")?;
                    id = Some(v.trim().parse::<u32>().map_err(|_| {
                        ConfigError::Usage(format!("--id must be a whole number, got {v:?}"))
                    })?);
                }
                "--uniqueName" => cli.unique_name = Some(value("--uniqueName")?),
                "--displayedName" => cli.displayed_name = Some(value("--displayedName")?),
                other => return Err(ConfigError::Usage(format!("unexpected argument {other}"))),
            }
        }
        cli.id = id.ok_or_else(|| ConfigError::Usage("--id N is required".into()))?;
        Ok(cli)
    }
}

/// Typed access to the environment with errors that name the variable.
struct Env<'a>(&'a BTreeMap<String, String>);

impl Env<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    fn required(&self, name: &str) -> Result<&str, ConfigError> {
        self.get(name)
            .ok_or_else(|| ConfigError::Missing { env: name.into() })
    }

    fn string(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or(default).trim().to_owned()
    }

    fn parsed<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| invalid(name, v, "not a whole number")),
        }
    }

    fn duration(&self, name: &str, default: Duration) -> Result<Duration, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => parse_duration(v)
                .ok_or_else(|| invalid(name, v, "not a duration such as \"10 seconds\"")),
        }
    }

    fn memory_mb(&self, name: &str, default: &str) -> Result<u64, ConfigError> {
        let text = self.get(name).unwrap_or(default);
        ByteSize::parse(text.trim())
            .map(|b| b.to_mb())
            .map_err(|reason| invalid(name, text, &reason))
    }
}

fn invalid(env: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        env: env.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn couchdb(e: &Env<'_>) -> Result<CouchDbConfig, ConfigError> {
    let db = |name| e.required(name).map(str::to_owned);
    Ok(CouchDbConfig {
        protocol: e.string("CONFIG_whisk_couchdb_protocol", "http"),
        host: db("CONFIG_whisk_couchdb_host")?,
        port: e
            .required("CONFIG_whisk_couchdb_port")?
            .trim()
            .parse()
            .map_err(|_| {
                invalid(
                    "CONFIG_whisk_couchdb_port",
                    e.get("CONFIG_whisk_couchdb_port").unwrap_or_default(),
                    "not a port number",
                )
            })?,
        username: db("CONFIG_whisk_couchdb_username")?,
        password: db("CONFIG_whisk_couchdb_password")?,
        auth_db: db("CONFIG_whisk_couchdb_databases_WhiskAuth")?,
        entity_db: db("CONFIG_whisk_couchdb_databases_WhiskEntity")?,
        activation_db: db("CONFIG_whisk_couchdb_databases_WhiskActivation")?,
    })
}

/// `WHISK_API_HOST_PROTO://WHISK_API_HOST_NAME:WHISK_API_HOST_PORT`, as the stock factory
/// builds `__OW_API_HOST`.
fn api_host(e: &Env<'_>) -> Option<String> {
    let name = e.get("WHISK_API_HOST_NAME")?;
    let proto = e.string("WHISK_API_HOST_PROTO", "https");
    let port = e.string("WHISK_API_HOST_PORT", "443");
    Some(format!("{proto}://{name}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        let base = [
            ("KAFKA_HOSTS", "127.0.0.1:9092"),
            ("CONFIG_whisk_etcd_hosts", "127.0.0.1:2379"),
            ("CONFIG_whisk_couchdb_host", "127.0.0.1"),
            ("CONFIG_whisk_couchdb_port", "5984"),
            ("CONFIG_whisk_couchdb_username", "u"),
            ("CONFIG_whisk_couchdb_password", "p"),
            ("CONFIG_whisk_couchdb_databases_WhiskAuth", "subjects"),
            ("CONFIG_whisk_couchdb_databases_WhiskEntity", "whisks"),
            (
                "CONFIG_whisk_couchdb_databases_WhiskActivation",
                "activations",
            ),
        ];
        base.iter()
            .chain(pairs)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn stock_variables_and_defaults() {
        let c = AgentConfig::from_args_and_env(
            &args(&["--id", "3", "--uniqueName", "3"]),
            &env(&[
                ("CONFIG_whisk_containerPool_userMemory", "2048 m"),
                (
                    "CONFIG_whisk_containerProxy_timeouts_pauseGrace",
                    "2 seconds",
                ),
                ("CONFIG_whisk_cluster_name", "Prod"),
                ("CONFIG_whisk_invoker_resource_tags", "gpu, big"),
            ]),
        )
        .expect("config");
        assert_eq!(c.instance, 3);
        assert_eq!(c.invoker_name(), "invoker3/3");
        assert_eq!(c.user_memory_mb, 2048);
        assert_eq!(c.pause_grace, Duration::from_secs(2));
        assert_eq!(c.idle_container, Duration::from_secs(600));
        assert_eq!(c.cluster_name, "prod");
        assert_eq!(c.tags, vec!["gpu", "big"]);
        assert_eq!(c.admin_port, 8080);
        assert_eq!(c.parallel_runs, 10);
        assert_eq!(c.invoker_id().user_memory.to_string(), "2147483648 B");
    }

    #[test]
    fn errors_name_the_variable_or_argument() {
        let missing = AgentConfig::from_args_and_env(&args(&["--id", "0"]), &BTreeMap::new());
        assert_eq!(
            missing.map(drop),
            Err(ConfigError::Missing {
                env: "KAFKA_HOSTS".into()
            })
        );
        let bad = AgentConfig::from_args_and_env(
            &args(&["--id", "0"]),
            &env(&[("CONFIG_whisk_containerPool_userMemory", "lots")]),
        );
        let text = bad.map(drop).expect_err("invalid memory").to_string();
        assert!(
            text.contains("CONFIG_whisk_containerPool_userMemory"),
            "{text}"
        );
        let no_id = AgentConfig::from_args_and_env(&[], &env(&[]));
        assert!(
            no_id
                .map(drop)
                .expect_err("no id")
                .to_string()
                .contains("--id")
        );
        let bad_id = AgentConfig::from_args_and_env(&args(&["--id", "x"]), &env(&[]));
        assert!(matches!(bad_id, Err(ConfigError::Usage(_))));
    }
}
