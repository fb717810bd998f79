//! The problem responses that several operations share, written once as
//! reusable OpenAPI responses (`#/components/responses/…`, registered by
//! `openapi::ApiDoc`); the ones whose meaning differs per operation (400,
//! 404, 409, 412) stay with their handler.

use super::problem::ProblemBody;

/// No valid credential (under `--auth required`): the guard's JSON-RPC
/// error, shared with `/mcp` and `/ws`
#[derive(utoipa::ToResponse)]
#[response(headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"mcp-prompts\"`")))]
#[allow(dead_code)]
pub struct Unauthorized(GuardRefusal);

/// The credential guard's refusal: a JSON-RPC error with no id.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct GuardRefusal {
    #[schema(pattern = "^2\\.0$")]
    jsonrpc: String,
    /// Always null: the refusal answers no request of its own.
    id: Option<u64>,
    error: GuardError,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct GuardError {
    /// -32001 (unauthorized).
    code: i64,
    message: String,
}

/// The caller's role may not change the catalog (it needs the editor role)
#[derive(utoipa::ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct Forbidden(ProblemBody);

/// The body is over the server's limit
#[derive(utoipa::ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct TooLarge(ProblemBody);

/// The body is not `application/json`
#[derive(utoipa::ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct WrongMediaType(ProblemBody);

/// The store cannot be reached
#[derive(utoipa::ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct StoreUnavailable(ProblemBody);

/// The deployment does not run this (bulk jobs and webhook subscribers run in
/// `serve`, not on AWS yet)
#[derive(utoipa::ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct Unavailable(ProblemBody);
