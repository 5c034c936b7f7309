#!/usr/bin/env python3
"""Generates cbc_hmac_vectors.txt: ESP packets protected with AES-CBC and a truncated
HMAC, computed independently of corridor-esp (with Python's `cryptography`), for the
suites that have no published ESP example.

Each record is one line of `key=value` pairs separated by spaces:
  encr=aes-cbc-128|aes-cbc-256  integ=sha1-96|sha256-128|sha384-192|sha512-256
  esn=0|1  spi=<hex u32>  seq=<decimal u64>  enc_key=<hex>  integ_key=<hex>
  iv=<hex 16 bytes>  payload=<hex>  next_header=<decimal>  packet=<hex ESP packet>

ESP layout (RFC 4303 §2): SPI | Sequence Number (low 32 bits) | IV |
AES-CBC(payload | padding 1,2,3... | Pad Length | Next Header) | ICV, where the ICV is
HMAC(SPI | seq low | IV | ciphertext [| seq high if ESN]) truncated (RFC 4303 §2.8,
RFC 4868 §2.3, RFC 2404). Run: python3 gen_cbc_vectors.py > cbc_hmac_vectors.txt
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

INTEG = {
    "sha1-96": (hashlib.sha1, 20, 12),
    "sha256-128": (hashlib.sha256, 32, 16),
    "sha384-192": (hashlib.sha384, 48, 24),
    "sha512-256": (hashlib.sha512, 64, 32),
}


def pattern(n, start):
    return bytes((start + 7 * i) & 0xFF for i in range(n))


def esp(enc_key, integ, integ_key, esn, spi, seq, iv, payload, next_header):
    hash_fn, _, icv_len = INTEG[integ]
    pad_len = (-(len(payload) + 2)) % 16
    plaintext = payload + bytes(range(1, pad_len + 1)) + bytes([pad_len, next_header])
    enc = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ciphertext = enc.update(plaintext) + enc.finalize()
    header = struct.pack(">II", spi, seq & 0xFFFFFFFF)
    covered = header + iv + ciphertext
    if esn:
        covered += struct.pack(">I", seq >> 32)
    icv = hmac.new(integ_key, covered, hash_fn).digest()[:icv_len]
    return header + iv + ciphertext + icv


def main():
    # An IPv4 header-like start so the payload reads as an inner IPv4 packet.
    payloads = [
        bytes.fromhex("4500001c") + pattern(24, 0x10),  # 28 bytes: 2 bytes of padding
        bytes.fromhex("60000000") + pattern(60, 0x33),  # 64 bytes: 14 bytes of padding
        bytes.fromhex("4500000e") + pattern(10, 0x99),  # 14 bytes: no padding
    ]
    for key_bits in (128, 256):
        for n, integ in enumerate(INTEG):
            for esn in (0, 1):
                _, integ_key_len, _ = INTEG[integ]
                enc_key = pattern(key_bits // 8, key_bits + n)
                integ_key = pattern(integ_key_len, 0x40 + n)
                spi = 0xC0DE0000 + key_bits + n * 2 + esn
                seq = (0x0000000300000000 if esn else 0) + 0x7FFFFFF0 + n
                iv = pattern(16, 0xA0 + n + esn)
                payload = payloads[(n + esn) % len(payloads)]
                next_header = 41 if payload[0] >> 4 == 6 else 4
                packet = esp(enc_key, integ, integ_key, esn, spi, seq, iv, payload, next_header)
                print(
                    f"encr=aes-cbc-{key_bits} integ={integ} esn={esn} spi={spi:08x} seq={seq} "
                    f"enc_key={enc_key.hex()} integ_key={integ_key.hex()} iv={iv.hex()} "
                    f"payload={payload.hex()} next_header={next_header} packet={packet.hex()}"
                )


if __name__ == "__main__":
    main()
