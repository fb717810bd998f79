//! `/subscriptions`: register a webhook receiver (`POST`, 201 with its id; the
//! secret is never shown again), list them with how their deliveries stand,
//! remove one. Delivery is `crate::subscribers`; this is decode → encode.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcp_prompts_engine::ports::{SubscribeError, Subscriber, SubscriberStatus, Subscriptions};
use mcp_prompts_engine::session::CatalogFilter;
use serde::{Deserialize, Serialize};

use super::problem::{Problem, ProblemBody};
use super::responses::{Forbidden, StoreUnavailable, TooLarge, Unavailable, WrongMediaType};
use super::{RestEdge, body};
use crate::auth::Caller;

/// A webhook receiver to register.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Register {
    /// `http(s)` URL; internal addresses are refused unless the server allows them.
    url: String,
    /// 16 to 256 bytes; signs every delivery (`X-Mcp-Prompts-Signature`); not shown again.
    secret: String,
    /// Only changes of this category.
    category: Option<String>,
    /// Only changes with this tag.
    tag: Option<String>,
}

/// Every subscriber and how its deliveries stand.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SubscriberList {
    subscriptions: Vec<SubscriberStatus>,
}

/// The path parameter of `/subscriptions/{id}`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path, names("id"))]
#[allow(dead_code)]
pub struct SubscriberPath(
    /// The subscriber id.
    String,
);

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

#[utoipa::path(
    post, path = "/subscriptions", operation_id = "registerSubscriber", tag = "subscriptions",
    summary = "Register a webhook receiver for catalog changes",
    description = "Every committed change the filter matches is POSTed as the catalog event JSON \
        with `X-Mcp-Prompts-Signature: sha256=<hex HMAC-SHA256 of the body>` and \
        `X-Mcp-Prompts-Delivery` (the same on every retry), at least once, in order.",
    request_body = Register,
    responses(
        (status = 201, description = "Registered (the secret is not shown back)", body = Subscriber,
            headers(("Location" = String, description = "`/subscriptions/{id}`"))),
        (status = 400, description = "A field is wrong (named in `field`)",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, response = Forbidden),
        (status = 409, description = "100 subscribers are registered, the limit",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongMediaType),
        (status = 501, response = Unavailable),
        (status = 503, response = StoreUnavailable),
    )
)]
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
    let location = format!("/subscriptions/{}", s.id);
    let mut response = (StatusCode::CREATED, Json(s)).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

#[utoipa::path(
    get, path = "/subscriptions", operation_id = "listSubscribers", tag = "subscriptions",
    summary = "Every webhook subscriber and how its deliveries stand",
    description = "A caller with the reader role sees each URL with its query string, fragment \
        and `user@` replaced by `redacted` (they may carry tokens); editors and admins see it whole.",
    responses(
        (status = 200, description = "The subscribers", body = SubscriberList),
        (status = 501, response = Unavailable),
        (status = 503, response = StoreUnavailable),
    )
)]
pub async fn list(
    State(rest): State<Arc<RestEdge>>,
    caller: Option<axum::Extension<Caller>>,
) -> Result<Response, Problem> {
    let caller = Caller::principal(caller);
    let subscriptions = subscriptions(&rest)?
        .list()
        .await
        .map_err(problem_of)?
        .into_iter()
        .map(|s| s.seen_by(caller.as_ref()))
        .collect();
    Ok(Json(SubscriberList { subscriptions }).into_response())
}

#[utoipa::path(
    get, path = "/subscriptions/{id}", operation_id = "getSubscriber", tag = "subscriptions",
    summary = "One subscriber: its deliveries' position, failed attempts, last error",
    description = "The URL is redacted for the reader role, as in the list.",
    params(SubscriberPath),
    responses(
        (status = 200, description = "The subscriber", body = SubscriberStatus),
        (status = 404, description = "No such subscriber",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 501, response = Unavailable),
        (status = 503, response = StoreUnavailable),
    )
)]
pub async fn get(
    State(rest): State<Arc<RestEdge>>,
    caller: Option<axum::Extension<Caller>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let caller = Caller::principal(caller);
    let all = subscriptions(&rest)?.list().await.map_err(problem_of)?;
    let one = all
        .into_iter()
        .find(|s| s.subscriber.id == id)
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(one.seen_by(caller.as_ref())).into_response())
}

#[utoipa::path(
    delete, path = "/subscriptions/{id}", operation_id = "removeSubscriber", tag = "subscriptions",
    summary = "Remove a subscriber: its deliveries stop",
    params(SubscriberPath),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, response = Forbidden),
        (status = 404, description = "No such subscriber",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 501, response = Unavailable),
        (status = 503, response = StoreUnavailable),
    )
)]
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
