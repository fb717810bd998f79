//! The problem responses that several operations share, written once as
//! reusable OpenAPI responses (`#/components/responses/…`, registered by
//! `openapi::ApiDoc`); the ones whose meaning differs per operation (400,
//! 404, 409, 412) stay with their handler.

use super::problem::ProblemBody;

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
