//! What a lab should look like: the gateway scenario and the knobs tests turn.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use anyhow::bail;

/// How clients authenticate to the gateway. The gateway always proves itself with its
/// certificate, except in [`Scenario::Psk`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Gateway certificate; the user logs in with EAP-MSCHAPv2 (identity `alice`).
    EapMschapv2,
    /// Mutual certificate authentication; ECDSA and RSA client certificates are accepted.
    Cert,
    /// Gateway certificate; the client proves itself with a certificate inside EAP-TLS.
    EapTls,
    /// A pre-shared key on both sides.
    Psk,
}

impl Scenario {
    /// Every scenario, in a fixed order (handy for tests that cover them all).
    pub const ALL: [Scenario; 4] = [
        Scenario::EapMschapv2,
        Scenario::Cert,
        Scenario::EapTls,
        Scenario::Psk,
    ];

    /// The name used on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::EapMschapv2 => "eap-mschapv2",
            Scenario::Cert => "cert",
            Scenario::EapTls => "eap-tls",
            Scenario::Psk => "psk",
        }
    }

    /// Whether the gateway authenticates with its certificate in this scenario.
    pub fn gateway_uses_certificate(self) -> bool {
        self != Scenario::Psk
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        match Scenario::ALL.into_iter().find(|sc| sc.name() == s) {
            Some(sc) => Ok(sc),
            None => bail!("unknown scenario '{s}' (expected eap-mschapv2, cert, eap-tls or psk)"),
        }
    }
}

/// Which of the test PKI's client certificates a client uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ClientCert {
    /// `alice@corp.example`, ECDSA P-256.
    #[default]
    Ecdsa,
    /// `bob@corp.example`, RSA-3072.
    Rsa,
}

/// IKE proposals the gateway accepts unless a test says otherwise: a modern AEAD suite
/// first, then widely deployed compatible ones.
pub const DEFAULT_IKE_PROPOSALS: [&str; 4] = [
    "aes256gcm16-prfsha384-ecp384",
    "aes128-sha256-modp2048",
    "chacha20poly1305-prfsha256-curve25519",
    "aes256-sha384-modp3072",
];

/// ESP proposals the gateway accepts unless a test says otherwise. The variants with a key
/// exchange let clients ask for PFS on CHILD_SA rekeying.
pub const DEFAULT_ESP_PROPOSALS: [&str; 7] = [
    "aes256gcm16",
    "aes128-sha256",
    "chacha20poly1305",
    "aes256-sha384",
    "aes256gcm16-ecp384",
    "aes128-sha256-modp2048",
    "chacha20poly1305-curve25519",
];

/// The configuration of one lab. Build it with [`LabConfig::new`] and the chained setters:
///
/// ```no_run
/// # use lab::{LabConfig, Scenario};
/// # use std::time::Duration;
/// let config = LabConfig::new(Scenario::Cert)
///     .nat(true)
///     .long_chain(true)
///     .child_rekey(Duration::from_secs(20));
/// ```
#[derive(Clone, Debug)]
pub struct LabConfig {
    pub(crate) scenario: Scenario,
    pub(crate) nat: bool,
    pub(crate) full_tunnel: bool,
    pub(crate) ipv6: bool,
    pub(crate) ike_proposals: Vec<String>,
    pub(crate) esp_proposals: Vec<String>,
    pub(crate) long_chain: bool,
    pub(crate) ike_rekey: Option<Duration>,
    pub(crate) child_rekey: Option<Duration>,
    pub(crate) name: Option<String>,
    pub(crate) services: bool,
    pub(crate) gateway_daemon: bool,
}

impl LabConfig {
    /// A lab for `scenario`: no NAT, split tunnel, IPv4 inside the tunnel, default
    /// proposals, the short certificate chain and strongSwan's default rekey times.
    pub fn new(scenario: Scenario) -> Self {
        Self {
            scenario,
            nat: false,
            full_tunnel: false,
            ipv6: false,
            ike_proposals: DEFAULT_IKE_PROPOSALS
                .iter()
                .map(|p| p.to_string())
                .collect(),
            esp_proposals: DEFAULT_ESP_PROPOSALS
                .iter()
                .map(|p| p.to_string())
                .collect(),
            long_chain: false,
            ike_rekey: None,
            child_rekey: None,
            name: None,
            services: true,
            gateway_daemon: true,
        }
    }

    /// Put the client behind a NAT router (nftables masquerade) instead of directly on the wan.
    pub fn nat(mut self, on: bool) -> Self {
        self.nat = on;
        self
    }

    /// Offer all traffic (0.0.0.0/0, ::/0) instead of only the corporate LAN.
    pub fn full_tunnel(mut self, on: bool) -> Self {
        self.full_tunnel = on;
        self
    }

    /// Carry IPv6 inside the tunnel too: an IPv6 pool, IPv6 traffic selectors and the LAN
    /// DNS server's IPv6 address. (The segments are always dual-stack, so the gateway is
    /// reachable over IPv6 either way.)
    pub fn ipv6(mut self, on: bool) -> Self {
        self.ipv6 = on;
        self
    }

    /// Replace the IKE proposals the gateway accepts (strongSwan notation).
    pub fn ike_proposals<I, S>(mut self, proposals: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.ike_proposals = proposals.into_iter().map(Into::into).collect();
        self
    }

    /// Replace the ESP proposals the gateway accepts (strongSwan notation).
    pub fn esp_proposals<I, S>(mut self, proposals: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.esp_proposals = proposals.into_iter().map(Into::into).collect();
        self
    }

    /// Authenticate the gateway with an RSA-4096 certificate under two RSA-4096
    /// intermediates, so that IKE_AUTH needs fragmentation. Not for [`Scenario::Psk`].
    pub fn long_chain(mut self, on: bool) -> Self {
        self.long_chain = on;
        self
    }

    /// Make the gateway rekey the IKE SA this often (no random jitter).
    pub fn ike_rekey(mut self, every: Duration) -> Self {
        self.ike_rekey = Some(every);
        self
    }

    /// Make the gateway rekey CHILD_SAs this often (no random jitter).
    pub fn child_rekey(mut self, every: Duration) -> Self {
        self.child_rekey = Some(every);
        self
    }

    /// Use this lab name instead of a generated one (1–24 characters `a-z`, `0-9`, `-`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Start the LAN and outside services (DNS, HTTP, iperf3). On by default; tests that
    /// only look at the gateway can skip them.
    pub fn services(mut self, on: bool) -> Self {
        self.services = on;
        self
    }

    /// Run strongSwan (charon) on the gateway. On by default; off leaves the gateway
    /// namespace with its addresses, forwarding and masquerade but no IKE daemon, for a
    /// gateway the test starts itself (e.g. `corridor-testpeer`, see
    /// [`crate::testpeer`]). Without it, [`crate::Lab::gateway`] and
    /// [`crate::Lab::swanctl`] fail and the gateway log is empty.
    pub fn gateway_daemon(mut self, on: bool) -> Self {
        self.gateway_daemon = on;
        self
    }

    /// Whether strongSwan runs on the gateway.
    pub fn has_gateway_daemon(&self) -> bool {
        self.gateway_daemon
    }

    /// The scenario.
    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    /// Whether the client sits behind the NAT router.
    pub fn has_nat(&self) -> bool {
        self.nat
    }

    /// Whether the gateway offers a full tunnel.
    pub fn is_full_tunnel(&self) -> bool {
        self.full_tunnel
    }

    /// Whether IPv6 is carried inside the tunnel.
    pub fn has_ipv6(&self) -> bool {
        self.ipv6
    }

    /// Whether the gateway uses the long RSA-4096 chain.
    pub fn has_long_chain(&self) -> bool {
        self.long_chain
    }

    /// The IKE proposals the gateway accepts.
    pub fn ike_proposal_list(&self) -> &[String] {
        &self.ike_proposals
    }

    /// The ESP proposals the gateway accepts.
    pub fn esp_proposal_list(&self) -> &[String] {
        &self.esp_proposals
    }

    /// Checks combinations that cannot work, before anything is created.
    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        if self.long_chain && !self.scenario.gateway_uses_certificate() {
            bail!(
                "the long certificate chain needs a scenario where the gateway uses a certificate, not psk"
            );
        }
        if self.ike_proposals.is_empty() || self.esp_proposals.is_empty() {
            bail!("the IKE and ESP proposal lists must not be empty");
        }
        for p in self.ike_proposals.iter().chain(&self.esp_proposals) {
            if p.is_empty()
                || !p
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bail!("proposal '{p}' is not in strongSwan notation (letters, digits, '-', '_')");
            }
        }
        for d in [self.ike_rekey, self.child_rekey].into_iter().flatten() {
            if d < Duration::from_secs(5) {
                bail!("rekey times below 5 s are not supported (got {d:?})");
            }
        }
        if let Some(name) = &self.name {
            crate::naming::validate_name(name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_round_trip() {
        for sc in Scenario::ALL {
            assert_eq!(sc.name().parse::<Scenario>().unwrap(), sc);
        }
        assert!("ikev1".parse::<Scenario>().is_err());
    }

    #[test]
    fn validation_refuses_nonsense() {
        assert!(
            LabConfig::new(Scenario::Psk)
                .long_chain(true)
                .validate()
                .is_err()
        );
        assert!(
            LabConfig::new(Scenario::Cert)
                .long_chain(true)
                .validate()
                .is_ok()
        );
        assert!(
            LabConfig::new(Scenario::Psk)
                .ike_proposals(["aes256;evil"])
                .validate()
                .is_err()
        );
        assert!(
            LabConfig::new(Scenario::Psk)
                .child_rekey(Duration::from_secs(1))
                .validate()
                .is_err()
        );
        assert!(
            LabConfig::new(Scenario::Psk)
                .name("Bad Name")
                .validate()
                .is_err()
        );
    }
}
