//! Configuration the way the stock scheduler is configured: the environment variables the
//! OpenWhisk ansible role passes (`PORT`, `KAFKA_HOSTS`, `CONFIG_whisk_*`,
//! `WHISK_SCHEDULER_ENDPOINTS_*`, `LIMITS_ACTIONS_INVOKES_CONCURRENT`, `RUNTIMES_MANIFEST`), an
//! optional TOML file with the same HOCON keys, and the instance id as first argument.
//!
//! Every source is reduced to one flat map of HOCON keys (`whisk.scheduler.queue.idle-grace`),
//! the environment overriding the file, and then read into typed settings. Pure: the caller
//! passes the environment and the file contents.

mod keys;

use std::collections::BTreeMap;
use std::time::Duration;

use ow_compat::values::{RemotingDialect, SchedulerEndpoints, SchedulerInstanceId};

pub use ow_compat::store::CouchDbConfig;

use crate::decision::{DecisionConfig, PolicyKind};
use crate::placement::Fractions;
use crate::queue::QueueConfig;

pub use keys::{env_to_key, parse_duration};

/// A setting that is missing or does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required setting is absent.
    #[error("missing setting {key} (environment variable {env})")]
    Missing { key: String, env: String },
    /// A setting has a value of the wrong shape.
    #[error("invalid setting {key}={value:?}: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
    /// The TOML file does not parse.
    #[error("invalid configuration file {path}: {reason}")]
    File { path: String, reason: String },
    /// The command line does not parse.
    #[error("{0}")]
    Usage(String),
}

/// Everything the scheduler needs to start.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerConfig {
    pub instance: SchedulerInstanceId,
    /// Admin HTTP port (`PORT`).
    pub admin_port: u16,
    /// Admin basic-auth credentials.
    pub admin_username: String,
    pub admin_password: String,
    /// What this scheduler publishes in etcd (and the leader keys).
    pub endpoints: SchedulerEndpoints,
    /// `KAFKA_HOSTS`.
    pub kafka_hosts: String,
    pub topics_prefix: String,
    pub user_events_prefix: String,
    pub user_events_enabled: bool,
    pub max_peek: usize,
    /// `whisk.etcd.hosts`.
    pub etcd_hosts: Vec<String>,
    pub lease_ttl: Duration,
    pub cluster_name: String,
    pub couchdb: CouchDbConfig,
    /// Default namespace container limit.
    pub namespace_default_limit: i64,
    pub queue: QueueConfig,
    pub blackbox_retention: Duration,
    pub decision: DecisionConfig,
    /// `whisk.scheduler.scheduling.policy`: `paced` (default) or `stock`.
    pub policy: PolicyKind,
    pub check_interval: Duration,
    pub max_scheduling_time: Duration,
    pub in_progress_job_retention: Duration,
    pub blackbox_multiple: u32,
    pub retry_interval: Duration,
    pub fractions: Fractions,
    /// `RUNTIMES_MANIFEST`, if given.
    pub runtimes_manifest: Option<String>,
}

/// The flat settings map with typed accessors that produce precise errors.
#[derive(Debug, Clone, Default)]
pub struct Settings(BTreeMap<String, String>);

impl Settings {
    /// Builds the map: TOML file keys first, then environment variables over them.
    pub fn new(
        file: Option<(&str, &str)>,
        env: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let mut map = BTreeMap::new();
        if let Some((path, text)) = file {
            keys::flatten_toml(path, text, &mut map)?;
        }
        for (name, value) in env {
            if let Some(key) = env_to_key(name) {
                map.insert(key, keys::dereference(value, env));
            }
        }
        Ok(Self(map))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    fn required(&self, key: &str) -> Result<&str, ConfigError> {
        self.get(key).ok_or_else(|| ConfigError::Missing {
            key: key.into(),
            env: keys::key_to_env(key),
        })
    }

    fn string(&self, key: &str, default: &str) -> String {
        self.get(key).unwrap_or(default).to_owned()
    }

    fn parsed<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| invalid(key, v, "not a number")),
        }
    }

    fn required_parsed<T: std::str::FromStr>(&self, key: &str) -> Result<T, ConfigError> {
        let v = self.required(key)?;
        v.trim()
            .parse()
            .map_err(|_| invalid(key, v, "not a number"))
    }

    fn duration(&self, key: &str, default: Duration) -> Result<Duration, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => parse_duration(v)
                .ok_or_else(|| invalid(key, v, "not a duration such as \"10 minutes\"")),
        }
    }

    fn boolean(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if v == "true" || v == "on" || v == "yes" => Ok(true),
            Some(v) if v == "false" || v == "off" || v == "no" => Ok(false),
            Some(v) => Err(invalid(key, &v, "not a boolean")),
        }
    }
}

fn invalid(key: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl SchedulerConfig {
    /// Reads the configuration of scheduler `instance`.
    pub fn from_settings(instance: &str, s: &Settings) -> Result<Self, ConfigError> {
        let instance = SchedulerInstanceId::new(instance)
            .map_err(|reason| invalid("instance id (first argument)", instance, &reason))?;
        Ok(Self {
            instance,
            admin_port: s.parsed("port", 8080)?,
            admin_username: s.string("whisk.scheduler.username", "scheduler.user"),
            admin_password: s.string("whisk.scheduler.password", "scheduler.pass"),
            endpoints: endpoints(s)?,
            kafka_hosts: s.required("kafka.hosts")?.to_owned(),
            topics_prefix: s.string("whisk.kafka.topics.prefix", ""),
            user_events_prefix: s.string("whisk.kafka.topics.user-event.prefix", ""),
            user_events_enabled: s.boolean("whisk.user-events.enabled", false)?,
            max_peek: s.parsed("whisk.scheduler.max-peek", 128)?,
            etcd_hosts: s
                .required("whisk.etcd.hosts")?
                .split(',')
                .map(|h| h.trim().to_owned())
                .collect(),
            lease_ttl: Duration::from_secs(s.parsed("whisk.etcd.lease.timeout", 10)?),
            cluster_name: s.string("whisk.cluster.name", "whisk").to_lowercase(),
            couchdb: couchdb(s)?,
            namespace_default_limit: s.required_parsed("limits.actions.invokes.concurrent")?,
            queue: queue(s)?,
            blackbox_retention: s.duration(
                "whisk.scheduler.queue.max-blackbox-retention-ms",
                Duration::from_secs(300),
            )?,
            decision: decision(s)?,
            policy: policy(s)?,
            check_interval: s.duration(
                "whisk.scheduler.scheduling.check-interval",
                Duration::from_millis(100),
            )?,
            max_scheduling_time: s.duration(
                "whisk.scheduler.queue-manager.max-scheduling-time",
                Duration::from_secs(20),
            )?,
            in_progress_job_retention: s.duration(
                "whisk.scheduler.in-progress-job-retention",
                Duration::from_secs(20),
            )?,
            blackbox_multiple: s.parsed("whisk.scheduler.blackbox-multiple", 15)?,
            retry_interval: s.duration(
                "whisk.scheduler.data-management-service.retry-interval",
                Duration::from_secs(1),
            )?,
            fractions: Fractions {
                managed: keys::fraction(s.get("whisk.fraction.managed-fraction"), 0.9).map_err(
                    |v| invalid("whisk.fraction.managed-fraction", &v, "not a fraction"),
                )?,
                blackbox: keys::fraction(s.get("whisk.fraction.blackbox-fraction"), 0.1).map_err(
                    |v| invalid("whisk.fraction.blackbox-fraction", &v, "not a fraction"),
                )?,
            },
            runtimes_manifest: s.get("runtimes.manifest").map(str::to_owned),
        })
    }
}

fn endpoints(s: &Settings) -> Result<SchedulerEndpoints, ConfigError> {
    let (remoting_port, dialect) = match (
        s.get("whisk.scheduler.endpoints.pekko-port"),
        s.get("whisk.scheduler.endpoints.akka-port"),
    ) {
        (Some(_), _) => (
            s.required_parsed("whisk.scheduler.endpoints.pekko-port")?,
            RemotingDialect::Pekko,
        ),
        (None, Some(_)) => (
            s.required_parsed("whisk.scheduler.endpoints.akka-port")?,
            RemotingDialect::Akka,
        ),
        (None, None) => (17355, RemotingDialect::Pekko),
    };
    Ok(SchedulerEndpoints {
        host: s.required("whisk.scheduler.endpoints.host")?.to_owned(),
        rpc_port: s.required_parsed("whisk.scheduler.endpoints.rpc-port")?,
        remoting_port,
        dialect,
    })
}

fn couchdb(s: &Settings) -> Result<CouchDbConfig, ConfigError> {
    Ok(CouchDbConfig {
        protocol: s.string("whisk.couchdb.protocol", "http"),
        host: s.required("whisk.couchdb.host")?.to_owned(),
        port: s.required_parsed("whisk.couchdb.port")?,
        username: s.required("whisk.couchdb.username")?.to_owned(),
        password: s.required("whisk.couchdb.password")?.to_owned(),
        auth_db: s.required("whisk.couchdb.databases.WhiskAuth")?.to_owned(),
        entity_db: s
            .required("whisk.couchdb.databases.WhiskEntity")?
            .to_owned(),
        activation_db: s
            .required("whisk.couchdb.databases.WhiskActivation")?
            .to_owned(),
    })
}

fn queue(s: &Settings) -> Result<QueueConfig, ConfigError> {
    let d = QueueConfig::default();
    let q = "whisk.scheduler.queue";
    Ok(QueueConfig {
        idle_grace_ms: millis(s.duration(
            &format!("{q}.idle-grace"),
            Duration::from_millis(d.idle_grace_ms),
        )?),
        stop_grace_ms: millis(s.duration(
            &format!("{q}.stop-grace"),
            Duration::from_millis(d.stop_grace_ms),
        )?),
        flush_grace_ms: millis(s.duration(
            &format!("{q}.flush-grace"),
            Duration::from_millis(d.flush_grace_ms),
        )?),
        removing_check_ms: millis(s.duration(
            &format!("{q}.graceful-shutdown-timeout"),
            Duration::from_millis(d.removing_check_ms),
        )?),
        max_retention_size: s.parsed(&format!("{q}.max-retention-size"), d.max_retention_size)?,
        max_retention_ms: millis(s.duration(
            &format!("{q}.max-retention-ms"),
            Duration::from_millis(d.max_retention_ms),
        )?),
        throttling_fraction: keys::fraction(
            s.get(&format!("{q}.throttling-fraction")),
            d.throttling_fraction,
        )
        .map_err(|v| invalid(&format!("{q}.throttling-fraction"), &v, "not a fraction"))?,
        duration_buffer_size: s
            .parsed(&format!("{q}.duration-buffer-size"), d.duration_buffer_size)?,
        stale_threshold_ms: millis(s.duration(
            "whisk.scheduler.scheduling.stale-threshold",
            Duration::from_millis(d.stale_threshold_ms),
        )?),
        long_poll_ms: d.long_poll_ms,
        fail_throttle_as_whisk_error: s
            .boolean(&format!("{q}.fail-throttle-as-whisk-error"), false)?,
    })
}

fn policy(s: &Settings) -> Result<PolicyKind, ConfigError> {
    let key = "whisk.scheduler.scheduling.policy";
    let name = s.string(key, "paced");
    PolicyKind::parse(&name).ok_or_else(|| invalid(key, &name, "not one of stock, paced"))
}

fn decision(s: &Settings) -> Result<DecisionConfig, ConfigError> {
    let sc = "whisk.scheduler.scheduling";
    Ok(DecisionConfig {
        stale_threshold_ms: millis(
            s.duration(&format!("{sc}.stale-threshold"), Duration::from_millis(100))?,
        ) as f64,
        allow_over_provision: s
            .boolean(&format!("{sc}.allow-over-provision-before-throttle"), false)?,
        over_provision_ratio: keys::fraction(
            s.get(&format!(
                "{sc}.namespace-over-provision-before-throttle-ratio"
            )),
            1.5,
        )
        .map_err(|v| {
            invalid(
                &format!("{sc}.namespace-over-provision-before-throttle-ratio"),
                &v,
                "not a number",
            )
        })?,
    })
}

#[cfg(test)]
mod tests;
