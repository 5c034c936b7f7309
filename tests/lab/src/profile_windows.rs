//! Windows VPN profiles for a running lab, as IT hands them to Windows users: a VPNv2
//! CSP ProfileXML (what an MDM pushes) and a PowerShell script with `Add-VpnConnection`
//! (what a deployment script runs), for [`Scenario::EapMschapv2`] and [`Scenario::Cert`].
//!
//! Neither format can carry the gateway's CA or the client's certificate (Windows finds
//! both in its certificate stores), nor the EAP user name (Windows asks for it): the
//! import takes the CA and the PKCS#12 file on the command line ([`gateway_ca`],
//! [`client_p12`]), and the user name is set on the imported profile. The server is the
//! gateway's DNS name, as in real Windows profiles (Windows checks the gateway's
//! certificate against it); the lab has no public DNS, so [`resolve_gateway_name`] maps
//! it in the client's hosts file. The cryptography is the lab's first default proposal in
//! Windows' constants (AES-256-GCM, SHA-384, ECP-384, no PFS).

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::config::Scenario;
use crate::lab::Lab;
use crate::naming::Host;
use crate::plan::{GATEWAY_FQDN, LAN_V4, LAN_V6};
use crate::profile::ProfileOptions;

fn routes(lab: &Lab) -> Vec<(String, u8)> {
    let mut out = vec![(LAN_V4.addr.to_string(), LAN_V4.len)];
    if lab.config().ipv6 {
        out.push((LAN_V6.addr.to_string(), LAN_V6.len));
    }
    out
}

/// The CA file (PEM) that issued the gateway's certificate, for `--ca`.
pub fn gateway_ca(lab: &Lab) -> PathBuf {
    if lab.config().long_chain {
        lab.pki().long_root_pem()
    } else {
        lab.pki().ca_pem()
    }
}

/// The client's PKCS#12 file for [`Scenario::Cert`], for `--client-cert`.
pub fn client_p12(lab: &Lab, opts: &ProfileOptions) -> PathBuf {
    lab.pki().client_p12(opts.client_cert)
}

/// A ProfileXML document for the lab's scenario.
pub fn profile_xml(lab: &Lab, _opts: &ProfileOptions) -> Result<String> {
    let config = lab.config();
    let auth = match config.scenario {
        Scenario::EapMschapv2 => {
            "      <UserMethod>Eap</UserMethod>
      <Eap>
        <Configuration>
          <EapHostConfig xmlns=\"http://www.microsoft.com/provisioning/EapHostConfig\">
            <EapMethod>
              <Type xmlns=\"http://www.microsoft.com/provisioning/EapCommon\">26</Type>
              <VendorId xmlns=\"http://www.microsoft.com/provisioning/EapCommon\">0</VendorId>
              <VendorType xmlns=\"http://www.microsoft.com/provisioning/EapCommon\">0</VendorType>
              <AuthorId xmlns=\"http://www.microsoft.com/provisioning/EapCommon\">0</AuthorId>
            </EapMethod>
            <Config xmlns=\"http://www.microsoft.com/provisioning/EapHostConfig\">
              <Eap xmlns=\"http://www.microsoft.com/provisioning/BaseEapConnectionPropertiesV1\">
                <Type>26</Type>
                <EapType xmlns=\"http://www.microsoft.com/provisioning/MsChapV2ConnectionPropertiesV1\">
                  <UseWinLogonCredentials>false</UseWinLogonCredentials>
                </EapType>
              </Eap>
            </Config>
          </EapHostConfig>
        </Configuration>
      </Eap>
"
        }
        Scenario::Cert => "      <MachineMethod>Certificate</MachineMethod>\n",
        other => bail!("no ProfileXML for the {other} scenario (EAP-MSCHAPv2 and Cert only)"),
    };
    let policy = if config.full_tunnel {
        "ForceTunnel"
    } else {
        "SplitTunnel"
    };
    let mut out =
        String::from("<VPNProfile>\n  <RememberCredentials>false</RememberCredentials>\n");
    let _ = write!(
        out,
        "  <NativeProfile>
    <Servers>{server}</Servers>
    <NativeProtocolType>IKEv2</NativeProtocolType>
    <Authentication>
{auth}    </Authentication>
    <RoutingPolicyType>{policy}</RoutingPolicyType>
    <DisableClassBasedDefaultRoute>true</DisableClassBasedDefaultRoute>
    <CryptographySuite>
      <AuthenticationTransformConstants>GCMAES256</AuthenticationTransformConstants>
      <CipherTransformConstants>GCMAES256</CipherTransformConstants>
      <EncryptionMethod>AES_GCM_256</EncryptionMethod>
      <IntegrityCheckMethod>SHA384</IntegrityCheckMethod>
      <DHGroup>ECP384</DHGroup>
      <PfsGroup>None</PfsGroup>
    </CryptographySuite>
  </NativeProfile>
",
        server = GATEWAY_FQDN,
    );
    if !config.full_tunnel {
        for (address, prefix) in routes(lab) {
            let _ = writeln!(
                out,
                "  <Route>\n    <Address>{address}</Address>\n    <PrefixSize>{prefix}</PrefixSize>\n  </Route>"
            );
        }
    }
    out.push_str("</VPNProfile>\n");
    Ok(out)
}

/// A PowerShell deployment script for the lab's scenario.
pub fn powershell(lab: &Lab, opts: &ProfileOptions) -> Result<String> {
    let config = lab.config();
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| format!("Corridor lab ({})", config.scenario));
    let method = match config.scenario {
        Scenario::EapMschapv2 => {
            "-AuthenticationMethod Eap -EapConfigXmlStream $eap.EapConfigXmlStream"
        }
        Scenario::Cert => "-AuthenticationMethod MachineCertificate",
        other => {
            bail!("no PowerShell script for the {other} scenario (EAP-MSCHAPv2 and Cert only)")
        }
    };
    let split = if config.full_tunnel {
        ""
    } else {
        " `\n    -SplitTunneling"
    };
    let mut out = format!(
        "# Corridor lab VPN ({scenario})\n$Name = '{name}'\n$eap = New-EapConfiguration\nAdd-VpnConnection -Name $Name -ServerAddress \"{server}\" -TunnelType Ikev2 `\n    {method}{split} -Force -PassThru\nSet-VpnConnectionIPsecConfiguration -ConnectionName $Name `\n    -AuthenticationTransformConstants GCMAES256 -CipherTransformConstants GCMAES256 `\n    -EncryptionMethod GCMAES256 -IntegrityCheckMethod SHA384 -DHGroup ECP384 -PfsGroup None -Force\n",
        scenario = config.scenario,
        server = GATEWAY_FQDN,
    );
    if !config.full_tunnel {
        for (address, prefix) in routes(lab) {
            let _ = writeln!(
                out,
                "Add-VpnConnectionRoute -ConnectionName $Name -DestinationPrefix \"{address}/{prefix}\""
            );
        }
    }
    Ok(out)
}

/// Maps the gateway's DNS name to `opts.remote_addr` in the client's hosts file (which
/// every command run there sees as `/etc/hosts`), so that a profile naming the gateway
/// by name reaches it.
pub fn resolve_gateway_name(lab: &Lab, opts: &ProfileOptions) -> Result<()> {
    let resolv = lab.resolv_conf(Host::Client);
    let Some(dir) = resolv.parent() else {
        bail!("no directory for {}", resolv.display());
    };
    let path = dir.join("hosts");
    let text = format!("127.0.0.1 localhost\n{} {GATEWAY_FQDN}\n", opts.remote_addr);
    fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

/// Writes the default ProfileXML to `<lab dir>/lab-profile.xml` and returns its path.
pub fn write_profile_xml(lab: &Lab) -> Result<PathBuf> {
    let path = lab.dir().join("lab-profile.xml");
    let text = profile_xml(lab, &ProfileOptions::default())?;
    fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Writes the default PowerShell script to `<lab dir>/lab-vpn.ps1` and returns its path.
pub fn write_powershell(lab: &Lab) -> Result<PathBuf> {
    let path = lab.dir().join("lab-vpn.ps1");
    let text = powershell(lab, &ProfileOptions::default())?;
    fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
