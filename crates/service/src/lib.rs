//! The core of `corridord`, Corridor's privileged service: who the caller on the other
//! end of the IPC channel is ([`caller`]), what each caller may do ([`authz`]), and the
//! profiles the service keeps for every user next to the managed ones IT installs
//! ([`profiles`]).
//!
//! The rules in one place (docs/attack-surface.md lists every entry point):
//! - Only members of the service's group (and root) can open its socket at all; the OS
//!   checks that through the socket's mode and owner, the service again through the
//!   peer credentials of every connection.
//! - A member sees the managed profiles and their own; another user's profiles do not
//!   exist for them (a "not found", so names do not leak).
//! - Managed profiles change only through an administrator (root).
//! - Secrets are never returned: profiles go out with the pre-shared key removed.
//! - One tunnel at a time ([`connections`]); its owner or an administrator ends it.

#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod accounts;
pub mod authz;
pub mod caller;
pub mod connections;
mod editing;
pub mod events;
pub mod pipe_access;
pub mod policy;
pub mod profiles;
pub mod server;

pub use authz::{Action, Owner, authorize};
pub use caller::Caller;
pub use profiles::{Profiles, summary};
