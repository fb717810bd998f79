//! Counts SDK calls per service and operation, through an interceptor on every
//! client: how we know what one MCP request or one fanned-out change costs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents, SharedInterceptor};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// Calls made so far, keyed by `Service.Operation` (e.g. `DynamoDB.GetItem`).
#[derive(Debug, Default)]
pub struct CallCounter {
    counts: Mutex<BTreeMap<String, u64>>,
}

impl CallCounter {
    pub fn interceptor(self: &Arc<Self>) -> SharedInterceptor {
        SharedInterceptor::new(Counting(self.clone()))
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn reset(&self) {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Calls per service (`DynamoDB`, `SQS`, `S3`, `ApiGatewayManagementApi`).
    pub fn per_service(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (key, n) in self.snapshot() {
            let service = key.split('.').next().unwrap_or_default().to_string();
            *out.entry(service).or_default() += n;
        }
        out
    }

    fn record(&self, key: String) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default() += 1;
    }
}

#[derive(Debug)]
struct Counting(Arc<CallCounter>);

impl Intercept for Counting {
    fn name(&self) -> &'static str {
        "mcp-prompts-call-counter"
    }

    /// Once per operation, retries included in the one count. (Not
    /// `read_before_execution`: client interceptors run that before the
    /// operation's metadata is in the config bag.)
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            self.0.record(format!("{}.{}", meta.service(), meta.name()));
        }
        Ok(())
    }
}
