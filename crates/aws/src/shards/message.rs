//! One shard of a fan-out as an SQS message body: the changes (the consumer
//! plans the same `Delivery` from them, frames serialized once per shard) and
//! the connections it posts to, each with its interest, so the consumer needs
//! no query. Built incrementally so no body passes SQS's 256 KiB.

use serde::{Deserialize, Serialize};

use crate::connections::StoredInterest;
use mcp_prompts_engine::domain::ChangeEvent;
use mcp_prompts_engine::session::Interest;

/// A shard body stays under this (SQS refuses messages over 256 KiB).
pub const MAX_SHARD_BYTES: usize = 200 * 1024;

#[derive(Serialize, Deserialize)]
pub struct ShardMessage {
    pub changes: Vec<ChangeEvent>,
    pub to: Vec<ShardTarget>,
    /// 0 for a shard of the change consumer; n for the n-th retry of the
    /// connections that failed in it.
    #[serde(default)]
    pub attempt: u32,
}

#[derive(Serialize, Deserialize)]
pub struct ShardTarget {
    #[serde(rename = "c")]
    pub connection_id: String,
    #[serde(rename = "i")]
    interest: StoredInterest,
    /// Frames of this connection already posted by an earlier attempt.
    #[serde(rename = "s", default, skip_serializing_if = "is_zero")]
    pub skip: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl ShardTarget {
    pub fn new(connection_id: String, interest: &Interest) -> Self {
        Self {
            connection_id,
            interest: interest.into(),
            skip: 0,
        }
    }

    pub fn interest(&self) -> Interest {
        Interest::from(self.interest.clone())
    }
}

impl ShardMessage {
    pub fn parse(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(body)
    }
}

/// Collects targets into shard bodies of at most `size` connections and
/// [`MAX_SHARD_BYTES`] bytes.
pub struct ShardBuilder {
    head: String,
    size: usize,
    targets: Vec<String>,
    bytes: usize,
}

impl ShardBuilder {
    pub fn new(changes: &[ChangeEvent], attempt: u32, size: usize) -> Self {
        let changes = serde_json::to_string(changes).unwrap_or_else(|_| "[]".into());
        Self {
            head: format!("{{\"attempt\":{attempt},\"changes\":{changes},\"to\":["),
            size: size.max(1),
            targets: Vec::new(),
            bytes: 0,
        }
    }

    /// Adds a target; returns a full shard's body when this one starts a new shard.
    pub fn push(&mut self, target: &ShardTarget) -> Option<String> {
        let json = serde_json::to_string(target).unwrap_or_default();
        let full = !self.targets.is_empty()
            && (self.targets.len() >= self.size
                || self.head.len() + self.bytes + json.len() + 2 > MAX_SHARD_BYTES);
        let done = full.then(|| self.take());
        self.bytes += json.len() + 1;
        self.targets.push(json);
        done
    }

    /// The last, partly filled shard, if any.
    pub fn finish(mut self) -> Option<String> {
        (!self.targets.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> String {
        let body = format!("{}{}]}}", self.head, self.targets.join(","));
        self.targets.clear();
        self.bytes = 0;
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_prompts_engine::domain::{ChangeKind, PromptId};

    fn change() -> ChangeEvent {
        ChangeEvent {
            position: 9,
            id: PromptId::parse("a").unwrap(),
            version: 2,
            kind: ChangeKind::Updated,
            category: None,
            tags: vec![],
            actor: "t".into(),
            timestamp: "t".into(),
            label: None,
            partial: None,
        }
    }

    #[test]
    fn shards_hold_at_most_size_targets_and_round_trip() {
        let interest = Interest {
            initialized: true,
            list_changed: true,
            ..Default::default()
        };
        let mut b = ShardBuilder::new(&[change()], 0, 3);
        let mut bodies: Vec<String> = (0..7)
            .filter_map(|i| b.push(&ShardTarget::new(format!("c{i}"), &interest)))
            .collect();
        bodies.extend(b.finish());
        let shards: Vec<ShardMessage> = bodies
            .iter()
            .map(|s| ShardMessage::parse(s).unwrap())
            .collect();
        let sizes: Vec<usize> = shards.iter().map(|s| s.to.len()).collect();
        assert_eq!(sizes, vec![3, 3, 1]);
        assert_eq!(shards[2].to[0].connection_id, "c6");
        assert_eq!(shards[0].to[1].interest(), interest);
        assert_eq!(shards[0].changes[0].position, 9);
    }

    #[test]
    fn a_shard_stays_under_the_sqs_size_limit() {
        let interest = Interest {
            initialized: true,
            list_changed: true,
            ..Default::default()
        };
        let mut b = ShardBuilder::new(&[change()], 0, 1_000_000);
        let id = "x".repeat(1000);
        let mut bodies: Vec<String> = (0..1000)
            .filter_map(|i| b.push(&ShardTarget::new(format!("{id}{i}"), &interest)))
            .collect();
        bodies.extend(b.finish());
        assert!(bodies.len() > 1);
        assert!(bodies.iter().all(|b| b.len() <= MAX_SHARD_BYTES));
        let total: usize = bodies
            .iter()
            .map(|b| ShardMessage::parse(b).unwrap().to.len())
            .sum();
        assert_eq!(total, 1000);
    }
}
