//! The Lambda binary: every AWS Lambda function of the hub runs this, with
//! `MCP_PROMPTS_HANDLER` choosing the WebSocket routes or the SQS fan-out.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mcp_prompts::telemetry::init();
    mcp_prompts::edges::lambda::runtime::run().await
}
