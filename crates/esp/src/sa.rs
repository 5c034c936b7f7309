//! The two directions of an ESP Child SA: [`OutboundSa`] encapsulates, [`InboundSa`]
//! decapsulates in place, [`ChildSa`] pairs them from IKEv2's keys.

use std::ops::Range;
use std::time::Instant;

use corridor_crypto::{ChildSaKeys, EncrAlgorithm, IntegAlgorithm, Random};

use crate::batch::DatagramBatch;
use crate::error::{EspError, malformed};
use crate::lifetime::{AgeDeadlines, Lifetime};
use crate::packet::{
    ESP_HEADER_LEN, EspPacket, NEXT_HEADER_IPV4, NEXT_HEADER_IPV6, NEXT_HEADER_NONE, parse_trailer,
    write_trailer,
};
use crate::replay::{ReplayVerdict, ReplayWindow};
use crate::stats::SaStats;
use crate::suite::{Layout, Suite};

/// How many sequence numbers before the end of the space [`OutboundSa::needs_rekey`]
/// starts asking for a new SA: about 16 million packets, seconds at line rate, which
/// leaves IKE time for a CREATE_CHILD_SA exchange.
pub const SEQUENCE_SOFT_MARGIN: u64 = 1 << 24;

/// The parameters of one SA direction, as IKEv2 negotiated them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaConfig {
    /// The SPI carried in the packets (chosen by the receiving side).
    pub spi: u32,
    /// The encryption (or AEAD) algorithm.
    pub encr: EncrAlgorithm,
    /// The integrity algorithm; `None` with an AEAD.
    pub integ: Option<IntegAlgorithm>,
    /// Extended (64-bit) sequence numbers (RFC 4303 §2.2.1).
    pub esn: bool,
    /// Rekey and expiry limits.
    pub lifetime: Lifetime,
}

impl SaConfig {
    fn check(&self) -> Result<(), EspError> {
        // RFC 4303 §2.1: "The SPI value of zero (0) is reserved for local,
        // implementation-specific use and MUST NOT be sent on the wire."
        if self.spi == 0 {
            return Err(EspError::InvalidConfig {
                reason: "SPI zero is reserved",
            });
        }
        Ok(())
    }
}

/// The sending direction of an SA.
///
/// IVs: for the AEADs the 8-byte IV is the 64-bit sequence number. RFC 4106 §3.1: "The
/// IV MUST be chosen by the encryptor in a manner that ensures that the same IV value is
/// used only once for a given key. The encryptor can generate the IV in any manner that
/// ensures uniqueness. Common approaches to IV generation include incrementing a
/// counter for each packet"; RFC 7634 §2 requires the same. The sequence number never
/// repeats under one key (it never wraps), so neither does the IV, and no RNG call is
/// spent per packet. For AES-CBC, RFC 3602 §2.1 requires an unpredictable IV ("The IV
/// MUST be chosen at random"), so 16 bytes are drawn from the injected [`Random`].
pub struct OutboundSa {
    spi: u32,
    esn: bool,
    suite: Suite,
    /// The sequence number of the last packet sent (0: none yet).
    seq: u64,
    lifetime: Lifetime,
    /// When `lifetime`'s age limits are reached, counted from the SA's creation.
    deadlines: AgeDeadlines,
    stats: SaStats,
    rng: Box<dyn Random + Send + Sync>,
}

impl OutboundSa {
    /// An SA sending with `config` and its keys: `encr_key` includes the 4-byte salt for
    /// an AEAD; `integ_key` is empty for an AEAD. `rng` supplies AES-CBC IVs; `now` is
    /// the creation time for the age lifetime.
    ///
    /// # Errors
    /// [`EspError::InvalidConfig`] for SPI zero, an unsupported combination or a key of
    /// the wrong length.
    pub fn new(
        config: &SaConfig,
        encr_key: &[u8],
        integ_key: &[u8],
        rng: Box<dyn Random + Send + Sync>,
        now: Instant,
    ) -> Result<Self, EspError> {
        config.check()?;
        Ok(Self {
            spi: config.spi,
            esn: config.esn,
            suite: Suite::new(config.encr, config.integ, encr_key, integ_key)?,
            seq: 0,
            lifetime: config.lifetime,
            deadlines: config.lifetime.deadlines(now),
            stats: SaStats::default(),
            rng,
        })
    }

    /// The SPI in the packets sent.
    pub fn spi(&self) -> u32 {
        self.spi
    }

    /// The encryption algorithm.
    pub fn encr(&self) -> EncrAlgorithm {
        self.suite.encr()
    }

    /// The integrity algorithm (`None` with an AEAD).
    pub fn integ(&self) -> Option<IntegAlgorithm> {
        self.suite.integ()
    }

    /// Whether extended sequence numbers are in use.
    pub fn esn(&self) -> bool {
        self.esn
    }

    /// The counters.
    pub fn stats(&self) -> &SaStats {
        &self.stats
    }

    /// The sequence number of the last packet sent (0 before the first).
    pub fn last_sequence_number(&self) -> u64 {
        self.seq
    }

    fn max_sequence_number(&self) -> u64 {
        if self.esn {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        }
    }

    /// The length of the ESP packet (the UDP payload on port 4500) for an inner packet
    /// of `inner_len` bytes.
    pub fn encapsulated_len(&self, inner_len: usize) -> usize {
        let align = self.suite.alignment();
        let encrypted = (inner_len + 2).div_ceil(align) * align;
        ESP_HEADER_LEN + self.suite.iv_len() + encrypted + self.suite.icv_len()
    }

    /// The largest inner packet whose ESP packet fits in `max_esp_len` bytes (for the
    /// tunnel MTU: the path MTU less the outer IP and UDP headers); 0 if none fits.
    pub fn max_inner_len(&self, max_esp_len: usize) -> usize {
        let align = self.suite.alignment();
        let fixed = ESP_HEADER_LEN + self.suite.iv_len() + self.suite.icv_len();
        let encrypted = max_esp_len.saturating_sub(fixed) / align * align;
        encrypted.saturating_sub(2)
    }

    /// Whether a replacement SA should be negotiated now: a soft lifetime is reached, or
    /// the sequence number space is within [`SEQUENCE_SOFT_MARGIN`] of its end.
    pub fn needs_rekey(&self, now: Instant) -> bool {
        self.max_sequence_number() - self.seq <= SEQUENCE_SOFT_MARGIN
            || self
                .lifetime
                .soft_reached(&self.stats, &self.deadlines, now)
            || self.is_expired(now)
    }

    /// Whether the SA must not be used any more: a hard lifetime is reached or the
    /// sequence numbers are used up.
    pub fn is_expired(&self, now: Instant) -> bool {
        self.seq == self.max_sequence_number()
            || self
                .lifetime
                .hard_reached(&self.stats, &self.deadlines, now)
    }

    /// Encapsulates one inner IPv4 or IPv6 packet into `out`, returning the length of
    /// the ESP packet written at its start (see [`encapsulated_len`](Self::encapsulated_len)).
    ///
    /// # Errors
    /// [`EspError::Malformed`] if `inner` is not IPv4 or IPv6,
    /// [`EspError::BufferTooSmall`], [`EspError::SequenceExhausted`],
    /// [`EspError::LifetimeExpired`] (hard byte or packet limit).
    pub fn encapsulate(&mut self, inner: &[u8], out: &mut [u8]) -> Result<usize, EspError> {
        let next_header = match inner.first().map(|b| b >> 4) {
            Some(4) => NEXT_HEADER_IPV4,
            Some(6) => NEXT_HEADER_IPV6,
            _ => return Err(malformed("inner packet is neither IPv4 nor IPv6")),
        };
        self.seal_into((inner, next_header), out, None)
    }

    /// Encapsulates `payload` with an explicit Next Header: transport-mode payloads, or
    /// a dummy packet ([`NEXT_HEADER_NONE`](crate::NEXT_HEADER_NONE), usually with an
    /// empty payload) to hide traffic patterns (RFC 4303 §2.6).
    ///
    /// # Errors
    /// As [`encapsulate`](Self::encapsulate), without the IP version check.
    pub fn encapsulate_with_next_header(
        &mut self,
        payload: &[u8],
        next_header: u8,
        out: &mut [u8],
    ) -> Result<usize, EspError> {
        self.seal_into((payload, next_header), out, None)
    }

    /// Encapsulates every packet of `packets`, appending one datagram per packet to
    /// `out` (which is not cleared first). Returns how many were appended.
    ///
    /// # Errors
    /// The first error stops the batch; the datagrams appended before it stay in `out`.
    pub fn encapsulate_batch<'p, I>(
        &mut self,
        packets: I,
        out: &mut DatagramBatch,
    ) -> Result<usize, EspError>
    where
        I: IntoIterator<Item = &'p [u8]>,
    {
        let mut count = 0;
        for inner in packets {
            let max = self.encapsulated_len(inner.len());
            out.push_with(max, |buf| self.encapsulate(inner, buf))?;
            count += 1;
        }
        Ok(count)
    }

    /// The next sequence number, or an error if the space or a hard limit is used up.
    fn next_sequence_number(&mut self, inner_len: usize) -> Result<u64, EspError> {
        // RFC 4303 §3.3.3: "If the ESN option is not selected, the transmitted Sequence
        // Number must never be allowed to cycle. Thus, the sender's counter and the
        // receiver's counter MUST be reset (by establishing a new SA and thus a new key)
        // prior to the transmission of the 2^32nd packet on an SA." With ESN the same
        // holds for 2^64.
        if self.seq == self.max_sequence_number() {
            return Err(EspError::SequenceExhausted);
        }
        if let Some(limit) = self.lifetime.hard_packets
            && self.stats.packets >= limit
        {
            return Err(EspError::LifetimeExpired { limit: "packet" });
        }
        if let Some(limit) = self.lifetime.hard_bytes
            && self.stats.bytes.saturating_add(inner_len as u64) > limit
        {
            return Err(EspError::LifetimeExpired { limit: "byte" });
        }
        Ok(self.seq + 1)
    }

    fn seal_into(
        &mut self,
        (payload, next_header): (&[u8], u8),
        out: &mut [u8],
        fixed_iv: Option<&[u8]>,
    ) -> Result<usize, EspError> {
        let total = self.encapsulated_len(payload.len());
        if out.len() < total {
            return Err(EspError::BufferTooSmall {
                needed: total,
                available: out.len(),
            });
        }
        let seq = self.next_sequence_number(payload.len())?;
        let iv_end = ESP_HEADER_LEN + self.suite.iv_len();
        let icv_end = total;
        let ct_end = icv_end - self.suite.icv_len();
        let packet = &mut out[..total];
        packet[..4].copy_from_slice(&self.spi.to_be_bytes());
        // Truncation intended: only the low half travels (RFC 4303 §2.2.1).
        packet[4..8].copy_from_slice(&(seq as u32).to_be_bytes());
        let iv = &mut packet[ESP_HEADER_LEN..iv_end];
        match fixed_iv {
            Some(fixed) => iv.copy_from_slice(fixed),
            None if self.suite.is_aead() => iv.copy_from_slice(&seq.to_be_bytes()),
            None => self.rng.fill(iv),
        }
        let payload_end = iv_end + payload.len();
        packet[iv_end..payload_end].copy_from_slice(payload);
        let pad_len = ct_end - payload_end - 2;
        write_trailer(&mut packet[payload_end..ct_end], pad_len, next_header);
        // The number is spent before sealing: even a failed seal never reuses it.
        self.seq = seq;
        let layout = Layout {
            iv_end,
            ct_end,
            icv_end,
        };
        self.suite.seal(packet, layout, self.esn_high(seq))?;
        self.stats.packets += 1;
        self.stats.bytes += payload.len() as u64;
        self.stats.esp_bytes += total as u64;
        Ok(total)
    }

    fn esn_high(&self, seq: u64) -> Option<u32> {
        self.esn.then_some((seq >> 32) as u32)
    }

    /// Seals with a caller-chosen IV and next sequence number, for known-answer tests:
    /// a repeated AEAD IV under one key destroys confidentiality and integrity.
    #[cfg(test)]
    pub(crate) fn seal_for_test(
        &mut self,
        seq: u64,
        iv: &[u8],
        payload: &[u8],
        next_header: u8,
        out: &mut [u8],
    ) -> Result<usize, EspError> {
        self.seq = seq - 1;
        self.seal_into((payload, next_header), out, Some(iv))
    }

    /// Moves the counter, for exhaustion tests.
    #[cfg(test)]
    pub(crate) fn set_last_sequence_number(&mut self, seq: u64) {
        self.seq = seq;
    }
}

impl std::fmt::Debug for OutboundSa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("suite", &self.suite)
            .field("esn", &self.esn)
            .field("seq", &self.seq)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// A decapsulated packet: where its inner packet lies in the buffer given to
/// [`InboundSa::decapsulate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decapsulated {
    /// The inner packet's bytes within the ESP packet buffer (now plaintext).
    pub inner: Range<usize>,
    /// The Next Header: 4 (IPv4) or 41 (IPv6) in tunnel mode.
    pub next_header: u8,
    /// The full (ESN-inferred) sequence number.
    pub seq: u64,
}

impl Decapsulated {
    /// A dummy packet (Next Header 59), which the caller must drop.
    ///
    /// RFC 4303 §2.6: "A receiver MUST be prepared to silently discard dummy packets."
    pub fn is_dummy(&self) -> bool {
        self.next_header == NEXT_HEADER_NONE
    }

    /// The inner packet within `packet`, the buffer that was decapsulated.
    pub fn inner<'a>(&self, packet: &'a [u8]) -> &'a [u8] {
        packet.get(self.inner.clone()).unwrap_or_default()
    }
}

/// The receiving direction of an SA, with its anti-replay window.
pub struct InboundSa {
    spi: u32,
    esn: bool,
    suite: Suite,
    window: ReplayWindow,
    lifetime: Lifetime,
    /// When `lifetime`'s age limits are reached, counted from the SA's creation.
    deadlines: AgeDeadlines,
    stats: SaStats,
}

impl InboundSa {
    /// An SA receiving with `config` and its keys (see [`OutboundSa::new`]).
    ///
    /// # Errors
    /// [`EspError::InvalidConfig`] as for [`OutboundSa::new`].
    pub fn new(
        config: &SaConfig,
        encr_key: &[u8],
        integ_key: &[u8],
        now: Instant,
    ) -> Result<Self, EspError> {
        config.check()?;
        Ok(Self {
            spi: config.spi,
            esn: config.esn,
            suite: Suite::new(config.encr, config.integ, encr_key, integ_key)?,
            window: ReplayWindow::new(),
            lifetime: config.lifetime,
            deadlines: config.lifetime.deadlines(now),
            stats: SaStats::default(),
        })
    }

    /// The SPI of the packets this SA accepts.
    pub fn spi(&self) -> u32 {
        self.spi
    }

    /// Whether extended sequence numbers are in use.
    pub fn esn(&self) -> bool {
        self.esn
    }

    /// The counters.
    pub fn stats(&self) -> &SaStats {
        &self.stats
    }

    /// The anti-replay window.
    pub fn replay_window(&self) -> &ReplayWindow {
        &self.window
    }

    /// Whether a soft lifetime is reached (the peer usually rekeys first).
    pub fn needs_rekey(&self, now: Instant) -> bool {
        self.lifetime
            .soft_reached(&self.stats, &self.deadlines, now)
    }

    /// Whether a hard lifetime is reached.
    pub fn is_expired(&self, now: Instant) -> bool {
        self.lifetime
            .hard_reached(&self.stats, &self.deadlines, now)
    }

    /// Checks and decrypts `packet` (a UDP payload that [`crate::classify`] called ESP)
    /// in place. On success the inner packet is `packet[result.inner]`; a dummy packet
    /// ([`Decapsulated::is_dummy`]) must be dropped.
    ///
    /// Order, from cheapest to dearest: length and SPI, the replay window, the ICV (and
    /// decryption), then the window update and the trailer checks. Nothing allocates.
    ///
    /// # Errors
    /// [`EspError::Malformed`], [`EspError::UnknownSpi`], [`EspError::Replay`],
    /// [`EspError::IntegrityFailed`]. After an error the replay window is unchanged,
    /// except for a bad trailer behind a good ICV: that sequence number was genuinely
    /// used by the peer.
    pub fn decapsulate(&mut self, packet: &mut [u8]) -> Result<Decapsulated, EspError> {
        let result = self.decapsulate_counted(packet);
        match &result {
            Ok(d) if d.is_dummy() => self.stats.dummies += 1,
            Ok(d) => {
                self.stats.packets += 1;
                self.stats.bytes += d.inner.len() as u64;
                self.stats.esp_bytes += packet.len() as u64;
            }
            Err(EspError::Replay { .. }) => self.stats.replay_drops += 1,
            Err(EspError::IntegrityFailed) => self.stats.auth_failures += 1,
            Err(EspError::Malformed { .. }) => self.stats.malformed += 1,
            Err(_) => {}
        }
        result
    }

    fn decapsulate_counted(&mut self, packet: &mut [u8]) -> Result<Decapsulated, EspError> {
        let view = EspPacket::new_checked(&*packet)?;
        let (spi, seq_low) = (view.spi(), view.sequence_number());
        let iv_end = ESP_HEADER_LEN + self.suite.iv_len();
        let icv_len = self.suite.icv_len();
        // The encrypted part holds at least Pad Length and Next Header; for CBC it is
        // whole blocks.
        let min_encrypted = if self.suite.is_aead() { 2 } else { 16 };
        if packet.len() < iv_end + min_encrypted + icv_len {
            return Err(malformed("shorter than header, IV, trailer and ICV"));
        }
        if spi != self.spi {
            return Err(EspError::UnknownSpi { spi });
        }
        let icv_end = packet.len();
        let ct_end = icv_end - icv_len;
        if !self.suite.is_aead() && !(ct_end - iv_end).is_multiple_of(16) {
            return Err(malformed("ciphertext is not a whole number of AES blocks"));
        }
        let seq = if self.esn {
            self.window.infer_esn(seq_low).ok_or(EspError::Replay {
                seq: u64::from(seq_low),
            })?
        } else {
            u64::from(seq_low)
        };
        // RFC 4303 §3.4.3: "Duplicates are rejected through the use of a sliding receive
        // window." The check runs before the ICV so that replays cost no crypto.
        if self.window.check(seq) != ReplayVerdict::Fresh {
            return Err(EspError::Replay { seq });
        }
        let layout = Layout {
            iv_end,
            ct_end,
            icv_end,
        };
        self.suite
            .open(packet, layout, self.esn.then_some((seq >> 32) as u32))?;
        // RFC 4303 §3.4.3: "The receive window is updated only if the ICV verification
        // succeeds."
        self.window.accept(seq);
        let (payload_len, next_header) = parse_trailer(&packet[iv_end..ct_end])?;
        Ok(Decapsulated {
            inner: iv_end..iv_end + payload_len,
            next_header,
            seq,
        })
    }
}

impl InboundSa {
    /// The window itself, for tests that start from a given point.
    #[cfg(test)]
    pub(crate) fn window_for_test(&mut self) -> &mut ReplayWindow {
        &mut self.window
    }
}

impl std::fmt::Debug for InboundSa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("suite", &self.suite)
            .field("esn", &self.esn)
            .field("window", &self.window)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// What IKEv2 negotiated for a Child SA, besides the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildSaParams {
    /// SPI of the packets we receive (we chose it).
    pub inbound_spi: u32,
    /// SPI of the packets we send (the peer chose it).
    pub outbound_spi: u32,
    /// The encryption (or AEAD) algorithm.
    pub encr: EncrAlgorithm,
    /// The integrity algorithm; `None` with an AEAD.
    pub integ: Option<IntegAlgorithm>,
    /// Extended sequence numbers.
    pub esn: bool,
    /// The same limits apply to both directions.
    pub lifetime: Lifetime,
}

/// Both directions of a Child SA.
#[derive(Debug)]
pub struct ChildSa {
    /// Packets we send.
    pub outbound: OutboundSa,
    /// Packets we receive.
    pub inbound: InboundSa,
}

impl ChildSa {
    /// The Child SA of the IKE initiator (our role). RFC 7296 §2.17: "All keys for SAs
    /// carrying data from the initiator to the responder are taken before SAs going from
    /// the responder to the initiator", so `encr_i`/`integ_i` protect what we send and
    /// `encr_r`/`integ_r` what we receive.
    ///
    /// # Errors
    /// [`EspError::InvalidConfig`] for SPI zero, bad keys or an unsupported suite.
    pub fn new_initiator(
        params: &ChildSaParams,
        keys: &ChildSaKeys,
        rng: Box<dyn Random + Send + Sync>,
        now: Instant,
    ) -> Result<Self, EspError> {
        Self::build(params, keys, true, rng, now)
    }

    /// The responder's side of the same Child SA (for test peers and simulations).
    ///
    /// # Errors
    /// As [`new_initiator`](Self::new_initiator).
    pub fn new_responder(
        params: &ChildSaParams,
        keys: &ChildSaKeys,
        rng: Box<dyn Random + Send + Sync>,
        now: Instant,
    ) -> Result<Self, EspError> {
        Self::build(params, keys, false, rng, now)
    }

    fn build(
        p: &ChildSaParams,
        keys: &ChildSaKeys,
        initiator: bool,
        rng: Box<dyn Random + Send + Sync>,
        now: Instant,
    ) -> Result<Self, EspError> {
        let (send, receive) = if initiator {
            ((&keys.encr_i, &keys.integ_i), (&keys.encr_r, &keys.integ_r))
        } else {
            ((&keys.encr_r, &keys.integ_r), (&keys.encr_i, &keys.integ_i))
        };
        let config = |spi| SaConfig {
            spi,
            encr: p.encr,
            integ: p.integ,
            esn: p.esn,
            lifetime: p.lifetime,
        };
        Ok(Self {
            outbound: OutboundSa::new(
                &config(p.outbound_spi),
                send.0.expose(),
                send.1.expose(),
                rng,
                now,
            )?,
            inbound: InboundSa::new(
                &config(p.inbound_spi),
                receive.0.expose(),
                receive.1.expose(),
                now,
            )?,
        })
    }

    /// Whether either direction wants a rekey.
    pub fn needs_rekey(&self, now: Instant) -> bool {
        self.outbound.needs_rekey(now) || self.inbound.needs_rekey(now)
    }
}
