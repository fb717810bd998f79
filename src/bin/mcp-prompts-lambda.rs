//! The Lambda binary: every AWS Lambda function of the hub runs this, with
//! `MCP_PROMPTS_HANDLER` choosing the WebSocket routes, the REST API (`http`),
//! the SQS fan-out, the sweeper, the authorizer or the webhook deliveries.

use mcp_prompts::edges::lambda::runtime::{self, HandlerKind};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mcp_prompts::telemetry::init();
    match HandlerKind::from_env()? {
        HandlerKind::Http => mcp_prompts::edges::lambda_rest::run().await,
        HandlerKind::Webhooks => mcp_prompts::edges::subscribers::aws::run().await,
        // The websocket routes get the MCP tools of webhook subscribers.
        _ => runtime::run_with(mcp_prompts::edges::subscribers::aws::attach_from_env).await,
    }
}
