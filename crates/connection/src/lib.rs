//! One Corridor connection on this host, shared by `corridor up` and the service:
//!
//! - [`route_plan`]: which prefixes go into the tunnel and which stay out (pure);
//! - [`host`]: the TUN device, addresses, routes and DNS for what the gateway assigned,
//!   every change journalled by the platform layer;
//! - [`device`]: the TUN device as the session driver's packet device, kept across
//!   sessions, with traffic counters;
//! - [`backoff`]: when to try again;
//! - [`supervisor`]: the connection's life, from the first handshake through lost
//!   gateways, changed networks and sleep, to the user's disconnect.

#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod backoff;
pub mod device;
pub mod host;
pub mod route_plan;
pub mod supervisor;

pub use device::{Traffic, TrafficCounters};
pub use host::{HostError, HostOptions};
pub use supervisor::{
    ConnectError, ConnectOptions, Details, Observer, Status, Stopped, run, session_options,
};
