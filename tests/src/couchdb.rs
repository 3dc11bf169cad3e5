//! A small CouchDB client on reqwest, enough for what the scheduler and the invoker do with CouchDB
//! (spec 9): databases, documents (also read at a revision), attachments and `_bulk_docs`.
//!
//! JSON bodies are always sent with `Content-Type: application/json` (pouchdb-server reads other
//! bodies as form data). Document ids and attachment names are percent-encoded, so `guest/hello`
//! is sent as `guest%2Fhello`.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use ow_compat::Codec;
use ow_compat::records::WhiskActionDocument;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::env::{services, unreachable};
use crate::side::block_on_side;
use crate::unique;

/// A CouchDB server with admin credentials.
#[derive(Clone)]
pub struct CouchDb {
    http: reqwest::Client,
    base: String,
    user: String,
    password: String,
}

impl fmt::Debug for CouchDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CouchDb")
            .field("base", &self.base)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The outcome of one document of a `_bulk_docs` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkResult {
    /// Document id.
    pub id: String,
    /// The new revision, if the document was written.
    pub rev: Option<String>,
    /// `error: reason`, if it was not.
    pub error: Option<String>,
}

/// An HTTP answer: status, `Content-Type` and body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: StatusCode,
    /// `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_slice(&self.body).map_err(|e| {
            anyhow!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl CouchDb {
    /// Connects to `OW_COUCHDB_URL` with the admin credentials and checks both (`GET /`, then an
    /// authenticated `GET /_all_dbs`).
    pub async fn connect() -> anyhow::Result<Self> {
        let s = services();
        Self::connect_to(&s.couchdb_url, &s.couchdb_user, &s.couchdb_password).await
    }

    /// Connects to `base` as `user` and checks the server answers and accepts the credentials.
    pub async fn connect_to(base: &str, user: &str, password: &str) -> anyhow::Result<Self> {
        let db = Self::new(base, user, password)?;
        let root = db
            .http
            .get(format!("{}/", db.base))
            .send()
            .await
            .with_context(|| unreachable("CouchDB", &db.base))?;
        if !root.status().is_success() {
            bail!(
                "CouchDB at {}: GET / answered {}; {}",
                db.base,
                root.status(),
                crate::env::START_HINT
            );
        }
        let all = db.call(Method::GET, "/_all_dbs", None).await?;
        if all.status == StatusCode::UNAUTHORIZED {
            bail!(
                "CouchDB at {}: user {:?} is refused (401); `tests/services/up couchdb` creates the admin",
                db.base,
                db.user
            );
        }
        Ok(db)
    }

    /// A client without checking the server (used by cleanup code).
    pub fn new(base: &str, user: &str, password: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(15))
            .build()
            .context("CouchDB: building the HTTP client")?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            user: user.to_owned(),
            password: password.to_owned(),
        })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends one request; `path` starts with `/` and is already encoded. Transport errors fail
    /// with context; HTTP errors are returned as answers.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> anyhow::Result<Answer> {
        self.call_with(method, path, body, None).await
    }

    async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
        if_match: Option<&str>,
    ) -> anyhow::Result<Answer> {
        let what = format!("CouchDB at {}: {method} {path}", self.base);
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.user, Some(&self.password))
            .header("Accept", "application/json");
        if let Some((content_type, bytes)) = body {
            req = req.header("Content-Type", content_type).body(bytes);
        }
        if let Some(rev) = if_match {
            req = req.header("If-Match", format!("\"{rev}\""));
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("{what}: {}", unreachable("CouchDB", &self.base)))?;
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("Content-Type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp
            .bytes()
            .await
            .with_context(|| format!("{what}: reading the body"))?
            .to_vec();
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }

    async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
        ok: &[StatusCode],
    ) -> anyhow::Result<Answer> {
        let shown = format!("{method} {path}");
        let a = self.call(method, path, body).await?;
        if !ok.contains(&a.status) {
            bail!(
                "CouchDB at {}: {shown} answered {}: {}",
                self.base,
                a.status,
                a.text()
            );
        }
        Ok(a)
    }

    /// Creates database `db`.
    pub async fn create_db(&self, db: &str) -> anyhow::Result<()> {
        let path = format!("/{}", encode_segment(db));
        self.expect(
            Method::PUT,
            &path,
            None,
            &[StatusCode::CREATED, StatusCode::ACCEPTED],
        )
        .await
        .map(drop)
    }

    /// Deletes database `db` (one that does not exist is fine).
    pub async fn delete_db(&self, db: &str) -> anyhow::Result<()> {
        let path = format!("/{}", encode_segment(db));
        self.expect(
            Method::DELETE,
            &path,
            None,
            &[StatusCode::OK, StatusCode::ACCEPTED, StatusCode::NOT_FOUND],
        )
        .await
        .map(drop)
    }

    /// Whether database `db` exists.
    pub async fn db_exists(&self, db: &str) -> anyhow::Result<bool> {
        let path = format!("/{}", encode_segment(db));
        let a = self
            .expect(
                Method::GET,
                &path,
                None,
                &[StatusCode::OK, StatusCode::NOT_FOUND],
            )
            .await?;
        Ok(a.status == StatusCode::OK)
    }

    /// `PUT /<db>/<id>` with a JSON body given as bytes; returns the new revision.
    pub async fn put_doc_bytes(&self, db: &str, id: &str, json: Vec<u8>) -> anyhow::Result<String> {
        let path = doc_path(db, id);
        let a = self
            .expect(
                Method::PUT,
                &path,
                Some(("application/json", json)),
                &[StatusCode::CREATED, StatusCode::ACCEPTED],
            )
            .await?;
        rev_of(&a).with_context(|| format!("CouchDB: PUT {path}"))
    }

    /// `PUT /<db>/<id>` with `doc`; returns the new revision.
    pub async fn put_doc(&self, db: &str, id: &str, doc: &Value) -> anyhow::Result<String> {
        let bytes = serde_json::to_vec(doc).context("CouchDB: serializing a document")?;
        self.put_doc_bytes(db, id, bytes).await
    }

    /// The raw body of `GET /<db>/<id>`.
    pub async fn get_doc_bytes(&self, db: &str, id: &str) -> anyhow::Result<Vec<u8>> {
        let path = doc_path(db, id);
        Ok(self
            .expect(Method::GET, &path, None, &[StatusCode::OK])
            .await?
            .body)
    }

    /// `GET /<db>/<id>` as JSON.
    pub async fn get_doc(&self, db: &str, id: &str) -> anyhow::Result<Value> {
        let path = doc_path(db, id);
        self.expect(Method::GET, &path, None, &[StatusCode::OK])
            .await?
            .json()
            .with_context(|| format!("CouchDB: GET {path}"))
    }

    /// `GET /<db>/<id>` with `If-Match: "<rev>"`, as OpenWhisk reads a document at a revision. Returns
    /// the body as the server answered it; the caller compares its `_rev` with `rev` (pouchdb-server
    /// ignores `If-Match` on `GET` and answers the latest revision, so the check must be the caller's).
    pub async fn get_doc_if_match(&self, db: &str, id: &str, rev: &str) -> anyhow::Result<Value> {
        let path = doc_path(db, id);
        let a = self.call_with(Method::GET, &path, None, Some(rev)).await?;
        if a.status != StatusCode::OK {
            bail!(
                "CouchDB at {}: GET {path} (If-Match {rev}) answered {}: {}",
                self.base,
                a.status,
                a.text()
            );
        }
        a.json().with_context(|| format!("CouchDB: GET {path}"))
    }

    /// `PUT /<db>/<id>/<name>?rev=<rev>` with raw bytes; returns the document's new revision.
    pub async fn put_attachment(
        &self,
        db: &str,
        id: &str,
        rev: &str,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> anyhow::Result<String> {
        let path = format!(
            "{}/{}?rev={}",
            doc_path(db, id),
            encode_segment(name),
            encode_segment(rev)
        );
        let a = self
            .expect(
                Method::PUT,
                &path,
                Some((content_type, bytes)),
                &[StatusCode::CREATED, StatusCode::ACCEPTED],
            )
            .await?;
        rev_of(&a).with_context(|| format!("CouchDB: PUT {path}"))
    }

    /// `GET /<db>/<id>/<name>`: the attachment's content type and bytes.
    pub async fn get_attachment(
        &self,
        db: &str,
        id: &str,
        name: &str,
    ) -> anyhow::Result<(String, Vec<u8>)> {
        let path = format!("{}/{}", doc_path(db, id), encode_segment(name));
        let a = self
            .expect(Method::GET, &path, None, &[StatusCode::OK])
            .await?;
        Ok((a.content_type.unwrap_or_default(), a.body))
    }

    /// `POST /<db>/_bulk_docs {"docs": [...]}`, as the invoker writes activation records.
    pub async fn bulk_docs(&self, db: &str, docs: Vec<Value>) -> anyhow::Result<Vec<BulkResult>> {
        let path = format!("/{}/_bulk_docs", encode_segment(db));
        let n = docs.len();
        let body = serde_json::json!({ "docs": docs });
        let bytes = serde_json::to_vec(&body).context("CouchDB: serializing _bulk_docs")?;
        let a = self
            .expect(
                Method::POST,
                &path,
                Some(("application/json", bytes)),
                &[StatusCode::CREATED, StatusCode::ACCEPTED],
            )
            .await?;
        let what = || format!("CouchDB: POST {path} ({n} docs)");
        let Value::Array(items) = a.json().with_context(what)? else {
            return Err(anyhow!("the answer is not an array: {}", a.text())).with_context(what);
        };
        Ok(items
            .iter()
            .map(|r| {
                let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
                BulkResult {
                    id: s("id").unwrap_or_default(),
                    rev: s("rev").filter(|_| s("error").is_none()),
                    error: s("error").map(|e| format!("{e}: {}", s("reason").unwrap_or_default())),
                }
            })
            .collect())
    }

    /// Stores `action` in `db` under its `_id` (or `namespace/name`), encoded as OpenWhisk encodes
    /// it; returns the new revision.
    pub async fn seed_action(
        &self,
        db: &str,
        action: &WhiskActionDocument,
    ) -> anyhow::Result<String> {
        let id = action
            .id
            .clone()
            .unwrap_or_else(|| format!("{}/{}", action.namespace, action.name));
        self.put_doc_bytes(db, &id, action.encode().into_bytes())
            .await
            .with_context(|| format!("CouchDB: seed action {id} in {db}"))
    }

    /// Creates a database unique to one test; it is deleted by [`TestDb::delete`] or when dropped.
    pub async fn test_db(&self, tag: &str) -> anyhow::Result<TestDb> {
        let name = unique::database_name(tag);
        self.create_db(&name).await?;
        Ok(TestDb {
            couch: self.clone(),
            name,
            deleted: false,
        })
    }
}

fn doc_path(db: &str, id: &str) -> String {
    format!("/{}/{}", encode_segment(db), encode_segment(id))
}

fn rev_of(a: &Answer) -> anyhow::Result<String> {
    a.json()?
        .get("rev")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no rev in the answer: {}", a.text()))
}

/// A database that belongs to one test. Dropping it without [`TestDb::delete`] deletes it anyway
/// (on a side thread), so a failing test leaks nothing.
#[derive(Debug)]
pub struct TestDb {
    couch: CouchDb,
    name: String,
    deleted: bool,
}

impl TestDb {
    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The client.
    pub fn couch(&self) -> &CouchDb {
        &self.couch
    }

    /// Deletes the database.
    pub async fn delete(mut self) -> anyhow::Result<()> {
        self.deleted = true;
        self.couch.delete_db(&self.name).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.deleted {
            return;
        }
        let (base, user, password, name) = (
            self.couch.base.clone(),
            self.couch.user.clone(),
            self.couch.password.clone(),
            self.name.clone(),
        );
        let done = block_on_side(Duration::from_secs(10), move || async move {
            CouchDb::new(&base, &user, &password)?
                .delete_db(&name)
                .await
        });
        if !matches!(done, Some(Ok(()))) {
            eprintln!(
                "warning: could not delete the test database {}: {done:?}",
                self.name
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_encoded_as_one_segment() {
        assert_eq!(encode_segment("guest/hello"), "guest%2Fhello");
        assert_eq!(encode_segment("whisk.system/a b"), "whisk.system%2Fa%20b");
        assert_eq!(encode_segment("1-abc"), "1-abc");
    }
}
