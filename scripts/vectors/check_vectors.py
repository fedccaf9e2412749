#!/usr/bin/env python3
"""Re-derive every published Pursuance wire vector from test/vectors/README.md alone.

No TypeScript is run or read. Each value is derived twice, by two independent
stacks, and both must agree with the file:

  * libsodium, through PyNaCl (the library the TypeScript uses, bound afresh);
  * OpenSSL through `cryptography` for Ed25519 and ChaCha20-Poly1305, hashlib
    for BLAKE2b, and HChaCha20 written here from RFC draft-irtf-cfrg-xchacha,
    so XChaCha20-Poly1305 does not rest on libsodium at all.

Every leaf of the JSON must be checked: a field this script does not know how
to derive is itself an error, so a vector added later cannot go unchecked.

Usage: check_vectors.py [messages.json]   (default: test/vectors/messages.json)
Exit 0 when every field matches; 1 with the first mismatching field named.
"""
from __future__ import annotations

import base64
import hashlib
import json
import struct
import sys
from pathlib import Path
from typing import Any, Callable

import cryptography
import nacl
import nacl.bindings as sodium
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SIG_DOMAIN = b"pursuance/msg/v1\0"
TAG_INFO = b"pursuance/tag/v1"
ENC_INFO = b"pursuance/enc/v1"
AD_DOMAIN = b"pursuance/frame/v1"
BUCKETS = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]
MAX_DEPS = 64
MAX_BODY = 61440
KIND_EVENT, KIND_CONTROL, VERSION = 0x01, 0x02, 0x01
CTYPES = {"want": 0x01, "heads": 0x02}


class Mismatch(Exception):
    """The first field whose published value differs from the derived one."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


# ---- two independent stacks --------------------------------------------------------------


def hchacha20(key: bytes, nonce16: bytes) -> bytes:
    """HChaCha20 (draft-irtf-cfrg-xchacha-03 §2.2): the subkey of XChaCha20."""

    def rotl(v: int, c: int) -> int:
        return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))

    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))

    def qr(a: int, b: int, c: int, d: int) -> None:
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 16)  # noqa: E702
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 12)  # noqa: E702
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 8)  # noqa: E702
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 7)  # noqa: E702

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)  # noqa: E702
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)  # noqa: E702
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


P25519 = 2**255 - 19


class Libsodium:
    name = f"libsodium (PyNaCl {nacl.__version__})"

    def ed25519_from_seed(self, seed: bytes) -> tuple[bytes, bytes]:
        return sodium.crypto_sign_seed_keypair(seed)

    def sign(self, seed: bytes, m: bytes) -> bytes:
        _, sk = sodium.crypto_sign_seed_keypair(seed)
        return sodium.crypto_sign(m, sk)[:64]

    def verify(self, pk: bytes, sig: bytes, m: bytes) -> bool:
        try:
            return sodium.crypto_sign_open(sig + m, pk) == m
        except Exception:
            return False

    def blake2b(self, n: int, m: bytes, key: bytes = b"") -> bytes:
        return sodium.crypto_generichash_blake2b_salt_personal(m, digest_size=n, key=key)

    def seal(self, key: bytes, nonce: bytes, ad: bytes, m: bytes) -> bytes:
        return sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(m, ad, nonce, key)

    def open(self, key: bytes, nonce: bytes, ad: bytes, c: bytes) -> bytes:
        return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(c, ad, nonce, key)

    def x25519(self, ed_pk: bytes, ed_sk: bytes) -> tuple[bytes, bytes]:
        return sodium.crypto_sign_ed25519_pk_to_curve25519(ed_pk), sodium.crypto_sign_ed25519_sk_to_curve25519(ed_sk)


class OpenSSL:
    name = f"OpenSSL (cryptography {cryptography.__version__}) + hashlib BLAKE2b + HChaCha20 here"

    def ed25519_from_seed(self, seed: bytes) -> tuple[bytes, bytes]:
        pk = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return pk, seed + pk

    def sign(self, seed: bytes, m: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(seed).sign(m)

    def verify(self, pk: bytes, sig: bytes, m: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(pk).verify(sig, m)
            return True
        except Exception:
            return False

    def blake2b(self, n: int, m: bytes, key: bytes = b"") -> bytes:
        return hashlib.blake2b(m, digest_size=n, key=key).digest()

    def seal(self, key: bytes, nonce: bytes, ad: bytes, m: bytes) -> bytes:
        return ChaCha20Poly1305(hchacha20(key, nonce[:16])).encrypt(b"\0" * 4 + nonce[16:], m, ad)

    def open(self, key: bytes, nonce: bytes, ad: bytes, c: bytes) -> bytes:
        return ChaCha20Poly1305(hchacha20(key, nonce[:16])).decrypt(b"\0" * 4 + nonce[16:], c, ad)

    def x25519(self, ed_pk: bytes, ed_sk: bytes) -> tuple[bytes, bytes]:
        # RFC 7748 §4.1 birational map u = (1 + y) / (1 - y); the secret is the clamped SHA-512 half (RFC 8032 §5.1.5).
        y = int.from_bytes(ed_pk, "little") & ((1 << 255) - 1)
        u = (1 + y) * pow(1 - y, P25519 - 2, P25519) % P25519
        a = bytearray(hashlib.sha512(ed_sk[:32]).digest()[:32])
        a[0] &= 248
        a[31] &= 127
        a[31] |= 64
        return u.to_bytes(32, "little"), bytes(a)


STACKS = [Libsodium(), OpenSSL()]


def agreed(what: str, f: Callable[[Any], Any]) -> Any:
    """The value both stacks derive; they must agree before the file is consulted."""
    values = [f(s) for s in STACKS]
    for s, v in zip(STACKS[1:], values[1:]):
        if v != values[0]:
            raise Mismatch(what, f"the two stacks disagree: {STACKS[0].name} gives {show(values[0])}, {s.name} gives {show(v)}")
    return values[0]


# ---- the file walk ----------------------------------------------------------------------------


def show(v: Any) -> str:
    if isinstance(v, (bytes, bytearray)):
        h = bytes(v).hex()
        return h if len(h) <= 80 else f"{h[:64]}…({len(v)} bytes)"
    return json.dumps(v)


class Checker:
    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.checked: set[str] = set()
        self.count = 0

    def get(self, path: list[Any]) -> Any:
        v = self.doc
        for p in path:
            try:
                v = v[p]
            except (KeyError, IndexError, TypeError):
                raise Mismatch(fmt(path), "missing") from None
        return v

    def hex(self, path: list[Any], n: int | None = None) -> bytes:
        v = self.get(path)
        if not isinstance(v, str) or v != v.lower():
            raise Mismatch(fmt(path), f"not lower-case hex: {show(v)}")
        try:
            b = bytes.fromhex(v)
        except ValueError:
            raise Mismatch(fmt(path), f"not hex: {show(v)}") from None
        if n is not None and len(b) != n:
            raise Mismatch(fmt(path), f"{len(b)} bytes, expected {n}")
        return b

    def int(self, path: list[Any]) -> int:
        v = self.get(path)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise Mismatch(fmt(path), f"not a non-negative integer: {show(v)}")
        return v

    def input(self, path: list[Any], value: Any = None) -> Any:
        """A leaf that is an input (nothing to derive), read and marked as seen."""
        v = self.get(path) if value is None else value
        self.mark(path)
        return v

    def mark(self, path: list[Any]) -> None:
        self.checked.add(fmt(path))

    def expect(self, path: list[Any], derived: Any) -> None:
        """Compare a published field with the derived value (bytes as hex, else JSON-equal)."""
        if isinstance(derived, (bytes, bytearray)):
            got = self.hex(path)
            ok = got == bytes(derived)
        else:
            got = self.get(path)
            ok = got == derived and type(got) is type(derived)
        if not ok:
            at = ""
            if isinstance(derived, (bytes, bytearray)):
                k = next((j for j, (x, y) in enumerate(zip(got, derived)) if x != y), min(len(got), len(derived)))
                at = f" (first difference at byte {k} of {len(derived)})"
            raise Mismatch(fmt(path), f"published {show(got)}, derived {show(derived)}{at}")
        self.mark(path)
        self.count += 1

    def unchecked(self) -> list[str]:
        out: list[str] = []

        def walk(v: Any, path: list[Any]) -> None:
            if isinstance(v, dict):
                for k, x in v.items():
                    walk(x, path + [k])
            elif isinstance(v, list) and v and all(isinstance(x, (dict, list)) for x in v):
                for i, x in enumerate(v):
                    walk(x, path + [i])
            elif fmt(path) not in self.checked:
                out.append(fmt(path))

        walk(self.doc, [])
        return out


def fmt(path: list[Any]) -> str:
    s = ""
    for p in path:
        s += f"[{p}]" if isinstance(p, int) else (f".{p}" if s else p)
    return s


def u(n: int, size: int) -> bytes:
    return n.to_bytes(size, "big")


def pad(message: bytes) -> bytes:
    need = len(message) + 4
    bucket = next(b for b in BUCKETS if b >= need)
    return u(len(message), 4) + message + b"\0" * (bucket - need)


def check(doc: Any) -> Checker:
    c = Checker(doc)
    c.input(["description"])

    # Constants: the domain strings and buckets, as the README spells them.
    c.expect(["constants", "sigDomain"], SIG_DOMAIN)
    c.expect(["constants", "tagInfo"], TAG_INFO)
    c.expect(["constants", "encInfo"], ENC_INFO)
    c.expect(["constants", "adDomain"], AD_DOMAIN)
    c.expect(["constants", "buckets"], BUCKETS)

    # Identities: Ed25519 key pairs from their seeds; their X25519 forms when published.
    ids: dict[str, dict[str, bytes]] = {}
    for name in c.get(["identities"]):
        p = ["identities", name]
        seed = c.hex(p + ["seed"], 32)
        c.mark(p + ["seed"])
        pk, sk = agreed(fmt(p), lambda s: s.ed25519_from_seed(seed))
        c.expect(p + ["publicKey"], pk)
        c.expect(p + ["secretKey"], sk)
        xpk, xsk = agreed(fmt(p) + " (X25519 form)", lambda s: s.x25519(pk, sk))
        # The converted secret must give the converted public key (X25519 base-point multiplication).
        if X25519PrivateKey.from_private_bytes(xsk).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) != xpk:
            raise Mismatch(fmt(p), "X25519 forms of the identity are inconsistent")
        for field, v in (("x25519PublicKey", xpk), ("x25519SecretKey", xsk)):
            if field in c.get(p):
                c.expect(p + [field], v)
        ids[name] = {"seed": seed, "pk": pk}

    group = c.hex(["group"], 32)
    c.mark(["group"])

    # Epoch keys: tag, encryption key and associated data.
    epochs: dict[int, dict[str, bytes]] = {}
    for i, _ in enumerate(c.get(["epochs"])):
        p = ["epochs", i]
        n = c.input(p + ["epoch"], c.int(p + ["epoch"]))
        key = c.hex(p + ["key"], 32)
        c.mark(p + ["key"])
        tag = agreed(fmt(p + ["tagHex"]), lambda s: s.blake2b(16, TAG_INFO, key))
        enc = agreed(fmt(p + ["encKey"]), lambda s: s.blake2b(32, ENC_INFO, key))
        c.expect(p + ["tagHex"], tag)
        c.expect(p + ["tag"], base64.urlsafe_b64encode(tag).rstrip(b"=").decode())
        c.expect(p + ["encKey"], enc)
        c.expect(p + ["ad"], AD_DOMAIN + tag)
        epochs[n] = {"tag": tag, "enc": enc, "ad": AD_DOMAIN + tag}

    # Cases: canonical encoding, signature, id, padding and frame.
    event_ids: dict[tuple[bytes, int], bytes] = {}
    for i, case in enumerate(c.get(["cases"])):
        p = ["cases", i]
        name = c.input(p + ["name"])
        kind = c.input(p + ["kind"])
        inp, exp = p + ["inputs"], p + ["expected"]
        author = c.input(inp + ["author"])
        if author not in ids:
            raise Mismatch(fmt(inp + ["author"]), f"unknown identity {show(author)}")
        c.expect(inp + ["authorPublicKey"], ids[author]["pk"])
        c.expect(inp + ["group"], group)
        epoch = c.input(inp + ["epoch"], c.int(inp + ["epoch"]))
        if epoch not in epochs:
            raise Mismatch(fmt(inp + ["epoch"]), f"no published key for epoch {epoch}")
        ts = c.input(inp + ["ts"], c.int(inp + ["ts"]))
        if ts > 2**53 - 1:
            raise Mismatch(fmt(inp + ["ts"]), "ts above 2^53 - 1")
        pk = ids[author]["pk"]

        if kind == "event":
            seq = c.input(inp + ["seq"], c.int(inp + ["seq"]))
            prev = c.hex(inp + ["prev"], 32)
            # prev is zero exactly at seq 1, else the id of this author's previous event.
            want_prev = b"\0" * 32 if seq == 1 else event_ids.get((pk, seq - 1))
            if seq == 0 or want_prev is None:
                raise Mismatch(fmt(inp + ["prev"]), f"seq {seq} has no previous event of {author} among the cases")
            c.expect(inp + ["prev"], want_prev)
            given = [c.hex(inp + ["depsGiven", j], 32) for j in range(len(c.get(inp + ["depsGiven"])))]
            c.mark(inp + ["depsGiven"])
            deps = sorted(set(given))
            if len(deps) > MAX_DEPS:
                raise Mismatch(fmt(inp + ["depsGiven"]), f"{len(deps)} deps, at most {MAX_DEPS}")
            c.expect(exp + ["depsSorted"], [d.hex() for d in deps])
            body = c.hex(inp + ["body"])
            c.mark(inp + ["body"])
            if len(body) > MAX_BODY:
                raise Mismatch(fmt(inp + ["body"]), f"body of {len(body)} bytes, at most {MAX_BODY}")
            unsigned = (
                bytes([KIND_EVENT, VERSION]) + group + u(epoch, 4) + pk + u(seq, 4) + prev + u(ts, 8)
                + u(len(deps), 2) + b"".join(deps) + u(len(body), 4) + body
            )
        elif kind == "control":
            ctype = c.input(inp + ["ctype"])
            if ctype not in CTYPES:
                raise Mismatch(fmt(inp + ["ctype"]), f"unknown control type {show(ctype)}")
            payload = c.hex(inp + ["payload"])
            c.mark(inp + ["payload"])
            text = c.get(inp + ["payloadText"])
            try:
                parsed = json.loads(text)
            except (TypeError, ValueError):
                raise Mismatch(fmt(inp + ["payloadText"]), f"not JSON: {show(text)}") from None
            # Compact JSON, keys in the order the README gives: the text is its own canonical form.
            c.expect(inp + ["payloadText"], json.dumps(parsed, separators=(",", ":"), ensure_ascii=False))
            c.expect(inp + ["payload"], text.encode("utf-8"))
            keys = {"heads": ["heads"], "want": ["ids", "ranges"]}[ctype]
            if not isinstance(parsed, dict) or list(parsed) != keys:
                raise Mismatch(fmt(inp + ["payloadText"]), f"a {ctype} payload has the keys {keys}")
            unsigned = bytes([KIND_CONTROL, VERSION]) + group + u(epoch, 4) + pk + u(ts, 8) + bytes([CTYPES[ctype]]) + u(len(payload), 4) + payload
        else:
            raise Mismatch(fmt(p + ["kind"]), f"unknown kind {show(kind)}")

        c.expect(exp + ["unsigned"], unsigned)
        signing_input = SIG_DOMAIN + unsigned
        c.expect(exp + ["signingInput"], signing_input)
        seed = ids[author]["seed"]
        sig = agreed(fmt(exp + ["sig"]), lambda s: s.sign(seed, signing_input))
        c.expect(exp + ["sig"], sig)
        agreed(fmt(exp + ["sig"]) + " (verify)", lambda s: s.verify(pk, sig, signing_input)) or fail(exp + ["sig"], "does not verify")
        message = unsigned + sig
        c.expect(exp + ["message"], message)
        c.expect(exp + ["messageLength"], len(message))
        if kind == "event":
            eid = agreed(fmt(exp + ["id"]), lambda s: s.blake2b(32, message))
            c.expect(exp + ["id"], eid)
            event_ids[(pk, seq)] = eid
        ek = epochs[epoch]
        c.expect(exp + ["tag"], base64.urlsafe_b64encode(ek["tag"]).rstrip(b"=").decode())
        c.expect(exp + ["encKey"], ek["enc"])
        padded = pad(message)
        c.expect(exp + ["padded"], padded)
        c.expect(exp + ["paddedLength"], len(padded))
        nonce = c.hex(p + ["nonce"], 24)
        c.mark(p + ["nonce"])
        frame = nonce + agreed(fmt(exp + ["frame"]), lambda s: s.seal(ek["enc"], nonce, ek["ad"], padded))
        c.expect(exp + ["frame"], frame)
        c.expect(exp + ["frameLength"], len(frame))
        agreed(fmt(exp + ["frame"]) + " (open)", lambda s: s.open(ek["enc"], nonce, ek["ad"], frame[24:])) == padded or fail(exp + ["frame"], "does not open to padded")
        _ = name

    left = c.unchecked()
    if left:
        raise Mismatch(left[0], "published but not derived by this checker (teach check_vectors.py to derive it)")
    return c


def fail(path: list[Any], detail: str) -> None:
    raise Mismatch(fmt(path), detail)


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2] / "test" / "vectors" / "messages.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"check_vectors: cannot read {path}: {e}", file=sys.stderr)
        return 2
    try:
        c = check(doc)
    except Mismatch as e:
        print(f"check_vectors: MISMATCH in {path} at {e.path}: {e.detail}", file=sys.stderr)
        return 1
    n_cases = len(doc["cases"])
    print(f"check_vectors: {path.name}: {c.count} fields re-derived ({n_cases} cases, {len(doc['epochs'])} epochs, {len(doc['identities'])} identities), all match")
    print(f"check_vectors: each derived by {' and by '.join(s.name for s in STACKS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
