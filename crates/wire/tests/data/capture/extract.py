#!/usr/bin/env python3
"""Turns a capture.sh run into the test vectors under crates/wire/tests/data/strongswan/.

Usage: extract.py WORK_DIR OUT_DIR [LAST_DATAGRAM]

For every UDP datagram of the capture it writes NN-<what>.hex (the UDP payload, as sent,
including the non-ESP marker on port 4500). For every SK/SKF payload that charon logged
when it decrypted it (enc level 3) it adds NN-<what>.plain.hex (the decrypted inner
payload chain, padding removed) and NN-<what>.aad.hex (the associated data charon fed
to AES-GCM). Hex files hold 32 bytes per line.
"""
import os, re, subprocess, sys
from collections import defaultdict

work, out = sys.argv[1], sys.argv[2]
# Datagrams after this one are not written (the second connection repeats the first).
last = int(sys.argv[3]) if len(sys.argv) > 3 else None
EXCHANGES = {34: "ike_sa_init", 35: "ike_auth", 36: "create_child_sa", 37: "informational"}

rows = subprocess.run(
    ["tshark", "-r", f"{work}/capture.pcapng", "-T", "fields", "-e", "frame.number",
     "-e", "udp.srcport", "-e", "udp.dstport", "-e", "udp.payload"],
    check=True, capture_output=True, text=True).stdout.split("\n")
datagrams = []
for row in rows:
    if not row.strip():
        continue
    num, sport, dport, payload = row.split("\t")
    datagrams.append((int(num), int(sport), int(dport), bytes.fromhex(payload)))

# Decryption blocks from both charon logs, tracked per logging thread.
blocks = []
line_re = re.compile(r"^(\d+)\[ENC\] (.*)$")
field_re = re.compile(r"^(IV|encrypted|ICV|assoc|plain) => \d+ bytes")
dump_re = re.compile(r"^\s*\d+: ((?:[0-9A-F]{2} ?)+)")
for side in ("a", "b"):
    cur = {}
    with open(f"{work}/{side}/charon.log", errors="replace") as f:
        for line in f:
            m = line_re.match(line.rstrip("\n"))
            if not m:
                continue
            tid, text = m.groups()
            st = cur.setdefault(tid, {"block": None, "field": None})
            if text.startswith("encrypted payload decryption:") or \
               text.startswith("encrypted fragment payload decryption:"):
                st["block"] = defaultdict(bytes)
                blocks.append(st["block"])
                st["field"] = None
                continue
            if st["block"] is None:
                continue
            fm = field_re.match(text)
            if fm:
                st["field"] = fm.group(1)
                continue
            dm = dump_re.match(text)
            if dm and st["field"]:
                st["block"][st["field"]] += bytes.fromhex(dm.group(1).replace(" ", "")[:32 * 2])
                continue
            # Any other line ends the current dump; the padding dump ends the block.
            st["field"] = None
            if text.startswith("padding") or text.startswith("parsing"):
                st["block"] = None

def ike_part(d):
    sport, dport, data = d[1], d[2], d[3]
    if 4500 in (sport, dport):
        if data[:4] != b"\0\0\0\0":
            return None  # ESP or keepalive
        return data[4:]
    return data

os.makedirs(out, exist_ok=True)
def write_hex(path, data):
    with open(path, "w") as f:
        for i in range(0, len(data), 32):
            f.write(data[i:i + 32].hex() + "\n")

names = []
for idx, d in enumerate(datagrams, 1):
    if last is not None and idx > last:
        break
    ike = ike_part(d)
    if ike is None:
        what = "keepalive" if d[3] == b"\xff" else "esp"
    else:
        ex = EXCHANGES.get(ike[18], f"exchange{ike[18]}")
        rsp = "rsp" if ike[19] & 0x20 else "req"
        mid = int.from_bytes(ike[20:24], "big")
        what = f"{ex}-{rsp}-mid{mid}"
        if ike[16] == 53:
            what += f"-frag{int.from_bytes(ike[32:34], 'big')}"
        if d[1] == 501:
            what += "-replayed"
    name = f"{idx:02d}-{what}"
    names.append(name)
    write_hex(f"{out}/{name}.hex", d[3])
    if ike is None:
        continue
    for b in blocks:
        if b.get("assoc") and ike.startswith(b["assoc"]) and \
           ike[len(b["assoc"]):].startswith(b["IV"]):
            write_hex(f"{out}/{name}.plain.hex", b.get("plain", b""))
            write_hex(f"{out}/{name}.aad.hex", b["assoc"])
            break
    else:
        if ike[16] in (46, 53):
            print(f"warning: no plaintext for {name}", file=sys.stderr)
print("\n".join(names))
