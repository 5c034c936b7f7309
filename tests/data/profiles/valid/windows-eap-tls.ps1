#Requires -Version 5.1
# Northwind VPN with user certificates (EAP-TLS) and split DNS.
$Name = "Northwind VPN"
try {
    $eap = New-EapConfiguration -Tls
    Add-VpnConnection -Name $Name -ServerAddress 'vpn.northwind.example' -TunnelType Ikev2 `
        -AuthenticationMethod Eap -EapConfigXmlStream $eap.EapConfigXmlStream `
        -SplitTunneling:$true -RememberCredential:$false -PassThru | Out-Null
    Add-VpnConnectionRoute -ConnectionName $Name -DestinationPrefix @("10.50.0.0/16")
    Add-VpnConnectionTriggerDnsConfiguration -ConnectionName $Name -DnsSuffix ".northwind.example" `
        -DnsIPAddress "10.50.0.10","10.50.0.11" -PassThru -Force
    Write-Host "VPN connection '$Name' created."
}
catch {
    Write-Error "Could not create the VPN connection: $_"
}
