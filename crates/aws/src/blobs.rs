//! Templates too large for a DynamoDB item (400 KB, and reads cost per 4 KB) live
//! in S3, one object per version; the item keeps the key in `blob` and an empty
//! `content`, and reads put the content back.
//!
//! The object is written before the transaction that references it: a failed
//! transaction leaves an unreferenced object (overwritten by the next write of
//! that version), never an item pointing at nothing.

use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;

use super::config::AwsClients;
use super::sdk_error;
use mcp_prompts_engine::domain::Prompt;
use mcp_prompts_engine::ports::StoreResult;

pub struct TemplateBlobs {
    clients: Arc<AwsClients>,
    bucket: String,
    pub threshold: usize,
}

impl TemplateBlobs {
    pub fn new(clients: Arc<AwsClients>, bucket: String, threshold: usize) -> Self {
        Self {
            clients,
            bucket,
            threshold,
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn key(prompt: &Prompt) -> String {
        format!("templates/{}/v{}.hbs", prompt.id, prompt.version)
    }

    /// Moves a large template to S3: returns the prompt as the item stores it
    /// (content emptied) and the object key, or the prompt unchanged.
    pub async fn offload(&self, prompt: &Prompt) -> StoreResult<(Prompt, Option<String>)> {
        if prompt.content.len() <= self.threshold {
            return Ok((prompt.clone(), None));
        }
        let key = Self::key(prompt);
        self.clients
            .s3()
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("text/x-handlebars-template; charset=utf-8")
            .body(ByteStream::from(prompt.content.clone().into_bytes()))
            .send()
            .await
            .map_err(|e| sdk_error("S3 PutObject", e))?;
        let mut stored = prompt.clone();
        stored.content = String::new();
        Ok((stored, Some(key)))
    }

    /// Puts the content of an offloaded template back.
    pub async fn restore(&self, prompt: &mut Prompt, key: &str) -> StoreResult<()> {
        let out = self
            .clients
            .s3()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| sdk_error("S3 GetObject", e))?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| sdk_error("S3 GetObject body", e))?
            .into_bytes();
        prompt.content = String::from_utf8(bytes.to_vec())
            .map_err(|e| sdk_error("S3 object is not UTF-8", e))?;
        Ok(())
    }
}
