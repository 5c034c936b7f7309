//! The strongSwan client role: a second charon in the client namespace, configured for the
//! lab's scenario. It proves the gateway end to end and is the throughput baseline for
//! Corridor's benchmarks.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;

use anyhow::{Context, Result};

use super::{Charon, CredFiles, list, quote};
use crate::cmd::{self, ExecOutput};
use crate::config::{ClientCert, LabConfig, Scenario};
use crate::credentials::{
    CLIENT_IKE_IDENTITY, EAP_IDENTITY, EAP_PASSWORD, EAP_TLS_IDENTITY, ECDSA_CLIENT_IDENTITY, PSK,
    RSA_CLIENT_IDENTITY,
};
use crate::pki::Pki;
use crate::plan::{GATEWAY_FQDN, GATEWAY_WAN_V4};
use crate::process;

/// The connection and CHILD_SA name on the client.
pub const CONNECTION: &str = "lab";

/// How the strongSwan client connects.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Where to send IKE: the gateway's wan address by default; a relay address to go
    /// through the relay, or the gateway's IPv6 address for IPv6 transport.
    pub remote_addr: IpAddr,
    /// The client certificate for [`Scenario::Cert`].
    pub client_cert: ClientCert,
    /// IKE proposals; `None` means the gateway's list.
    pub ike_proposals: Option<Vec<String>>,
    /// ESP proposals; `None` means the gateway's list.
    pub esp_proposals: Option<Vec<String>>,
    /// Initiate the connection right away and wait until the CHILD_SA is up.
    pub initiate: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            remote_addr: GATEWAY_WAN_V4,
            client_cert: ClientCert::Ecdsa,
            ike_proposals: None,
            esp_proposals: None,
            initiate: true,
        }
    }
}

/// The client's swanctl.conf and the credential files it needs.
pub(crate) fn config(config: &LabConfig, pki: &Pki, opts: &ClientOptions) -> (String, CredFiles) {
    let mut creds = CredFiles::default();
    creds.x509ca.push(pki.ca_pem());
    creds.x509ca.push(pki.long_root_pem());
    let ike = opts.ike_proposals.as_ref().unwrap_or(&config.ike_proposals);
    let esp = opts.esp_proposals.as_ref().unwrap_or(&config.esp_proposals);

    let mut s = String::new();
    let _ = writeln!(
        s,
        "# strongSwan client of the Corridor lab, scenario {}; generated.",
        config.scenario
    );
    let _ = writeln!(s, "connections {{");
    let _ = writeln!(s, "  {CONNECTION} {{");
    let _ = writeln!(s, "    version = 2");
    let _ = writeln!(s, "    remote_addrs = {}", opts.remote_addr);
    let vips = if config.ipv6 {
        "0.0.0.0, ::"
    } else {
        "0.0.0.0"
    };
    let _ = writeln!(s, "    vips = {vips}");
    let _ = writeln!(s, "    proposals = {}", list(ike));
    let _ = writeln!(s, "    fragmentation = yes");
    let _ = writeln!(s, "    local {{");
    match config.scenario {
        Scenario::EapMschapv2 => {
            let _ = writeln!(s, "      auth = eap-mschapv2");
            let _ = writeln!(s, "      id = {CLIENT_IKE_IDENTITY}");
            let _ = writeln!(s, "      eap_id = {EAP_IDENTITY}");
        }
        Scenario::Cert => {
            let (cert, key, id) = match opts.client_cert {
                ClientCert::Ecdsa => (
                    pki.client_cert(ClientCert::Ecdsa),
                    pki.client_key(ClientCert::Ecdsa),
                    ECDSA_CLIENT_IDENTITY,
                ),
                ClientCert::Rsa => (
                    pki.client_cert(ClientCert::Rsa),
                    pki.client_key(ClientCert::Rsa),
                    RSA_CLIENT_IDENTITY,
                ),
            };
            let _ = writeln!(s, "      auth = pubkey");
            let _ = writeln!(s, "      certs = {}", file_name(&cert));
            let _ = writeln!(s, "      id = {id}");
            creds.x509.push(cert);
            creds.private.push(key);
        }
        Scenario::EapTls => {
            let _ = writeln!(s, "      auth = eap-tls");
            let _ = writeln!(s, "      certs = {}", file_name(&pki.eap_tls_cert()));
            let _ = writeln!(s, "      id = {EAP_TLS_IDENTITY}");
            creds.x509.push(pki.eap_tls_cert());
            creds.private.push(pki.eap_tls_key());
        }
        Scenario::Psk => {
            let _ = writeln!(s, "      auth = psk");
            let _ = writeln!(s, "      id = {CLIENT_IKE_IDENTITY}");
        }
    }
    let _ = writeln!(s, "    }}");
    let _ = writeln!(s, "    remote {{");
    let remote_auth = if config.scenario == Scenario::Psk {
        "psk"
    } else {
        "pubkey"
    };
    let _ = writeln!(s, "      auth = {remote_auth}");
    let _ = writeln!(s, "      id = {GATEWAY_FQDN}");
    let _ = writeln!(s, "    }}");
    let _ = writeln!(s, "    children {{");
    let _ = writeln!(s, "      {CONNECTION} {{");
    let _ = writeln!(
        s,
        "        remote_ts = {}",
        list(&super::gateway::local_ts(config))
    );
    let _ = writeln!(s, "        esp_proposals = {}", list(esp));
    let _ = writeln!(s, "      }}");
    let _ = writeln!(s, "    }}");
    let _ = writeln!(s, "  }}");
    let _ = writeln!(s, "}}");
    let _ = writeln!(s, "secrets {{");
    match config.scenario {
        Scenario::EapMschapv2 => {
            let _ = writeln!(s, "  eap-{EAP_IDENTITY} {{");
            let _ = writeln!(s, "    id = {}", quote(EAP_IDENTITY));
            let _ = writeln!(s, "    secret = {}", quote(EAP_PASSWORD));
            let _ = writeln!(s, "  }}");
        }
        Scenario::Psk => {
            let _ = writeln!(s, "  ike-lab {{");
            let _ = writeln!(s, "    secret = {}", quote(PSK));
            let _ = writeln!(s, "  }}");
        }
        Scenario::Cert | Scenario::EapTls => {}
    }
    let _ = writeln!(s, "}}");
    (s, creds)
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A strongSwan client running in the lab's client namespace.
///
/// Only one can run per lab at a time (it binds UDP 500 and 4500 in the client
/// namespace). Dropping it stops charon, which removes its routes and TUN device.
#[derive(Debug)]
pub struct StrongswanClient {
    charon: Charon,
    netns: String,
}

impl StrongswanClient {
    /// Starts charon in `netns` with the scenario's client configuration and, if asked,
    /// establishes the tunnel.
    pub(crate) fn start(
        lab: &LabConfig,
        pki: &Pki,
        netns: &str,
        dir: &Path,
        opts: &ClientOptions,
    ) -> Result<Self> {
        let (conf, creds) = config(lab, pki, opts);
        let charon = Charon::start("strongswan-client", netns, dir, &conf, &creds)?;
        let client = Self {
            charon,
            netns: netns.to_string(),
        };
        if opts.initiate {
            client.initiate()?;
        }
        Ok(client)
    }

    /// Establishes the IKE SA and CHILD_SA; waits up to 30 s.
    pub fn initiate(&self) -> Result<ExecOutput> {
        self.charon
            .swanctl(&["--initiate", "--child", CONNECTION, "--timeout", "30"])
            .with_context(|| {
                format!(
                    "the strongSwan client could not connect; its log ends with:\n{}",
                    process::tail(&self.charon.log_path(), 40)
                )
            })
    }

    /// Closes the IKE SA (and with it the tunnel).
    pub fn terminate(&self) -> Result<ExecOutput> {
        self.charon
            .swanctl(&["--terminate", "--ike", CONNECTION, "--timeout", "10"])
    }

    /// The virtual IPs the gateway assigned, as installed on the TUN device.
    pub fn virtual_ips(&self) -> Result<Vec<IpAddr>> {
        let out = cmd::ip(&["-n", &self.netns, "-o", "addr", "show", "dev", "ipsec0"])?;
        let mut ips = Vec::new();
        for line in out.stdout.lines() {
            let mut words = line.split_whitespace();
            while let Some(word) = words.next() {
                if word == "inet" || word == "inet6" {
                    let addr = words
                        .next()
                        .and_then(|cidr| cidr.split('/').next())
                        .and_then(|a| a.parse::<IpAddr>().ok());
                    if let Some(addr) = addr.filter(|a| !is_link_local(a)) {
                        ips.push(addr);
                    }
                }
            }
        }
        Ok(ips)
    }

    /// Runs `swanctl ARGS` against the client's charon.
    pub fn swanctl(&self, args: &[&str]) -> Result<ExecOutput> {
        self.charon.swanctl(args)
    }

    /// The client's charon.
    pub fn charon(&self) -> &Charon {
        &self.charon
    }

    /// The client's charon log so far.
    pub fn log(&self) -> String {
        self.charon.log()
    }

    /// Stops the client.
    pub fn stop(mut self) {
        self.charon.stop();
    }
}

fn is_link_local(addr: &IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => a.is_link_local(),
        IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80,
    }
}
