//! The test gateway, compiled from the very files this crate's integration tests use
//! (`tests/support/`), so that there is one responder to maintain.

#[path = "../tests/support/mschapv2.rs"]
pub mod mschapv2;
#[path = "../tests/support/responder.rs"]
pub mod responder;

pub use responder::{ChildInfo, Responder, ResponderAuth, ResponderConfig};
