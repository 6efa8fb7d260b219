#!/usr/bin/env python3
"""Independent reference for FORMAT.md §7 (recipient mode), from the spec text alone.

Uses the `cryptography` package (X25519, HKDF-SHA256, ChaCha20-Poly1305) and a plain-Python
HChaCha20. Prints vector blocks for tests/vectors/v1.txt; with --check FILE, recomputes the
recipient vectors in FILE and exits non-zero on any difference.

    target/zato-venv/bin/python tests/vectors/recipient_reference.py --check tests/vectors/v1.txt
"""
import base64
import hashlib
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def rotl(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def hchacha20(key, nonce16):
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))

    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def leb128(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v == 0:
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def armor(prefix, raw):
    check = hashlib.sha256(prefix.encode() + raw).digest()[:4]
    return prefix + base64.urlsafe_b64encode(raw + check).decode().rstrip("=")


def public(secret):
    key = X25519PrivateKey.from_private_bytes(secret)
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw), key


def line(identity_secret, ephemeral_secret, seq, record, meta, event):
    recipient, _ = public(identity_secret)
    eph_pub, eph = public(ephemeral_secret)
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
    shared = eph.exchange(X25519PublicKey.from_public_bytes(recipient))
    session_key = HKDF(hashes.SHA256(), 32, eph_pub + recipient,
                       b"enclog-v1 recipient session key").derive(shared)
    key_id = hashlib.sha256(b"enclog-key-id-1" + b"ENCLOG-RECIPIENT-1-" + recipient).digest()[:4]
    kind = 0x10 | 0x02 | (0x04 if record == "close" else 0) | (0x08 if meta is not None else 0)
    header = bytes([kind]) + key_id + eph_pub + leb128(seq)
    plaintext = (leb128(len(meta)) + meta.encode() if meta is not None else b"") + event
    subkey = hchacha20(session_key, eph_pub[:16])
    sealed = ChaCha20Poly1305(subkey).encrypt(b"\0\0\0\0" + struct.pack(">Q", seq), plaintext, header)
    token = base64.urlsafe_b64encode(header + sealed).decode().rstrip("=")
    return (meta + " " if meta is not None else "") + "enclog:" + token, eph_pub[:16]


IDENTITY = bytes(range(0x40, 0x60))
EPHEMERAL = bytes(range(0x60, 0x80))
VECTORS = [
    ("recipient-hello", 0, "event", None, b"hello, recipient"),
    ("recipient-clear-metadata", 5, "event", "ERROR", b"payment failed: card declined\nretry=3"),
    ("recipient-close", 6, "close", None, b""),
]


def blocks():
    identity = armor("ENCLOG-IDENTITY-1-", IDENTITY)
    for name, seq, record, meta, event in VECTORS:
        text, session = line(IDENTITY, EPHEMERAL, seq, record, meta, event)
        block = [f"name: {name}", f"key: {identity}", f"ephemeral-secret: {EPHEMERAL.hex()}",
                 f"session: {session.hex()}", f"seq: {seq}", f"record: {record}"]
        if meta is not None:
            block.append(f"meta: {meta}")
        block += [f"plaintext-hex: {event.hex()}", f"line: {text}"]
        yield name, "\n".join(block)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        text = open(sys.argv[2]).read()
        bad = [name for name, block in blocks() if block not in text]
        if bad:
            sys.exit(f"recipient vectors differ from the reference: {', '.join(bad)}")
        recipient, _ = public(IDENTITY)
        print("recipient vectors match; recipient", armor("ENCLOG-RECIPIENT-1-", recipient))
        return
    for _, block in blocks():
        print(block + "\n")


if __name__ == "__main__":
    main()
