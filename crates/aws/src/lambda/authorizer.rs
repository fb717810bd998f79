//! The Lambda authorizer (`MCP_PROMPTS_HANDLER=authorizer`): the local doors'
//! check (`mcp_prompts_auth::Authenticator`: API keys in DynamoDB, OIDC JWTs)
//! for API Gateway. One function answers both event shapes the stack sends it:
//!
//! - the WebSocket API's REQUEST authorizer on `$connect`: an IAM policy
//!   allowing the route, with the caller in the context; a refused credential
//!   is the error `Unauthorized`, which API Gateway turns into HTTP 401;
//! - the HTTP API's payload 2.0 authorizer with simple responses
//!   (`{"isAuthorized": …}`; a refusal is 403 there, a missing credential 401).
//!
//! API Gateway hands the context to every later invocation of the connection
//! (`requestContext.authorizer`); [`principal_of`] reads it back.

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayCustomAuthorizerResponse, ApiGatewayRequestAuthorizer,
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use lambda_runtime::Error;
use mcp_prompts_auth::{Authenticator, Refusal, credential};
use mcp_prompts_engine::domain::{Principal, Role};
use serde_json::{Value, json};

/// Context keys of an admitted caller.
const PRINCIPAL: &str = "principal";
const ROLE: &str = "role";

/// The message API Gateway maps to 401 (it must be exactly this).
pub const UNAUTHORIZED: &str = "Unauthorized";

/// Decides one authorizer event, whichever API sent it.
pub async fn handle(auth: &Authenticator, event: Value) -> Result<Value, Error> {
    if event.get("version").and_then(Value::as_str) == Some("2.0") {
        let request: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_value(event)?;
        let token = credential::find_in_event(
            &request.headers,
            request
                .query_string_parameters
                .get("token")
                .map(String::as_str),
        );
        let mut answer = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
        match decide(auth, token.as_deref()).await? {
            Some(principal) => {
                answer.is_authorized = true;
                answer.context = context(&principal);
            }
            None => answer.is_authorized = false,
        }
        return Ok(serde_json::to_value(answer)?);
    }
    let request: ApiGatewayCustomAuthorizerRequestTypeRequest = serde_json::from_value(event)?;
    let token = credential::find_in_event(
        &request.headers,
        request.query_string_parameters.first("token"),
    );
    let Some(principal) = decide(auth, token.as_deref()).await? else {
        return Err(UNAUTHORIZED.into());
    };
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".into()];
    statement.effect = IamPolicyEffect::Allow;
    statement.resource = vec![request.method_arn.unwrap_or_else(|| "*".into())];
    let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
    policy.version = Some("2012-10-17".into());
    policy.statement = vec![statement];
    let mut answer = ApiGatewayCustomAuthorizerResponse::<Value>::default();
    answer.principal_id = Some(principal.name.clone());
    answer.policy_document = policy;
    answer.context = context(&principal);
    Ok(serde_json::to_value(answer)?)
}

/// `Some(caller)` if admitted, `None` if refused; `Err` when the check itself
/// failed (the key store): API Gateway answers 500 and the client may retry.
async fn decide(auth: &Authenticator, token: Option<&str>) -> Result<Option<Principal>, Error> {
    match auth.authenticate(token).await {
        Ok(Some(p)) => Ok(Some(p)),
        // Anonymous: an authorizer exists to require credentials, so no.
        Ok(None) => Ok(None),
        Err(Refusal::Unauthorized(why)) => {
            tracing::info!(%why, "credential refused");
            Ok(None)
        }
        Err(e @ Refusal::Unavailable(_)) => Err(e.to_string().into()),
    }
}

fn context(p: &Principal) -> Value {
    json!({ PRINCIPAL: p.name, ROLE: p.role.as_str() })
}

/// The caller an authorizer admitted, from a later event's
/// `requestContext.authorizer` (`None` on a stage without an authorizer).
pub fn principal_of(authorizer: &ApiGatewayRequestAuthorizer) -> Option<Principal> {
    let name = authorizer.fields.get(PRINCIPAL)?.as_str()?;
    let role = authorizer.fields.get(ROLE)?.as_str()?;
    Some(Principal {
        name: name.to_string(),
        role: Role::parse(role).ok()?,
    })
}
