//! Where the services are: environment variables, defaulting to what `tests/services/up` starts.
//!
//! | variable | default |
//! |---|---|
//! | `OW_KAFKA_BROKERS` | `127.0.0.1:9092` |
//! | `OW_ETCD_ENDPOINTS` | `127.0.0.1:2379` (comma-separated list) |
//! | `OW_COUCHDB_URL` | `http://127.0.0.1:5984` (credentials in the URL are used when the next two are unset) |
//! | `OW_COUCHDB_USER` / `OW_COUCHDB_PASSWORD` | `whisk_admin` / `some_passw0rd` |
//! | `DOCKER_HOST` | `unix:///var/run/docker.sock` |

use std::fmt;
use std::sync::OnceLock;

/// Default Kafka bootstrap servers.
pub const DEFAULT_KAFKA_BROKERS: &str = "127.0.0.1:9092";
/// Default etcd endpoints.
pub const DEFAULT_ETCD_ENDPOINTS: &str = "127.0.0.1:2379";
/// Default CouchDB URL (without credentials).
pub const DEFAULT_COUCHDB_URL: &str = "http://127.0.0.1:5984";
/// Default CouchDB admin user.
pub const DEFAULT_COUCHDB_USER: &str = "whisk_admin";
/// Default CouchDB admin password.
pub const DEFAULT_COUCHDB_PASSWORD: &str = "some_passw0rd";
/// Default Docker engine address.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// Appended to every "service not reachable" error.
pub const START_HINT: &str = "start the test services with `tests/services/up` (as root; `tests/services/status` shows what runs)";

/// The addresses of the services the system tests use.
#[derive(Clone, PartialEq, Eq)]
pub struct Services {
    /// Kafka `bootstrap.servers`.
    pub kafka_brokers: String,
    /// etcd client endpoints (`host:port`).
    pub etcd_endpoints: Vec<String>,
    /// CouchDB base URL without credentials and without a trailing `/`.
    pub couchdb_url: String,
    /// CouchDB admin user.
    pub couchdb_user: String,
    /// CouchDB admin password.
    pub couchdb_password: String,
    /// Docker engine address (`unix://…`, `tcp://…` or `http://…`).
    pub docker_host: String,
}

impl fmt::Debug for Services {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Services")
            .field("kafka_brokers", &self.kafka_brokers)
            .field("etcd_endpoints", &self.etcd_endpoints)
            .field("couchdb_url", &self.couchdb_url)
            .field("couchdb_user", &self.couchdb_user)
            .field("couchdb_password", &"***")
            .field("docker_host", &self.docker_host)
            .finish()
    }
}

impl Services {
    /// Reads the environment (see the module documentation).
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds the addresses from `lookup` (a variable name → its value, if set and not blank).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let (couchdb_url, url_user, url_password) =
            split_userinfo(&get("OW_COUCHDB_URL").unwrap_or_else(|| DEFAULT_COUCHDB_URL.into()));
        Self {
            kafka_brokers: get("OW_KAFKA_BROKERS").unwrap_or_else(|| DEFAULT_KAFKA_BROKERS.into()),
            etcd_endpoints: get("OW_ETCD_ENDPOINTS")
                .unwrap_or_else(|| DEFAULT_ETCD_ENDPOINTS.into())
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect(),
            couchdb_url,
            couchdb_user: get("OW_COUCHDB_USER")
                .or(url_user)
                .unwrap_or_else(|| DEFAULT_COUCHDB_USER.into()),
            couchdb_password: get("OW_COUCHDB_PASSWORD")
                .or(url_password)
                .unwrap_or_else(|| DEFAULT_COUCHDB_PASSWORD.into()),
            docker_host: get("DOCKER_HOST").unwrap_or_else(|| DEFAULT_DOCKER_HOST.into()),
        }
    }
}

/// The addresses from the environment, read once per test binary.
pub fn services() -> &'static Services {
    static SERVICES: OnceLock<Services> = OnceLock::new();
    SERVICES.get_or_init(Services::from_env)
}

/// The error text for a service that does not answer.
pub fn unreachable(service: &str, address: &str) -> String {
    format!("{service} at {address} is not reachable; {START_HINT}")
}

/// `scheme://user:password@host/path` → (`scheme://host/path` without trailing `/`, user, password).
fn split_userinfo(url: &str) -> (String, Option<String>, Option<String>) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (user, password, host) = match authority.rsplit_once('@') {
        Some((info, host)) => match info.split_once(':') {
            Some((u, p)) => (Some(u.to_owned()), Some(p.to_owned()), host),
            None => (Some(info.to_owned()), None, host),
        },
        None => (None, None, authority),
    };
    let base = format!("{scheme}://{host}{path}");
    (base.trim_end_matches('/').to_owned(), user, password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_those_of_tests_services() {
        let s = Services::from_lookup(|_| None);
        assert_eq!(s.kafka_brokers, "127.0.0.1:9092");
        assert_eq!(s.etcd_endpoints, vec!["127.0.0.1:2379".to_owned()]);
        assert_eq!(s.couchdb_url, "http://127.0.0.1:5984");
        assert_eq!(s.couchdb_user, "whisk_admin");
        assert_eq!(s.couchdb_password, "some_passw0rd");
        assert_eq!(s.docker_host, "unix:///var/run/docker.sock");
    }

    #[test]
    fn couchdb_credentials_may_come_with_the_url() {
        let s = Services::from_lookup(|k| {
            (k == "OW_COUCHDB_URL").then(|| "http://admin:secret@db.local:5984/".to_owned())
        });
        assert_eq!(s.couchdb_url, "http://db.local:5984");
        assert_eq!(s.couchdb_user, "admin");
        assert_eq!(s.couchdb_password, "secret");
        assert!(!format!("{s:?}").contains("secret"));
    }

    #[test]
    fn explicit_user_wins_and_endpoints_split() {
        let s = Services::from_lookup(|k| match k {
            "OW_COUCHDB_URL" => Some("http://a:b@h:1".into()),
            "OW_COUCHDB_USER" => Some("other".into()),
            "OW_ETCD_ENDPOINTS" => Some("h1:2379, h2:2379,".into()),
            _ => None,
        });
        assert_eq!(s.couchdb_user, "other");
        assert_eq!(s.couchdb_password, "b");
        assert_eq!(
            s.etcd_endpoints,
            vec!["h1:2379".to_owned(), "h2:2379".to_owned()]
        );
    }
}
