//! One VPN session, sans-IO: the IKEv2 SA of `corridor-ike` and the ESP Child SA of
//! `corridor-esp` joined into one state machine, [`Session`].
//!
//! The session decides what the two halves cannot decide alone: which port 4500
//! datagrams are ESP, IKE or keepalives (RFC 3948 §2), which inner packets the Child SA
//! may carry (its traffic selectors, RFC 4301 §5), when to send NAT-keepalives, when the
//! Child SA reaches its lifetimes (and is rekeyed make-before-break: old and new inbound
//! SAs side by side until the old one is deleted), that authentic ESP proves the gateway
//! alive, and the TUN device's MTU. It does no I/O: the driver
//! feeds datagrams, TUN packets and time in and drains datagrams, events and timer
//! deadlines out (see [`Session`] for the call order).
//!
//! # A driver, in outline
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use std::sync::Arc;
//! use std::time::Instant;
//!
//! use corridor_esp::DatagramBatch;
//! use corridor_ike::IkeConfig;
//! use corridor_session::{Session, SessionEvent, SessionOptions};
//!
//! enum Input { Gateway(SocketAddr, Vec<u8>), Tun(Vec<u8>), Timer }
//!
//! fn run(
//!     config: IkeConfig,
//!     local: SocketAddr,
//!     gateway: SocketAddr,
//!     mut send: impl FnMut(u16, &[u8]),
//!     mut to_tun: impl FnMut(&[u8]),
//!     mut wait: impl FnMut(Option<Instant>) -> Input,
//! ) -> Result<(), corridor_session::SessionError> {
//!     let mut session = Session::new(
//!         Arc::new(config),
//!         Box::new(corridor_crypto::SystemRandom::new()),
//!         local,
//!         gateway,
//!         Instant::now(),
//!         rustls_pki_types::UnixTime::now(),
//!         SessionOptions::default(),
//!     )?;
//!     session.connect(Instant::now());
//!     let mut batch = DatagramBatch::new();
//!     loop {
//!         while let Some(t) = session.poll_transmit() {
//!             send(t.destination_port, &t.payload);
//!         }
//!         while let Some(event) = session.poll_event() {
//!             match event {
//!                 SessionEvent::Connected(info) => { /* configure TUN: info.inner_mtu… */ }
//!                 SessionEvent::Failed(e) => return Err(e),
//!                 SessionEvent::Disconnected { .. } => return Ok(()),
//!                 _ => {}
//!             }
//!         }
//!         match wait(session.poll_timeout()) {
//!             Input::Gateway(from, mut datagram) => {
//!                 if let Some(inner) = session.handle_datagram(Instant::now(), from, &mut datagram) {
//!                     to_tun(&datagram[inner]);
//!                 }
//!             }
//!             Input::Tun(packet) => {
//!                 batch.clear();
//!                 session.handle_tun_packets(Instant::now(), [&packet[..]], &mut batch);
//!                 for datagram in batch.iter() {
//!                     send(4500, datagram);
//!                 }
//!             }
//!             Input::Timer => session.handle_timeout(Instant::now()),
//!         }
//!     }
//! }
//! ```

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod data_plane;
mod event;
mod rng;
mod selectors;
mod session;
mod stats;

pub use event::{
    ChildRekeyInfo, ConnectionInfo, DisconnectReason, IkeRekeyInfo, RekeyReason, SessionError,
    SessionEvent, SessionOptions,
};
pub use session::Session;
pub use stats::{Drops, SessionStats};
