//! A standalone started in this process on a free port with a temporary data directory, and a
//! small REST client for it.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use ow_scheduler::standalone::{self, GUEST_KEY, Options, RuntimeChoice, Standalone};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const HELLO: &str = "def main(args):\n    print('hello from ' + args.get('name', 'stranger'))\n    return {'greeting': 'Hello ' + args.get('name', 'stranger')}\n";

/// A cluster name no other standalone of this run uses (containers are labelled with it).
pub fn cluster(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("sa_{tag}_{}_{nanos}", std::process::id())
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,ow_scheduler::standalone=info".into()),
        )
        .with_test_writer()
        .try_init();
}

pub fn options(dir: &Path, tag: &str, runtime: RuntimeChoice) -> Options {
    Options {
        data_dir: dir.to_path_buf(),
        port: 0,
        runtime,
        cluster_name: cluster(tag),
        ..Options::default()
    }
}

/// Removes one standalone's Docker containers when dropped: a test that panics never reaches
/// `stop`, and its containers would otherwise hold memory and CPU under the next tests.
pub struct Sweep(String);

impl Sweep {
    pub fn new(options: &Options) -> Self {
        Self(options.cluster_name.to_lowercase())
    }
}

impl Drop for Sweep {
    fn drop(&mut self) {
        let filter = format!("label=ow.invoker-agent.cluster={}", self.0);
        let Ok(listed) = std::process::Command::new("docker")
            .args(["ps", "-aq", "--filter", &filter])
            .output()
        else {
            return;
        };
        let ids = String::from_utf8_lossy(&listed.stdout);
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            eprintln!("removing {} containers left by {}", ids.len(), self.0);
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f"])
                .args(&ids)
                .output();
        }
    }
}

pub async fn start(options: Options) -> Standalone {
    init_tracing();
    standalone::start(options)
        .await
        .unwrap_or_else(|e| panic!("standalone does not start: {e}"))
}

/// The REST API of one standalone.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(standalone: &Standalone) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("http client"),
            base: format!("http://{}/api/v1", standalone.api),
        }
    }

    /// A request with the guest key; the status and the JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (user, pass) = GUEST_KEY.split_once(':').expect("key");
        let request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(user, Some(pass));
        self.send(request, body).await
    }

    /// A request with whatever credentials `auth` gives (none for `None`).
    pub async fn call_as(&self, auth: Option<(&str, &str)>, path: &str) -> (StatusCode, Value) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some((u, p)) = auth {
            request = request.basic_auth(u, Some(p));
        }
        self.send(request, None).await
    }

    pub async fn raw(&self, method: Method, path: &str, body: &'static str) -> (StatusCode, Value) {
        let (user, pass) = GUEST_KEY.split_once(':').expect("key");
        let request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(user, Some(pass))
            .header("content-type", "application/json")
            .body(body);
        self.send(request, None).await
    }

    async fn send(
        &self,
        mut request: reqwest::RequestBuilder,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        if let Some(b) = body {
            request = request.json(&b);
        }
        let resp = request.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        (status, json)
    }

    pub async fn put_action(&self, name: &str, code: &str) -> Value {
        let body =
            json!({"exec": {"kind": "python:default", "code": code}, "limits": {"memory": 128}});
        let (status, v) = self
            .call(
                Method::PUT,
                &format!("/namespaces/_/actions/{name}"),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "create {name}: {v}");
        v
    }

    /// The stored record of `id`, waiting for it to be written (a bounded wait, not a timing
    /// assertion).
    pub async fn record(&self, id: &str) -> Value {
        for _ in 0..1200 {
            let (status, v) = self
                .call(
                    Method::GET,
                    &format!("/namespaces/_/activations/{id}"),
                    None,
                )
                .await;
            if status == StatusCode::OK {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("activation {id} never stored")
    }
}
