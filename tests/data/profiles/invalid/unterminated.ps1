$name = "Contoso VPN"
Add-VpnConnection -Name $name -ServerAddress "vpn.example.com `
  -TunnelType Ikev2
