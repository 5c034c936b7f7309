//! The parameters of the VPN cmdlets, so that abbreviated (`-Server`) and
//! differently-cased names resolve as PowerShell resolves them, and positional
//! arguments get their names.

/// PowerShell's common parameters and the cmdlets' own options: no VPN setting.
pub(super) const OPTIONS: &[&str] = &[
    "Force",
    "PassThru",
    "WhatIf",
    "Confirm",
    "Verbose",
    "Debug",
    "ErrorAction",
    "WarningAction",
    "InformationAction",
    "ErrorVariable",
    "WarningVariable",
    "InformationVariable",
    "OutVariable",
    "OutBuffer",
    "PipelineVariable",
    "AsJob",
    "CimSession",
    "ThrottleLimit",
];

/// Parameter names and positional order of the cmdlets that are read.
pub(super) fn parameters(cmdlet: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match cmdlet {
        "Add-VpnConnection" | "Set-VpnConnection" => (
            &[
                "Name",
                "ServerAddress",
                "TunnelType",
                "EncryptionLevel",
                "AuthenticationMethod",
                "SplitTunneling",
                "AllUserConnection",
                "L2tpPsk",
                "RememberCredential",
                "UseWinlogonCredential",
                "EapConfigXmlStream",
                "MachineCertificateEKUFilter",
                "MachineCertificateIssuerFilter",
                "ServerList",
                "DnsSuffix",
                "IdleDisconnectSeconds",
                "PlugInApplicationID",
                "CustomConfiguration",
                "ThirdPartyVpn",
            ],
            &[
                "Name",
                "ServerAddress",
                "TunnelType",
                "EncryptionLevel",
                "AuthenticationMethod",
            ],
        ),
        "Set-VpnConnectionIPsecConfiguration" => (
            &[
                "ConnectionName",
                "AuthenticationTransformConstants",
                "CipherTransformConstants",
                "EncryptionMethod",
                "IntegrityCheckMethod",
                "DHGroup",
                "PfsGroup",
                "RevertToDefault",
                "AllUserConnection",
                "MachineCertificateIssuerFilter",
                "MachineCertificateEKUFilter",
            ],
            &["ConnectionName"],
        ),
        "Add-VpnConnectionRoute" => (
            &[
                "ConnectionName",
                "DestinationPrefix",
                "RouteMetric",
                "AllUserConnection",
            ],
            &["ConnectionName", "DestinationPrefix", "RouteMetric"],
        ),
        "Add-VpnConnectionTriggerDnsConfiguration" | "Set-VpnConnectionTriggerDnsConfiguration" => {
            (
                &[
                    "ConnectionName",
                    "DnsSuffix",
                    "DnsIPAddress",
                    "DnsSuffixSearchList",
                ],
                &["ConnectionName", "DnsSuffix", "DnsIPAddress"],
            )
        }
        _ => (&[], &[]),
    }
}

/// The full name of a parameter as written (exact or an unambiguous prefix, any case).
pub(super) fn resolve(cmdlet: &str, written: &str) -> Option<&'static str> {
    let (own, _) = parameters(cmdlet);
    let all = || own.iter().chain(OPTIONS.iter()).copied();
    if let Some(exact) = all().find(|p| p.eq_ignore_ascii_case(written)) {
        return Some(exact);
    }
    // The aliases PowerShell defines for common parameters.
    match written.to_ascii_lowercase().as_str() {
        "ea" => return Some("ErrorAction"),
        "wa" => return Some("WarningAction"),
        "ev" => return Some("ErrorVariable"),
        "ov" => return Some("OutVariable"),
        _ => {}
    }
    let lower = written.to_ascii_lowercase();
    let mut matches = all().filter(|p| p.to_ascii_lowercase().starts_with(&lower));
    match (matches.next(), matches.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// The cmdlet's canonical spelling, if it is one of the VPN cmdlets read here.
pub(super) fn canonical(name: &str) -> Option<&'static str> {
    [
        "Add-VpnConnection",
        "Set-VpnConnection",
        "Set-VpnConnectionIPsecConfiguration",
        "Add-VpnConnectionRoute",
        "Add-VpnConnectionTriggerDnsConfiguration",
        "Set-VpnConnectionTriggerDnsConfiguration",
    ]
    .into_iter()
    .find(|c| c.eq_ignore_ascii_case(name))
}

/// Why a command that is not read is not mapped.
pub(super) fn other_command(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "remove-vpnconnection" => {
            "removes an existing connection before creating it again; nothing to import"
        }
        "get-vpnconnection" => "reads the connection; nothing to import",
        "remove-vpnconnectionroute" | "remove-vpnconnectiontriggerdnsconfiguration" => {
            "removes settings of an existing connection; nothing to import"
        }
        "add-vpnconnectiontriggerapplication" => {
            "starting the tunnel when an app starts is not supported"
        }
        "add-vpnconnectiontriggertrustednetwork" | "set-vpnconnectiontriggertrustednetwork" => {
            "Corridor does not detect trusted networks to stay disconnected there"
        }
        "set-vpnconnectionproxy" => "Corridor does not set an HTTP proxy while connected",
        "new-eapconfiguration" => "read where its output is used (-EapConfigXmlStream)",
        "new-vpnserveraddress" => "Corridor connects to one gateway (-ServerAddress)",
        _ if lower.contains("vpn") => "a VPN cmdlet Corridor does not read",
        _ => "not a VPN command; nothing in the script is run",
    }
}
