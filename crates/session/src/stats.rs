//! Counters of a session's data plane, for status displays and diagnostics.

/// Why inner packets or ESP datagrams were dropped. Every counter only grows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drops {
    /// ESP packets refused by the anti-replay window.
    pub replay: u64,
    /// ESP packets whose ICV (or AEAD tag) did not verify.
    pub auth: u64,
    /// Datagrams that were not ESP, IKE or a keepalive, ESP packets with a bad layout,
    /// and TUN packets that are not IPv4 or IPv6.
    pub malformed: u64,
    /// ESP packets for an SPI that is not our inbound SA's.
    pub unknown_spi: u64,
    /// Packets outside the Child SA's traffic selectors, either direction.
    pub outside_traffic_selectors: u64,
    /// Packets while no Child SA is up (before `Connected`, after the end).
    pub not_connected: u64,
    /// Packets refused because the Child SA reached a hard lifetime or its sequence
    /// numbers ran out.
    pub expired: u64,
    /// Dummy ESP packets (Next Header 59), discarded as RFC 4303 §2.6 asks.
    pub dummy: u64,
    /// Datagrams from an address other than the gateway's.
    pub unknown_source: u64,
}

/// Traffic and drop counters of a [`crate::Session`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SessionStats {
    /// Inner packets encapsulated and handed out for sending.
    pub packets_out: u64,
    /// Inner bytes of those packets.
    pub bytes_out: u64,
    /// Inner packets decapsulated and handed to the caller.
    pub packets_in: u64,
    /// Inner bytes of those packets.
    pub bytes_in: u64,
    /// IKE datagrams received (whatever became of them).
    pub ike_datagrams_in: u64,
    /// NAT-keepalives sent.
    pub keepalives_sent: u64,
    /// Drops, by reason.
    pub drops: Drops,
}
