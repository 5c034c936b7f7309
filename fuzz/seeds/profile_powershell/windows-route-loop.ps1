# Contoso remote access: IKEv2 with EAP-MSCHAPv2, split tunnel.
# Routes and internal DNS suffixes are kept in lists so the network team can edit them.
$ErrorActionPreference = 'Stop'

$Name   = "Contoso Remote Access"
$Server = "ra.contoso.example"

$Routes = @(
    "10.10.0.0/16",
    "10.20.0.0/16",
    "172.16.40.0/24"
)
$DnsSuffixes = "corp.contoso.example", "lab.contoso.example"

if (Get-VpnConnection -Name $Name -AllUserConnection -ErrorAction SilentlyContinue) {
    Remove-VpnConnection -Name $Name -AllUserConnection -Force
}

$eap = New-EapConfiguration
Add-VpnConnection -Name $Name -ServerAddress $Server -TunnelType Ikev2 `
    -AuthenticationMethod Eap -EapConfigXmlStream $eap.EapConfigXmlStream `
    -EncryptionLevel Required -SplitTunneling -AllUserConnection -Force

Set-VpnConnectionIPsecConfiguration -ConnectionName $Name -AllUserConnection `
    -AuthenticationTransformConstants GCMAES256 -CipherTransformConstants GCMAES256 `
    -EncryptionMethod GCMAES256 -IntegrityCheckMethod SHA256 `
    -DHGroup ECP384 -PfsGroup ECP384 -Force

foreach ($Route in $Routes) {
    Add-VpnConnectionRoute -ConnectionName $Name -DestinationPrefix $Route -AllUserConnection
}

$DnsSuffixes | ForEach-Object {
    Add-VpnConnectionTriggerDnsConfiguration -ConnectionName $Name -DnsSuffix $_ `
        -DnsIPAddress "10.10.0.53" -AllUserConnection -Force
}
