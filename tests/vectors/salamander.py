#!/usr/bin/env python3
"""Key commitment (FORMAT.md §4.1): one line, two keys, two texts ("invisible salamanders").

ChaCha20-Poly1305 is not key-committing. This script finds two symmetric keys with one key id
(§2.2: a 32-bit birthday search) and builds one ciphertext that opens under both keys' subkeys to
two different plaintexts, by solving the Poly1305 tag equation for one free ciphertext block:

- a version 1 line (Appendix A) that opens under both keys: v1 cannot tell them apart;
- a version 2 line (header with key A's commit) whose AEAD also opens under both subkeys, so the
  only thing that refuses it under key B is the commitment check of §4.1.

Prints one JSON object {key_a, key_b, key_id, v1_line, v1_text_a_hex, v1_text_b_hex, v2_line,
v2_text_a_hex, v2_text_b_hex}; both AEAD opens of both lines are verified before printing.

    target/zato-venv/bin/python tests/vectors/salamander.py
"""
import base64
import hashlib
import hmac
import json
import os
import struct
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

sys.dont_write_bytecode = True  # no __pycache__ next to the sources
from recipient_reference import hchacha20, leb128  # noqa: E402

P = 2**130 - 5
CLAMP = 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
PREFIX = b"ENCLOG-KEY-1-"


def key_text(key):
    check = hashlib.sha256(PREFIX + key).digest()[:4]
    return PREFIX.decode() + base64.urlsafe_b64encode(key + check).decode().rstrip("=")


def key_id(key):
    return hashlib.sha256(b"enclog-key-id-1" + PREFIX + key).digest()[:4]


def colliding_keys():
    """Two distinct random keys with one key id (birthday search over 32-bit ids)."""
    seen = {}
    while True:
        key = os.urandom(32)
        other = seen.setdefault(key_id(key), key)
        if other != key:
            return other, key


def chacha20(subkey, nonce12, counter, n):
    nonce16 = struct.pack("<I", counter) + nonce12
    return Cipher(algorithms.ChaCha20(subkey, nonce16), None).encryptor().update(bytes(n))


def poly_key(subkey, nonce12):
    block0 = chacha20(subkey, nonce12, 0, 32)
    return int.from_bytes(block0[:16], "little") & CLAMP, int.from_bytes(block0[16:], "little")


def poly_blocks(aad, ct):
    """RFC 8439 §2.8: padded aad, padded ciphertext, lengths; each block with its 2^128 bit."""
    pad = lambda b: b + bytes(-len(b) % 16)
    data = pad(aad) + pad(ct) + struct.pack("<QQ", len(aad), len(ct))
    return [int.from_bytes(data[i:i + 16], "little") + 2**128 for i in range(0, len(data), 16)]


def poly_acc(r, blocks):
    acc = 0
    for m in blocks:
        acc = (acc + m) * r % P
    return acc


def salamander(header, subkey_a, subkey_b, nonce12, text_a, text_b):
    """A ciphertext of 3 blocks: text_a under A, text_b under B, then one free block solved so that
    both tags coincide. Returns (ciphertext ‖ tag) or None (retry with another session)."""
    (ra, sa), (rb, sb) = poly_key(subkey_a, nonce12), poly_key(subkey_b, nonce12)
    ks_a, ks_b = chacha20(subkey_a, nonce12, 1, 48), chacha20(subkey_b, nonce12, 1, 48)
    xor = lambda x, y: bytes(i ^ j for i, j in zip(x, y))
    fixed = xor(text_a, ks_a[:16]) + xor(text_b, ks_b[16:32])
    blocks = poly_blocks(header, fixed + bytes(16))
    j = len(blocks) - 2  # the free block: the last ciphertext block, before the lengths block
    e = len(blocks) - j  # its power of r in the accumulator
    base = poly_acc(ra, blocks) - poly_acc(rb, blocks)  # free block = 0
    inv = pow(pow(ra, e, P) - pow(rb, e, P), -1, P)
    # Tags equal iff acc_a + s_a ≡ acc_b + s_b (mod 2^128), i.e. acc_a − acc_b (an integer in
    # (−P, P)) is d = s_b − s_a + k·2^128 for some k; solve mod P for each candidate d.
    for k in range(-5, 6):
        d = sb - sa + k * 2**128
        c = (d - base) * inv % P
        if c >= 2**128:
            continue
        ct = fixed + c.to_bytes(16, "little")
        blocks = poly_blocks(header, ct)
        tag_a = (poly_acc(ra, blocks) + sa) % 2**128
        tag_b = (poly_acc(rb, blocks) + sb) % 2**128
        if tag_a == tag_b:
            return ct + tag_a.to_bytes(16, "little")
    return None


def build(key_a, key_b, make_header, text_a, text_b, seq=1):
    """make_header(session) -> header; returns (line, plaintext under A, plaintext under B)."""
    nonce12 = bytes(4) + struct.pack(">Q", seq)  # v1: 0 ‖ seq; v2: u32(part=0) ‖ seq
    while True:
        session = os.urandom(16)
        header = make_header(session) + leb128(seq)
        sub_a, sub_b = hchacha20(key_a, session), hchacha20(key_b, session)
        sealed = salamander(header, sub_a, sub_b, nonce12, text_a, text_b)
        if sealed is None:
            continue
        pt_a = ChaCha20Poly1305(sub_a).decrypt(nonce12, sealed, header)  # raises if invalid
        pt_b = ChaCha20Poly1305(sub_b).decrypt(nonce12, sealed, header)
        assert pt_a != pt_b and pt_a[:16] == text_a and pt_b[16:32] == text_b
        token = base64.urlsafe_b64encode(header + sealed).decode().rstrip("=")
        return "enclog:" + token, pt_a, pt_b


def main():
    key_a, key_b = colliding_keys()
    kid = key_id(key_a)
    text_a, text_b = b"pay alice 10 EUR", b"pay mallory 10kE"
    v1_header = lambda session: bytes([0x11]) + kid + session  # A.1: symmetric event
    commit_a = lambda session: hmac.new(key_a, b"enclog-v2 commit" + session,
                                        hashlib.sha256).digest()[:16]
    v2_header = lambda session: bytes([0x21, 0x00]) + kid + commit_a(session) + session  # §3
    v1 = build(key_a, key_b, v1_header, text_a, text_b)
    v2 = build(key_a, key_b, v2_header, text_a, text_b)
    print(json.dumps({
        "key_a": key_text(key_a), "key_b": key_text(key_b), "key_id": kid.hex(),
        "v1_line": v1[0], "v1_text_a_hex": v1[1].hex(), "v1_text_b_hex": v1[2].hex(),
        "v2_line": v2[0], "v2_text_a_hex": v2[1].hex(), "v2_text_b_hex": v2[2].hex(),
    }))


if __name__ == "__main__":
    main()
