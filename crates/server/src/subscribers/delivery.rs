//! What every delivery path shares, the embedded worker (`worker`) and the
//! AWS handler (`aws`): which events one change gives a subscriber (the
//! change, then the prompts that include it, each through the filter), one
//! signed attempt at one event (`post::deliver` on the blocking pool, with a
//! delivery id that stays the same across retries), and the backoff between
//! failed attempts.

use std::sync::Arc;
use std::time::Duration;

use super::post;
use mcp_prompts_engine::Catalog;
use mcp_prompts_engine::domain::ChangeEvent;
use mcp_prompts_engine::methods::resources::latest_uri;
use mcp_prompts_engine::ports::Subscriber;

const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(300);

/// The events `change` gives `subscriber`, in delivery order: the change,
/// then the prompts that include it (their output changed), those its
/// filter matches.
pub async fn events_for(
    catalog: &Catalog,
    subscriber: &Subscriber,
    change: &ChangeEvent,
) -> Vec<ChangeEvent> {
    let dependents = catalog
        .dependency_events(std::slice::from_ref(change))
        .await;
    std::iter::once(change.clone())
        .chain(dependents)
        .filter(|e| subscriber.filter.matches(e.category.as_deref(), &e.tags))
        .collect()
}

/// The delivery id of `event`: `<subscriber>:<position>`, and for an includer
/// of a changed partial `<subscriber>:<position>:<includer id>`.
pub fn delivery_id(subscriber: &Subscriber, event: &ChangeEvent) -> String {
    match &event.partial {
        Some(_) => format!("{}:{}:{}", subscriber.id, event.position, event.id),
        None => format!("{}:{}", subscriber.id, event.position),
    }
}

/// POSTs `event` once; `Err` says why it was not acknowledged.
pub async fn attempt(
    route: &post::Route,
    subscriber: &Subscriber,
    event: &ChangeEvent,
) -> Result<(), String> {
    let mut body = serde_json::to_value(event).unwrap_or_default();
    body["uri"] = serde_json::json!(latest_uri(&event.id));
    let body = body.to_string();
    let delivery = delivery_id(subscriber, event);
    let (url, secret) = (subscriber.url.clone(), subscriber.secret.clone());
    let route = route.clone();
    tokio::task::spawn_blocking(move || post::deliver(&route, &url, &secret, &delivery, &body))
        .await
        .unwrap_or_else(|e| Err(format!("the delivery task failed: {e}")))
}

/// How long to wait after the `failed`-th failed attempt in a row: 1 s
/// doubling to 5 min, plus up to a second of jitter.
pub fn backoff(failed: u32) -> Duration {
    let doubled = FIRST_RETRY.saturating_mul(1 << failed.saturating_sub(1).min(16));
    let jitter = Duration::from_millis(u64::from(uuid::Uuid::new_v4().as_bytes()[0]) * 4);
    doubled.min(LAST_RETRY) + jitter
}

/// A route shared by the checks and the deliveries.
pub fn system_route(allow_private: bool) -> post::Route {
    post::Route {
        resolver: Arc::new(super::address::SystemResolver),
        allow_private,
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn the_backoff_doubles_from_one_second_to_five_minutes() {
        for (failed, secs) in [
            (0, 1),
            (1, 1),
            (2, 2),
            (3, 4),
            (9, 256),
            (10, 300),
            (40, 300),
        ] {
            let b = backoff(failed);
            let floor = Duration::from_secs(secs);
            assert!(
                b >= floor && b <= floor + Duration::from_millis(1020),
                "{failed}: {b:?}"
            );
        }
    }
}
