//! Ports: the small traits the engine needs from the outside world. Adapters
//! (`crate::adapters`) implement them for the embedded and AWS deployments.

pub mod audience;
pub mod change_cursor;
pub mod clock;
pub mod connection_store;
pub mod key_store;
pub mod prompt_store;
pub mod pusher;
pub mod session_store;
pub mod subscriber_store;

pub use audience::{Audience, DeliveryReport};
pub use change_cursor::ChangeCursor;
pub use clock::{Clock, SystemClock};
pub use connection_store::{ConnectionRecord, ConnectionStore, ListenerPage, Topic};
pub use key_store::{KeyInfo, KeyStore};
pub use prompt_store::{ListQuery, PromptStore, SearchQuery, StoreError, StoreResult};
pub use pusher::{PushOutcome, Pusher};
pub use session_store::{SessionRecord, SessionStore};
pub use subscriber_store::{
    SubscribeError, Subscriber, SubscriberStatus, SubscriberStore, Subscriptions, redacted_url,
    subscriber_cursor,
};
