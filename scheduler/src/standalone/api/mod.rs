//! The part of OpenWhisk's controller REST API people use, on the standalone's embedded store
//! and controller: actions (create, update, get, list, delete, invoke), activations (get, list,
//! result, logs) and `/api/v1`. Basic auth with the guest key; errors in the stock
//! `{"error","code"}` shape.

mod actions;
mod activations;
pub mod views;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use ow_compat::bus::LocalBus;
use ow_compat::json::Value;

use super::controller::{Controller, Guest};
use super::data::{DataError, DataStore};

/// Largest request body (the stock limit on action code plus room for the JSON around it).
const MAX_BODY_BYTES: usize = 50 * 1024 * 1024;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub store: DataStore,
    pub controller: Controller<LocalBus>,
    pub guest: Guest,
    /// How long a blocking invoke waits before answering 202 (stock: 60 s).
    pub blocking_timeout: Duration,
    /// The stock payload limit of an invoke (1 MB).
    pub max_payload_bytes: usize,
}

/// An error answer: `{"error": message, "code": transaction id}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "The requested resource does not exist.",
        )
    }

    pub fn malformed(reason: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("The request content was malformed:\n{reason}"),
        )
    }
}

impl From<DataError> for ApiError {
    fn from(e: DataError) -> Self {
        match e {
            DataError::NotFound { .. } => Self::not_found(),
            DataError::Conflict { .. } => {
                Self::new(StatusCode::CONFLICT, "resource already exists")
            }
            other => {
                tracing::error!(error = %other, "store failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let txid = ow_compat::ids::random_hex32();
        let body = serde_json::json!({"error": self.message, "code": txid});
        (self.status, [("x-request-id", txid)], axum::Json(body)).into_response()
    }
}

/// The routes, under basic auth.
pub fn router(state: ApiState) -> Router {
    let namespaced = Router::new()
        .route("/actions", get(actions::list))
        .route(
            "/actions/{name}",
            get(actions::get_one)
                .put(actions::put)
                .delete(actions::delete)
                .post(actions::invoke),
        )
        .route("/activations", get(activations::list))
        .route("/activations/{id}", get(activations::get_one))
        .route("/activations/{id}/result", get(activations::result))
        .route("/activations/{id}/logs", get(activations::logs));
    let authed = Router::new()
        .nest("/api/v1/namespaces/{namespace}", namespaced)
        .route("/api/v1/namespaces", get(namespaces))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/api/v1", get(info))
        .route("/api/v1/", get(info))
        .merge(authed)
        .fallback(|| async { ApiError::not_found() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Refuses requests without the guest key (401).
async fn authenticate(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    match basic_credentials(request.headers()) {
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "The resource requires authentication, which was not supplied with the request",
        )
        .into_response(),
        Some(key) if key != state.guest.api_key => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "The supplied authentication is invalid",
        )
        .into_response(),
        Some(_) => next.run(request).await,
    }
}

/// `uuid:secret` from an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The namespace a path names: the guest's own (`_` is an alias), else 403.
pub fn resolve_namespace(state: &ApiState, given: &str) -> Result<String, ApiError> {
    if given == "_" || given == state.guest.namespace {
        Ok(state.guest.namespace.clone())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("The supplied authentication is not authorized to access '{given}'."),
        ))
    }
}

async fn namespaces(State(state): State<ApiState>) -> axum::Json<Value> {
    axum::Json(serde_json::json!([state.guest.namespace]))
}

async fn info() -> axum::Json<Value> {
    axum::Json(serde_json::json!({
        "api_paths": ["/api/v1"],
        "description": "OpenWhisk API (ow-scheduler standalone)",
        "runtimes": runtimes(),
        "limits": {
            "actions_per_minute": 0,
            "concurrent_actions": 0,
            "max_action_duration": 300_000,
            "max_action_memory": 512 * 1024 * 1024,
            "max_action_logs": 10 * 1024 * 1024,
            "min_action_duration": 100,
            "min_action_memory": 128 * 1024 * 1024,
            "min_action_logs": 0,
        },
    }))
}

/// The kinds of the installed manifest, by family, as `/api/v1` lists them.
fn runtimes() -> Value {
    let m = ow_compat::runtimes::manifest();
    let mut families = serde_json::Map::new();
    for kind in m.kinds() {
        let family = kind.kind.split(':').next().unwrap_or(&kind.kind).to_owned();
        let entry = families
            .entry(family)
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = entry {
            items.push(serde_json::json!({"kind": kind.kind, "default": kind.default}));
        }
    }
    Value::Object(families)
}

/// A query flag as the stock controller reads it (`true`, anything else false).
pub fn flag(value: Option<&String>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_decode() {
        let mut h = HeaderMap::new();
        assert_eq!(basic_credentials(&h), None);
        h.insert(
            header::AUTHORIZATION,
            "Basic dXNlcjpwYXNz".parse().expect("header"),
        );
        assert_eq!(basic_credentials(&h).as_deref(), Some("user:pass"));
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().expect("header"));
        assert_eq!(basic_credentials(&h), None);
    }

    #[test]
    fn flags_are_true_only_when_they_say_so() {
        assert!(flag(Some(&"true".to_owned())));
        assert!(flag(Some(&"TRUE".to_owned())));
        assert!(!flag(Some(&"1".to_owned())));
        assert!(!flag(None));
    }
}
