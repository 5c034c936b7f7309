#!/usr/bin/env bash
# Regenerates the strongSwan captures under crates/wire/tests/data/strongswan. Run as root;
# needs the Debian packages strongswan-charon, strongswan-swanctl,
# libstrongswan-standard-plugins, libstrongswan-extra-plugins, libcharon-extra-plugins,
# libcharon-extauth-plugins, tshark, openssl and iproute2. A new capture has new SPIs,
# nonces and keys; the tests read such values from the captures themselves, but check
# counts and names (41 datagrams, which exchange is where) that a change of script would
# move.
#
# Two charon instances (strongSwan 5.9.8, kernel-libipsec) run in network namespaces of
# their own, each in a private mount namespace with a tmpfs /run and its own vici socket.
# The initiator ("home") authenticates with EAP-MSCHAPv2 and asks for IPv4 and IPv6
# virtual addresses; the responder ("gw") signs with an RSA certificate. Choices made to
# exercise the codec:
#   - the initiator's first KE guess (MODP-3072) is refused: INVALID_KE_PAYLOAD, retry;
#   - encap = yes forces UDP encapsulation (port 4500, non-ESP marker,
#     ESP in UDP);
#   - a small fragment_size makes IKE_AUTH use RFC 7383 fragments (SKF);
#   - the IKE SA and the Child SA are rekeyed, then the IKE SA is deleted;
#   - charon logs the plaintext of every SK payload (enc level 3), from which
#     extract.py recovers the inner payload chains.
# Only addresses from 198.18.0.0/15 and fd00::/8 are used. Everything started here is
# stopped by pid, and the namespaces are deleted on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${WORK:-/tmp/corridor-wire-capture}
rm -rf "$work"; mkdir -p "$work"/{a,b}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  ip netns del cww-a 2>/dev/null || true
  ip netns del cww-b 2>/dev/null || true
}
trap cleanup EXIT

ip netns add cww-a
ip netns add cww-b
ip link add cww-a0 netns cww-a type veth peer name cww-b0 netns cww-b
ip -n cww-a addr add 198.18.200.1/24 dev cww-a0
ip -n cww-b addr add 198.18.200.2/24 dev cww-b0
for n in a b; do ip -n cww-$n link set lo up; ip -n cww-$n link set cww-${n}0 up; done
# A host on the "corporate" side so pings through the tunnel get answers.
ip -n cww-b addr add 198.19.0.1/32 dev lo
ip -n cww-b addr add fd00:c0::1/128 dev lo

# Test PKI: ECDSA CA, RSA-2048 gateway certificate (large enough to force fragments).
pki=$work/pki; mkdir -p "$pki"
openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key" 2>/dev/null
openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=Corridor Wire Test CA" -days 3650 \
  -out "$pki/ca.pem" 2>/dev/null
openssl genrsa -out "$pki/gw.key" 2048 2>/dev/null
openssl req -new -key "$pki/gw.key" -subj "/CN=gw.corridor.test" -out "$pki/gw.csr" 2>/dev/null
printf 'subjectAltName=DNS:gw.corridor.test\nextendedKeyUsage=serverAuth\n' >"$pki/ext"
openssl x509 -req -in "$pki/gw.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
  -days 3650 -extfile "$pki/ext" -out "$pki/gw.pem" 2>/dev/null

for n in a b; do
  d=$work/$n
  mkdir -p "$d/swanctl"/{x509,x509ca,private}
  cp "$pki/ca.pem" "$d/swanctl/x509ca/"
  cat >"$d/strongswan.conf" <<CONF
charon {
  load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints revocation sha1 sha2 md5 hmac aes gcm curve25519 gmp kdf eap-identity eap-mschapv2 attr kernel-libipsec kernel-netlink socket-default vici
  fragment_size = 600
  keep_alive = 2s
  cookie_threshold = 1
  install_routes = yes
  plugins {
    vici {
      socket = unix://$d/charon.vici
    }
    openssl {
      load_legacy = yes
    }
  }
  filelog {
    log {
      path = $d/charon.log
      default = 1
      enc = 3
      ike = 2
      cfg = 2
      net = 2
      flush_line = yes
    }
  }
}
CONF
done
cp "$pki/gw.pem" "$work/b/swanctl/x509/"
cp "$pki/gw.key" "$work/b/swanctl/private/"

cat >"$work/b/swanctl/swanctl.conf" <<'CONF'
connections {
  rw {
    local_addrs = 198.18.200.2
    pools = pool4, pool6
    proposals = aes256gcm16-prfsha384-ecp256-x25519, aes128-sha256-modp2048
    fragmentation = yes
    send_certreq = yes
    local {
      auth = pubkey
      certs = gw.pem
      id = gw.corridor.test
    }
    remote {
      auth = eap-mschapv2
      eap_id = %any
    }
    children {
      corp {
        local_ts = 198.19.0.0/16, fd00:c0::/32
        esp_proposals = aes256gcm16-x25519, aes128-sha256-esn-noesn
      }
    }
  }
}
secrets {
  eap-alice {
    id = alice
    secret = "correct horse battery staple"
  }
}
pools {
  pool4 {
    addrs = 198.19.10.0/24
    dns = 198.19.0.53
    25 = corp.test
  }
  pool6 {
    addrs = fd00:c0:1::/120
    dns = fd00:c0::53
  }
}
CONF

cat >"$work/a/swanctl/swanctl.conf" <<'CONF'
connections {
  home {
    remote_addrs = 198.18.200.2
    vips = 0.0.0.0, ::
    encap = yes
    proposals = aes256gcm16-prfsha384-modp3072-ecp256, aes128-sha256-modp2048
    fragmentation = yes
    local {
      auth = eap-mschapv2
      eap_id = alice
      id = alice
    }
    remote {
      auth = pubkey
      id = gw.corridor.test
    }
    children {
      corp {
        remote_ts = 198.19.0.0/16, fd00:c0::/32
        esp_proposals = aes256gcm16-x25519, aes128-sha256-esn-noesn
      }
    }
  }
}
secrets {
  eap-alice {
    id = alice
    secret = "correct horse battery staple"
  }
}
CONF

start_charon() { # $1 = a|b
  local d=$work/$1
  ip netns exec "cww-$1" unshare -m --propagation private sh -c \
    "mount -t tmpfs tmpfs /run && exec env STRONGSWAN_CONF=$d/strongswan.conf /usr/lib/ipsec/charon" \
    >"$d/stdout" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do [ -S "$d/charon.vici" ] && return 0; sleep 0.2; done
  echo "charon $1 did not start" >&2; cat "$d/stdout" >&2; exit 1
}
sw() { # $1 = a|b, rest = swanctl args
  local n=$1 cmd=$2; shift 2
  STRONGSWAN_CONF=$work/$n/strongswan.conf swanctl "$cmd" --uri "unix://$work/$n/charon.vici" "$@"
}

ip netns exec cww-a dumpcap -q -i cww-a0 -f udp -w "$work/capture.pcapng" >"$work/dumpcap.log" 2>&1 &
pids+=($!)
start_charon b
start_charon a
sleep 1
for n in a b; do sw $n --load-all --file "$work/$n/swanctl/swanctl.conf" >"$work/$n/load.log" 2>&1; done

sw a --initiate --ike home --child corp --timeout 30 >"$work/a/initiate.log" 2>&1 || true
sleep 1
ip netns exec cww-a ping -c 3 -i 0.3 -I 198.19.10.1 198.19.0.1 >"$work/ping.log" 2>&1 || true
sleep 5  # NAT-keepalives (keep_alive = 2s)
sw a --rekey --child corp >"$work/a/rekey-child.log" 2>&1 || true
sleep 1
sw a --rekey --ike home >"$work/a/rekey-ike.log" 2>&1 || true
sleep 1
sw a --terminate --ike home --timeout 10 >"$work/a/terminate.log" 2>&1 || true
sleep 1

# Second connection, through a COOKIE: replaying the accepted IKE_SA_INIT request from
# another port leaves a half-open IKE SA on the responder, which puts it at
# cookie_threshold, so the real initiator is first asked for a COOKIE (RFC 7296 §2.6).
first=$(tshark -r "$work/capture.pcapng" -Y 'ip.src == 198.18.200.1 && udp.dstport == 500' -T fields -e udp.payload 2>/dev/null | sed -n 2p)
ip netns exec cww-a python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('198.18.200.1', 501))
s.sendto(bytes.fromhex('$first'), ('198.18.200.2', 500))
s.settimeout(3)
try: s.recv(4096)
except OSError: pass
"
sw a --initiate --ike home --child corp --timeout 30 >"$work/a/initiate2.log" 2>&1 || true
ip netns exec cww-a ping -6 -c 2 -i 0.3 -I fd00:c0:1::1 fd00:c0::1 >"$work/ping6.log" 2>&1 || true
sleep 1
sw a --terminate --ike home --timeout 10 >"$work/a/terminate2.log" 2>&1 || true
sleep 1
echo "capture in $work"
# The second connection's IKE_AUTH and later repeat the first one's; keep up to the COOKIE
# round (datagram 41).
python3 "$here/extract.py" "$work" "$here/../strongswan" 41
