//! `/api/v1/namespaces/{ns}/actions[/{name}]`: create/update, get, list, delete, invoke.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ow_compat::json::{Map, Value};
use ow_compat::messages::ActivationOrId;
use ow_compat::records::WhiskActivation;

use super::views::{activation_view, invoke_status, response_view};
use super::{ApiError, ApiState, flag, resolve_namespace};
use crate::standalone::action_doc::{
    ActionBodyError, action_from_body, action_summary, action_view,
};
use crate::standalone::controller::{Invocation, InvokeError};

type Params = Query<HashMap<String, String>>;

/// The stock page size of a list without `limit`, and its maximum.
const DEFAULT_LIMIT: usize = 30;
const MAX_LIMIT: usize = 200;

/// How long a record announced by an id-only ack may take to reach the store.
const RECORD_GRACE: Duration = Duration::from_secs(5);

/// The request body as JSON; an empty body is `{}`.
pub fn json_body(body: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(e.status(), "The request content was too large.")
        } else {
            ApiError::malformed(e.body_text())
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(&bytes).map_err(ApiError::malformed)
}

/// `skip` and `limit` query parameters (400 when they are not numbers).
pub fn paging(params: &HashMap<String, String>) -> Result<(usize, usize), ApiError> {
    let number = |key: &str, default: usize| -> Result<usize, ApiError> {
        params.get(key).map_or(Ok(default), |v| {
            v.parse().map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("The query parameter '{key}' is not a non-negative number: {v}"),
                )
            })
        })
    };
    let limit = match number("limit", DEFAULT_LIMIT)? {
        0 => MAX_LIMIT,
        n => n.min(MAX_LIMIT),
    };
    Ok((number("skip", 0)?, limit))
}

fn doc_id(namespace: &str, name: &str) -> Result<String, ApiError> {
    ow_compat::values::EntityName::parse(name).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("The name of the entity is invalid: {e}"),
        )
    })?;
    Ok(format!("{namespace}/{name}"))
}

pub async fn list(
    State(state): State<ApiState>,
    Path(namespace): Path<String>,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    let namespace = resolve_namespace(&state, &namespace)?;
    let (skip, limit) = paging(&params)?;
    let docs = state
        .store
        .blocking(move |s| s.list_actions(&namespace, skip, limit))
        .await?;
    Ok(Json(Value::Array(
        docs.iter().map(action_summary).collect(),
    )))
}

pub async fn get_one(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    let id = doc_id(&resolve_namespace(&state, &namespace)?, &name)?;
    let doc = state.store.blocking(move |s| s.action(&id, None)).await?;
    let with_code = params.get("code").is_none_or(|v| v != "false");
    Ok(Json(action_view(&doc, with_code)))
}

pub async fn put(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(params): Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let namespace = resolve_namespace(&state, &namespace)?;
    let id = doc_id(&namespace, &name)?;
    let body = json_body(body)?;
    let overwrite = flag(params.get("overwrite"));
    let now = ow_compat::ids::epoch_millis();
    let stored = state
        .store
        .blocking(move |s| {
            Ok(s.put_action(&id, overwrite, |current| {
                action_from_body(&namespace, &name, &body, current, now).map_err(body_error)
            }))
        })
        .await??;
    Ok(Json(action_view(&stored, true)))
}

fn body_error(e: ActionBodyError) -> ApiError {
    match e {
        ActionBodyError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
        e @ ActionBodyError::CodeTooLarge { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
        }
    }
}

pub async fn delete(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let id = doc_id(&resolve_namespace(&state, &namespace)?, &name)?;
    let doc = state.store.blocking(move |s| s.delete_action(&id)).await?;
    Ok(Json(action_view(&doc, false)))
}

pub async fn invoke(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(params): Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = doc_id(&resolve_namespace(&state, &namespace)?, &name)?;
    let payload = invoke_payload(&state, body)?;
    let action = state.store.blocking(move |s| s.action(&id, None)).await?;
    let blocking = flag(params.get("blocking"));
    let invocation = state
        .controller
        .invoke(&action, &payload, blocking)
        .await
        .map_err(|e| match e {
            InvokeError::Throttled { .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, e.to_string())
            }
            other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        })?;
    if !blocking {
        return Ok(accepted(&invocation));
    }
    let wait = blocking_wait(&state, &params);
    match wait_for_record(&state, invocation_parts(invocation), wait).await {
        Ok(record) => Ok(blocking_answer(&record, flag(params.get("result")))),
        Err(id) => Ok(accepted_id(&id)),
    }
}

fn invoke_payload(
    state: &ApiState,
    body: Result<Bytes, BytesRejection>,
) -> Result<Map<String, Value>, ApiError> {
    if let Ok(bytes) = &body
        && bytes.len() > state.max_payload_bytes
    {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The request content was too large ({} B), maximum is {} B.",
                bytes.len(),
                state.max_payload_bytes
            ),
        ));
    }
    match json_body(body)? {
        Value::Object(o) => Ok(o),
        _ => Err(ApiError::malformed("the payload must be a JSON object")),
    }
}

/// The stock `timeout` query parameter (milliseconds) shortens the wait, never lengthens it.
fn blocking_wait(state: &ApiState, params: &HashMap<String, String>) -> Duration {
    params
        .get("timeout")
        .and_then(|t| t.parse::<u64>().ok())
        .map_or(state.blocking_timeout, |ms| {
            Duration::from_millis(ms).min(state.blocking_timeout)
        })
}

fn invocation_parts(
    i: Invocation,
) -> (
    String,
    Option<tokio::sync::oneshot::Receiver<ActivationOrId>>,
) {
    (i.activation_id.as_str().to_owned(), i.done)
}

/// The record of a blocking invoke: from its ack, or from the store when the ack carries only
/// the id; `Err(id)` when it is not done in time.
async fn wait_for_record(
    state: &ApiState,
    (id, done): (
        String,
        Option<tokio::sync::oneshot::Receiver<ActivationOrId>>,
    ),
    wait: Duration,
) -> Result<WhiskActivation, String> {
    let Some(done) = done else { return Err(id) };
    match tokio::time::timeout(wait, done).await {
        Ok(Ok(ActivationOrId::Activation(record))) => Ok(*record),
        Ok(Ok(ActivationOrId::Id(_))) => stored_record(state, &id).await.ok_or(id),
        _ => Err(id),
    }
}

async fn stored_record(state: &ApiState, id: &str) -> Option<WhiskActivation> {
    let deadline = tokio::time::Instant::now() + RECORD_GRACE;
    loop {
        let (ns, aid) = (state.guest.namespace.clone(), id.to_owned());
        if let Ok(doc) = state.store.blocking(move |s| s.activation(&ns, &aid)).await {
            return Some(doc.activation);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn blocking_answer(record: &WhiskActivation, result_only: bool) -> Response {
    let status = StatusCode::from_u16(invoke_status(record.response.status_code))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = if result_only {
        response_view(&record.response)
            .get("result")
            .cloned()
            .unwrap_or(Value::Null)
    } else {
        activation_view(record)
    };
    (status, Json(body)).into_response()
}

fn accepted(invocation: &Invocation) -> Response {
    accepted_id(invocation.activation_id.as_str())
}

fn accepted_id(id: &str) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "activationId": id })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_reads_skip_and_limit() {
        let p = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>()
        };
        assert_eq!(paging(&p(&[])).ok(), Some((0, 30)));
        assert_eq!(
            paging(&p(&[("limit", "5"), ("skip", "2")])).ok(),
            Some((2, 5))
        );
        assert_eq!(paging(&p(&[("limit", "0")])).ok(), Some((0, 200)));
        assert!(paging(&p(&[("limit", "x")])).is_err());
    }

    #[test]
    fn empty_bodies_are_empty_objects_and_bad_json_is_400() {
        assert_eq!(
            json_body(Ok(Bytes::new())).ok(),
            Some(serde_json::json!({}))
        );
        let err = json_body(Ok(Bytes::from_static(b"{nope"))).expect_err("bad json");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
    }
}
