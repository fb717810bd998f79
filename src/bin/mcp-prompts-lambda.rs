//! The Lambda binary: every AWS Lambda function of the hub runs this, with
//! `MCP_PROMPTS_HANDLER` choosing the WebSocket routes, the REST API (`http`),
//! the SQS fan-out, the sweeper or the authorizer.

use mcp_prompts::edges::lambda::runtime::{self, HandlerKind};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mcp_prompts::telemetry::init();
    if HandlerKind::from_env()? == HandlerKind::Http {
        return mcp_prompts::edges::lambda_rest::run().await;
    }
    runtime::run().await
}
