//! CouchDB: action documents (`whisks`), namespace limits (`subjects` identities view) and
//! activation records (`activations`).

use std::future::Future;
use std::time::Duration;

use crate::Codec;
use crate::json::{Path, Value, Wire};
use crate::records::{ActivationDocument, WhiskActionDocument};
use reqwest::Url;

/// CouchDB connection and database names (`whisk.couchdb.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouchDbConfig {
    /// `http` or `https`.
    pub protocol: String,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    /// `subjects` database.
    pub auth_db: String,
    /// `whisks` database.
    pub entity_db: String,
    /// `activations` database.
    pub activation_db: String,
}

impl CouchDbConfig {
    /// `protocol://host:port`.
    pub fn base_url(&self) -> String {
        format!("{}://{}:{}", self.protocol, self.host, self.port)
    }
}

/// A CouchDB operation that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The document does not exist (or not at that revision).
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// CouchDB could not be reached or answered an error.
    #[error("couchdb {operation} of {id} failed: {reason}")]
    Request {
        operation: &'static str,
        id: String,
        reason: String,
    },
    /// The document does not decode.
    #[error("couchdb document {id} is malformed: {reason}")]
    Malformed { id: String, reason: String },
}

/// What the scheduler reads and writes in CouchDB.
pub trait Store: Clone + Send + Sync + 'static {
    /// The action document `doc_id` at `rev` (any revision if `None`).
    fn action(
        &self,
        doc_id: &str,
        rev: Option<&str>,
    ) -> impl Future<Output = Result<WhiskActionDocument, StoreError>> + Send;
    /// The namespace's `concurrentInvocations` override, `None` when it has none.
    fn namespace_limit(
        &self,
        namespace: &str,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;
    /// Stores an activation record.
    fn put_activation(
        &self,
        doc: &ActivationDocument,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// CouchDB over HTTP with basic auth.
#[derive(Debug, Clone)]
pub struct CouchStore {
    http: reqwest::Client,
    base: Url,
    config: CouchDbConfig,
}

impl CouchStore {
    /// A client for `config`.
    pub fn new(config: CouchDbConfig) -> Result<Self, StoreError> {
        let base = Url::parse(&config.base_url()).map_err(|e| StoreError::Request {
            operation: "configure",
            id: config.base_url(),
            reason: e.to_string(),
        })?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| StoreError::Request {
                operation: "configure",
                id: config.base_url(),
                reason: e.to_string(),
            })?;
        Ok(Self { http, base, config })
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.clear().extend(segments);
        }
        url
    }

    async fn get_json(&self, url: Url, what: &'static str, id: &str) -> Result<Value, StoreError> {
        let request_error = |e: reqwest::Error| StoreError::Request {
            operation: "get",
            id: id.into(),
            reason: e.to_string(),
        };
        let resp = self
            .http
            .get(url)
            .basic_auth(&self.config.username, Some(&self.config.password))
            .send()
            .await
            .map_err(request_error)?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(StoreError::NotFound {
                what,
                id: id.into(),
            });
        }
        let resp = resp.error_for_status().map_err(request_error)?;
        let bytes = resp.bytes().await.map_err(request_error)?;
        crate::json::parse(&bytes).map_err(|e| StoreError::Malformed {
            id: id.into(),
            reason: e.to_string(),
        })
    }

    /// The bytes of attachment `name` of action document `doc_id` in the `whisks` database
    /// (`GET /<db>/<doc_id>/<name>`): where `couch:<uuid>` and legacy relative attachment names
    /// of action code live.
    pub async fn attachment(&self, doc_id: &str, name: &str) -> Result<Vec<u8>, StoreError> {
        let id = format!("{doc_id}/{name}");
        let request_error = |e: reqwest::Error| StoreError::Request {
            operation: "get attachment",
            id: id.clone(),
            reason: e.to_string(),
        };
        let url = self.url(&[&self.config.entity_db, doc_id, name]);
        let resp = self
            .http
            .get(url)
            .basic_auth(&self.config.username, Some(&self.config.password))
            .send()
            .await
            .map_err(request_error)?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(StoreError::NotFound {
                what: "attachment",
                id,
            });
        }
        let resp = resp.error_for_status().map_err(request_error)?;
        Ok(resp.bytes().await.map_err(request_error)?.to_vec())
    }
}

impl Store for CouchStore {
    async fn action(
        &self,
        doc_id: &str,
        rev: Option<&str>,
    ) -> Result<WhiskActionDocument, StoreError> {
        let mut url = self.url(&[&self.config.entity_db, doc_id]);
        if let Some(rev) = rev {
            url.query_pairs_mut().append_pair("rev", rev);
        }
        let doc = self.get_json(url, "action", doc_id).await?;
        let action =
            WhiskActionDocument::read(&doc, Path::Root).map_err(|e| StoreError::Malformed {
                id: doc_id.into(),
                reason: e.to_string(),
            })?;
        if let (Some(want), Some(got)) = (rev, action.rev.as_deref())
            && want != got
        {
            return Err(StoreError::NotFound {
                what: "action revision",
                id: format!("{doc_id}@{want}"),
            });
        }
        Ok(action)
    }

    async fn namespace_limit(&self, namespace: &str) -> Result<Option<i64>, StoreError> {
        let mut url = self.url(&[
            &self.config.auth_db,
            "_design",
            "subjects.v2.0.0",
            "_view",
            "identities",
        ]);
        let key = Value::Array(vec![Value::String(namespace.into())]).to_string();
        url.query_pairs_mut()
            .append_pair("startkey", &key)
            .append_pair("endkey", &key)
            .append_pair("limit", "1")
            .append_pair("include_docs", "true")
            .append_pair("descending", "true")
            .append_pair("reduce", "false");
        let view = self.get_json(url, "namespace", namespace).await?;
        let rows = view
            .get("rows")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let row = rows.first().ok_or_else(|| StoreError::NotFound {
            what: "namespace",
            id: namespace.into(),
        })?;
        Ok(row
            .get("doc")
            .and_then(|d| d.get("concurrentInvocations"))
            .and_then(Value::as_i64))
    }

    async fn put_activation(&self, doc: &ActivationDocument) -> Result<(), StoreError> {
        let url = self.url(&[&self.config.activation_db, "_bulk_docs"]);
        let body = format!("{{\"docs\":[{}]}}", doc.encode());
        self.http
            .post(url)
            .basic_auth(&self.config.username, Some(&self.config.password))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map(|_| ())
            .map_err(|e| StoreError::Request {
                operation: "bulk write",
                id: doc.id.clone(),
                reason: e.to_string(),
            })
    }
}

/// Documents held in memory, for benchmarks and the standalone mode.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    actions:
        std::sync::Arc<std::sync::RwLock<std::collections::HashMap<String, WhiskActionDocument>>>,
    activations: std::sync::Arc<std::sync::Mutex<Vec<ActivationDocument>>>,
}

impl MemoryStore {
    /// Stores (or replaces) an action under its `_id`.
    pub fn put_action(&self, doc: WhiskActionDocument) {
        let id = doc
            .id
            .clone()
            .unwrap_or_else(|| format!("{}/{}", doc.namespace, doc.name));
        if let Ok(mut a) = self.actions.write() {
            a.insert(id, doc);
        }
    }

    /// Activation records written so far.
    pub fn activations(&self) -> Vec<ActivationDocument> {
        self.activations
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default()
    }
}

impl Store for MemoryStore {
    async fn action(
        &self,
        doc_id: &str,
        rev: Option<&str>,
    ) -> Result<WhiskActionDocument, StoreError> {
        let found = self
            .actions
            .read()
            .ok()
            .and_then(|a| a.get(doc_id).cloned());
        match found {
            Some(doc) if rev.is_none() || doc.rev.as_deref() == rev => Ok(doc),
            _ => Err(StoreError::NotFound {
                what: "action",
                id: doc_id.into(),
            }),
        }
    }

    async fn namespace_limit(&self, _namespace: &str) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }

    async fn put_activation(&self, doc: &ActivationDocument) -> Result<(), StoreError> {
        if let Ok(mut a) = self.activations.lock() {
            a.push(doc.clone());
        }
        Ok(())
    }
}
