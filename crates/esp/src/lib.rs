//! ESP Security Associations for Corridor's data plane: RFC 4303 packets, always
//! UDP-encapsulated on port 4500 (RFC 3948), with no I/O.
//!
//! # What is here
//!
//! | need | API | RFC |
//! |---|---|---|
//! | send | [`OutboundSa::encapsulate`], [`OutboundSa::encapsulate_batch`] into a [`DatagramBatch`] | 4303 §3.3 |
//! | receive | [`InboundSa::decapsulate`] in place → [`Decapsulated`] | 4303 §3.4 |
//! | both, from IKEv2 keys | [`ChildSa::new_initiator`] | 7296 §2.17 |
//! | suites | AES-GCM-16 128/256, ChaCha20-Poly1305, AES-CBC 128/256 with HMAC-SHA1-96 or HMAC-SHA2-256/384/512 | 4106, 7634, 3602, 4868, 2404 |
//! | anti-replay | [`ReplayWindow`]: 1984 packets, RFC 6479 ring of blocks, ESN inference | 4303 §3.4.3, App. A; 6479 |
//! | lifetimes | [`Lifetime`], `needs_rekey(now)`, `is_expired(now)` | 4301 §4.4.2.1 |
//! | port 4500 | [`classify`], [`nat_keepalive`] | 3948 |
//! | packet view | [`EspPacket`] | 4303 §2 |
//! | counters | [`SaStats`] | |
//!
//! # Sending and receiving
//!
//! ```
//! use std::time::Instant;
//! use corridor_crypto::{EncrAlgorithm, SystemRandom};
//! use corridor_esp::*;
//!
//! # fn main() -> Result<(), EspError> {
//! let now = Instant::now();
//! let config = SaConfig {
//!     spi: 0xc0ffee01,
//!     encr: EncrAlgorithm::AesGcm16 { key_bits: 256 },
//!     integ: None,
//!     esn: true,
//!     lifetime: Lifetime::default(),
//! };
//! let key = [7u8; 36]; // 32 bytes of key, 4 of salt: from IKEv2's KEYMAT
//! let mut tx = OutboundSa::new(&config, &key, &[], Box::new(SystemRandom::new()), now)?;
//! let mut rx = InboundSa::new(&config, &key, &[], now)?;
//!
//! // Encapsulate a batch of inner IP packets into one reusable buffer.
//! let inner = [0x45u8; 60]; // an IPv4 packet
//! let mut batch = DatagramBatch::new();
//! tx.encapsulate_batch([&inner[..], &inner[..]], &mut batch)?;
//! assert_eq!(batch.gso_segment_size(), Some(tx.encapsulated_len(60)));
//!
//! // Each datagram is a UDP payload for port 4500; decapsulate in place.
//! let mut datagram = batch.get(0).unwrap_or_default().to_vec();
//! assert_eq!(classify(&datagram)?, Received::Esp { spi: 0xc0ffee01 });
//! let d = rx.decapsulate(&mut datagram)?;
//! assert_eq!(d.inner(&datagram), inner);
//! assert_eq!(d.next_header, NEXT_HEADER_IPV4);
//! // A replay is refused before any cryptography runs.
//! let mut again = batch.get(0).unwrap_or_default().to_vec();
//! assert!(matches!(rx.decapsulate(&mut again), Err(EspError::Replay { seq: 1 })));
//! # Ok(()) }
//! ```
//!
//! # Conventions
//!
//! - Nothing on the per-packet path allocates: encapsulation writes into the caller's
//!   buffer (or a reused [`DatagramBatch`]), decapsulation works in place.
//! - Inbound failures never panic and never allocate; they are counted in [`SaStats`].
//! - Time is passed in as `Instant`; randomness (AES-CBC IVs only) is injected.
//! - Keys are never printed: `Debug` shows SPIs, algorithms and counters.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod batch;
mod error;
mod lifetime;
mod packet;
mod replay;
mod sa;
mod stats;
mod suite;
mod udp;

#[cfg(test)]
mod tests;

pub use batch::{DatagramBatch, GsoRun, MAX_GSO_BYTES, gso_runs};
pub use error::EspError;
pub use lifetime::Lifetime;
pub use packet::{
    ESP_HEADER_LEN, EspPacket, NEXT_HEADER_IPV4, NEXT_HEADER_IPV6, NEXT_HEADER_NONE, spi_of,
};
pub use replay::{REPLAY_WINDOW, ReplayVerdict, ReplayWindow};
pub use sa::{
    ChildSa, ChildSaParams, Decapsulated, InboundSa, OutboundSa, SEQUENCE_SOFT_MARGIN, SaConfig,
};
pub use stats::SaStats;
pub use udp::{Received, classify, nat_keepalive};
