# Old SSTP connection
Add-VpnConnection -Name "Contoso SSTP" -ServerAddress sstp.example.com `
  -TunnelType Sstp -AuthenticationMethod MSChapv2 -Force
