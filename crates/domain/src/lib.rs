//! The domain: prompts, versions, labels, templates, change events, static
//! resources, MCP session state. Pure: no I/O, no async runtime, no storage.

pub mod access;
pub mod catalog_file;
pub mod change;
pub mod label;
pub mod prompt;
pub mod prompt_id;
pub mod session;
pub mod static_resource;
pub mod template;
pub mod uri_template;
pub mod variable;

pub use access::{Principal, Role};
pub use change::{ChangeEvent, ChangeKind, PendingChange};
pub use label::Label;
pub use prompt::{Prompt, PromptDraft, PromptError, PromptPatch};
pub use prompt_id::PromptId;
pub use session::{CatalogFilter, Interest, Listener, LogLevel, Phase, Session};
pub use variable::Variable;
