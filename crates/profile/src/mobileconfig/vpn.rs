//! The `com.apple.vpn.managed` payload with `VPNType` `IKEv2`: its `IKEv2`, `DNS` and
//! `Proxies` dictionaries, key by key.
//!
//! Key meanings follow Apple's VPN payload reference (the `com.apple.vpn.managed`
//! schema of Apple's device-management documentation) and the NetworkExtension
//! documentation of `NEVPNProtocolIKEv2`, which the payload configures.

use std::net::IpAddr;

use corridor_model::{
    AuthMethod, Base64Bytes, Blob, ClientCertificate, Identity, IdentityError, Profile, Secret,
    TunnelMode, Uuid,
};

use super::payloads::{self, Payload};
use super::proposals;
use super::tree::Node;
use crate::error::InputError;
use crate::report::ImportReport;

/// What the VPN payload yields.
#[derive(Debug)]
pub(crate) struct Vpn {
    pub profile: Profile,
    /// Entries for the VPN payload's keys, in file order.
    pub report: ImportReport,
    pub eap_password: Option<Secret>,
    /// The PKCS#12 payload used as the client identity.
    pub identity: Option<payloads::Identity>,
}

/// How `AuthenticationMethod` and `ExtendedAuthEnabled` combine.
///
/// Apple: "To enable EAP-only authentication, set this to `None` and
/// `ExtendedAuthEnabled` to `1`. If this is `None` and the `ExtendedAuthEnabled` key isn't
/// set, the authentication configuration defaults to `SharedSecret`." With extended
/// authentication, `AuthenticationMethod` "only affects how the client validates the
/// authentication payload presented by the server" (`NEVPNProtocolIPSec`), and the
/// certificate of `PayloadCertificateUUID` is sent "for EAP-TLS authentication". Apple's
/// clients never run certificate and EAP authentication one after the other (RFC 4739),
/// so `Certificate` + EAP is EAP-TLS with a certificate and password-based EAP without.
fn method(
    ikev2: &Node<'_>,
    auth_method: &str,
    eap: bool,
    has_cert: bool,
) -> Result<(AuthMethod, String), InputError> {
    let key = "AuthenticationMethod";
    if !matches!(auth_method, "None" | "SharedSecret" | "Certificate") {
        return Err(ikev2.error(
            key,
            format!(
                "unknown authentication method \"{auth_method}\"; expected None, SharedSecret or Certificate"
            ),
        ));
    }
    Ok(match (auth_method, eap) {
        ("SharedSecret", true) => {
            return Err(ikev2.error(
                key,
                "SharedSecret with ExtendedAuthEnabled means the gateway authenticates with the shared secret before EAP; Corridor requires the gateway to authenticate with a certificate when the client uses EAP",
            ));
        }
        (_, true) if has_cert => (
            AuthMethod::EapTls,
            "eap-tls: EAP with the certificate of PayloadCertificateUUID, as Apple's devices do".to_string(),
        ),
        (_, true) => (
            AuthMethod::EapMschapv2,
            "eap-mschapv2: EAP with AuthName and AuthPassword; Apple's devices accept whichever password-based EAP method the gateway asks for, Corridor uses EAP-MSCHAPv2".to_string(),
        ),
        ("Certificate", false) => (AuthMethod::Cert, "cert".to_string()),
        (_, false) => (
            AuthMethod::Psk,
            if auth_method == "None" {
                "psk: None without ExtendedAuthEnabled means SharedSecret to Apple's devices"
                    .to_string()
            } else {
                "psk".to_string()
            },
        ),
    })
}

/// `DeadPeerDetectionRate` as seconds between liveness checks, and the report's note.
///
/// Apple's VPN payload reference: "`None`: No keepalive. `Low`: Send keepalive every
/// 30 minutes. `Medium`: Send keepalive every 10 minutes. `High`: Send keepalive every
/// 1 minute." (`Medium` is the default, which Corridor does not copy when the key is
/// absent: its own 30 s stay.) Corridor counts the interval from the gateway's last
/// message rather than sending on a fixed clock, so a busy tunnel sends no checks at all.
fn dead_peer_detection(rate: &str) -> Option<(u32, &'static str)> {
    Some(match rate {
        "None" => (0, "None: no liveness checks"),
        "Low" => (
            1800,
            "Low: after 30 minutes without a message from the gateway",
        ),
        "Medium" => (
            600,
            "Medium: after 10 minutes without a message from the gateway",
        ),
        "High" => (
            60,
            "High: after 1 minute without a message from the gateway",
        ),
        _ => return None,
    })
}

/// Identities in `LocalIdentifier`/`RemoteIdentifier`: strongSwan's rules decide the
/// type (an address, `user@domain`, a DN, else an FQDN), as Apple's devices infer it.
fn identity(text: &str) -> Result<Identity, IdentityError> {
    Identity::parse_strongswan(text)
}

/// Maps the VPN payload `payload`.
pub(crate) fn map(
    origin: &str,
    payload: &Payload<'_>,
    all: &[Payload<'_>],
    report_template: &ImportReport,
) -> Result<Vpn, InputError> {
    let vpn = payload.node(origin);
    let mut report = ImportReport::new(report_template.source);
    let ikev2_path = vpn.key("IKEv2");
    let ikev2_dict = vpn
        .dict("IKEv2")?
        .ok_or_else(|| vpn.error("IKEv2", "required key is missing for VPNType IKEv2"))?;
    let ikev2 = Node {
        origin,
        dict: ikev2_dict,
        path: &ikev2_path,
    };

    // Identity of the profile.
    let uuid_text = vpn.required_string("PayloadUUID")?;
    let id = Uuid::parse_str(uuid_text.trim())
        .map_err(|_| vpn.error("PayloadUUID", format!("'{uuid_text}' is not a UUID")))?;
    let name = match vpn.string("UserDefinedName")? {
        Some(n) => n,
        None => vpn.string("PayloadDisplayName")?.ok_or_else(|| {
            vpn.error(
                "UserDefinedName",
                "required key is missing (and there is no PayloadDisplayName either)",
            )
        })?,
    };

    // Authentication.
    let host = ikev2.required_string("RemoteAddress")?;
    let auth_method = ikev2.string("AuthenticationMethod")?.unwrap_or("None");
    let eap = ikev2.flag("ExtendedAuthEnabled")?.unwrap_or(false);
    let cert_uuid = ikev2.string("PayloadCertificateUUID")?;
    let (method, method_note) = method(&ikev2, auth_method, eap, cert_uuid.is_some())?;
    let mut profile = Profile::new(id, name, host.trim(), method);

    let mut identity_payload = None;
    if let Some(uuid) = cert_uuid
        && method.uses_certificate()
    {
        identity_payload =
            payloads::identity(origin, &ikev2.key("PayloadCertificateUUID"), uuid, all)?;
        if let Some(found) = &identity_payload {
            profile.auth.client_certificate = Some(ClientCertificate::Pkcs12(Blob::Base64(
                Base64Bytes(found.container.clone()),
            )));
        }
    }

    let pfs = ikev2.flag("EnablePFS")?.unwrap_or(false);
    let pq_fallback = ikev2
        .flag("AllowPostQuantumKeyExchangeFallback")?
        .unwrap_or(false);
    let include_all = ikev2.flag("IncludeAllNetworks")?.unwrap_or(false);
    let mut eap_password = None;

    for (key, _) in vpn.dict.iter() {
        let path = vpn.key(key);
        match key.as_str() {
            "PayloadUUID" => report.mapped(&path, "id"),
            "UserDefinedName" => report.mapped(&path, "name"),
            "PayloadDisplayName" if vpn.get("UserDefinedName").is_none() => {
                report.mapped_with(&path, "name", "there is no UserDefinedName")
            }
            "PayloadType" => report.checked(&path, "com.apple.vpn.managed"),
            "VPNType" => report.checked(&path, "IKEv2"),
            "VPNSubType" => match vpn.string("VPNSubType")? {
                Some("") => report.checked(&path, "empty, as IKEv2 requires"),
                _ => report.not_mapped(
                    &path,
                    "names a VPN app's plug-in; Apple reserves it for future use with IKEv2",
                ),
            },
            "IKEv2" => {} // Its keys are reported below.
            "DNS" => {}   // Likewise.
            "Proxies" => {
                if let Some(proxies) = vpn.dict("Proxies")? {
                    for (sub, _) in proxies.iter() {
                        report.not_mapped(
                            &format!("{path}.{sub}"),
                            "Corridor does not set proxies for applications while connected",
                        );
                    }
                }
            }
            "OnDemandEnabled" | "OnDemandRules" | "OnDemandUserOverrideDisabled" => {
                report.not_mapped(&path, ON_DEMAND)
            }
            "VendorConfig" | "VPN" | "IPSec" | "PPP" | "IPv4" | "AlwaysOn" | "TransparentProxy" => {
                report.not_mapped(
                    &path,
                    "settings for another VPNType; Apple's devices ignore them for IKEv2",
                )
            }
            other => report.not_mapped(
                &path,
                payloads::metadata_reason(other)
                    .unwrap_or("not a key of Apple's VPN payload; Apple's devices ignore it too"),
            ),
        }
    }

    for (key, _) in ikev2.dict.iter() {
        let path = ikev2.key(key);
        let unused = |what: &str| format!("{} uses no {what}", method.as_str());
        match key.as_str() {
            "RemoteAddress" => report.mapped(&path, "gateway.host"),
            "RemoteIdentifier" => {
                let text = ikev2.required_string(key)?;
                match identity(text) {
                    Ok(id) => {
                        profile.gateway.identity = Some(id);
                        report.mapped(&path, "gateway.identity");
                    }
                    Err(IdentityError::Wildcard(_)) => report.not_mapped(
                        &path,
                        format!(
                            "'{text}' would accept any identity the CA vouches for; Corridor requires the gateway to prove the identity of RemoteAddress instead"
                        ),
                    ),
                    Err(e) => return Err(ikev2.error(key, e.to_string())),
                }
            }
            "LocalIdentifier" => {
                let text = ikev2.required_string(key)?;
                let id = identity(text).map_err(|e| ikev2.error(key, e.to_string()))?;
                profile.auth.local_identity = Some(id);
                report.mapped(&path, "auth.local_identity");
            }
            "AuthenticationMethod" | "ExtendedAuthEnabled" => {
                report.mapped_with(&path, "auth.method", method_note.clone())
            }
            "PayloadCertificateUUID" if method.uses_certificate() => match &identity_payload {
                Some(found) => report.mapped_with(
                    &path,
                    "auth.client_certificate.pkcs12",
                    format!("the PKCS#12 payload PayloadContent[{}]", found.index),
                ),
                None => report.not_mapped(
                    &path,
                    "the device enrols this identity itself (SCEP or ACME); Corridor cannot: give the identity as a PKCS#12 file when importing",
                ),
            },
            "PayloadCertificateUUID" => report.not_mapped(&path, unused("client certificate")),
            "SharedSecret" if method == AuthMethod::Psk => {
                let secret = match ikev2.get(key) {
                    Some(plist::Value::String(s)) => s.clone(),
                    Some(plist::Value::Data(d)) => String::from_utf8(d.clone()).map_err(|_| {
                        ikev2.error(key, "the shared secret is not UTF-8 text")
                    })?,
                    Some(other) => {
                        return Err(ikev2.error(
                            key,
                            format!("expected a string, found {}", super::tree::kind_of(other)),
                        ));
                    }
                    None => String::new(),
                };
                profile.auth.psk = Some(Secret::new(secret));
                report.mapped(&path, "auth.psk");
            }
            "SharedSecret" => report.not_mapped(&path, unused("pre-shared key")),
            "AuthName" if matches!(method, AuthMethod::EapMschapv2 | AuthMethod::EapTls) => {
                profile.auth.eap_identity = Some(ikev2.required_string(key)?.to_string());
                report.mapped(&path, "auth.eap_identity");
            }
            "AuthName" => report.not_mapped(&path, unused("EAP username")),
            "AuthPassword" if method == AuthMethod::EapMschapv2 => {
                eap_password = Some(Secret::new(ikev2.required_string(key)?));
                report.not_mapped(
                    &path,
                    "passwords are never stored in a profile; it is handed over for the OS keychain, delete the file after importing",
                );
            }
            "AuthPassword" => report.not_mapped(&path, unused("password")),
            "Password" => report.not_mapped(
                &path,
                "Apple's devices use it only with AuthenticationMethod Password, which IKEv2 does not have",
            ),
            "CertificateType" => {
                let kind = ikev2.required_string(key)?;
                match (kind, method.uses_certificate()) {
                    ("RSA-PSS", true) => {
                        profile.auth.rsa_pss = true;
                        report.mapped(&path, "auth.rsa_pss");
                    }
                    ("RSA" | "ECDSA256" | "ECDSA384" | "ECDSA521", true) => report.checked(
                        &path,
                        format!("{kind}: Corridor signs with the key the client certificate holds"),
                    ),
                    (_, true) => {
                        return Err(ikev2.error(
                            key,
                            format!(
                                "unknown certificate type \"{kind}\"; expected RSA, ECDSA256, ECDSA384, ECDSA521 or RSA-PSS"
                            ),
                        ));
                    }
                    (_, false) => report.not_mapped(&path, unused("client certificate")),
                }
            }
            "ServerCertificateIssuerCommonName" => report.mapped_with(
                &path,
                "trust.certificate_requests",
                "Corridor's certificate requests (RFC 7296 §3.7) name the profile's trusted CAs",
            ),
            "ServerCertificateCommonName" => {
                let cn = ikev2.required_string(key)?;
                let remote = ikev2.string("RemoteIdentifier")?.unwrap_or(host);
                if cn.eq_ignore_ascii_case(remote.trim()) {
                    report.checked(
                        &path,
                        "the same name as the gateway identity, which the gateway's certificate must prove",
                    );
                } else {
                    report.not_mapped(
                        &path,
                        format!(
                            "Corridor checks the gateway's certificate against gateway.identity ('{}'), not against a separate common name",
                            remote.trim()
                        ),
                    );
                }
            }
            "EnableCertificateRevocationCheck" => {
                let on = ikev2.flag(key)?.unwrap_or(false);
                profile.trust.revocation.crl = on;
                profile.trust.revocation.ocsp = on;
                profile.trust.revocation.strict = false;
                report.mapped_with(
                    &path,
                    "trust.revocation",
                    if on {
                        "CRL and OCSP, best effort, as on Apple's devices"
                    } else {
                        "off"
                    },
                );
            }
            "TLSMinimumVersion" | "TLSMaximumVersion" => report.not_mapped(
                &path,
                "Corridor's EAP-TLS negotiates TLS 1.2 or 1.3; older versions are never offered",
            ),
            "IKESecurityAssociationParameters" | "ChildSecurityAssociationParameters" => {}
            "EnablePFS" => report.mapped_with(
                &path,
                "proposals.esp",
                if pfs {
                    "the Child SA's Diffie-Hellman group is proposed for PFS"
                } else {
                    "no PFS group"
                },
            ),
            "AllowPostQuantumKeyExchangeFallback" => report.mapped_with(
                &path,
                "proposals",
                if pq_fallback {
                    "the additional key exchanges are optional (ke*_none)"
                } else {
                    "the additional key exchanges are required"
                },
            ),
            "EnforceStrictAlgorithmSelection" => report.not_mapped(
                &path,
                "Corridor applies its own rules: DES, HMAC-MD5 and the 768-bit group are always refused",
            ),
            "MTU" => {
                profile.transport.mtu = ikev2.number::<u16>(key, "an MTU")?;
                report.mapped(&path, "transport.mtu");
            }
            "NATKeepAliveInterval" => {
                if let Some(secs) = ikev2.number::<u16>(key, "a number of seconds")? {
                    profile.transport.nat_keepalive_secs = secs;
                }
                report.mapped(&path, "transport.nat_keepalive_secs");
            }
            "NATKeepAliveOffloadEnable" => report.not_mapped(
                &path,
                "hardware keepalive offload while asleep is a feature of Apple's devices",
            ),
            "DeadPeerDetectionRate" => {
                let rate = ikev2.required_string(key)?;
                let (secs, note) = dead_peer_detection(rate).ok_or_else(|| {
                    ikev2.error(
                        key,
                        format!(
                            "unknown rate \"{rate}\"; expected None, Low, Medium or High"
                        ),
                    )
                })?;
                profile.transport.liveness_check_secs = Some(secs);
                report.mapped_with(&path, "transport.liveness_check_secs", note);
            }
            "DisableMOBIKE" => report.not_mapped(
                &path,
                "Corridor does not implement MOBIKE (RFC 4555); after a network change it sets the tunnel up again",
            ),
            "DisableRedirect" => report.not_mapped(
                &path,
                "Corridor does not implement IKEv2 redirection (RFC 5685); a redirect is never followed",
            ),
            "DisconnectOnIdle" | "DisconnectOnIdleTimer" => report.not_mapped(
                &path,
                "Corridor stays connected until asked to disconnect",
            ),
            "OnDemandEnabled" | "OnDemandRules" | "OnDemandUserOverrideDisabled" => {
                report.not_mapped(&path, ON_DEMAND)
            }
            "IncludeAllNetworks" if include_all => {
                profile.routing.mode = TunnelMode::Full;
                profile.routing.block_ipv4 = true;
                profile.routing.block_ipv6 = true;
                report.mapped_with(
                    &path,
                    "routing.mode",
                    "full, with routing.block_ipv4 and routing.block_ipv6: traffic that is not sent through the tunnel is dropped",
                );
            }
            "IncludeAllNetworks" => report.mapped_with(
                &path,
                "routing.mode",
                "full: Corridor asks for all traffic and the gateway's traffic selectors narrow it, as on Apple's devices",
            ),
            "ExcludeLocalNetworks" => report.not_mapped(
                &path,
                if include_all && ikev2.flag(key)?.unwrap_or(false) {
                    "Corridor has no setting for 'the networks the device is attached to'; add their prefixes to routing.exclude"
                } else {
                    "applies only with IncludeAllNetworks or EnforceRoutes"
                },
            ),
            "ExcludeCellularServices" | "ExcludeAPNs" | "ExcludeDeviceCommunication" => report
                .not_mapped(
                    &path,
                    "exceptions for services of Apple's devices (cellular, push notifications, paired devices)",
                ),
            "EnforceRoutes" => report.not_mapped(
                &path,
                "Corridor does not override more specific routes of the local network",
            ),
            "UseConfigurationAttributeInternalIPSubnet" => report.not_mapped(
                &path,
                "Corridor routes what the traffic selectors allow; INTERNAL_IP4_SUBNET/INTERNAL_IP6_SUBNET attributes are informational (RFC 7296 §3.15.2)",
            ),
            "PPK" | "PPKIdentifier" | "PPKMandatory" => report.not_mapped(
                &path,
                "Corridor does not implement post-quantum preshared keys (RFC 8784): the tunnel is set up without the PPK's protection",
            ),
            "EnableFallback" => {
                report.not_mapped(&path, "Wi-Fi Assist over cellular is a feature of Apple's devices")
            }
            "ProviderBundleIdentifier" | "ProviderDesignatedRequirement" | "ProviderType" => report
                .not_mapped(&path, "settings for VPN apps (network extensions), not for IKEv2"),
            _ => report.not_mapped(
                &path,
                "not a key of Apple's IKEv2 dictionary; Apple's devices ignore it too",
            ),
        }
    }

    let mapped = proposals::map(&ikev2, proposals::Options { pfs, pq_fallback }, &mut report)?;
    if let Some(ike) = mapped.ike {
        profile.proposals.ike.push(ike);
    }
    if let Some(esp) = mapped.esp {
        profile.proposals.esp.push(esp);
    }
    profile.rekey.ike_minutes = mapped.ike_minutes;
    profile.rekey.child_minutes = mapped.child_minutes;

    if let Some(dns) = vpn.dict("DNS")? {
        let dns_path = vpn.key("DNS");
        map_dns(
            &Node {
                origin,
                dict: dns,
                path: &dns_path,
            },
            include_all,
            &mut profile,
            &mut report,
        )?;
    }

    Ok(Vpn {
        profile,
        report,
        eap_password,
        identity: identity_payload,
    })
}

const ON_DEMAND: &str = "Corridor connects when asked (corridor up, or its service); VPN On Demand rules are not supported";

fn domain_list(node: &Node<'_>, key: &str) -> Result<Vec<String>, InputError> {
    Ok(node
        .strings(key)?
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.trim().to_string())
        .collect())
}

/// The `DNS` dictionary.
fn map_dns(
    dns: &Node<'_>,
    include_all: bool,
    profile: &mut Profile,
    report: &mut ImportReport,
) -> Result<(), InputError> {
    let no_search = dns
        .flag("SupplementalMatchDomainsNoSearch")?
        .unwrap_or(false);
    let encrypted = !matches!(dns.string("DNSProtocol")?, None | Some("Cleartext"));
    for (key, _) in dns.dict.iter() {
        let path = dns.key(key);
        match key.as_str() {
            "ServerAddresses" => {
                for (i, text) in dns.strings(key)?.unwrap_or_default().iter().enumerate() {
                    let ip: IpAddr = text.trim().parse().map_err(|_| {
                        dns.error(
                            &format!("{key}[{i}]"),
                            format!("'{text}' is not an IP address"),
                        )
                    })?;
                    profile.dns.servers.push(ip);
                }
                if encrypted {
                    report.mapped_with(
                        &path,
                        "dns.servers",
                        "queried in plain DNS through the tunnel; Corridor has no encrypted DNS",
                    );
                } else {
                    report.mapped(&path, "dns.servers");
                }
            }
            "SearchDomains" => {
                for d in domain_list(dns, key)? {
                    if !profile.dns.search_domains.contains(&d) {
                        profile.dns.search_domains.push(d);
                    }
                }
                report.mapped(&path, "dns.search_domains");
            }
            "DomainName" => {
                let domain = dns.required_string(key)?.trim().to_string();
                if !profile.dns.search_domains.contains(&domain) {
                    profile.dns.search_domains.insert(0, domain);
                }
                report.mapped_with(
                    &path,
                    "dns.search_domains",
                    "the tunnel's primary domain heads the search list",
                );
            }
            "SupplementalMatchDomains" => {
                let domains = domain_list(dns, key)?;
                let all_names = domains.iter().any(String::is_empty);
                let named: Vec<String> = domains.into_iter().filter(|d| !d.is_empty()).collect();
                if !no_search {
                    for d in &named {
                        if !profile.dns.search_domains.contains(d) {
                            profile.dns.search_domains.push(d.clone());
                        }
                    }
                }
                let search = if no_search {
                    ""
                } else {
                    "; also appended to dns.search_domains, as Apple's devices do without SupplementalMatchDomainsNoSearch"
                };
                if include_all {
                    report.not_mapped(
                        &path,
                        "with IncludeAllNetworks the tunnel's DNS servers resolve every name; Apple's devices ignore the list then too",
                    );
                } else if all_names {
                    report.mapped_with(
                        &path,
                        "dns.match_domains",
                        format!("empty: the list holds the empty domain, which makes the tunnel's DNS servers resolve every name{search}"),
                    );
                } else {
                    profile.dns.match_domains = named;
                    report.mapped_with(&path, "dns.match_domains", format!("split DNS{search}"));
                }
            }
            "SupplementalMatchDomainsNoSearch" => report.mapped_with(
                &path,
                "dns.search_domains",
                if no_search {
                    "the match domains are not added to the search list"
                } else {
                    "the match domains are added to the search list"
                },
            ),
            "DNSProtocol" if !encrypted => report.checked(&path, "Cleartext, as Corridor resolves"),
            "DNSProtocol" | "ServerURL" | "ServerName" => report.not_mapped(
                &path,
                "Corridor has no encrypted DNS (DNS over HTTPS or TLS); it sends plain DNS through the tunnel",
            ),
            "PayloadCertificateUUID" => report.not_mapped(
                &path,
                "a client identity for an encrypted DNS server; Corridor has no encrypted DNS",
            ),
            _ => report.not_mapped(
                &path,
                "not a key of Apple's DNS dictionary; Apple's devices ignore it too",
            ),
        }
    }
    Ok(())
}
