<#
    .SYNOPSIS
    Deploys the Fabrikam split-tunnel VPN (IKEv2, machine certificate).
    Pushed by the endpoint management agent as SYSTEM.
#>
$ConnectionName = 'Fabrikam VPN'
$Server = "vpn.fabrikam.example"

$vpn = @{
    Name                  = $ConnectionName
    ServerAddress         = $Server
    TunnelType            = 'Ikev2'
    AuthenticationMethod  = 'MachineCertificate'
    EncryptionLevel       = 'Maximum'
    SplitTunneling        = $true
    DnsSuffix             = "fabrikam.example"
    AllUserConnection     = $true
    IdleDisconnectSeconds = 0
}
Add-VpnConnection @vpn -Force

Set-VpnConnectionIPsecConfiguration -ConnectionName $ConnectionName `
    -AuthenticationTransformConstants GCMAES128 `
    -CipherTransformConstants GCMAES128 `
    -EncryptionMethod GCMAES128 `
    -IntegrityCheckMethod SHA256 `
    -DHGroup ECP256 `
    -PfsGroup ECP256 `
    -AllUserConnection -PassThru -Force

# Corporate networks
Add-VpnConnectionRoute -ConnectionName $ConnectionName -DestinationPrefix "10.10.0.0/16" -AllUserConnection
Add-VpnConnectionRoute -ConnectionName $ConnectionName -DestinationPrefix 10.20.0.0/16, 192.168.100.0/24 -RouteMetric 5 -AllUserConnection
Add-VpnConnectionRoute -ConnectionName "Legacy VPN" -DestinationPrefix 172.16.0.0/12
