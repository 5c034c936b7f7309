//! The EAP peer that Corridor's IKEv2 initiator runs inside IKE_AUTH (RFC 7296 §2.16).
//!
//! The crate is sans-IO: the `ike` layer hands every EAP message it finds in an EAP payload
//! to [`EapPeer::handle`] and sends back, in the next IKE_AUTH request, the response that
//! call returns. When the gateway's EAP-Success arrives, [`EapPeer::msk`] holds the Master
//! Session Key that RFC 7296 §2.16 uses as the shared secret for the AUTH payloads, and
//! [`EapPeer::is_mutual`] tells whether the method also proved the gateway's identity.
//!
//! Methods:
//! - EAP-MSCHAPv2 ([`mschapv2`]): password authentication as deployed on strongSwan and
//!   Windows gateways. The gateway's proof of the password (RFC 2759 §8.7) is verified
//!   before we acknowledge success.
//! - EAP-TLS ([`tls`]): certificate authentication through rustls (TLS 1.2 and 1.3), with
//!   the EAP-TLS fragmentation of RFC 5216 and the TLS 1.3 rules of RFC 9190.
//!
//! Identity (type 1), Notification (type 2) and legacy Nak (type 3) are handled by the
//! method-independent peer itself.
//!
//! Randomness comes from the caller through [`Random`]; the TLS stack draws its own from the
//! `rustls::ClientConfig` the caller supplies. No clock, socket or thread is used.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod codec;
mod error;
pub mod mschapv2;
mod peer;
mod secret;
pub mod tls;

pub use codec::{Code, EapType, Packet};
pub use error::{EapError, MsChapV2Failure};
pub use peer::{Credentials, EapConfig, EapPeer, EapState};
pub use secret::{Msk, Password};

/// A source of random bytes, injected by the caller so that runs are reproducible in tests
/// and the protocol crates never touch an OS RNG.
///
/// Production callers pass a cryptographically secure generator; MSCHAPv2 draws its
/// 16-octet peer challenge from it (RFC 2759 §8.1).
pub trait Random {
    /// Fills `dest` entirely with random bytes.
    fn fill(&mut self, dest: &mut [u8]);
}
