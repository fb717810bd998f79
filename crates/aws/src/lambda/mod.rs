//! Lambda entry points: API Gateway WebSocket routes (`$connect`, `$disconnect`,
//! `$default`), the SQS fan-out, shard, S3 sync and import consumers and the authorizer. Each handler is a plain async
//! function over the real `aws_lambda_events` type and a [`LambdaApp`] holding the
//! session host over the AWS ports, so tests call it directly and the local gateway (`serve --backend
//! aws`) calls the very same functions in-process. `runtime` is the thin
//! `lambda_runtime` wrapper the `mcp-prompts-lambda` binary runs. `emf`: each
//! invocation's metrics as one CloudWatch Embedded Metric Format line on stdout.

pub mod app;
pub mod authorizer;
pub mod emf;
pub mod fanout;
pub mod imports;
pub mod runtime;
pub mod s3sync;
pub mod settings;
pub mod shard;
pub mod websocket;

pub use app::{FanoutSettings, ImportSettings, LambdaApp, LambdaLimits};
pub use settings::{AwsArgs, ImportJobArgs, LambdaSettings};
