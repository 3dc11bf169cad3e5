//! HTTP to the action proxy inside a container: `POST /init` (connection refusals retried every
//! 50 ms until the time limit, while the proxy starts) and `POST /run`, each bounded by the
//! action's time limit, answers read up to the payload limit.

use std::time::{Duration, Instant};

use crate::outcome::HttpOutcome;

/// How often `/init` retries a refused connection (stock: 50 ms).
const INIT_RETRY: Duration = Duration::from_millis(50);

/// An exchange and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub outcome: HttpOutcome,
    pub elapsed: Duration,
}

/// A client for action containers. Connections are not reused, as stock, so a paused and
/// resumed container never meets a stale connection.
#[derive(Debug, Clone)]
pub struct ActionClient {
    http: reqwest::Client,
}

impl ActionClient {
    /// A client without a connection pool.
    pub fn new() -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .connect_timeout(Duration::from_secs(2))
            .build()?;
        Ok(Self { http })
    }

    /// `POST http://<address>/init`, retrying refused connections until `timeout`.
    pub async fn init(
        &self,
        address: &str,
        body: String,
        timeout: Duration,
        max_bytes: u64,
    ) -> Exchange {
        let started = Instant::now();
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            let outcome = self
                .post(address, "init", body.clone(), left, max_bytes)
                .await;
            if outcome == HttpOutcome::Refused && started.elapsed() + INIT_RETRY < timeout {
                tokio::time::sleep(INIT_RETRY).await;
                continue;
            }
            return Exchange {
                outcome,
                elapsed: started.elapsed(),
            };
        }
    }

    /// `POST http://<address>/run` within `timeout`.
    pub async fn run(
        &self,
        address: &str,
        body: String,
        timeout: Duration,
        max_bytes: u64,
    ) -> Exchange {
        let started = Instant::now();
        let outcome = self.post(address, "run", body, timeout, max_bytes).await;
        Exchange {
            outcome,
            elapsed: started.elapsed(),
        }
    }

    async fn post(
        &self,
        address: &str,
        path: &str,
        body: String,
        timeout: Duration,
        max_bytes: u64,
    ) -> HttpOutcome {
        let exchange = async {
            let resp = self
                .http
                .post(format!("http://{address}/{path}"))
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| classify(&e))?;
            read_limited(resp, max_bytes).await
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(outcome) | Err(outcome)) => outcome,
            Err(_) => HttpOutcome::TimedOut,
        }
    }
}

fn classify(e: &reqwest::Error) -> HttpOutcome {
    if e.is_timeout() {
        HttpOutcome::TimedOut
    } else if e.is_connect() {
        HttpOutcome::Refused
    } else {
        HttpOutcome::Lost
    }
}

/// Reads the answer, keeping at most `max_bytes`; a longer one is marked truncated with its
/// full length.
async fn read_limited(
    mut resp: reqwest::Response,
    max_bytes: u64,
) -> Result<HttpOutcome, HttpOutcome> {
    let status = resp.status().as_u16();
    let limit = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    let mut kept: Vec<u8> = Vec::new();
    let mut total: u64 = 0;
    while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&e))? {
        total += chunk.len() as u64;
        let room = limit.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    let truncated = (total > max_bytes).then_some((total, max_bytes));
    Ok(HttpOutcome::Response {
        status,
        body: String::from_utf8_lossy(&kept).into_owned(),
        truncated,
    })
}
