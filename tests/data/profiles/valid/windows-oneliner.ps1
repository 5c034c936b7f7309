# Contoso IT - create the VPN connection for the current user.
# Run once from an elevated or user PowerShell prompt.
Remove-VpnConnection -Name "Contoso VPN" -Force -ErrorAction SilentlyContinue

Add-VpnConnection -Name "Contoso VPN" `
    -ServerAddress "vpn.example.com" `
    -TunnelType Ikev2 `
    -AuthenticationMethod MSChapv2 `
    -EncryptionLevel Required `
    -RememberCredential `
    -Force -PassThru
