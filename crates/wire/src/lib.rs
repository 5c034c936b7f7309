//! The IKEv2 wire format: messages, payloads and IANA registries (RFC 7296 §3), encrypted
//! fragments (RFC 7383), signature authentication data (RFC 7427), split-DNS configuration
//! attributes (RFC 8598) and the UDP-encapsulation framing on port 4500 (RFC 3948).
//!
//! The crate does no cryptography and no I/O. It turns bytes into typed, borrowed views and
//! owned builders back into bytes:
//!
//! - [`Message::parse`] checks a whole datagram (after the non-ESP marker) strictly: every
//!   length against its enclosing structure, no trailing bytes, RFC value ranges, and caps
//!   on how many elements a peer can make us hold (see [`limits`]). It returns the header
//!   and a list of [`Payload`] views that borrow from the input.
//! - An Encrypted (SK) or Encrypted Fragment (SKF) payload is exposed as its raw
//!   IV | ciphertext | ICV region plus the type of the first inner payload; the `ike` layer
//!   decrypts it with the key material it owns and parses the plaintext with
//!   [`parse_inner_payloads`]. [`Message::associated_data`] gives the AEAD associated data.
//! - [`MessageBuilder`] and the `*Builder` payload types own their data and compute every
//!   length and the next-payload chain when encoded; [`MessageBuilder::encode_encrypted`]
//!   writes the header and SK payload header for a ciphertext of known size.
//! - [`udp_encap`] tells IKE, ESP and NAT-keepalives apart on port 4500.
//!
//! Errors are one [`Error`] type whose messages name the structure, the field and the
//! reason; [`Error::notify_type`] maps an error to the Notify that RFC 7296 §2.21 says to
//! answer with.
//!
//! Code that enforces an RFC rule quotes the sentence above it with its section.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
mod header;
pub mod limits;
mod message;
pub mod payload;
mod reader;
pub mod registry;
pub mod udp_encap;

pub use error::{Error, ErrorKind, Structure};
pub use header::{Flags, HEADER_LEN, Header, IKE_MAJOR_VERSION};
pub use message::{Message, MessageBuilder};
pub use payload::{Payload, PayloadBuilder, encode_inner_payloads, parse_inner_payloads};
pub use reader::Reader;
pub use registry::*;

#[cfg(test)]
mod test_util;
