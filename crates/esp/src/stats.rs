//! Per-SA counters for status displays and diagnostics.

/// Counters of one direction of an SA.
///
/// They only grow (wrapping is impossible in practice with `u64`); the caller computes
/// rates by sampling. Packets rejected before the SPI check are not counted here
/// because they belong to no SA.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SaStats {
    /// Packets successfully encapsulated (outbound) or decapsulated (inbound).
    pub packets: u64,
    /// Inner (plaintext IP) bytes of those packets.
    pub bytes: u64,
    /// ESP bytes of those packets (header, IV, ciphertext, ICV).
    pub esp_bytes: u64,
    /// Inbound packets dropped by the anti-replay window.
    pub replay_drops: u64,
    /// Inbound packets whose ICV did not verify.
    pub auth_failures: u64,
    /// Inbound packets that were too short, misaligned or had a bad trailer.
    pub malformed: u64,
    /// Inbound dummy packets (Next Header 59) that were discarded.
    pub dummies: u64,
}
