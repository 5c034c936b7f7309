//! What every Corridor client shares: the connection to the service (`corridord`), the
//! user's keychain, and reading a profile file with the user's own rights before it is
//! handed to the service.
//!
//! The `corridor` CLI and the desktop app both build on this crate, so a password the
//! one remembers is found by the other, and an import behaves the same in both.

#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod client;
pub mod import;
pub mod keychain;

pub use client::{Client, ClientError, default_socket};
