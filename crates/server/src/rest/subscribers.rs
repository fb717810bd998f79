//! `/subscriptions`: register a webhook receiver (`POST`, 201 with its id; the
//! secret is never shown again), list them with how their deliveries stand,
//! remove one. Delivery is `crate::subscribers`; this is decode → encode.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcp_prompts_engine::ports::{SubscribeError, Subscriptions};
use mcp_prompts_engine::session::CatalogFilter;
use serde::Deserialize;
use serde_json::json;

use super::problem::Problem;
use super::{RestEdge, body};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Register {
    url: String,
    secret: String,
    category: Option<String>,
    tag: Option<String>,
}

fn subscriptions(rest: &RestEdge) -> Result<&dyn Subscriptions, Problem> {
    rest.host
        .engine
        .subscriptions()
        .map(|s| s.as_ref())
        .ok_or_else(|| {
            Problem::new(
                StatusCode::NOT_IMPLEMENTED,
                "subscriptions-unavailable",
                "webhook subscribers are not available on this deployment",
            )
        })
}

pub fn problem_of(e: SubscribeError) -> Problem {
    match e {
        SubscribeError::Invalid(field, why) => Problem::bad_field(field, why),
        SubscribeError::Full(_) => {
            Problem::new(StatusCode::CONFLICT, "too-many-subscribers", e.to_string())
        }
        SubscribeError::Store(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store-unavailable",
            e.to_string(),
        ),
    }
}

pub async fn register(
    State(rest): State<Arc<RestEdge>>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response, Problem> {
    let subs = subscriptions(&rest)?;
    let r: Register = body::json(&headers, raw, rest.max_body).await?;
    let filter = CatalogFilter {
        category: r.category,
        tag: r.tag,
    };
    let s = subs
        .register(&r.url, &r.secret, filter)
        .await
        .map_err(problem_of)?;
    let mut response = (StatusCode::CREATED, Json(json!(s))).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/subscriptions/{}", s.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

pub async fn list(State(rest): State<Arc<RestEdge>>) -> Result<Response, Problem> {
    let all = subscriptions(&rest)?.list().await.map_err(problem_of)?;
    Ok(Json(json!({ "subscriptions": all })).into_response())
}

pub async fn get(
    State(rest): State<Arc<RestEdge>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let all = subscriptions(&rest)?.list().await.map_err(problem_of)?;
    let one = all
        .into_iter()
        .find(|s| s.subscriber.id == id)
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(json!(one)).into_response())
}

pub async fn remove(
    State(rest): State<Arc<RestEdge>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    if subscriptions(&rest)?
        .remove(&id)
        .await
        .map_err(problem_of)?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found(&id))
    }
}

fn not_found(id: &str) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        format!("no subscriber '{id}'"),
    )
}
