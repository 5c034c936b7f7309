Add-VpnConnection -Name "Contoso VPN" -TunnelType Ikev2 -AuthenticationMethod Eap
