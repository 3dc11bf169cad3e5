//! One run's own slice of the shared services: a Kafka topic prefix, an etcd cluster name and
//! CouchDB databases nobody else uses, so runs never see each other's state; and the action
//! documents the controller would have stored.

use std::time::{SystemTime, UNIX_EPOCH};

/// Where the services listen (those of `tests/services/up`).
#[derive(Debug, Clone)]
pub struct Services {
    pub kafka: String,
    pub etcd: String,
    pub couch_url: String,
    pub couch_user: String,
    pub couch_password: String,
}

impl Default for Services {
    fn default() -> Self {
        Self {
            kafka: "127.0.0.1:9092".into(),
            etcd: "127.0.0.1:2379".into(),
            couch_url: "http://127.0.0.1:5984".into(),
            couch_user: "whisk_admin".into(),
            couch_password: "some_passw0rd".into(),
        }
    }
}

/// A CouchDB request that failed.
#[derive(Debug, thiserror::Error)]
pub enum SliceError {
    #[error("CouchDB {method} {path} failed: {reason}")]
    Couch {
        method: &'static str,
        path: String,
        reason: String,
    },
}

/// The names of one run.
#[derive(Debug, Clone)]
pub struct Slice {
    pub services: Services,
    /// `whisk.kafka.topics.prefix` (ends with `_`).
    pub prefix: String,
    /// `whisk.cluster.name`.
    pub cluster: String,
    /// Prefix of `subjects`, `whisks`, `activations`.
    pub db_prefix: String,
    /// The namespace the actions live in.
    pub namespace: String,
    http: reqwest::Client,
}

/// An action the load generator invokes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRef {
    pub name: String,
    pub revision: String,
}

impl Slice {
    /// Fresh names from `tag` and the time; nothing created yet.
    pub fn new(services: Services, tag: &str) -> Self {
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() % 100_000_000);
        let id = format!("bench{stamp}_{}_{tag}", std::process::id());
        Self {
            services,
            prefix: format!("{id}_"),
            cluster: id.clone(),
            db_prefix: format!("{id}_"),
            namespace: "guest".into(),
            http: reqwest::Client::new(),
        }
    }

    async fn couch(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> Result<serde_json::Value, SliceError> {
        let url = format!("{}/{path}", self.services.couch_url.trim_end_matches('/'));
        let error = |reason: String| SliceError::Couch {
            method: method_name(&method),
            path: path.to_owned(),
            reason,
        };
        let mut req = self.http.request(method.clone(), url).basic_auth(
            &self.services.couch_user,
            Some(&self.services.couch_password),
        );
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b);
        }
        let resp = req.send().await.map_err(|e| error(e.to_string()))?;
        resp.json().await.map_err(|e| error(e.to_string()))
    }

    /// Creates the three databases.
    pub async fn create_databases(&self) -> Result<(), SliceError> {
        for db in ["subjects", "whisks", "activations"] {
            let path = format!("{}{db}", self.db_prefix);
            self.couch(reqwest::Method::PUT, &path, None).await?;
        }
        Ok(())
    }

    /// Stores `count` Python actions `bench0..` (the simulated invokers never run the code)
    /// and returns them with their revisions.
    pub async fn create_actions(&self, count: u32) -> Result<Vec<ActionRef>, SliceError> {
        let mut actions = Vec::with_capacity(count as usize);
        for i in 0..count {
            let name = format!("bench{i}");
            let doc = action_document(&self.namespace, &name);
            let path = format!("{}whisks/{}%2F{name}", self.db_prefix, self.namespace);
            let answer = self.couch(reqwest::Method::PUT, &path, Some(doc)).await?;
            let revision = answer["rev"].as_str().ok_or_else(|| SliceError::Couch {
                method: "PUT",
                path: path.clone(),
                reason: format!("no revision in the answer {answer}"),
            })?;
            actions.push(ActionRef {
                name,
                revision: revision.to_owned(),
            });
        }
        Ok(actions)
    }

    /// The scheduler's (and agent's) environment for this slice, as the ansible role sets it.
    pub fn component_env(&self) -> Vec<(String, String)> {
        let s = &self.services;
        let (host, port) = couch_host_port(&s.couch_url);
        [
            ("KAFKA_HOSTS", s.kafka.clone()),
            ("CONFIG_whisk_kafka_topics_prefix", self.prefix.clone()),
            ("CONFIG_whisk_etcd_hosts", s.etcd.clone()),
            ("CONFIG_whisk_cluster_name", self.cluster.clone()),
            ("CONFIG_whisk_couchdb_host", host),
            ("CONFIG_whisk_couchdb_port", port),
            ("CONFIG_whisk_couchdb_username", s.couch_user.clone()),
            ("CONFIG_whisk_couchdb_password", s.couch_password.clone()),
            (
                "CONFIG_whisk_couchdb_databases_WhiskAuth",
                format!("{}subjects", self.db_prefix),
            ),
            (
                "CONFIG_whisk_couchdb_databases_WhiskEntity",
                format!("{}whisks", self.db_prefix),
            ),
            (
                "CONFIG_whisk_couchdb_databases_WhiskActivation",
                format!("{}activations", self.db_prefix),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

fn method_name(m: &reqwest::Method) -> &'static str {
    match *m {
        reqwest::Method::PUT => "PUT",
        reqwest::Method::GET => "GET",
        _ => "request",
    }
}

/// `http://host:port` → (`host`, `port`).
fn couch_host_port(url: &str) -> (String, String) {
    let rest = url.split("://").nth(1).unwrap_or(url).trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), p.to_owned()),
        None => (rest.to_owned(), "5984".to_owned()),
    }
}

/// A stock `whisks` document of a Python action with default limits.
pub fn action_document(namespace: &str, name: &str) -> String {
    let code = serde_json::Value::String("def main(args):\n    return {\"ok\": True}\n".into());
    format!(
        r#"{{"name":"{name}","namespace":"{namespace}","version":"0.0.1","publish":false,"annotations":[],"parameters":[],"limits":{{"timeout":60000,"memory":256,"logs":10,"concurrency":1}},"exec":{{"kind":"python:3.10","code":{code},"binary":false}},"updated":1700000000000,"entityType":"action"}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ow_compat::json::{Path, Wire, parse};
    use ow_compat::records::WhiskActionDocument;

    #[test]
    fn action_documents_read_as_stock_actions() {
        let doc = action_document("guest", "bench3");
        let value = parse(doc.as_bytes()).expect("json");
        let action = WhiskActionDocument::read(&value, Path::Root).expect("action");
        assert_eq!(action.name.as_str(), "bench3");
        assert_eq!(action.limits.memory_mb, 256);
    }

    #[test]
    fn couch_address_splits_into_host_and_port() {
        assert_eq!(
            couch_host_port("http://127.0.0.1:5984/"),
            ("127.0.0.1".into(), "5984".into())
        );
    }
}
