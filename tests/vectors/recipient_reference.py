#!/usr/bin/env python3
"""Independent reference for FORMAT.md, from the spec text alone.

Uses the `cryptography` package (X25519, HKDF-SHA256, HMAC-SHA256, ChaCha20-Poly1305) and a
plain-Python HChaCha20.

Version 1 (Appendix A, recipient mode A.5): prints vector blocks for tests/vectors/v1.txt; with
--check FILE, recomputes the recipient vectors in FILE and exits non-zero on any difference.

Version 2 (§3-§7, the vectors of §12): --write-v2 FILE writes tests/vectors/v2.txt;
--check-v2 FILE recomputes every v2 vector and exits non-zero naming the blocks that differ.

Sealed fields (§11, the vectors of §12.1): --write-fields FILE writes tests/vectors/fields.txt;
--check-fields FILE recomputes them (canonical JSON per RFC 8785, blind indexes, envelopes and
sealed values) and exits non-zero naming the blocks that differ.

    target/zato-venv/bin/python tests/vectors/recipient_reference.py --check tests/vectors/v1.txt
    target/zato-venv/bin/python tests/vectors/recipient_reference.py --write-v2 tests/vectors/v2.txt
    target/zato-venv/bin/python tests/vectors/recipient_reference.py --check-v2 tests/vectors/v2.txt
    target/zato-venv/bin/python tests/vectors/recipient_reference.py --check-fields tests/vectors/fields.txt
"""
import base64
import decimal
import hashlib
import hmac
import json
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
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


# ---- Version 2 (FORMAT.md §3-§7, vectors §12) ----

def count_up(start, n):
    """`a0…` (16) of FORMAT.md §12: the n bytes start, start+1, …"""
    return bytes(range(start, start + n))


def b64(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Session:
    """The per-session values of §4: vm, key id, K, the header's session field, commit, subkey."""

    def __init__(self, vm, key_id, k, session):
        self.vm, self.key_id, self.session = vm, key_id, session
        self.commit = hmac.new(k, b"enclog-v2 commit" + session, hashlib.sha256).digest()[:16]
        self.subkey = hchacha20(k, session[:16])

    def seal(self, seq, rtype, link, meta, body):
        """§3-§4, §4.4: returns (line, header ‖ ciphertext ‖ tag). link: the session's link
        (§5.3, mac included), given exactly for the record with seq 0 (type bit 6)."""
        assert (link is not None) == (seq == 0)
        typ = rtype | (0x40 if link is not None else 0) | (0x80 if meta is not None else 0)
        header = bytes([self.vm, typ]) + self.key_id + self.commit + self.session + leb128(seq)
        plaintext = ((leb128(len(link)) + link if link is not None else b"")
                     + (leb128(len(meta)) + meta.encode() if meta is not None else b"") + body)
        nonce = struct.pack(">I", 0) + struct.pack(">Q", seq)  # part = 0
        token = header + ChaCha20Poly1305(self.subkey).encrypt(nonce, plaintext, header)
        return (meta + " " if meta is not None else "") + "enclog:" + b64(token), token


def symmetric_session(key, session):
    key_id = hashlib.sha256(b"enclog-key-id-1" + b"ENCLOG-KEY-1-" + key).digest()[:4]
    return Session(0x21, key_id, key, session)


def recipient_session(identity_secret, ephemeral_secret):
    """§7.2: session field E, K = session-key."""
    recipient, _ = public(identity_secret)
    eph_pub, eph = public(ephemeral_secret)
    shared = eph.exchange(X25519PublicKey.from_public_bytes(recipient))
    session_key = HKDF(hashes.SHA256(), 32, eph_pub + recipient,
                       b"enclog-v2 recipient session key").derive(shared)
    key_id = hashlib.sha256(b"enclog-key-id-1" + b"ENCLOG-RECIPIENT-1-" + recipient).digest()[:4]
    return Session(0x22, key_id, session_key, eph_pub)


def make_link(sess, lineage, index, next_chain_key, frm):
    """§5.3. frm: {"from": root|successor|after-crash|branch, "prev": Session, "chain-key",
    "count", "end-tag", "fork-point"}."""
    body = lineage + leb128(index) + next_chain_key
    if frm["from"] == "root":
        return body + b"\x00"
    prev = frm["prev"]
    body += {"successor": b"\x01", "after-crash": b"\x02", "branch": b"\x03"}[frm["from"]]
    body += bytes([prev.vm]) + prev.key_id + prev.session
    if frm["from"] == "successor":
        body += leb128(frm["count"]) + frm["end-tag"]
    elif frm["from"] == "branch":
        body += leb128(frm["fork-point"])
    mac_input = b"enclog-v2 link" + bytes([sess.vm]) + sess.key_id + sess.session + body
    return body + hmac.new(frm["chain-key"], mac_input, hashlib.sha256).digest()[:16]


V2_KEY = bytes(range(32))
EVENT, CLOSE = 0, 1


def v2_vectors():
    """Yields (name, block) for every vector of FORMAT.md §12, in its order."""
    key_text = armor("ENCLOG-KEY-1-", V2_KEY)
    identity_text = armor("ENCLOG-IDENTITY-1-", IDENTITY)
    r1_secret, r2_secret = count_up(0x60, 32), count_up(0xE0, 32)
    sessions = {
        "A": symmetric_session(V2_KEY, count_up(0x00, 16)),
        "B": symmetric_session(V2_KEY, bytes.fromhex("f0e1d2c3b4a5968778695a4b3c2d1e0f")),
        "C": symmetric_session(V2_KEY, count_up(0x20, 16)),
        "D": symmetric_session(V2_KEY, count_up(0x50, 16)),
        "R1": recipient_session(IDENTITY, r1_secret),
        "R2": recipient_session(IDENTITY, r2_secret),
    }
    key_of = {"A": key_text, "B": key_text, "C": key_text, "D": key_text,
              "R1": identity_text, "R2": identity_text}
    ephemeral = {"R1": r1_secret, "R2": r2_secret}
    # session: (lineage, index, next-chain-key, from)
    links = {
        "A": (count_up(0xA0, 16), 0, count_up(0xB0, 32), {"from": "root"}),
        "B": (count_up(0xA0, 16), 1, count_up(0xD0, 32),
              {"from": "successor", "prev": "A", "count": 3, "end-tag": "v2-close"}),
        "C": (count_up(0x30, 16), 0, count_up(0x40, 32),
              {"from": "branch", "prev": "B", "fork-point": 2}),
        "D": (count_up(0x30, 16), 1, count_up(0x60, 32), {"from": "after-crash", "prev": "C"}),
        "R1": (count_up(0x80, 16), 0, count_up(0x90, 32), {"from": "root"}),
        "R2": (count_up(0x80, 16), 1, count_up(0x00, 32),
               {"from": "successor", "prev": "R1", "count": 3, "end-tag": "v2-recipient-close"}),
    }
    table = [  # name, session, seq, record, clear, body; seq 0 carries the session's link
        ("v2-hello", "A", 0, EVENT, None, b"hello, world"),
        ("v2-clear-metadata", "A", 1, EVENT, "2026-12-06T09:47:33.000000Z WARN", b"disk 91% full"),
        ("v2-close", "A", 2, CLOSE, None, b""),
        ("v2-multiline-binary", "B", 0, EVENT, None, b"line one\nline two\0\xff\xfe end"),
        ("v2-max-seq", "B", 2**64 - 1, EVENT, None, b"x"),
        ("v2-close-first", "C", 0, CLOSE, None, b""),
        ("v2-after-crash", "D", 0, EVENT, "INFO", b"restarted"),
        ("v2-recipient-hello", "R1", 0, EVENT, None, b"hello, recipient"),
        ("v2-recipient-clear-metadata", "R1", 1, EVENT, "ERROR",
         b"payment failed: card declined\nretry=3"),
        ("v2-recipient-close", "R1", 2, CLOSE, None, b""),
        ("v2-recipient-rotated", "R2", 0, EVENT, None, b"next session"),
    ]
    tags = {}  # name -> Poly1305 tag, for end-tag
    for name, sid, seq, rtype, meta, body in table:
        sess = sessions[sid]
        block = [f"name: {name}", f"key: {key_of[sid]}"]
        if sid in ephemeral:
            block.append(f"ephemeral-secret: {ephemeral[sid].hex()}")
        block += [f"session: {sess.session[:16].hex()}", f"seq: {seq}",
                  f"record: {['event', 'close'][rtype]}"]
        if meta is not None:
            block.append(f"meta: {meta}")
        block.append(f"commit: {sess.commit.hex()}")
        link = None
        if seq == 0:
            lineage, index, nck, frm = links[sid]
            block += [f"lineage: {lineage.hex()}", f"index: {index}",
                      f"next-chain-key: {nck.hex()}", f"from: {frm['from']}"]
            frm = dict(frm)
            if frm["from"] != "root":
                prev_id = frm["prev"]
                frm["prev"] = prev = sessions[prev_id]
                frm["chain-key"] = links[prev_id][2]
                block += [f"chain-key: {frm['chain-key'].hex()}",
                          f"prev: {prev.vm:02x} {prev.key_id.hex()} {prev.session.hex()}"]
                if "count" in frm:
                    frm["end-tag"] = tags[frm["end-tag"]]
                    block += [f"count: {frm['count']}", f"end-tag: {frm['end-tag'].hex()}"]
                if "fork-point" in frm:
                    block.append(f"fork-point: {frm['fork-point']}")
            link = make_link(sess, lineage, index, nck, frm)
            block.append(f"link-hex: {link.hex()}")
        text, token = sess.seal(seq, rtype, link, meta, body)
        tags[name] = token[-16:]
        block += [f"plaintext-hex: {body.hex()}", f"line: {text}"]
        yield name, "\n".join(block)


V2_HEADER = """\
# enclog v2 test vectors (see FORMAT.md §12), written by recipient_reference.py --write-v2.
# One block per vector, blank-line separated.
# key: the key's (or identity's) text form; ephemeral-secret: the recipient session's X25519 secret;
# session: 16 bytes hex (recipient: the first 16 bytes of E); seq: decimal; record: event|close;
# meta: optional clear metadata; commit: the header's commit (16 bytes);
# seq 0 records (type bit 6) carry the session's link (§5.3): lineage, index, next-chain-key,
# from: root|successor|after-crash|branch, and unless root chain-key (the predecessor's
# next-chain-key, the mac's key), prev: <vm> <key-id> <session>, count and end-tag (successor of a
# closed session) or fork-point (branch); link-hex: the whole link, mac included (the plaintext
# holds leb128(len(link)) ‖ link first);
# plaintext-hex: the record body only (the event; empty for close; no link, no metadata copy);
# line: the exact line (LF excluded).
# Symmetric vectors use the key whose bytes are 00 01 02 .. 1f (key id 86e12f11); recipient
# vectors the identity whose bytes are 40 41 .. 5f.
"""


def v2_text():
    return V2_HEADER + "".join("\n" + block + "\n" for _, block in v2_vectors())


def check_v2(path):
    found = {}
    for chunk in open(path).read().split("\n\n"):
        lines = [l for l in chunk.strip("\n").split("\n") if l and not l.startswith("#")]
        if lines and lines[0].startswith("name: "):
            found[lines[0][len("name: "):]] = "\n".join(lines)
    expected = dict(v2_vectors())
    bad = [name for name, block in expected.items() if found.get(name) != block]
    bad += [f"{name} (not a vector)" for name in found if name not in expected]
    if bad:
        sys.exit(f"v2 vectors differ from the reference: {', '.join(bad)}")
    recipient, _ = public(IDENTITY)
    print(f"v2 vectors match ({len(expected)}); recipient",
          armor("ENCLOG-RECIPIENT-1-", recipient))


# --- Sealed fields (§11) ---------------------------------------------------------------------

def canonical_number(d):
    """FORMAT.md §11.3: a number's exact decimal value, laid out as RFC 8785 §3.2.2.3 lays out a
    double's shortest digits (ECMAScript's Number.prototype.toString)."""
    sign, digits, exp = decimal.Decimal(d).as_tuple()
    digits = "".join(map(str, digits)).lstrip("0")
    if not digits:
        return "0"
    stripped = digits.rstrip("0")
    exp += len(digits) - len(stripped)
    digits = stripped
    k, n = len(digits), len(digits) + exp  # value = 0.d1..dk * 10^n
    out = "-" if sign else ""
    if k <= n <= 21:
        return out + digits + "0" * (n - k)
    if 0 < n <= 21:
        return out + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return out + "0." + "0" * (-n) + digits
    e = n - 1
    return out + digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))


def jcs(v):
    """RFC 8785 canonical JSON of a value parsed by loads() (keys unique, checked below), numbers
    in their exact decimal form."""
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(x) for k, x in items) + "}"
    if isinstance(v, list):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    return canonical_number(v)


def loads(text, **kw):
    """json.loads keeping every number exact (as a Decimal)."""
    return json.loads(text, parse_float=decimal.Decimal, parse_int=decimal.Decimal, **kw)


def unique_keys(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), "repeated key"
    return dict(pairs)


def index_value(index_source_key, name, text):
    """§11.4: base64url(HMAC(HMAC(key, "enclog-v2 index key"), "enclog-v2 index" ‖ name ‖ text)[0..16])."""
    ik = hmac.new(index_source_key, b"enclog-v2 index key", hashlib.sha256).digest()
    name = name.encode()
    return b64(hmac.new(ik, b"enclog-v2 index" + leb128(len(name)) + name + text, hashlib.sha256).digest()[:16])


def index_text(value_json):
    """What an index is computed over: a string's characters, or any other value's canonical JSON."""
    v = loads(value_json)
    return (v if isinstance(v, str) else jcs(v)).encode()


def seal_fields(sess, seq, syntax, line, values, index_key):
    """§11: returns (sealed line, envelope body, digest). values: (path, name, indexed, value
    text as in the line, index text or None)."""
    template, slots, pos = "", [], 0
    for path, name, indexed, text, given in values:
        at = line.index((f'"{name}":' if syntax == "json" else f"{name}=") + text, pos)
        at += len(name) + (3 if syntax == "json" else 1)
        template += line[pos:at] + ('"enclog:' if syntax == "json" else "enclog:")
        slots.append((len(template), path, text))
        if syntax == "json":
            template += '"'
        if indexed:
            idx = index_value(index_key, name, given.encode() if given is not None else index_text(text))
            template += (f',"{name}_idx":"{idx}"' if syntax == "json" else f" {name}_idx={idx}")
        pos = at + len(text)
    template += line[pos:]
    if syntax == "json":
        obj = loads(template, object_pairs_hook=unique_keys)
        digest = hashlib.sha256(b"enclog-v2 clear json" + jcs(obj).encode()).digest()
        keys = list(json.loads(template, object_pairs_hook=lambda p: [k for k, _ in p]))
    else:
        digest = hashlib.sha256(b"enclog-v2 clear text" + template.encode()).digest()
    header = (bytes([sess.vm, 0x02]) + sess.key_id + sess.commit + sess.session + leb128(seq))
    out, pos = "", 0
    for part, (at, path, text) in enumerate(slots, start=1):
        vh = bytes([sess.vm, 0x03]) + leb128(part)
        aad = vh + header + leb128(len(path.encode())) + path.encode()
        nonce = struct.pack(">I", part) + struct.pack(">Q", seq)
        token = vh + ChaCha20Poly1305(sess.subkey).encrypt(nonce, text.encode(), aad)
        out += template[pos:at] + b64(token)
        pos = at
    body = bytes([0 if syntax == "json" else 1]) + leb128(len(values))
    for path, name, indexed, text, given in values:
        body += leb128(len(path.encode())) + path.encode() + bytes([1 if indexed else 0])
    if syntax == "json":
        close = template.rindex("}")
        out += template[pos:close]
        body += leb128(len(keys)) + b"".join(leb128(len(k.encode())) + k.encode() for k in keys)
    else:
        out += template[pos:]
        body += leb128(len(out.encode()))
    body += digest
    nonce = struct.pack(">I", 0) + struct.pack(">Q", seq)
    env = b64(header + ChaCha20Poly1305(sess.subkey).encrypt(nonce, body, header))
    if syntax == "json":
        out += f',"enclog":"enclog:{env}"' + template[close:]
    else:
        out += " enclog:" + env
    return out, body, digest


def fields_vectors():
    """Yields (name, block) for every vector of FORMAT.md §12.1, in its order."""
    key_text = armor("ENCLOG-KEY-1-", V2_KEY)
    identity_text = armor("ENCLOG-IDENTITY-1-", IDENTITY)
    index_key = count_up(0x70, 32)
    r1_secret = count_up(0x60, 32)
    table = [  # name, session, seq, syntax, line, values (path, name, indexed, text, index text)
        ("fields-json", "A", 5, "json",
         '{"ts":"2026-12-06T12:00:00Z","level":"INFO","user":"alice@example.com",'
         '"card":{"pan":"4111 1111 1111 1111","exp":"12/29"},"amount":12.50,"msg":"paid"}',
         [("/user", "user", True, '"alice@example.com"', None),
          ("/card/pan", "pan", False, '"4111 1111 1111 1111"', None)]),
        ("fields-json-types", "A", 6, "json",
         '{"n":1e3,"secret":[1,{"b":true,"a":null}],"note":"caf\\u00e9 \\"q\\""}',
         [("/n", "n", True, "1e3", None), ("/secret", "secret", False, '[1,{"b":true,"a":null}]', None)]),
        ("fields-json-none", "A", 7, "json", '{"msg":"nothing to seal"}', []),
        ("fields-json-exact-numbers", "A", 9, "json",
         '{"id":12345678901234567891,"ratio":0.1000000000000000055511151231257827,"big":1E400,"token":"t0k"}',
         [("/token", "token", False, '"t0k"', None)]),
        ("fields-text", "A", 8, "text",
         '2026-12-06T12:00:00.000000Z  INFO app: paid user="alice@example.com" amount=12.5',
         [("user", "user", True, '"alice@example.com"', "alice@example.com")]),
        ("fields-recipient", "R1", 3, "json", '{"level":"WARN","email":"bob@example.com","msg":"retry"}',
         [("/email", "email", True, '"bob@example.com"', None)]),
    ]
    for name, sid, seq, syntax, line, values in table:
        if sid == "A":
            sess, ikey = symmetric_session(V2_KEY, count_up(0x00, 16)), V2_KEY
        else:
            sess, ikey = recipient_session(IDENTITY, r1_secret), index_key
        sealed, body, digest = seal_fields(sess, seq, syntax, line, values, ikey)
        block = [f"name: {name}", f"key: {key_text if sid == 'A' else identity_text}"]
        if sid != "A":
            block += [f"ephemeral-secret: {r1_secret.hex()}",
                      f"index-key: {armor('ENCLOG-KEY-1-', index_key)}"]
        block += [f"session: {sess.session[:16].hex()}", f"seq: {seq}", f"syntax: {syntax}",
                  f"input: {line}"]
        for path, vname, indexed, text, given in values:
            block.append(f"value: {path} {vname} {'indexed' if indexed else 'sealed'} {text}")
            if given is not None:
                block.append(f"index-text: {given}")
        block += [f"digest: {digest.hex()}", f"envelope-hex: {body.hex()}", f"line: {sealed}"]
        yield name, "\n".join(block)


FIELDS_HEADER = """\
# enclog sealed-field vectors (see FORMAT.md §11, §12.1), written by recipient_reference.py --write-fields.
# One block per vector, blank-line separated. Symmetric vectors use the key 00 01 .. 1f and session
# A (00 01 .. 0f); the recipient vector the identity 40 41 .. 5f, ephemeral secret 60 61 .. 7f
# (session R1), and the separate index key 70 71 .. 8f.
# input: the line before sealing; value: <path> <name> <indexed|sealed> <the value's text in
# the line>; index-text: what a text line's index is computed over (given by its writer);
# digest: SHA-256 of the clear part (§11.3); envelope-hex: the envelope's body (its plaintext);
# line: the exact sealed line (LF excluded). No vector is a session's first record (no link).
"""


def fields_text():
    return FIELDS_HEADER + "".join("\n" + block + "\n" for _, block in fields_vectors())


def check_blocks(path, vectors, what):
    found = {}
    for chunk in open(path).read().split("\n\n"):
        lines = [l for l in chunk.strip("\n").split("\n") if l and not l.startswith("#")]
        if lines and lines[0].startswith("name: "):
            found[lines[0][len("name: "):]] = "\n".join(lines)
    expected = dict(vectors)
    bad = [name for name, block in expected.items() if found.get(name) != block]
    bad += [f"{name} (not a vector)" for name in found if name not in expected]
    if bad:
        sys.exit(f"{what} vectors differ from the reference: {', '.join(bad)}")
    return len(expected)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--write-v2":
        with open(sys.argv[2], "w") as f:
            f.write(v2_text())
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--check-v2":
        check_v2(sys.argv[2])
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--write-fields":
        with open(sys.argv[2], "w") as f:
            f.write(fields_text())
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--check-fields":
        n = check_blocks(sys.argv[2], fields_vectors(), "sealed-field")
        print(f"sealed-field vectors match ({n})")
        return
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
