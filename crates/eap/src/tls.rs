//! EAP-TLS, the peer side (RFC 5216; TLS 1.3 per RFC 9190), driving a rustls
//! `ClientConnection` through in-memory buffers.
//!
//! An EAP-TLS packet's type data is a Flags octet, an optional four-octet TLS Message
//! Length and a piece of the TLS record stream (RFC 5216 §3.1):
//!
//! ```text
//!  L (0x80) length included   M (0x40) more fragments   S (0x20) start
//! ```
//!
//! TLS flights larger than one EAP message are split on both sides. We send ours in pieces
//! of at most [`EapConfig::max_tls_fragment`](crate::EapConfig) octets and wait for the
//! gateway's empty acknowledgement between them; the gateway's pieces are collected, up to
//! [`MAX_TLS_MESSAGE_LEN`] octets, and each one but the last is acknowledged with an empty
//! Response.
//!
//! The handshake is done when rustls says so and, for TLS 1.3, the gateway's protected
//! success indication (one application-data octet 0x00, RFC 9190 §2.5) has arrived; only
//! then is an EAP-Success accepted and the MSK exported.

use std::io::{self, Read};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ProtocolVersion};

use crate::{EapError, Msk};

/// Flag: TLS Message Length included (RFC 5216 §3.1).
pub const FLAG_LENGTH: u8 = 0x80;
/// Flag: more fragments follow (RFC 5216 §3.1).
pub const FLAG_MORE: u8 = 0x40;
/// Flag: EAP-TLS start (RFC 5216 §3.1).
pub const FLAG_START: u8 = 0x20;

/// The largest TLS message (one flight, reassembled) we accept from the gateway. A
/// certificate chain of a few certificates fits many times over; a hostile gateway cannot
/// make us buffer more.
pub const MAX_TLS_MESSAGE_LEN: usize = 64 * 1024;

/// The default for the largest piece of TLS data we put in one EAP-TLS Response, chosen so
/// that the IKE_AUTH request carrying it stays under common path MTUs.
pub const DEFAULT_MAX_FRAGMENT: usize = 1000;

/// RFC 5216 §2.3 label for TLS 1.2 and earlier.
const TLS12_MSK_LABEL: &[u8] = b"client EAP encryption";
/// RFC 9190 §2.3 label and context (the EAP-TLS Type-Code) for TLS 1.3.
const TLS13_MSK_LABEL: &[u8] = b"EXPORTER_EAP_TLS_Key_Material";
const TLS13_MSK_CONTEXT: &[u8] = &[13];

#[derive(Debug)]
enum Phase {
    /// Waiting for the gateway's EAP-TLS Start.
    ExpectStart,
    Handshaking(Box<ClientConnection>),
    /// Handshake done and, for TLS 1.3, the success indication received.
    Done(Msk),
    Failed,
}

/// The EAP-TLS peer.
#[derive(Debug)]
pub(crate) struct Tls {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    max_fragment: usize,
    phase: Phase,
    /// Our TLS bytes not yet sent; `sent` of them have gone out.
    outgoing: Vec<u8>,
    sent: usize,
    /// The gateway's fragments collected so far, and the length its first fragment
    /// announced.
    incoming: Vec<u8>,
    announced: Option<usize>,
    /// TLS 1.3: whether the protected success indication arrived.
    indication: bool,
}

impl Tls {
    pub(crate) fn new(
        config: Arc<ClientConfig>,
        server_name: ServerName<'static>,
        max_fragment: usize,
    ) -> Self {
        Self {
            config,
            server_name,
            max_fragment: max_fragment.max(1),
            phase: Phase::ExpectStart,
            outgoing: Vec::new(),
            sent: 0,
            incoming: Vec::new(),
            announced: None,
            indication: false,
        }
    }

    /// True when the handshake finished, the gateway proved itself and everything we had
    /// to send went out: an EAP-Success is now acceptable.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done(_)) && self.sent == self.outgoing.len()
    }

    /// Why an EAP-Success is not acceptable yet, for the error message.
    pub(crate) fn not_done_reason(&self) -> &'static str {
        match &self.phase {
            Phase::ExpectStart => "before EAP-TLS started",
            Phase::Handshaking(conn) if conn.is_handshaking() => {
                "before the TLS handshake finished"
            }
            Phase::Handshaking(_) => {
                "before the TLS 1.3 protected success indication (RFC 9190 §2.5)"
            }
            Phase::Done(_) => "before our last TLS fragment was acknowledged",
            Phase::Failed => "after EAP-TLS failed",
        }
    }

    /// The MSK, once done.
    pub(crate) fn msk(&self) -> Option<&Msk> {
        match &self.phase {
            Phase::Done(msk) => Some(msk),
            _ => None,
        }
    }

    /// Handles the type data of an EAP-Request/TLS and returns the type data of our
    /// Response.
    pub(crate) fn handle(&mut self, data: &[u8]) -> Result<Vec<u8>, EapError> {
        let result = self.handle_inner(data);
        if result.is_err() {
            self.phase = Phase::Failed;
        }
        result
    }

    fn handle_inner(&mut self, data: &[u8]) -> Result<Vec<u8>, EapError> {
        let Some((&flags, rest)) = data.split_first() else {
            return Err(EapError::malformed("EAP-TLS Request has no Flags octet"));
        };
        if flags & FLAG_START != 0 {
            return self.on_start(rest);
        }
        if matches!(self.phase, Phase::ExpectStart) {
            return Err(EapError::misbehaved(
                "EAP-TLS Request before the EAP-TLS Start",
            ));
        }
        if matches!(self.phase, Phase::Failed) {
            return Err(EapError::Finished);
        }
        if self.sent < self.outgoing.len() {
            // RFC 5216 §2.1.5: the EAP server acknowledges each of our fragments with an
            // EAP-Request of type EAP-TLS and no data before we send the next one.
            if flags & (FLAG_LENGTH | FLAG_MORE) != 0 || !rest.is_empty() {
                return Err(EapError::misbehaved(
                    "the gateway sent TLS data instead of acknowledging our fragment",
                ));
            }
            return Ok(self.next_fragment());
        }
        self.on_data(flags, rest)
    }

    fn on_start(&mut self, rest: &[u8]) -> Result<Vec<u8>, EapError> {
        if !matches!(self.phase, Phase::ExpectStart) {
            return Err(EapError::misbehaved(
                "EAP-TLS Start in the middle of the handshake",
            ));
        }
        // RFC 5216 §3.1: the EAP-TLS Start "contains no data".
        if !rest.is_empty() {
            return Err(EapError::malformed("EAP-TLS Start carries data"));
        }
        let mut conn = ClientConnection::new(self.config.clone(), self.server_name.clone())
            .map_err(EapError::from_tls)?;
        drain_tls(&mut conn, &mut self.outgoing)?;
        self.phase = Phase::Handshaking(Box::new(conn));
        Ok(self.next_fragment())
    }

    fn on_data(&mut self, flags: u8, rest: &[u8]) -> Result<Vec<u8>, EapError> {
        let first = self.incoming.is_empty() && self.announced.is_none();
        let payload = if flags & FLAG_LENGTH != 0 {
            let Some((len, payload)) = rest.split_first_chunk::<4>() else {
                return Err(EapError::malformed(
                    "EAP-TLS L flag set but the TLS Message Length is missing",
                ));
            };
            let declared = u32::from_be_bytes(*len);
            let declared_usize = usize::try_from(declared).unwrap_or(usize::MAX);
            if declared_usize > MAX_TLS_MESSAGE_LEN {
                return Err(EapError::TlsMessageTooLong {
                    declared: u64::from(declared),
                    limit: MAX_TLS_MESSAGE_LEN,
                });
            }
            match self.announced {
                None if first => self.announced = Some(declared_usize),
                Some(prev) if prev == declared_usize => {}
                _ => {
                    return Err(EapError::malformed(format!(
                        "EAP-TLS fragment announces {declared} octets, unlike the first \
                         fragment of the same message"
                    )));
                }
            }
            payload
        } else {
            // RFC 5216 §2.1.5: "The L flag ... MUST be set for the first fragment of a
            // fragmented TLS message or set of messages."
            if first && flags & FLAG_MORE != 0 {
                return Err(EapError::malformed(
                    "first EAP-TLS fragment of a fragmented message has no L flag",
                ));
            }
            rest
        };
        if first && payload.is_empty() && flags & FLAG_MORE == 0 {
            return Err(EapError::misbehaved(
                "empty EAP-TLS Request while neither side was sending fragments",
            ));
        }
        let limit = self.announced.unwrap_or(MAX_TLS_MESSAGE_LEN);
        if self.incoming.len() + payload.len() > limit {
            return Err(EapError::malformed(format!(
                "EAP-TLS fragments add up to more than the {limit} octets announced"
            )));
        }
        self.incoming.extend_from_slice(payload);
        if flags & FLAG_MORE != 0 {
            // RFC 5216 §2.1.5: acknowledge each fragment with an empty Response.
            return Ok(vec![0]);
        }
        if let Some(announced) = self.announced
            && announced != self.incoming.len()
        {
            return Err(EapError::malformed(format!(
                "EAP-TLS message announced {announced} octets but its fragments hold {}",
                self.incoming.len()
            )));
        }
        let message = std::mem::take(&mut self.incoming);
        self.announced = None;
        self.feed(&message)?;
        Ok(self.next_fragment())
    }

    /// Gives one reassembled message to rustls and collects what it wants to send.
    fn feed(&mut self, message: &[u8]) -> Result<(), EapError> {
        let Phase::Handshaking(conn) = &mut self.phase else {
            return Err(EapError::misbehaved(
                "TLS data after the EAP-TLS handshake finished",
            ));
        };
        let mut input = message;
        while !input.is_empty() {
            conn.read_tls(&mut input)
                .map_err(|e| EapError::malformed(format!("TLS records rejected: {e}")))?;
            conn.process_new_packets().map_err(EapError::from_tls)?;
        }
        // Application data: in TLS 1.3 the only thing allowed is the protected success
        // indication, which RFC 9190 §2.5 defines as one octet of application data, 0x00,
        // sent once the server will send no more handshake messages.
        let mut plaintext = Vec::new();
        match conn.reader().read_to_end(&mut plaintext) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => {
                return Err(EapError::misbehaved(format!(
                    "TLS connection closed early: {e}"
                )));
            }
        }
        let version = conn.protocol_version();
        if !plaintext.is_empty() {
            if version != Some(ProtocolVersion::TLSv1_3) || self.indication || plaintext != [0] {
                return Err(EapError::misbehaved(
                    "unexpected application data inside EAP-TLS (only the TLS 1.3 success \
                     indication, one octet 0x00, is allowed)",
                ));
            }
            self.indication = true;
        }
        let mut out = std::mem::take(&mut self.outgoing);
        out.drain(..self.sent);
        self.sent = 0;
        drain_tls(conn, &mut out)?;
        self.outgoing = out;

        if conn.is_handshaking() {
            return Ok(());
        }
        let done = match version {
            Some(ProtocolVersion::TLSv1_3) => self.indication,
            Some(ProtocolVersion::TLSv1_2) => true,
            other => {
                return Err(EapError::misbehaved(format!(
                    "EAP-TLS negotiated {other:?}, which Corridor does not allow"
                )));
            }
        };
        if done {
            let msk = export_msk(conn, version == Some(ProtocolVersion::TLSv1_3))?;
            self.phase = Phase::Done(msk);
        }
        Ok(())
    }

    /// The next piece of our outgoing TLS data, or an empty Response (flags only) when
    /// there is none.
    fn next_fragment(&mut self) -> Vec<u8> {
        let remaining = self.outgoing.len() - self.sent;
        if remaining == 0 {
            self.outgoing.clear();
            self.sent = 0;
            return vec![0];
        }
        let take = remaining.min(self.max_fragment);
        let more = take < remaining;
        let first = self.sent == 0;
        let mut out = Vec::with_capacity(5 + take);
        if first && more {
            // RFC 5216 §2.1.5: L "MUST be set for the first fragment of a fragmented TLS
            // message"; the length is that of the whole message.
            out.push(FLAG_LENGTH | FLAG_MORE);
            let total = u32::try_from(self.outgoing.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&total.to_be_bytes());
        } else {
            // "The M flag (more fragments) is set on all but the last fragment."
            out.push(if more { FLAG_MORE } else { 0 });
        }
        out.extend_from_slice(&self.outgoing[self.sent..self.sent + take]);
        self.sent += take;
        out
    }
}

/// Moves everything rustls wants to send into `out`.
fn drain_tls(conn: &mut ClientConnection, out: &mut Vec<u8>) -> Result<(), EapError> {
    while conn.wants_write() {
        conn.write_tls(out)
            .map_err(|e| EapError::Config(format!("TLS output could not be buffered: {e}")))?;
    }
    Ok(())
}

/// RFC 5216 §2.3: "Key_Material = TLS-PRF-128(master_secret, "client EAP encryption",
/// client.random || server.random)", "MSK = Key_Material(0,63)" — the RFC 5705 exporter
/// without context. RFC 9190 §2.3 for TLS 1.3: "Key_Material =
/// TLS-Exporter("EXPORTER_EAP_TLS_Key_Material", Type-Code, 128)", "MSK =
/// Key_Material(0, 63)", with Type-Code 0x0D.
fn export_msk(conn: &ClientConnection, tls13: bool) -> Result<Msk, EapError> {
    let (label, context) = if tls13 {
        (TLS13_MSK_LABEL, Some(TLS13_MSK_CONTEXT))
    } else {
        (TLS12_MSK_LABEL, None)
    };
    let mut key_material = zeroize::Zeroizing::new([0u8; 128]);
    conn.export_keying_material(&mut key_material[..], label, context)
        .map_err(EapError::from_tls)?;
    Ok(Msk::new(key_material[..64].to_vec()))
}

#[cfg(test)]
mod tests;
