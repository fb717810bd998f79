//! Adapters: implementations of the ports. `embedded` is the default deployment
//! (SQLite in a data folder); `aws` runs on DynamoDB, S3, SQS and API Gateway;
//! `memory` backs unit tests of the handlers.

pub mod aws;
pub mod embedded;
pub mod memory;
