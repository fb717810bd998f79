//! The hub core: the MCP session state machine and JSON-RPC dispatch
//! (`dispatch`), the catalog service (`catalog`), rendering (`renderer`). It never
//! sees a socket, an HTTP request or a Lambda event.

pub mod catalog;
pub mod cursor;
pub mod dispatch;
pub mod fanout;
pub mod json_write;
pub mod jsonrpc;
pub mod methods;
pub mod modern;
pub mod protocol;
pub mod renderer;
pub mod replay;
pub mod session;
pub mod static_resources;
pub mod text_plan;
pub mod tools;

pub use catalog::{Catalog, CatalogError, Selector};
pub use dispatch::{Engine, EngineConfig};
pub use session::Session;
