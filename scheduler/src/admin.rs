//! The stock scheduler's admin routes (`/ping`, `/state`, `/disable`, `/queues`,
//! `/queues/count`, `/activation/count`) with basic auth, and `/metrics` in Prometheus text.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ow_compat::admin;
use ow_compat::coordination::Coordinator;
use ow_compat::json::{Sorted, Value, compact};

use crate::engine::{self, Engine};
use ow_compat::bus::MessageBus;
use ow_compat::store::Store;

/// The admin router over the running scheduler.
pub fn router<B: MessageBus, C: Coordinator, S: Store>(engine: Engine<B, C, S>) -> Router {
    let authed = Router::new()
        .route("/state", get(state::<B, C, S>))
        .route("/disable", post(disable::<B, C, S>))
        .route("/queues", get(queues::<B, C, S>))
        .route("/queues/", get(queues::<B, C, S>))
        .route("/queues/count", get(queue_count::<B, C, S>))
        .route("/activation/count", get(activation_count::<B, C, S>))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&engine),
            basic_auth::<B, C, S>,
        ));
    Router::new()
        .route("/ping", get(|| async { "pong" }))
        .route("/metrics", get(metrics::<B, C, S>))
        .merge(authed)
        .with_state(engine)
}

fn json(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

async fn basic_auth<B: MessageBus, C: Coordinator, S: Store>(
    State(engine): State<Engine<B, C, S>>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let config = &engine.config;
    if admin::credentials_match(
        authorization,
        &config.admin_username,
        &config.admin_password,
    ) {
        return next.run(request).await;
    }
    let body = admin::unauthorized_body(&crate::engine::new_transaction_id());
    let mut resp = (StatusCode::UNAUTHORIZED, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(admin::REALM),
    );
    resp
}

async fn state<B: MessageBus, C: Coordinator, S: Store>(
    State(engine): State<Engine<B, C, S>>,
) -> Response {
    let queues = engine.registry.all().len();
    // Stock builds this from two one-entry Scala maps: insertion order `queue`, `creationCount`.
    let mut m = ow_compat::json::Map::new();
    m.insert("queue".into(), Value::String(queues.to_string()));
    m.insert(
        "creationCount".into(),
        Value::String(engine.jobs_in_flight().to_string()),
    );
    json(compact(&Value::Object(m)))
}

async fn disable<B: MessageBus, C: Coordinator, S: Store>(
    State(engine): State<Engine<B, C, S>>,
) -> &'static str {
    engine::drain(&engine).await;
    "scheduler disabled"
}

async fn queues<B: MessageBus, C: Coordinator, S: Store>(
    State(engine): State<Engine<B, C, S>>,
) -> Response {
    let items = engine.registry.all().into_iter().map(|cell| {
        let (status, waiting) = cell
            .queue
            .lock()
            .map(|q| {
                (
                    format!("{:?}", q.state()),
                    q.waiting().map(|m| m.activation_id.to_string()).collect(),
                )
            })
            .unwrap_or_else(|_| ("Removed".into(), Vec::new()));
        Sorted::new()
            .field("data", Value::String("RunningData".into()))
            .field("fqn", Value::String(cell.fqn.to_string()))
            .field(
                "invocationNamespace",
                Value::String(cell.key.invocation_namespace.clone()),
            )
            .field("status", Value::String(status))
            .field(
                "waitingActivation",
                Value::Array(waiting.into_iter().map(Value::String).collect()),
            )
            .build()
    });
    json(compact(&Value::Array(items.collect())))
}

async fn queue_count<B: MessageBus, C: Coordinator, S: Store>(
    State(engine): State<Engine<B, C, S>>,
) -> Response {
    json(engine.registry.all().len().to_string())
}

async fn activation_count<B: MessageBus, C: Coordinator, S: Store>(
    State(engine): State<Engine<B, C, S>>,
) -> Response {
    json(engine.waiting().to_string())
}

async fn metrics<B: MessageBus, C: Coordinator, S: Store>(
    State(engine): State<Engine<B, C, S>>,
) -> Response {
    let body = engine
        .metrics
        .render(engine.registry.all().len(), engine.waiting());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        body,
    )
        .into_response()
}
