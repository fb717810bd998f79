//! Session state lives in the domain (ports store it); re-exported here so the
//! engine's methods read as before.

pub use crate::domain::session::*;
