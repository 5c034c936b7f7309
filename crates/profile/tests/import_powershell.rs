//! Importing PowerShell scripts that create a VPN connection: mapped fields, the report,
//! and the errors for broken ones.

mod common;

use common::{data, mapped, net, no_password, not_mapped, with_password};
use corridor_profile::model::{AuthMethod, TunnelMode};
use corridor_profile::{ImportOptions, Outcome, SourceFormat, import_bytes, import_file};

fn script_error(text: &str) -> String {
    import_bytes("vpn.ps1", text.as_bytes(), &no_password())
        .unwrap_err()
        .to_string()
}

#[test]
fn one_liner_with_backticks() {
    let imported = import_file(&data("valid/windows-oneliner.ps1"), &no_password()).unwrap();
    let (p, r) = (&imported.profile, &imported.report);
    assert_eq!(r.source, SourceFormat::PowerShell);
    assert_eq!(p.name, "Contoso VPN");
    assert_eq!(p.gateway.host, "vpn.example.com");
    assert_eq!(p.auth.method, AuthMethod::EapMschapv2);
    assert_eq!(p.routing.mode, TunnelMode::Full);
    assert!(p.trust.system_roots);
    assert_eq!(
        mapped(r, "Add-VpnConnection -ServerAddress").0,
        "gateway.host"
    );
    assert!(matches!(
        r.get("Add-VpnConnection -TunnelType"),
        Some(Outcome::Checked { .. })
    ));
    assert!(
        not_mapped(r, "Add-VpnConnection -EncryptionLevel").starts_with("IKEv2 always encrypts")
    );
    assert!(
        not_mapped(r, "Add-VpnConnection -RememberCredential").contains("never holds credentials")
    );
    assert!(matches!(
        r.get("Add-VpnConnection -PassThru"),
        Some(Outcome::Checked { .. })
    ));
    assert_eq!(
        not_mapped(r, "Remove-VpnConnection (line 3)"),
        "removes an existing connection before creating it again; nothing to import"
    );
    let again = import_file(&data("valid/windows-oneliner.ps1"), &no_password()).unwrap();
    assert_eq!(again.profile.id, p.id);
}

#[test]
fn splatting_ipsec_configuration_and_routes() {
    let options = ImportOptions {
        client_certificate_file: Some(data("pki/client.p12")),
        ca_files: vec![data("pki/ca.der")],
        ..with_password()
    };
    let imported = import_file(&data("valid/windows-splat.ps1"), &options).unwrap();
    let (p, r) = (&imported.profile, &imported.report);
    assert_eq!(p.name, "Fabrikam VPN");
    assert_eq!(p.gateway.host, "vpn.fabrikam.example");
    assert_eq!(p.auth.method, AuthMethod::Cert);
    assert_eq!(p.routing.mode, TunnelMode::Split);
    assert_eq!(
        p.routing.include,
        [
            net("10.10.0.0/16"),
            net("10.20.0.0/16"),
            net("192.168.100.0/24")
        ]
    );
    assert_eq!(p.dns.search_domains, ["fabrikam.example"]);
    assert_eq!(p.proposals.ike[0].as_str(), "aes128gcm16-prfsha256-ecp256");
    assert_eq!(p.proposals.esp[0].as_str(), "aes128gcm16-ecp256");
    assert!(!p.trust.system_roots);
    assert_eq!(p.trust.ca.len(), 1);
    assert_eq!(
        mapped(r, "Set-VpnConnectionIPsecConfiguration -PfsGroup").0,
        "proposals.esp[0]"
    );
    assert_eq!(
        mapped(r, "Add-VpnConnectionRoute -DestinationPrefix"),
        (
            "routing.include[0]".to_string(),
            Some("10.10.0.0/16".to_string())
        )
    );
    assert!(not_mapped(r, "Add-VpnConnectionRoute -RouteMetric").contains("metrics"));
    assert!(not_mapped(r, "Add-VpnConnection -AllUserConnection").contains("per user"));
    assert!(
        not_mapped(r, "Add-VpnConnection -IdleDisconnectSeconds")
            .contains("until it is disconnected")
    );
    assert_eq!(
        not_mapped(r, "Add-VpnConnectionRoute (line 34)"),
        "for another connection \"Legacy VPN\"; Corridor imports \"Fabrikam VPN\""
    );
}

#[test]
fn eap_tls_with_trigger_dns() {
    let options = ImportOptions {
        client_certificate_file: Some(data("pki/client.p12")),
        ..no_password()
    };
    let imported = import_file(&data("valid/windows-eap-tls.ps1"), &options).unwrap();
    let (p, r) = (&imported.profile, &imported.report);
    assert_eq!(p.name, "Northwind VPN");
    assert_eq!(p.gateway.host, "vpn.northwind.example");
    assert_eq!(p.auth.method, AuthMethod::EapTls);
    assert_eq!(p.routing.mode, TunnelMode::Split);
    assert_eq!(p.routing.include, [net("10.50.0.0/16")]);
    assert_eq!(p.dns.match_domains, ["northwind.example"]);
    assert_eq!(
        p.dns.servers,
        [
            "10.50.0.10".parse::<std::net::IpAddr>().unwrap(),
            "10.50.0.11".parse().unwrap()
        ]
    );
    assert_eq!(
        mapped(r, "Add-VpnConnection -EapConfigXmlStream"),
        ("auth.method".to_string(), Some("eap-tls".to_string()))
    );
    assert_eq!(
        mapped(r, "Add-VpnConnectionTriggerDnsConfiguration -DnsSuffix").0,
        "dns.match_domains"
    );
    assert!(not_mapped(r, "Write-Host (line 12)").starts_with("not a VPN command"));
    assert!(not_mapped(r, "Out-Null (line 8)").starts_with("not a VPN command"));
}

#[test]
fn several_connections_import_the_first() {
    let text = "Add-VpnConnection -Name A -ServerAddress a.example.com\nAdd-VpnConnection -Name B -ServerAddress b.example.com\nSet-VpnConnection -Name A -SplitTunneling\nAdd-VpnConnectionRoute A 10.0.0.0/8\n";
    let imported = import_bytes("two.ps1", text.as_bytes(), &no_password()).unwrap();
    assert_eq!(imported.profile.name, "A");
    assert_eq!(imported.profile.routing.include, [net("10.0.0.0/8")]);
    assert_eq!(
        not_mapped(&imported.report, "Add-VpnConnection (line 2)"),
        "a further connection \"B\"; Corridor imports the first one (\"A\")"
    );
}

#[test]
fn broken_scripts_name_file_command_and_reason() {
    let file = |rel: &str| {
        let path = data(rel);
        (
            import_file(&path, &no_password()).unwrap_err().to_string(),
            path.display().to_string(),
        )
    };
    let (e, p) = file("invalid/sstp.ps1");
    assert_eq!(
        e,
        format!(
            "{p}:3:3: Add-VpnConnection -TunnelType: Sstp is not supported; Corridor is an IKEv2 client (-TunnelType Ikev2)"
        )
    );
    let (e, p) = file("invalid/unterminated.ps1");
    assert_eq!(e, format!("{p}:2:46: unterminated string (it starts here)"));
    let (e, p) = file("invalid/no-server.ps1");
    assert_eq!(
        e,
        format!("{p}:1:1: Add-VpnConnection -ServerAddress: required parameter is missing")
    );

    assert_eq!(
        script_error("Add-VpnConnection -Name x -ServerAddress $env:VPNHOST"),
        "vpn.ps1:1:27: Add-VpnConnection -ServerAddress: the value is $env:VPNHOST, which is known only when the script runs"
    );
    assert_eq!(
        script_error(
            "Add-VpnConnection x vpn.example.com -AuthenticationMethod Eap -EapConfigXmlStream (New-EapConfiguration -Peap)"
        ),
        "vpn.ps1:1:63: Add-VpnConnection -EapConfigXmlStream: EAP type 25 (PEAP) is not supported; Corridor supports EAP-MSCHAPv2 (26) and EAP-TLS (13) directly inside IKEv2"
    );
    assert_eq!(
        script_error(
            "Add-VpnConnection x vpn.example.com\nSet-VpnConnectionIPsecConfiguration x -AuthenticationTransformConstants SHA256128 -CipherTransformConstants AES256 -EncryptionMethod AES256 -IntegrityCheckMethod SHA256 -DHGroup Group1 -PfsGroup None"
        ),
        "vpn.ps1:2:170: Set-VpnConnectionIPsecConfiguration -DHGroup: algorithm 'modp768' is not supported: the 768-bit MODP group is broken; RFC 8247 forbids it (MUST NOT)"
    );
    assert_eq!(
        script_error("<# never closed\nAdd-VpnConnection x y"),
        "vpn.ps1:1:1: unterminated block comment <# (it starts here)"
    );
    assert_eq!(
        script_error("# Add-VpnConnection -Name x\nWrite-Host hi"),
        "vpn.ps1: the script never runs Add-VpnConnection (it is only mentioned, e.g. in a comment)"
    );
}

#[test]
fn fuzzed_scripts_never_panic() {
    let base = std::fs::read_to_string(data("valid/windows-splat.ps1")).unwrap();
    let bytes = base.as_bytes();
    for cut in (1..bytes.len()).step_by(5) {
        if let Ok(text) = std::str::from_utf8(&bytes[..cut]) {
            let _ = import_bytes(
                "cut.ps1",
                format!("Add-VpnConnection\n{text}").as_bytes(),
                &no_password(),
            );
        }
    }
    for c in [
        "(", ")", "{", "}", "@{", "@(", "\"", "'", "`", "$", "@", ",", "=", "-", "[", "<#",
    ] {
        for (i, _) in base.char_indices().step_by(13) {
            let mut text = base.clone();
            text.insert_str(i, c);
            let _ = import_bytes("mutated.ps1", text.as_bytes(), &no_password());
        }
    }
    let deep = format!("Add-VpnConnection -Name {}", "@(".repeat(10_000));
    assert!(script_error(&deep).contains("nested more than 32 levels deep"));
}

#[test]
fn routes_and_dns_suffixes_from_loops_over_lists() {
    let imported = import_file(&data("valid/windows-route-loop.ps1"), &no_password()).unwrap();
    let p = &imported.profile;
    assert_eq!(p.name, "Contoso Remote Access");
    assert_eq!(p.auth.method, AuthMethod::EapMschapv2);
    assert_eq!(p.routing.mode, TunnelMode::Split);
    assert_eq!(
        p.routing.include,
        [
            net("10.10.0.0/16"),
            net("10.20.0.0/16"),
            net("172.16.40.0/24")
        ]
    );
    assert_eq!(
        p.dns.match_domains,
        ["corp.contoso.example", "lab.contoso.example"]
    );
    assert_eq!(
        p.dns.servers,
        ["10.10.0.53".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(p.proposals.ike[0].as_str(), "aes256gcm16-prfsha256-ecp384");
}
