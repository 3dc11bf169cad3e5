//! One test's slice of the services: its own Kafka topic prefix, etcd cluster name and CouchDB
//! databases (`<db_prefix>subjects`, `whisks`, `activations`), so system tests of every crate run
//! in parallel without cleaning up first.

use crate::env::services;
use crate::unique::unique_name;

/// Names and a CouchDB client for one test.
#[derive(Debug, Clone)]
pub struct World {
    /// `whisk.kafka.topics.prefix`.
    pub prefix: String,
    /// `whisk.cluster.name`.
    pub cluster: String,
    /// Prefix of the three databases.
    pub db_prefix: String,
    /// HTTP client for CouchDB.
    pub http: reqwest::Client,
}

impl World {
    /// Fresh names, and the three databases created.
    pub async fn new(tag: &str) -> Self {
        let id = unique_name(tag);
        let world = Self {
            prefix: format!("{id}_"),
            cluster: id.clone(),
            db_prefix: format!("{id}_"),
            http: reqwest::Client::new(),
        };
        for db in ["subjects", "whisks", "activations"] {
            world
                .couch(
                    reqwest::Method::PUT,
                    &format!("{}{db}", world.db_prefix),
                    None,
                )
                .await;
        }
        world
    }

    /// A CouchDB request with the admin credentials; the answer as JSON (`null` if it has none).
    pub async fn couch(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> serde_json::Value {
        let s = services();
        let url = format!("{}/{path}", s.couchdb_url.trim_end_matches('/'));
        let mut req = self
            .http
            .request(method, url)
            .basic_auth(&s.couchdb_user, Some(&s.couchdb_password));
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b);
        }
        let resp = req.send().await.unwrap_or_else(|e| {
            panic!(
                "CouchDB at {} unreachable ({e}); run tests/services/up",
                s.couchdb_url
            )
        });
        resp.json().await.unwrap_or(serde_json::Value::Null)
    }
}
