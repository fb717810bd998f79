//! Sending shard messages: `SendMessage` to the shard queue (a standard
//! queue; its redrive policy parks a shard that keeps failing in the DLQ),
//! a few attempts each, a bounded number in flight.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use crate::config::AwsClients;
use crate::{error_chain, sdk_error};
use mcp_prompts_engine::ports::StoreResult;

/// Attempts of one `SendMessage` before the shard counts as not sent.
const SEND_ATTEMPTS: u32 = 3;
/// SQS accepts delays up to 15 minutes.
const MAX_DELAY_SECS: u32 = 900;

pub struct ShardQueue {
    clients: Arc<AwsClients>,
    pub url: String,
    /// Shard messages sent at once.
    pub in_flight: usize,
}

impl ShardQueue {
    pub fn new(clients: Arc<AwsClients>, url: String) -> Self {
        Self {
            clients,
            url,
            in_flight: 8,
        }
    }

    /// Sends one body, visible after `delay_secs`.
    pub async fn send(&self, body: String, delay_secs: u32) -> StoreResult<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .clients
                .sqs()
                .send_message()
                .queue_url(&self.url)
                .message_body(body.clone())
                .delay_seconds(delay_secs.min(MAX_DELAY_SECS) as i32)
                .send()
                .await;
            match sent {
                Ok(_) => return Ok(()),
                Err(e) if attempt >= SEND_ATTEMPTS => {
                    return Err(sdk_error("SQS SendMessage shard", e));
                }
                Err(e) => {
                    tracing::debug!(error = %error_chain(&e), "shard send failed; retrying");
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
            }
        }
    }

    /// Sends every body (at most `in_flight` at once); the first error if any failed.
    pub async fn send_all(&self, bodies: Vec<String>) -> StoreResult<usize> {
        let results: Vec<StoreResult<()>> = futures_util::stream::iter(bodies)
            .map(|b| self.send(b, 0))
            .buffer_unordered(self.in_flight.max(1))
            .collect()
            .await;
        let sent = results.iter().filter(|r| r.is_ok()).count();
        match results.into_iter().find_map(Result::err) {
            Some(e) => Err(e),
            None => Ok(sent),
        }
    }
}
