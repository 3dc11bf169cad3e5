//! `/api/v1/namespaces/{ns}/activations[/{id}[/result|/logs]]`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use ow_compat::json::Value;
use ow_compat::records::WhiskActivation;

use super::actions::paging;
use super::views::{activation_summary, activation_view, response_view};
use super::{ApiError, ApiState, flag, resolve_namespace};
use crate::standalone::data::ActivationFilter;

pub async fn list(
    State(state): State<ApiState>,
    Path(namespace): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let namespace = resolve_namespace(&state, &namespace)?;
    let (skip, limit) = paging(&params)?;
    let filter = ActivationFilter {
        // The stock name filter may carry a package (`pkg/action`); records hold the action name.
        name: params
            .get("name")
            .map(|n| n.rsplit('/').next().unwrap_or(n).to_owned()),
        skip,
        limit,
    };
    let docs = state
        .store
        .blocking(move |s| s.list_activations(&namespace, &filter))
        .await?;
    let full = flag(params.get("docs"));
    let view = |a: &WhiskActivation| {
        if full {
            activation_view(a)
        } else {
            activation_summary(a)
        }
    };
    Ok(Json(Value::Array(
        docs.iter().map(|d| view(&d.activation)).collect(),
    )))
}

async fn record(state: &ApiState, namespace: &str, id: &str) -> Result<WhiskActivation, ApiError> {
    let namespace = resolve_namespace(state, namespace)?;
    let id = ow_compat::values::ActivationId::parse(id)
        .map_err(|_| ApiError::not_found())?
        .as_str()
        .to_owned();
    let doc = state
        .store
        .blocking(move |s| s.activation(&namespace, &id))
        .await?;
    Ok(doc.activation)
}

pub async fn get_one(
    State(state): State<ApiState>,
    Path((namespace, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(activation_view(
        &record(&state, &namespace, &id).await?,
    )))
}

pub async fn result(
    State(state): State<ApiState>,
    Path((namespace, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let a = record(&state, &namespace, &id).await?;
    Ok(Json(response_view(&a.response)))
}

pub async fn logs(
    State(state): State<ApiState>,
    Path((namespace, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let a = record(&state, &namespace, &id).await?;
    Ok(Json(serde_json::json!({ "logs": a.logs })))
}
