//! The standalone's persistent store: action documents and activation records as CouchDB would
//! hold them (the stock JSON), in a redb database file in the data directory. It serves the
//! scheduler (`Store`), the agent (`ActionStore`) and the REST API.
//!
//! Tables: `actions` (doc id → latest document), `action_revisions` (doc id + revision → that
//! revision, so activations queued before an update still find their code), `activations`
//! (doc id → record) and `activations_by_start` (namespace, start, id → doc id; newest last),
//! which the activation list reads backwards.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ow_compat::Codec;
use ow_compat::records::{ActivationDocument, WhiskActionDocument};
use ow_compat::store::{Store, StoreError};
use ow_invoker_agent::actions::{ActionStore, ExecutableAction};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

const ACTIONS: TableDefinition<&str, &str> = TableDefinition::new("actions");
const ACTION_REVISIONS: TableDefinition<&str, &str> = TableDefinition::new("action_revisions");
const ACTIVATIONS: TableDefinition<&str, &str> = TableDefinition::new("activations");
const ACTIVATIONS_BY_START: TableDefinition<&str, &str> =
    TableDefinition::new("activations_by_start");

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "standalone.redb";

/// A store operation that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("opening the database {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("database {operation} of {id} failed: {reason}")]
    Database {
        operation: &'static str,
        id: String,
        reason: String,
    },
    #[error("the database {path} is closed")]
    Closed { path: String },
    #[error("{id} already exists")]
    Conflict { id: String },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("stored document {id} is malformed: {reason}")]
    Malformed { id: String, reason: String },
}

impl From<DataError> for StoreError {
    fn from(e: DataError) -> Self {
        match e {
            DataError::NotFound { what, id } => StoreError::NotFound { what, id },
            DataError::Malformed { id, reason } => StoreError::Malformed { id, reason },
            other => StoreError::Request {
                operation: "embedded store",
                id: String::new(),
                reason: other.to_string(),
            },
        }
    }
}

/// Which activations a list wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivationFilter {
    /// Only this action name.
    pub name: Option<String>,
    pub skip: usize,
    pub limit: usize,
}

/// The embedded database; clones share it.
#[derive(Debug, Clone)]
pub struct DataStore {
    /// `None` once closed: tasks that outlive a stop may still hold clones, and the file must
    /// be free for the next open in the same process.
    db: Arc<std::sync::RwLock<Option<Arc<Database>>>>,
    path: PathBuf,
}

fn db_error(operation: &'static str, id: &str) -> impl FnOnce(redb::Error) -> DataError {
    let id = id.to_owned();
    move |e| DataError::Database {
        operation,
        id,
        reason: e.to_string(),
    }
}

fn decode<T: Codec>(id: &str, text: &str) -> Result<T, DataError> {
    T::decode(text.as_bytes()).map_err(|e| DataError::Malformed {
        id: id.to_owned(),
        reason: e.to_string(),
    })
}

/// The index key of an activation: its namespace, start (zero-padded so keys sort by time) and id.
fn start_key(doc: &ActivationDocument) -> String {
    let a = &doc.activation;
    format!(
        "{}\u{0}{:020}\u{0}{}",
        a.namespace,
        a.start.max(0),
        a.activation_id
    )
}

fn revision_key(doc_id: &str, rev: &str) -> String {
    format!("{doc_id}\u{0}{rev}")
}

impl DataStore {
    /// Opens (or creates) the database in `dir`, creating the directory and every table.
    pub fn open(dir: &Path) -> Result<Self, DataError> {
        let path = dir.join(DATABASE_FILE);
        let shown = path.display().to_string();
        let open_error = |reason: String| DataError::Open {
            path: shown.clone(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|e| open_error(e.to_string()))?;
        let db = Database::create(&path).map_err(|e| open_error(e.to_string()))?;
        let store = Self {
            db: Arc::new(std::sync::RwLock::new(Some(Arc::new(db)))),
            path,
        };
        store
            .create_tables()
            .map_err(|e| open_error(e.to_string()))?;
        Ok(store)
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the database; later operations fail with `Closed`.
    pub fn close(&self) {
        let mut db = self
            .db
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *db = None;
    }

    fn db(&self) -> Result<Arc<Database>, DataError> {
        self.db
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or_else(|| DataError::Closed {
                path: self.path.display().to_string(),
            })
    }

    fn create_tables(&self) -> Result<(), redb::Error> {
        let Ok(db) = self.db() else { return Ok(()) };
        let tx = db.begin_write()?;
        for table in [ACTIONS, ACTION_REVISIONS, ACTIVATIONS, ACTIVATIONS_BY_START] {
            tx.open_table(table)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Stores the next revision of action `doc_id`: refused (`Conflict`) when one exists and
    /// `overwrite` is false. `prepare` sees the current document (if any) and returns the one to
    /// store, or an error that leaves the store as it was; the store gives it `_id` and `_rev`.
    pub fn put_action<E: From<DataError>>(
        &self,
        doc_id: &str,
        overwrite: bool,
        prepare: impl FnOnce(Option<&WhiskActionDocument>) -> Result<WhiskActionDocument, E>,
    ) -> Result<WhiskActionDocument, E> {
        let tx = self
            .db()?
            .begin_write()
            .map_err(|e| db_error("put action", doc_id)(e.into()))?;
        let stored = self.write_action(&tx, doc_id, overwrite, prepare)?;
        tx.commit()
            .map_err(|e| db_error("put action", doc_id)(e.into()))?;
        Ok(stored)
    }

    fn write_action<E: From<DataError>>(
        &self,
        tx: &redb::WriteTransaction,
        doc_id: &str,
        overwrite: bool,
        prepare: impl FnOnce(Option<&WhiskActionDocument>) -> Result<WhiskActionDocument, E>,
    ) -> Result<WhiskActionDocument, E> {
        let failed = |e: redb::Error| E::from(db_error("put action", doc_id)(e));
        let mut actions = tx.open_table(ACTIONS).map_err(|e| failed(e.into()))?;
        let current = match actions.get(doc_id).map_err(|e| failed(e.into()))? {
            Some(text) => Some(decode::<WhiskActionDocument>(doc_id, text.value())?),
            None => None,
        };
        if current.is_some() && !overwrite {
            return Err(DataError::Conflict {
                id: doc_id.to_owned(),
            }
            .into());
        }
        let mut doc = prepare(current.as_ref())?;
        doc.id = Some(doc_id.to_owned());
        doc.rev = Some(next_revision(
            current.as_ref().and_then(|c| c.rev.as_deref()),
        ));
        let text = doc.encode();
        actions
            .insert(doc_id, text.as_str())
            .map_err(|e| failed(e.into()))?;
        let key = revision_key(doc_id, doc.rev.as_deref().unwrap_or_default());
        tx.open_table(ACTION_REVISIONS)
            .and_then(|mut t| {
                t.insert(key.as_str(), text.as_str())
                    .map(|_| ())
                    .map_err(Into::into)
            })
            .map_err(|e| failed(e.into()))?;
        Ok(doc)
    }

    /// The latest document of `doc_id`, or the revision `rev`.
    pub fn action(
        &self,
        doc_id: &str,
        rev: Option<&str>,
    ) -> Result<WhiskActionDocument, DataError> {
        let db = self.db()?;
        let read = || -> Result<Option<String>, redb::Error> {
            let tx = db.begin_read()?;
            let text = match rev {
                None => tx
                    .open_table(ACTIONS)?
                    .get(doc_id)?
                    .map(|v| v.value().to_owned()),
                Some(rev) => tx
                    .open_table(ACTION_REVISIONS)?
                    .get(revision_key(doc_id, rev).as_str())?
                    .map(|v| v.value().to_owned()),
            };
            Ok(text)
        };
        let text = read()
            .map_err(db_error("get action", doc_id))?
            .ok_or_else(|| DataError::NotFound {
                what: if rev.is_some() {
                    "action revision"
                } else {
                    "action"
                },
                id: rev.map_or_else(|| doc_id.to_owned(), |r| format!("{doc_id}@{r}")),
            })?;
        decode(doc_id, &text)
    }

    /// Removes the action `doc_id` (its revisions stay for activations still in flight).
    pub fn delete_action(&self, doc_id: &str) -> Result<WhiskActionDocument, DataError> {
        let db = self.db()?;
        let run = || -> Result<Option<String>, redb::Error> {
            let tx = db.begin_write()?;
            let removed = tx
                .open_table(ACTIONS)?
                .remove(doc_id)?
                .map(|v| v.value().to_owned());
            tx.commit()?;
            Ok(removed)
        };
        let text = run()
            .map_err(db_error("delete action", doc_id))?
            .ok_or_else(|| DataError::NotFound {
                what: "action",
                id: doc_id.to_owned(),
            })?;
        decode(doc_id, &text)
    }

    /// The actions of `namespace` by name, after skipping `skip`, at most `limit`.
    pub fn list_actions(
        &self,
        namespace: &str,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<WhiskActionDocument>, DataError> {
        let db = self.db()?;
        let prefix = format!("{namespace}/");
        let read = || -> Result<Vec<(String, String)>, redb::Error> {
            let tx = db.begin_read()?;
            let table = tx.open_table(ACTIONS)?;
            let mut out = Vec::new();
            for entry in table.range(prefix.as_str()..)?.skip(skip) {
                let (k, v) = entry?;
                if !k.value().starts_with(&prefix) || out.len() >= limit {
                    break;
                }
                out.push((k.value().to_owned(), v.value().to_owned()));
            }
            Ok(out)
        };
        read()
            .map_err(db_error("list actions", namespace))?
            .iter()
            .map(|(id, text)| decode(id, text))
            .collect()
    }

    /// Stores an activation record (a record stored again replaces the earlier one).
    pub fn put_activation(&self, doc: &ActivationDocument) -> Result<(), DataError> {
        let db = self.db()?;
        let run = || -> Result<(), redb::Error> {
            let tx = db.begin_write()?;
            tx.open_table(ACTIVATIONS)?
                .insert(doc.id.as_str(), doc.encode().as_str())?;
            tx.open_table(ACTIVATIONS_BY_START)?
                .insert(start_key(doc).as_str(), doc.id.as_str())?;
            tx.commit()?;
            Ok(())
        };
        run().map_err(db_error("put activation", &doc.id))
    }

    /// The record `namespace/activation_id`.
    pub fn activation(
        &self,
        namespace: &str,
        activation_id: &str,
    ) -> Result<ActivationDocument, DataError> {
        let db = self.db()?;
        let id = format!("{namespace}/{activation_id}");
        let read = || -> Result<Option<String>, redb::Error> {
            let tx = db.begin_read()?;
            let text = tx
                .open_table(ACTIVATIONS)?
                .get(id.as_str())?
                .map(|v| v.value().to_owned());
            Ok(text)
        };
        let text = read()
            .map_err(db_error("get activation", &id))?
            .ok_or_else(|| DataError::NotFound {
                what: "activation",
                id: id.clone(),
            })?;
        decode(&id, &text)
    }

    /// The records of `namespace`, newest first.
    pub fn list_activations(
        &self,
        namespace: &str,
        filter: &ActivationFilter,
    ) -> Result<Vec<ActivationDocument>, DataError> {
        let db = self.db()?;
        let (low, high) = (format!("{namespace}\u{0}"), format!("{namespace}\u{1}"));
        let read = || -> Result<Vec<(String, String)>, redb::Error> {
            let tx = db.begin_read()?;
            let index = tx.open_table(ACTIVATIONS_BY_START)?;
            let records = tx.open_table(ACTIVATIONS)?;
            let mut out = Vec::new();
            let mut skipped = 0;
            for entry in index.range(low.as_str()..high.as_str())?.rev() {
                let (_, doc_id) = entry?;
                let Some(text) = records.get(doc_id.value())? else {
                    continue;
                };
                let text = text.value().to_owned();
                if !record_has_name(&text, filter.name.as_deref()) {
                    continue;
                }
                if skipped < filter.skip {
                    skipped += 1;
                    continue;
                }
                if out.len() >= filter.limit {
                    break;
                }
                out.push((doc_id.value().to_owned(), text));
            }
            Ok(out)
        };
        read()
            .map_err(db_error("list activations", namespace))?
            .iter()
            .map(|(id, text)| decode(id, text))
            .collect()
    }

    /// Runs a blocking store operation off the async threads.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&DataStore) -> Result<T, DataError> + Send + 'static,
    ) -> Result<T, DataError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .unwrap_or_else(|e| {
                Err(DataError::Database {
                    operation: "run",
                    id: String::new(),
                    reason: e.to_string(),
                })
            })
    }
}

/// Whether a stored record is of action `name` (any when `None`).
fn record_has_name(text: &str, name: Option<&str>) -> bool {
    let Some(name) = name else { return true };
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(|n| n == name))
        .unwrap_or(false)
}

/// CouchDB's revision shape: `<generation>-<32 hex>`, the generation one past the current one.
pub fn next_revision(current: Option<&str>) -> String {
    let generation = current
        .and_then(|r| r.split_once('-'))
        .and_then(|(n, _)| n.parse::<u64>().ok())
        .unwrap_or(0);
    format!("{}-{}", generation + 1, ow_compat::ids::random_hex32())
}

impl Store for DataStore {
    async fn action(
        &self,
        doc_id: &str,
        rev: Option<&str>,
    ) -> Result<WhiskActionDocument, StoreError> {
        let (id, rev) = (doc_id.to_owned(), rev.map(str::to_owned));
        Ok(self
            .blocking(move |s| s.action(&id, rev.as_deref()))
            .await?)
    }

    async fn namespace_limit(&self, _namespace: &str) -> Result<Option<i64>, StoreError> {
        // One namespace with the deployment's defaults: no per-namespace override.
        Ok(None)
    }

    async fn put_activation(&self, doc: &ActivationDocument) -> Result<(), StoreError> {
        let doc = doc.clone();
        Ok(self.blocking(move |s| s.put_activation(&doc)).await?)
    }
}

impl ActionStore for DataStore {
    async fn executable(
        &self,
        doc_id: &str,
        rev: Option<&str>,
    ) -> Result<ExecutableAction, StoreError> {
        let doc = Store::action(self, doc_id, rev).await?;
        // The REST API stores code inline or inlined in the attachment name (`mem:`), never as
        // a separate attachment.
        ow_invoker_agent::actions::resolve_inline(doc, doc_id).await
    }

    async fn put_activation(&self, doc: &ActivationDocument) -> Result<(), StoreError> {
        Store::put_activation(self, doc).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ow_compat::json::Wire;

    #[test]
    fn revisions_count_generations() {
        assert!(next_revision(None).starts_with("1-"));
        assert!(next_revision(Some("7-abc")).starts_with("8-"));
        assert_eq!(next_revision(Some("3-abc")).len(), 2 + 32);
        assert!(next_revision(Some("garbage")).starts_with("1-"));
    }

    fn action(name: &str) -> WhiskActionDocument {
        let doc = serde_json::json!({"name": name, "namespace": "guest", "version": "0.0.1",
            "publish": false, "annotations": [], "parameters": [], "limits": {"timeout": 60000, "memory": 256},
            "exec": {"kind": "python:3.10", "code": "x = 1"}, "updated": 1});
        WhiskActionDocument::read(&doc, ow_compat::json::Path::Root).expect("action")
    }

    fn record(name: &str, id: &str, start: i64) -> ActivationDocument {
        let v = serde_json::json!({"_id": format!("guest/{id}"), "entityType": "activation", "updated": start,
            "namespace": "guest", "name": name, "subject": "guest", "activationId": id, "start": start,
            "end": start + 1, "response": {"statusCode": 0, "result": {}}, "logs": [], "version": "0.0.1",
            "publish": false, "annotations": []});
        ActivationDocument::read(&v, ow_compat::json::Path::Root).expect("record")
    }

    #[test]
    fn actions_get_revisions_conflicts_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = DataStore::open(dir.path()).expect("open");
        let put =
            |overwrite| store.put_action::<DataError>("guest/a", overwrite, |_| Ok(action("a")));
        let first = put(false).expect("created");
        assert!(matches!(put(false), Err(DataError::Conflict { .. })));
        let second = put(true).expect("updated");
        let (r1, r2) = (first.rev.expect("rev"), second.rev.expect("rev"));
        assert!(r1.starts_with("1-") && r2.starts_with("2-"));
        assert_eq!(
            store
                .action("guest/a", Some(&r1))
                .expect("old revision")
                .rev
                .as_deref(),
            Some(r1.as_str())
        );
        store
            .put_action::<DataError>("guest/b", false, |_| Ok(action("b")))
            .expect("b");
        let names = |s: &DataStore, skip, limit| {
            s.list_actions("guest", skip, limit)
                .expect("list")
                .iter()
                .map(|d| d.name.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&store, 0, 10), ["a", "b"]);
        assert_eq!(names(&store, 1, 10), ["b"]);
        store.delete_action("guest/b").expect("deleted");
        store.close();
        assert!(matches!(
            store.action("guest/a", None),
            Err(DataError::Closed { .. })
        ));
        let reopened = DataStore::open(dir.path()).expect("reopen");
        assert_eq!(names(&reopened, 0, 10), ["a"]);
    }

    #[test]
    fn activations_list_newest_first_by_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = DataStore::open(dir.path()).expect("open");
        let ids = [
            "0000000000000000000000000000000a",
            "0000000000000000000000000000000b",
            "0000000000000000000000000000000c",
        ];
        for (i, (name, id)) in [("x", ids[0]), ("y", ids[1]), ("x", ids[2])]
            .into_iter()
            .enumerate()
        {
            store
                .put_activation(&record(name, id, 1000 + i as i64))
                .expect("stored");
        }
        let list = |name: Option<&str>, skip, limit| {
            let f = ActivationFilter {
                name: name.map(str::to_owned),
                skip,
                limit,
            };
            store
                .list_activations("guest", &f)
                .expect("list")
                .iter()
                .map(|d| d.activation.activation_id.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(list(None, 0, 10), [ids[2], ids[1], ids[0]]);
        assert_eq!(list(Some("x"), 0, 10), [ids[2], ids[0]]);
        assert_eq!(list(None, 1, 1), [ids[1]]);
        assert_eq!(
            store
                .activation("guest", ids[1])
                .expect("found")
                .activation
                .name
                .as_str(),
            "y"
        );
        assert!(matches!(
            store.activation("guest", "0000000000000000000000000000000f"),
            Err(DataError::NotFound { .. })
        ));
    }

    #[test]
    fn names_filter_records() {
        let rec = r#"{"name":"hello","namespace":"guest"}"#;
        assert!(record_has_name(rec, None));
        assert!(record_has_name(rec, Some("hello")));
        assert!(!record_has_name(rec, Some("other")));
    }
}
