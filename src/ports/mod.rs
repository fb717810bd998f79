//! Ports: the small traits the engine needs from the outside world. Adapters
//! (`crate::adapters`) implement them for the embedded and AWS deployments.

pub mod change_cursor;
pub mod clock;
pub mod prompt_store;

pub use change_cursor::ChangeCursor;
pub use clock::{Clock, SystemClock};
pub use prompt_store::{ListQuery, PromptStore, SearchQuery, StoreError, StoreResult};
