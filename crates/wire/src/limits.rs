//! Caps on how many elements a peer can make the parser hold.
//!
//! The wire format bounds most counts by the width of their field and by the datagram
//! size; these caps are tighter, so that parsing a hostile 64 KiB datagram allocates a
//! small, fixed amount. Each leaves a wide margin over real traffic: the strongSwan
//! captures in `tests/data` carry at most 13 payloads in a chain, 2 proposals and 5
//! transforms per proposal. Exceeding a cap is [`crate::Error::TooMany`].

/// Payloads in one chain (a message, or the plaintext of an Encrypted payload).
pub const MAX_PAYLOADS: usize = 128;
/// Proposals in one SA payload.
pub const MAX_PROPOSALS: usize = 64;
/// Transforms in one proposal.
pub const MAX_TRANSFORMS: usize = 128;
/// Attributes in one transform; only Key Length is defined, and a transform "MUST NOT
/// have multiple attributes of the same type" (RFC 7296 §3.3).
pub const MAX_TRANSFORM_ATTRIBUTES: usize = 4;
/// Traffic selectors in one TS payload (the count field is one octet).
pub const MAX_TRAFFIC_SELECTORS: usize = 255;
/// Attributes in one Configuration payload.
pub const MAX_CONFIG_ATTRIBUTES: usize = 128;
/// Fragments an IKE message may be split into. RFC 7383 sets no limit; 64 fragments cut
/// at the 576-byte IPv4 minimum carry about 30 KB, three times strongSwan's default
/// maximum message size (10,000 bytes), and real implementations cut at 1280 or more.
pub const MAX_FRAGMENTS: u16 = 64;
