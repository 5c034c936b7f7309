//! Corridor's IKEv2 initiator (RFC 7296), sans-IO.
//!
//! [`Initiator`] runs one IKE SA with one gateway: IKE_SA_INIT (with COOKIE and
//! INVALID_KE_PAYLOAD retries, NAT detection and the switch to UDP port 4500), IKE_AUTH
//! with a pre-shared key, a certificate or EAP (the gateway is authenticated by its
//! certificate before any EAP credential leaves), the first Child SA with traffic
//! selector narrowing and the configuration payload, IKE fragmentation (RFC 7383) both
//! ways, retransmission with exponential backoff, the INFORMATIONAL exchanges a
//! gateway starts (liveness checks, Deletes), liveness checks of our own when the
//! gateway falls silent (RFC 7296 §2.4, [`Event::PeerDead`] when it stays silent), and
//! CREATE_CHILD_SA rekeys of the Child SA and of the IKE SA both ways (RFC 7296 §1.3.2,
//! §1.3.3, §2.8, §2.18), with or without PFS, including the simultaneous Child SA rekey
//! of §2.8.1.
//!
//! The crate does no I/O: the driver feeds datagrams and time in and drains datagrams,
//! timer deadlines and [`Event`]s out (see [`initiator`]). Randomness comes from the
//! injected [`corridor_crypto::Random`]; the wall clock, for certificate validity, is
//! passed in.
//!
//! Errors are one taxonomy ([`Error`]) whose messages say what went wrong in plain
//! words; unauthenticated junk never ends an SA, it is dropped with a debug log.
//!
//! # A driver, in outline
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use std::sync::Arc;
//! use std::time::Instant;
//!
//! use corridor_ike::{Established, Error, Event, IkeConfig, Initiator};
//!
//! /// `send(port, bytes)` sends a datagram to the gateway's `port` (500 or 4500) from the
//! /// socket for that port; `recv(deadline)` waits for a datagram until the deadline.
//! fn connect(
//!     config: IkeConfig,
//!     local: SocketAddr,
//!     gateway: SocketAddr,
//!     mut send: impl FnMut(u16, &[u8]),
//!     mut recv: impl FnMut(Option<Instant>) -> Option<(SocketAddr, Vec<u8>)>,
//! ) -> Result<Box<Established>, Error> {
//!     let mut ike = Initiator::new(
//!         Arc::new(config),
//!         Box::new(corridor_crypto::SystemRandom::new()),
//!         local,
//!         gateway,
//!         Instant::now(),
//!         rustls_pki_types::UnixTime::now(),
//!     )?;
//!     ike.connect(Instant::now());
//!     loop {
//!         while let Some(t) = ike.poll_transmit() {
//!             send(t.destination_port, &t.payload);
//!         }
//!         while let Some(event) = ike.poll_event() {
//!             match event {
//!                 Event::Established(established) => return Ok(established),
//!                 Event::Failed(error) => return Err(error),
//!                 _ => {} // KeyMaterial: log it only if the user asked for it.
//!             }
//!         }
//!         match recv(ike.poll_timeout()) {
//!             Some((from, datagram)) => ike.handle_datagram(Instant::now(), from, &datagram),
//!             None => ike.handle_timeout(Instant::now()),
//!         }
//!     }
//! }
//! ```

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod auth_data;
pub mod config;
pub mod config_payload;
mod error;
mod fragment;
pub mod identity;
pub mod initiator;
mod keys;
pub mod nat;
pub mod proposal;
mod protect;
pub mod retransmit;
mod signature;
pub mod traffic_selectors;
pub mod trust;

/// The small IKEv2 gateway of this crate's tests, exported for other crates' tests.
/// **Test only**: it uses fixed, seeded randomness and checks little.
#[cfg(feature = "test-responder")]
#[doc(hidden)]
#[allow(
    dead_code,
    unreachable_pub,
    missing_debug_implementations,
    clippy::unwrap_used,
    clippy::all
)]
pub mod test_responder;

// The test responder names this crate by its external name, as the tests do.
#[cfg(feature = "test-responder")]
extern crate self as corridor_ike;

pub use config::{EspProposal, IkeConfig, IkeProposal, LocalAuth};
pub use config_payload::{AssignedConfig, ConfigRequest};
pub use error::{AuthenticationError, Error, PeerIncompatible, PeerMisbehaved};
pub use identity::Identity;
pub use initiator::{Established, Event, Initiator, KeyMaterial, RekeyedChild, Transmit};
pub use keys::{ChildKeyMaterial, IkeKeyMaterial};
pub use nat::NatStatus;
pub use proposal::{EspSuite, IkeSuite};
pub use retransmit::RetransmitPolicy;
pub use traffic_selectors::TrafficSelectors;
pub use trust::TrustStore;
