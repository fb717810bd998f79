//! Signed webhooks to catalog subscribers on the AWS column: the subscribers
//! and how their deliveries stand in DynamoDB (`mcp_prompts_aws::subscribers`:
//! `SUBSCRIBERS` / `S#{id}`, the cursor `CURSOR` / `subscriber:{id}`), the
//! deliveries made by the `webhooks` handler, which tails the change log from
//! each subscriber's cursor with the embedded worker's own steps
//! (`delivery`: events, signed attempt with the `address` checks, backoff).
//!
//! Why this shape. A Lambda instance cannot keep a task per subscriber, so
//! a delivery is a *pass*: for each subscriber not waiting for a retry, read
//! a page of the change log after its cursor and POST what its filter
//! matches, in log order, saving the cursor after each 2xx; at the first
//! failure note it in the subscriber's item (attempts, last error, the next
//! attempt time: backoff 1 s doubling to 5 min) and go on with the next
//! subscriber. Everything a pass needs is in DynamoDB, so any instance can
//! run the next one, and a crash between commit and delivery only delays it.
//! Passes are triggered by a small SQS queue whose messages carry nothing
//! but "look now" (nudges): the fan-out consumer sends one per batch (so a
//! delivery follows a commit within the fan-out's latency, one message per
//! batch however many subscribers), a pass sends one delayed to the next
//! retry (or an immediate one when it left a backlog: a full page or its time
//! budget), and the sweeper one per run, the backstop for a nudge lost with a
//! crashed instance. The handler's concurrency is 1 (reserved concurrency),
//! so two passes never deliver to one subscriber at once: that keeps the
//! order per subscriber (and so per prompt) without a lease. Nudges merge: a
//! pass takes a batch of up to 10 and sends at most one. Polling the change
//! log on a schedule alone would be simpler but slow (EventBridge: a minute)
//! or costly (a pass every second on an empty log); DynamoDB Streams would
//! need a stream consumer per table, which moto's server does not emulate.
//!
//! At least once: the cursor moves only after a 2xx, so a crash after a POST
//! repeats it (same delivery id). A subscriber removed while a pass delivers
//! to it may get that one change still, and leave its cursor item behind
//! (ids are never reused, so it is never read again). Subscribers run up to [`CONCURRENCY`] at
//! once in a pass, each one's deliveries one after another.
//!
//! `serve --backend aws` runs the same handler in-process on the deliveries
//! queue (`aws_gateway::sqs::poll_webhooks`), plus a pass every few seconds
//! when the queue is quiet (what the sweeper's nudge does in AWS).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use futures_util::StreamExt;

use super::{Admission, delivery, post, sorted, worker::PAGE};
use mcp_prompts_aws::lambda::LambdaApp;
use mcp_prompts_aws::lambda::emf::Metrics;
use mcp_prompts_aws::lambda::fanout::batch_response;
use mcp_prompts_aws::lambda::runtime::HandlerKind;
use mcp_prompts_aws::subscribers::DeliveryState;
use mcp_prompts_aws::{DynamoPromptStore, DynamoSubscriberStore, WebhookQueue};
use mcp_prompts_engine::Catalog;
use mcp_prompts_engine::ports::{
    ChangeCursor, PromptStore, StoreResult, SubscribeError, Subscriber, SubscriberStatus,
    SubscriberStore, Subscriptions, subscriber_cursor,
};
use mcp_prompts_engine::session::CatalogFilter;

/// Subscribers delivered to at once in one pass.
pub const CONCURRENCY: usize = 8;
/// A pass starts no delivery after this long (a POST waits 10 s at most; the
/// function's timeout must be above the sum, and at most the queue's 30 s
/// visibility timeout).
pub const PASS_BUDGET: Duration = Duration::from_secs(15);

pub struct AwsSubscriptions {
    store: DynamoSubscriberStore,
    prompts: Arc<DynamoPromptStore>,
    catalog: Arc<Catalog>,
    queue: Arc<WebhookQueue>,
    route: post::Route,
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    pub subscribers: usize,
    /// Events acknowledged with a 2xx.
    pub delivered: usize,
    /// Subscribers whose delivery failed (now waiting for a retry).
    pub failed: usize,
    /// The soonest retry due, from now.
    pub retry_in: Option<Duration>,
    /// Work left: a full page delivered, or the time budget spent.
    pub more: bool,
}

/// How one subscriber's part of a pass ended.
enum One {
    Done(usize),
    More(usize),
    Waiting(Duration),
    Failed(usize, Duration),
    Unreadable,
}

/// The webhook subscribers of an app on AWS, attached to its engine (the
/// MCP tools, REST), when its deliveries queue is configured.
pub fn attach(
    app: &LambdaApp,
    prompts: &Arc<DynamoPromptStore>,
    allow_private: bool,
) -> Option<Arc<AwsSubscriptions>> {
    let queue = app.webhooks.clone()?;
    let subscriptions = Arc::new(AwsSubscriptions {
        store: DynamoSubscriberStore::new(prompts.clients().clone(), prompts.table().to_string()),
        prompts: prompts.clone(),
        catalog: app.engine.catalog.clone(),
        queue,
        route: delivery::system_route(allow_private),
    });
    app.engine.attach_subscriptions(subscriptions.clone());
    Some(subscriptions)
}

/// [`attach`] for a Lambda function (settings from its environment).
pub fn attach_from_env(
    app: &Arc<LambdaApp>,
    prompts: &Arc<DynamoPromptStore>,
) -> Result<(), lambda_http::Error> {
    let settings = mcp_prompts_aws::lambda::LambdaSettings::from_env()?;
    attach(app, prompts, settings.subscriber_allow_private);
    Ok(())
}

/// Runs the `webhooks` handler: the deliveries queue's messages, each batch
/// one pass.
pub async fn run() -> Result<(), lambda_http::Error> {
    use lambda_http::lambda_runtime::{LambdaEvent, run, service_fn};
    let (_, app, prompts) = mcp_prompts_aws::lambda::runtime::init().await?;
    let settings = mcp_prompts_aws::lambda::LambdaSettings::from_env()?;
    let subscriptions = attach(&app, &prompts, settings.subscriber_allow_private).ok_or(
        "MCP_PROMPTS_WEBHOOK_QUEUE_URL is not set (the webhooks handler nudges itself through it)",
    )?;
    tracing::info!(handler = "webhooks", "lambda init done");
    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (app, subscriptions) = (app.clone(), subscriptions.clone());
        async move {
            Ok::<_, lambda_http::Error>(subscriptions.handle(&app, event.payload, true).await)
        }
    }))
    .await
}

impl AwsSubscriptions {
    /// The deliveries queue's URL.
    pub fn queue_url(&self) -> &str {
        &self.queue.url
    }

    /// The subscriber store (tests read the delivery state through it).
    pub fn store(&self) -> &DynamoSubscriberStore {
        &self.store
    }

    /// One batch of nudges: one pass. With `nudge`, a pass that left work or
    /// a retry nudges the next one. A pass that could not read the
    /// subscribers reports its messages failed (SQS redelivers them).
    pub async fn handle(&self, app: &LambdaApp, event: SqsEvent, nudge: bool) -> SqsBatchResponse {
        app.refresh_catalog().await;
        match self.pass().await {
            Ok(pass) => {
                app.emf.emit(
                    HandlerKind::Webhooks,
                    &Metrics::requests(pass.delivered + pass.failed, pass.failed),
                );
                tracing::debug!(?pass, "webhook deliveries");
                if nudge {
                    if pass.more {
                        self.queue.nudge(0, "backlog").await;
                    } else if let Some(wait) = pass.retry_in {
                        let secs = wait.as_millis().div_ceil(1000).max(1) as u64;
                        self.queue.nudge(secs, "retry").await;
                    }
                }
                batch_response(Vec::new())
            }
            Err(e) => {
                app.emf.emit(
                    HandlerKind::Webhooks,
                    &Metrics::requests(event.records.len(), event.records.len()),
                );
                tracing::warn!(error = %e, "cannot read the webhook subscribers; the nudges are retried");
                batch_response(
                    event
                        .records
                        .into_iter()
                        .filter_map(|r| r.message_id)
                        .collect(),
                )
            }
        }
    }

    /// Delivers what is due to every subscriber (see the module doc).
    pub async fn pass(&self) -> StoreResult<Pass> {
        let subscribers = self.store.with_states().await?;
        let deadline = Instant::now() + PASS_BUDGET;
        let mut pass = Pass {
            subscribers: subscribers.len(),
            ..Pass::default()
        };
        let ends: Vec<One> = futures_util::stream::iter(subscribers)
            .map(|(s, state)| self.deliver_to(s, state, deadline))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let soonest = |d: Duration, pass: &mut Pass| {
            pass.retry_in = Some(pass.retry_in.map_or(d, |r| r.min(d)));
        };
        for end in ends {
            match end {
                One::Done(n) => pass.delivered += n,
                One::More(n) => {
                    pass.delivered += n;
                    pass.more = true;
                }
                One::Waiting(d) => soonest(d, &mut pass),
                One::Failed(n, d) => {
                    pass.delivered += n;
                    pass.failed += 1;
                    soonest(d, &mut pass);
                }
                // Logged; the next pass (a nudge, the sweeper) tries again.
                One::Unreadable => soonest(Duration::from_secs(1), &mut pass),
            }
        }
        Ok(pass)
    }

    async fn deliver_to(&self, s: Subscriber, state: DeliveryState, deadline: Instant) -> One {
        let clock = self.catalog.clock();
        if let Some(next) = state.next_attempt_ms {
            let now = clock.now_unix_ms();
            if next > now {
                return One::Waiting(Duration::from_millis(next - now));
            }
        }
        let consumer = subscriber_cursor(&s.id);
        let read = async {
            let position = self.prompts.load(&consumer).await?.unwrap_or(s.start_after);
            self.prompts.changes_since(position, PAGE).await
        };
        let changes = match read.await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(subscriber = %s.id, error = %e, "reading the change log for a subscriber");
                return One::Unreadable;
            }
        };
        let mut failing = state.failed_attempts;
        let mut delivered = 0;
        for change in &changes {
            if Instant::now() >= deadline {
                return One::More(delivered);
            }
            for event in delivery::events_for(&self.catalog, &s, change).await {
                if let Err(e) = delivery::attempt(&self.route, &s, &event).await {
                    failing += 1;
                    let wait = delivery::backoff(failing);
                    tracing::debug!(subscriber = %s.id, position = event.position, error = %e, "delivery failed; retrying later");
                    let state = DeliveryState {
                        failed_attempts: failing,
                        last_error: Some(e),
                        next_attempt_ms: Some(clock.now_unix_ms() + wait.as_millis() as u64),
                    };
                    if let Err(e) = self.store.record_failure(&s.id, &state).await {
                        tracing::warn!(subscriber = %s.id, error = %e, "cannot note a failed delivery");
                    }
                    return One::Failed(delivered, wait);
                }
                delivered += 1;
            }
            if let Err(e) = self.prompts.save(&consumer, change.position).await {
                // Delivered again by the next pass: at least once.
                tracing::warn!(subscriber = %s.id, error = %e, "cannot save its cursor");
                return One::Unreadable;
            }
            if failing > 0 {
                failing = 0;
                match self.store.clear_failure(&s.id).await {
                    Ok(true) => {}
                    // Removed meanwhile: no more deliveries.
                    Ok(false) => return One::Done(delivered),
                    Err(e) => {
                        tracing::warn!(subscriber = %s.id, error = %e, "cannot clear a failure")
                    }
                }
            }
        }
        if changes.len() >= PAGE {
            One::More(delivered)
        } else {
            One::Done(delivered)
        }
    }
}

#[async_trait]
impl Subscriptions for AwsSubscriptions {
    async fn register(
        &self,
        url: &str,
        secret: &str,
        filter: CatalogFilter,
    ) -> Result<Subscriber, SubscribeError> {
        Admission {
            route: &self.route,
            catalog: &self.catalog,
            registered: self.store.subscribers().await?.len(),
            store: &self.store,
            log: self.prompts.as_ref(),
        }
        .admit(url, secret, filter)
        .await
    }

    async fn list(&self) -> Result<Vec<SubscriberStatus>, SubscribeError> {
        let subscribers = self.store.with_states().await?;
        let statuses: Vec<StoreResult<SubscriberStatus>> = futures_util::stream::iter(subscribers)
            .map(|(subscriber, state)| async move {
                let delivered = self
                    .prompts
                    .load(&subscriber_cursor(&subscriber.id))
                    .await?
                    .unwrap_or(subscriber.start_after);
                Ok(SubscriberStatus {
                    subscriber,
                    delivered,
                    failed_attempts: state.failed_attempts,
                    last_error: state.last_error,
                })
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        Ok(sorted(statuses.into_iter().collect::<StoreResult<_>>()?))
    }

    async fn remove(&self, id: &str) -> Result<bool, SubscribeError> {
        Ok(self.store.remove_subscriber(id).await?)
    }
}
