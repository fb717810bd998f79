//! The REQUEST authorizer in front of `$connect`, as API Gateway runs it: the
//! upgrade request becomes an authorizer event for the very handler the
//! `authorizer` Lambda runs (`mcp_prompts_aws::lambda::authorizer`); a refusal
//! is HTTP 401 before any MCP traffic, and an admission's context is handed to
//! every later event of the connection (`requestContext.authorizer`).

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mcp_prompts_auth::Authenticator;
use mcp_prompts_aws::lambda::authorizer::{self, UNAUTHORIZED};
use mcp_prompts_aws::sdk::aws_lambda_events::apigw::ApiGatewayRequestAuthorizer;
use serde_json::{Value, json};

/// The authorizer's verdict on an upgrade: the context to pass on, or the
/// response that refuses it.
pub async fn authorize(
    auth: &Authenticator,
    headers: &HeaderMap,
    query: Option<&str>,
    connection_id: &str,
) -> Result<ApiGatewayRequestAuthorizer, Response> {
    let params: HashMap<String, String> = query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let header_map: serde_json::Map<String, Value> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), json!(v.to_str().ok()?))))
        .collect();
    let event = json!({
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:local:000000000000:local/local/$connect",
        "headers": header_map,
        "queryStringParameters": params,
        "requestContext": {"routeKey": "$connect", "eventType": "CONNECT",
                           "connectionId": connection_id, "stage": "local", "apiId": "local"},
    });
    match authorizer::handle(auth, event).await {
        Ok(answer) if allows(&answer) => {
            let mut context = ApiGatewayRequestAuthorizer::default();
            if let Some(fields) = answer["context"].as_object() {
                context.fields = fields.clone().into_iter().collect();
            }
            context
                .fields
                .insert("principalId".into(), answer["principalId"].clone());
            Ok(context)
        }
        Ok(_) => Err((StatusCode::FORBIDDEN, "Forbidden").into_response()),
        Err(e) if e.to_string() == UNAUTHORIZED => {
            Err((StatusCode::UNAUTHORIZED, UNAUTHORIZED).into_response())
        }
        Err(e) => {
            tracing::error!(error = %e, "the authorizer failed");
            Err((StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").into_response())
        }
    }
}

/// Whether an authorizer's IAM policy allows the route (API Gateway's check).
fn allows(answer: &Value) -> bool {
    answer["policyDocument"]["Statement"]
        .as_array()
        .is_some_and(|s| s.iter().any(|st| st["Effect"] == "Allow"))
}
