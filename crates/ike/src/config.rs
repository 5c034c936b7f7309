//! What an [`Initiator`](crate::Initiator) needs to know: who we are, how we prove it,
//! whom we expect, what we propose and how patient we are.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use corridor_crypto::{DhGroup, EncrAlgorithm, IntegAlgorithm, PrfAlgorithm, SecretBytes};

use crate::Error;
use crate::config_payload::ConfigRequest;
use crate::identity::Identity;
use crate::retransmit::RetransmitPolicy;
use crate::traffic_selectors::TrafficSelectors;
use crate::trust::TrustStore;

/// The configuration of one IKE SA with one gateway.
#[derive(Debug, Clone)]
pub struct IkeConfig {
    /// Our identity, sent as IDi.
    pub local_identity: Identity,
    /// The identity the gateway must prove. When set it is also sent as IDr so that a
    /// gateway with several identities picks the right one (RFC 7296 §3.5); when unset,
    /// any identity the gateway proves with a trusted certificate (or the PSK) is taken.
    pub remote_identity: Option<Identity>,
    /// How we authenticate.
    pub auth: LocalAuth,
    /// The CAs the gateway's certificate must chain to.
    pub trust: TrustStore,
    /// IKE proposals, most preferred first.
    pub ike_proposals: Vec<IkeProposal>,
    /// ESP proposals for the first Child SA, most preferred first.
    pub esp_proposals: Vec<EspProposal>,
    /// Traffic selectors for the first Child SA.
    pub traffic_selectors: TrafficSelectors,
    /// Configuration attributes to request.
    pub config_request: ConfigRequest,
    /// Use UDP port 4500 (with ESP in UDP) even when no NAT is detected.
    pub force_udp_encapsulation: bool,
    /// Retransmission timing.
    pub retransmit: RetransmitPolicy,
    /// The largest IKE message (without the non-ESP marker) we send unfragmented once the
    /// gateway supports IKE fragmentation (RFC 7383). The default, 1200, fits a 1280-byte
    /// IPv6 path with UDP, IP headers and the marker.
    pub fragment_size: usize,
    /// Send INITIAL_CONTACT in IKE_AUTH (RFC 7296 §2.4), telling the gateway to drop
    /// older SAs of ours after a crash or restart.
    pub initial_contact: bool,
    /// How long the gateway may stay silent (no authentic IKE message, and no authentic
    /// ESP packet reported through [`crate::Initiator::note_peer_alive`]) before we send
    /// it a liveness check (RFC 7296 §2.4). Zero turns liveness checks off.
    pub dpd_interval: Duration,
    /// How long traffic may go out unanswered (ESP sent after the last authentic packet
    /// from the gateway, reported through [`crate::Initiator::note_sent`]) before a
    /// liveness check is sent, without waiting for the full `dpd_interval`: a gateway
    /// that restarted or a path that broke shows first as one-way traffic. Zero turns
    /// this off.
    pub dpd_on_one_way_traffic: Duration,
    /// Retransmissions of a liveness check: shorter than other requests', because the
    /// question is only whether the gateway is still there, and every second spent
    /// waiting is a second of lost traffic before a reconnection can begin.
    pub liveness_retransmit: RetransmitPolicy,
    /// Key exchange groups offered when we rekey a Child SA, for perfect forward
    /// secrecy (RFC 7296 §1.3.1); the first is the one we send a KE payload for. Empty:
    /// no PFS. The first Child SA (made in IKE_AUTH) never uses them.
    pub rekey_pfs_groups: Vec<DhGroup>,
}

impl IkeConfig {
    /// A configuration with the defaults for everything but the essentials: a full
    /// tunnel, every configuration attribute, the default retransmission policy.
    pub fn new(
        local_identity: Identity,
        remote_identity: Option<Identity>,
        auth: LocalAuth,
        trust: TrustStore,
        ike_proposals: Vec<IkeProposal>,
        esp_proposals: Vec<EspProposal>,
    ) -> Self {
        Self {
            local_identity,
            remote_identity,
            auth,
            trust,
            ike_proposals,
            esp_proposals,
            traffic_selectors: TrafficSelectors::full_tunnel(),
            config_request: ConfigRequest::default(),
            force_udp_encapsulation: false,
            retransmit: RetransmitPolicy::default(),
            fragment_size: 1200,
            initial_contact: true,
            dpd_interval: Duration::from_secs(30),
            dpd_on_one_way_traffic: Duration::from_secs(3),
            // Sent at 0, 1, 3 and 5 s; given up at 6 s.
            liveness_retransmit: RetransmitPolicy {
                initial: Duration::from_secs(1),
                multiplier: 2,
                max_interval: Duration::from_secs(2),
                max_tries: 4,
                budget: Duration::from_secs(6),
            },
            rekey_pfs_groups: Vec::new(),
        }
    }

    /// Rejects configurations that cannot work, naming the problem.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |s: &str| Err(Error::LocalConfig(s.to_string()));
        if self.ike_proposals.is_empty() {
            return bad("no IKE proposal");
        }
        if self.esp_proposals.is_empty() {
            return bad("no ESP proposal");
        }
        for (i, p) in self.ike_proposals.iter().enumerate() {
            if p.encryption.is_empty() || p.prf.is_empty() || p.groups.is_empty() {
                return Err(Error::LocalConfig(format!(
                    "IKE proposal {} needs an encryption algorithm, a PRF and a key exchange group",
                    i + 1
                )));
            }
            check_integrity("IKE", i, &p.encryption, &p.integrity)?;
        }
        for (i, p) in self.esp_proposals.iter().enumerate() {
            if p.encryption.is_empty() {
                return Err(Error::LocalConfig(format!(
                    "ESP proposal {} needs an encryption algorithm",
                    i + 1
                )));
            }
            check_integrity("ESP", i, &p.encryption, &p.integrity)?;
        }
        if self.traffic_selectors.local.is_empty() || self.traffic_selectors.remote.is_empty() {
            return bad("the traffic selectors must name at least one range on each side");
        }
        if self.fragment_size < 576 {
            return bad("the IKE fragment size must be at least 576 bytes");
        }
        if self.retransmit.max_tries == 0 {
            return bad("the retransmission policy must allow at least one try");
        }
        if self.retransmit.initial.is_zero() {
            return bad("the first retransmission interval must not be zero");
        }
        if let LocalAuth::Certificate { chain, .. } = &self.auth
            && chain.is_empty()
        {
            return bad("certificate authentication needs our certificate");
        }
        if matches!(self.auth, LocalAuth::Psk(_)) {
            return Ok(());
        }
        // With certificates and EAP the gateway proves itself with a certificate.
        if self.trust.is_empty() {
            return bad(
                "certificate or EAP authentication needs at least one CA certificate to check the gateway's certificate",
            );
        }
        Ok(())
    }
}

fn check_integrity(
    kind: &str,
    i: usize,
    encryption: &[EncrAlgorithm],
    integrity: &[IntegAlgorithm],
) -> Result<(), Error> {
    let aead = encryption.iter().filter(|e| e.is_aead()).count();
    if aead != 0 && aead != encryption.len() {
        return Err(Error::LocalConfig(format!(
            "{kind} proposal {} mixes AEAD and classic ciphers; split it in two",
            i + 1
        )));
    }
    if aead == 0 && integrity.is_empty() {
        return Err(Error::LocalConfig(format!(
            "{kind} proposal {} uses a classic cipher without an integrity algorithm",
            i + 1
        )));
    }
    Ok(())
}

/// How we prove our identity to the gateway.
#[derive(Clone)]
#[non_exhaustive]
pub enum LocalAuth {
    /// A pre-shared key, used by both sides (RFC 7296 §2.15).
    Psk(SecretBytes),
    /// A certificate and its private key; the gateway authenticates with its certificate.
    Certificate {
        /// Our private key.
        key: Arc<corridor_crypto::SigningKey>,
        /// Our certificate first, then any intermediates, DER.
        chain: Vec<Vec<u8>>,
    },
    /// EAP inside IKE_AUTH (RFC 7296 §2.16): the gateway authenticates with its
    /// certificate first, then we run the EAP method.
    Eap(corridor_eap::EapConfig),
}

impl fmt::Debug for LocalAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Psk(_) => f.write_str("Psk(***)"),
            Self::Certificate { chain, .. } => {
                write!(f, "Certificate {{ chain: {} certificates }}", chain.len())
            }
            Self::Eap(_) => f.write_str("Eap(..)"),
        }
    }
}

/// One IKE proposal: every combination of its transforms is acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeProposal {
    /// Encryption algorithms, most preferred first.
    pub encryption: Vec<EncrAlgorithm>,
    /// PRFs.
    pub prf: Vec<PrfAlgorithm>,
    /// Integrity algorithms (empty with AEAD ciphers).
    pub integrity: Vec<IntegAlgorithm>,
    /// Key exchange groups; the first is the one we send a KE payload for.
    pub groups: Vec<DhGroup>,
}

/// One ESP proposal for a Child SA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspProposal {
    /// Encryption algorithms, most preferred first.
    pub encryption: Vec<EncrAlgorithm>,
    /// Integrity algorithms (empty with AEAD ciphers).
    pub integrity: Vec<IntegAlgorithm>,
    /// Extended sequence numbers: `false` = NO_ESN, `true` = ESN, in preference order.
    pub esn: Vec<bool>,
}
