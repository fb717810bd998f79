//! The order of S3 events per catalog file, for the `s3sync` handler. S3
//! delivers object notifications at least once and in no particular order;
//! each record carries `s3.object.sequencer`, a hex string that grows with
//! every event of one key (compared, as AWS says, by padding the shorter with
//! leading zeros and then lexicographically). The last sequencer applied to a
//! key is kept in the prompts table (`S3#{bucket}/{key}` / `SEQUENCER`,
//! attribute `sequencer`, stored padded to [`WIDTH`] so DynamoDB's own string
//! comparison is the AWS order), moved only forward by a conditional write;
//! an event whose sequencer is not newer than it is ignored.

use std::sync::Arc;

use super::config::AwsClients;
use super::items;
use super::schema::{S3_ORDER_SK, SEQUENCER, s3_order_pk};
use super::sdk_error;
use mcp_prompts_engine::ports::StoreResult;

/// Hex digits a sequencer may have (S3's are 16 to 18 today).
pub const WIDTH: usize = 64;

/// An `s3.object.sequencer`, normalized: upper case, left-padded with zeros
/// to [`WIDTH`], so equal sequencers are equal strings and the string order is
/// the event order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sequencer(String);

impl Sequencer {
    /// `Err` says what is wrong with `text` (empty, not hex, too long).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("an empty s3.object.sequencer".into());
        }
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("s3.object.sequencer '{text}' is not hexadecimal"));
        }
        if text.len() > WIDTH {
            return Err(format!(
                "s3.object.sequencer '{text}' is longer than {WIDTH} hex digits"
            ));
        }
        Ok(Self(format!("{:0>WIDTH$}", text.to_ascii_uppercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The last applied sequencer of each S3 key, in the prompts table.
pub struct SyncOrder {
    clients: Arc<AwsClients>,
    table: String,
}

impl SyncOrder {
    pub fn new(clients: Arc<AwsClients>, table: impl Into<String>) -> Self {
        Self {
            clients,
            table: table.into(),
        }
    }

    /// The sequencer last applied to `bucket`/`key` (a consistent read).
    pub async fn applied(&self, bucket: &str, key: &str) -> StoreResult<Option<Sequencer>> {
        let out = self
            .clients
            .dynamodb()
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::key(s3_order_pk(bucket, key), S3_ORDER_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB GetItem S3 sequencer", e))?;
        out.item()
            .map(|item| items::require_s(item, SEQUENCER).map(|s| Sequencer(s.to_string())))
            .transpose()
    }

    /// Records `sequencer` as applied to `bucket`/`key` unless one as new or
    /// newer is recorded already (then `false`: another event got there first).
    pub async fn record(
        &self,
        bucket: &str,
        key: &str,
        sequencer: &Sequencer,
    ) -> StoreResult<bool> {
        let mut item = items::key(s3_order_pk(bucket, key), S3_ORDER_SK);
        item.insert(SEQUENCER.into(), items::s(sequencer.as_str()));
        let sent = self
            .clients
            .dynamodb()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#seq) OR #seq < :seq")
            .expression_attribute_names("#seq", SEQUENCER)
            .expression_attribute_values(":seq", items::s(sequencer.as_str()))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error("DynamoDB PutItem S3 sequencer", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Sequencer;

    #[test]
    fn sequencers_compare_as_aws_says_padded_then_lexicographic() {
        let s = |t| Sequencer::parse(t).unwrap();
        assert!(s("0055AED6DCD90281E5") > s("0055AED6DCD90281E4"));
        // The shorter is padded with leading zeros: "FF" is "00FF" < "0100".
        assert!(s("FF") < s("0100"));
        assert_eq!(s("00ff"), s("FF"));
        assert!(s("617f08299329d189") < s("617F08299329D18A"));
        assert_eq!(s("1").as_str().len(), super::WIDTH);
    }

    #[test]
    fn a_bad_sequencer_is_refused_naming_it() {
        assert!(Sequencer::parse("").unwrap_err().contains("empty"));
        assert!(
            Sequencer::parse("12x4")
                .unwrap_err()
                .contains("'12x4' is not hex")
        );
        assert!(
            Sequencer::parse(&"1".repeat(65))
                .unwrap_err()
                .contains("longer than 64")
        );
    }
}
