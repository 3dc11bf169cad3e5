//! The action container protocol (spec 10.2, 10.3): `POST /init` and `POST /run` to `<ip>:8080`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use ow_compat::Codec;
use ow_compat::records::{InitRequest, RunRequest};
use serde_json::Value;

/// The port the action proxy listens on inside the container.
pub const PROXY_PORT: u16 = 8080;
/// The line a managed runtime writes to stdout and stderr after each activation.
pub const SENTINEL: &str = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";

/// An HTTP answer of the action proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyAnswer {
    /// Status code.
    pub status: u16,
    /// Body text.
    pub body: String,
}

impl ProxyAnswer {
    /// The body as JSON.
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_str(&self.body)
            .with_context(|| format!("action proxy: body is not JSON: {}", self.body))
    }
}

/// A client of one container's action proxy. Connections are not reused, as the invoker does not.
#[derive(Debug, Clone)]
pub struct ActionProxy {
    http: reqwest::Client,
    base: String,
}

impl ActionProxy {
    /// The proxy at `<ip>:8080`.
    pub fn new(ip: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(30))
            .build()
            .context("action proxy: building the HTTP client")?;
        Ok(Self {
            http,
            base: format!("http://{ip}:{PROXY_PORT}"),
        })
    }

    /// `http://<ip>:8080`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST /init`; connection failures are retried every 50 ms for up to `timeout` (the proxy may
    /// still be starting), as the invoker retries `/init`.
    pub async fn init(&self, req: &InitRequest, timeout: Duration) -> anyhow::Result<ProxyAnswer> {
        let body = req.encode();
        let deadline = Instant::now() + timeout;
        loop {
            match self.post("/init", body.clone()).await {
                Err(e) if e.is_connect() && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => {
                    return other.with_context(|| {
                        format!(
                            "action proxy: POST {}/init (retried connections for {timeout:?})",
                            self.base
                        )
                    });
                }
            }
        }
    }

    /// `POST /run` (not retried).
    pub async fn run(&self, req: &RunRequest) -> anyhow::Result<ProxyAnswer> {
        self.post("/run", req.encode())
            .await
            .with_context(|| format!("action proxy: POST {}/run", self.base))
    }

    async fn post(&self, path: &str, body: String) -> Result<ProxyAnswer, reqwest::Error> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let body = resp.text().await?;
        Ok(ProxyAnswer { status, body })
    }
}

/// An `/init` body for inline (not binary) code with entry point `main`.
pub fn init_request(action_name: &str, code: &str) -> InitRequest {
    InitRequest {
        name: action_name.to_owned(),
        binary: false,
        main: "main".to_owned(),
        code: Some(code.to_owned()),
        env: InitRequest::env_in_scala_order(Vec::new()),
    }
}

/// A `/run` body for `/<namespace>/<name>` with arguments `value`, a deadline a minute from now.
pub fn run_request(namespace: &str, name: &str, activation_id: &str, value: Value) -> RunRequest {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    RunRequest {
        value,
        action_name: format!("/{namespace}/{name}"),
        action_version: Some("0.0.1".to_owned()),
        activation_id: activation_id.to_owned(),
        api_key: None,
        deadline: (now_ms + 60_000).to_string(),
        namespace: namespace.to_owned(),
        transaction_id: "sometransactionid".to_owned(),
    }
}
