//! The stock invoker's admin routes (spec 8.2): `/ping` and `/metrics` without auth;
//! `POST /enable`, `POST /disable`, `GET /isEnabled`, `GET /pool/count` and `GET /pool` behind basic auth
//! (`whisk.invoker.username` / `password`). Bodies are text, as the stock server produces them.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use ow_compat::admin;

use crate::agent::{self, Deps, Handle};

/// The admin router over the running agent.
pub fn router<D: Deps>(agent: Handle<D>) -> Router {
    let authed = Router::new()
        .route("/enable", post(enable::<D>))
        .route("/disable", post(disable::<D>))
        .route("/isEnabled", get(is_enabled::<D>))
        .route("/pool/count", get(pool_count::<D>))
        .route("/pool", get(pool_state::<D>))
        .route_layer(middleware::from_fn_with_state(
            agent.clone(),
            basic_auth::<D>,
        ));
    Router::new()
        .route("/ping", get(|| async { text("pong".into()) }))
        .route("/metrics", get(metrics::<D>))
        .merge(authed)
        .with_state(agent)
}

fn text(body: String) -> Response {
    let content_type = HeaderValue::from_static("text/plain; charset=UTF-8");
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn basic_auth<D: Deps>(
    State(agent): State<Handle<D>>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let config = &agent.config;
    if admin::credentials_match(
        authorization,
        &config.admin_username,
        &config.admin_password,
    ) {
        return next.run(request).await;
    }
    let body = admin::unauthorized_body(&crate::ids::random_id());
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

async fn enable<D: Deps>(State(agent): State<Handle<D>>) -> Response {
    agent::enable(&agent);
    text(format!("{} is now enabled.", agent.config.invoker_name()))
}

async fn disable<D: Deps>(State(agent): State<Handle<D>>) -> Response {
    agent::disable(&agent);
    text(format!("{} is now disabled.", agent.config.invoker_name()))
}

async fn is_enabled<D: Deps>(State(agent): State<Handle<D>>) -> Response {
    text(format!("{{\"enabled\":{}}}", agent.is_enabled()))
}

async fn pool_count<D: Deps>(State(agent): State<Handle<D>>) -> Response {
    let c = agent.pool(|p| p.counts());
    text((c.busy + c.paused + c.in_progress).to_string())
}

async fn pool_state<D: Deps>(State(agent): State<Handle<D>>) -> Response {
    text(agent.pool(|p| crate::pool_state::render(p)))
}

async fn metrics<D: Deps>(State(agent): State<Handle<D>>) -> Response {
    let (counts, memory) = agent.pool(|p| (p.counts(), p.memory()));
    let body = agent.metrics.render(counts, memory);
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}
