#!/usr/bin/env python3
"""Franking protocol test vectors from an independent implementation of docs/protocol.md.

Written from the specification (docs/protocol.md for the protocol and wire format; the module docs of
franking-core/src/caead/nonce_ctr.rs, ctr_hmac.rs and ctr_blake3.rs for the two CAEADs) -- not by
translating the Rust code, and sharing no code with scripts/caead_vectors.py. Primitives come from
`cryptography` (AES-256 single blocks via ECB, HMAC-SHA-256 via hmac/hashlib, Ed25519) and `blake3`.

Usage (from the repository root):

    pip install -r scripts/requirements.txt
    python3 scripts/protocol_vectors.py           # writes docs/vectors/protocol.json
    python3 scripts/protocol_vectors.py --check   # regenerates in memory, fails if the file differs

franking-core/tests/protocol_vectors.rs checks every vector against the Rust implementation. All
"randomness" is SHAKE-256 over fixed labels, so reruns are byte-identical.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import struct
import sys
from pathlib import Path

import blake3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "vectors" / "protocol.json"

VERSION = 1
SUITE_CTR_HMAC_SHA256 = 1
SUITE_AES256CTR_BLAKE3 = 2

# Object type bytes (docs/protocol.md, "Wire format").
T_ENVELOPE, T_CONTEXT, T_STAMP, T_REPORT, T_REPORTED = 1, 2, 3, 4, 5

BODY_AD_LABEL = b"franking/v1 body\x00"
WRAP_AD_LABEL = b"franking/v1 wrap\x00"
STAMP_LABEL = b"franking/v1 stamp\x00"


def drbg(label: str, n: int) -> bytes:
    return hashlib.shake_256(b"franking protocol test vectors/" + label.encode()).digest(n)


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


# ------------------------------------------------------------------------------------------------
# CAEADs, from the caead module docs
# ------------------------------------------------------------------------------------------------


def aes_block(key: bytes, block: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def nonce_ctr(k_enc: bytes, nonce: bytes, data: bytes) -> bytes:
    """GCM-style counter blocks: CB_i = N || be32(i), i = 0, 1, ...; C = M XOR AES(K_enc, CB_i)."""
    assert len(nonce) == 12
    out = bytearray()
    for i in range(0, len(data), 16):
        ks = aes_block(k_enc, nonce + struct.pack(">I", i // 16))
        chunk = data[i : i + 16]
        out += bytes(a ^ b for a, b in zip(chunk, ks))
    return bytes(out)


def le64(n: int) -> bytes:
    return struct.pack("<Q", n)


def ctr_hmac_sha256_seal(key: bytes, nonce: bytes, ad: bytes, msg: bytes) -> tuple[bytes, bytes]:
    h = lambda k, m: hmac.new(k, m, hashlib.sha256).digest()  # noqa: E731
    k_enc = h(key, b"franking/v1 ctr-hmac-sha256 enc")
    k_mac = h(key, b"franking/v1 ctr-hmac-sha256 mac")
    c = nonce_ctr(k_enc, nonce, msg)
    label = b"franking/v1 ctr-hmac-sha256 tag\x00"
    t = h(k_mac, label + nonce + ad + c + le64(len(ad)) + le64(len(c)))
    return c, t


def aes256ctr_blake3_seal(key: bytes, nonce: bytes, ad: bytes, msg: bytes) -> tuple[bytes, bytes]:
    okm = blake3.blake3(b"franking/v1 aes256ctr-blake3 kdf\x00" + key).digest(length=64)
    k_mac, k_enc = okm[:32], okm[32:]
    c = nonce_ctr(k_enc, nonce, msg)
    t = blake3.blake3(c + ad + nonce + k_mac + le64(len(ad)) + le64(len(c))).digest()
    return c, t


def caead_seal(suite: int, key: bytes, nonce: bytes, ad: bytes, msg: bytes) -> tuple[bytes, bytes]:
    if suite == SUITE_CTR_HMAC_SHA256:
        return ctr_hmac_sha256_seal(key, nonce, ad, msg)
    if suite == SUITE_AES256CTR_BLAKE3:
        return aes256ctr_blake3_seal(key, nonce, ad, msg)
    raise ValueError(suite)


# ------------------------------------------------------------------------------------------------
# Wire format: object = version || type || field*, field = be32(len) || bytes
# ------------------------------------------------------------------------------------------------


def field(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def obj(ty: int, fields: list[bytes]) -> bytes:
    return bytes([VERSION, ty]) + b"".join(field(f) for f in fields)


def lst(items: list[bytes]) -> bytes:
    return b"".join(field(i) for i in items)


# ------------------------------------------------------------------------------------------------
# Protocol
# ------------------------------------------------------------------------------------------------


def seal(suite, session_key, body_ad, msg, k_f, n, n_w):
    a = BODY_AD_LABEL + bytes([VERSION, suite]) + body_ad
    c, t = caead_seal(suite, k_f, n, a, msg)
    a_w = WRAP_AD_LABEL + bytes([VERSION, suite]) + t
    wc, wt = caead_seal(suite, session_key, n_w, a_w, k_f)
    w = wc + wt
    env = obj(T_ENVELOPE, [bytes([suite]), n, c, t, n_w, w])
    env_json = {
        "v": VERSION,
        "suite": suite,
        "nonce": b64u(n),
        "ciphertext": b64u(c),
        "commitment": b64u(t),
        "wrap_nonce": b64u(n_w),
        "wrapped_key": b64u(w),
    }
    return {"C": c, "T": t, "W": w, "A": a, "A_w": a_w, "bytes": env, "json": env_json}


def context_bytes(ctx) -> bytes:
    recips = sorted({r.encode() for r in ctx["recipients"]})
    return obj(
        T_CONTEXT,
        [
            ctx["network"].encode(),
            ctx["sender"].encode(),
            (ctx.get("room") or "").encode(),
            lst(recips),
            struct.pack(">Q", ctx["timestamp_ms"]),
            ctx["message_id"].encode(),
        ],
    )


def context_json(ctx):
    j = {
        "network": ctx["network"],
        "sender": ctx["sender"],
        "recipients": sorted(ctx["recipients"]),
        "timestamp_ms": ctx["timestamp_ms"],
        "message_id": ctx["message_id"],
    }
    if ctx.get("room"):
        j["room"] = ctx["room"]
    return j


def stamp(key_id, mac_key, seed, suite, t, ctx):
    msg = STAMP_LABEL + struct.pack(">I", key_id) + bytes([VERSION, suite]) + t + context_bytes(ctx)
    mac = hmac.new(mac_key, msg, hashlib.sha256).digest()
    sig = Ed25519PrivateKey.from_private_bytes(seed).sign(msg) if seed else b""
    sb = obj(T_STAMP, [struct.pack(">I", key_id), mac, sig])
    sj = {"key_id": key_id, "mac": b64u(mac)}
    if sig:
        sj["signature"] = b64u(sig)
    return {"input": msg, "mac": mac, "signature": sig, "bytes": sb, "json": sj}


def reported_message(suite, n, body_ad, msg, k_f, t, ctx, st):
    b = obj(
        T_REPORTED,
        [bytes([suite]), n, body_ad, msg, k_f, t, context_bytes(ctx), st["bytes"]],
    )
    j = {
        "suite": suite,
        "nonce": b64u(n),
        "associated_data": b64u(body_ad),
        "plaintext": b64u(msg),
        "opening": b64u(k_f),
        "commitment": b64u(t),
        "context": context_json(ctx),
        "stamp": st["json"],
    }
    return b, j


def report(rm, reporter, reason, earlier):
    b = obj(T_REPORT, [rm[0], reporter.encode(), reason.encode(), lst([e[0] for e in earlier])])
    j = {
        "v": VERSION,
        "message": rm[1],
        "reporter": reporter,
        "reason": reason,
        "earlier": [e[1] for e in earlier],
    }
    return b, j


# ------------------------------------------------------------------------------------------------
# Vectors
# ------------------------------------------------------------------------------------------------

T0 = 1_790_000_000_000
DAY = 86_400_000


def replace_once(b: bytes, old: bytes, new: bytes) -> bytes:
    assert b.count(old) == 1, (old, b.count(old))
    return b.replace(old, new)


def case(name, suite, key_id, seed_label, plaintext, body_ad, ctx, reporter, with_earlier):
    session_key = drbg(name + "/session key", 32)
    k_f = drbg(name + "/franking key", 32)
    n = drbg(name + "/nonce", 12)
    n_w = drbg(name + "/wrap nonce", 12)
    mac_key = drbg(name + "/stamp mac key", 32)
    seed = drbg(name + "/" + seed_label, 32) if seed_label else None
    env = seal(suite, session_key, body_ad, plaintext, k_f, n, n_w)
    st = stamp(key_id, mac_key, seed, suite, env["T"], ctx)
    rm = reported_message(suite, n, body_ad, plaintext, k_f, env["T"], ctx, st)

    earlier = []
    earlier_json = []
    if with_earlier:
        # Bob's earlier message in the same conversation (to everyone else), with its own randomness.
        e_msg = b"what do you want?"
        e_kf = drbg(name + "/earlier franking key", 32)
        e_n = drbg(name + "/earlier nonce", 12)
        e_nw = drbg(name + "/earlier wrap nonce", 12)
        e_ctx = dict(ctx)
        e_recipients = sorted(({ctx["sender"]} | set(ctx["recipients"])) - {"bob"})
        e_ctx.update(sender="bob", recipients=e_recipients, timestamp_ms=ctx["timestamp_ms"] - 5000,
                     message_id="msg-0001")
        e_env = seal(suite, session_key, body_ad, e_msg, e_kf, e_n, e_nw)
        e_st = stamp(key_id, mac_key, seed, suite, e_env["T"], e_ctx)
        earlier.append(reported_message(suite, e_n, body_ad, e_msg, e_kf, e_env["T"], e_ctx, e_st))
        earlier_json.append({"envelope_hex": e_env["bytes"].hex(), "stamp_hex": e_st["bytes"].hex()})

    rep_b, rep_j = report(rm, reporter, "harassment", earlier)
    now = ctx["timestamp_ms"] + 60_000

    # Rejections, each a real tampering of the report bytes (docs/protocol.md, "Rejections").
    rejections = []

    def rej(desc, b, code, now_ms=now):
        rejections.append({"description": desc, "report_hex": b.hex(), "now_ms": now_ms, "code": code})

    alt_msg = bytearray(plaintext)
    alt_msg[0] ^= 1
    rej("plaintext altered (one bit)",
        report(reported_message(suite, n, body_ad, bytes(alt_msg), k_f, env["T"], ctx, st),
               reporter, "harassment", earlier)[0],
        "commitment_mismatch")
    alt_t = bytes([env["T"][0] ^ 1]) + env["T"][1:]
    rej("commitment altered",
        report(reported_message(suite, n, body_ad, plaintext, k_f, alt_t, ctx, st),
               reporter, "harassment", earlier)[0],
        "bad_stamp")
    other_ctx = dict(ctx, message_id=ctx["message_id"] + "x")
    other_st = stamp(key_id, mac_key, seed, suite, env["T"], other_ctx)
    rej("stamp of another message id swapped in",
        report(reported_message(suite, n, body_ad, plaintext, k_f, env["T"], ctx, other_st),
               reporter, "harassment", earlier)[0],
        "bad_stamp")
    rej("context timestamp altered",
        report(reported_message(suite, n, body_ad, plaintext, k_f, env["T"],
                                dict(ctx, timestamp_ms=ctx["timestamp_ms"] + 1), st),
               reporter, "harassment", earlier)[0],
        "bad_stamp")
    rej("reporter is not a recipient", report(rm, "mallory", "harassment", earlier)[0],
        "reporter_not_recipient")
    rej("reported after the 30-day window", rep_b, "outside_window",
        ctx["timestamp_ms"] + 30 * DAY + 1)
    unknown_st = dict(st, bytes=obj(T_STAMP, [struct.pack(">I", key_id + 1), st["mac"], st["signature"]]))
    rej("unknown key id",
        report(reported_message(suite, n, body_ad, plaintext, k_f, env["T"], ctx, unknown_st),
               reporter, "harassment", earlier)[0],
        "unknown_key_id")
    # One encoding per stamp (docs/protocol.md §3.4): a signing key's stamp must carry its
    # signature, an HMAC-only key's stamp must not carry one.
    if seed:
        resigned = dict(st, bytes=obj(T_STAMP, [struct.pack(">I", key_id), st["mac"], b""]))
        desc, code = "signature stripped from a signing key's stamp", "signature_required"
    else:
        fake_sig = drbg(name + "/unexpected signature", 64)
        resigned = dict(st, bytes=obj(T_STAMP, [struct.pack(">I", key_id), st["mac"], fake_sig]))
        desc, code = "signature added to an HMAC-only key's stamp", "unexpected_signature"
    rej(desc,
        report(reported_message(suite, n, body_ad, plaintext, k_f, env["T"], ctx, resigned),
               reporter, "harassment", earlier)[0],
        code)
    rej("truncated by one byte", rep_b[:-1], "malformed")
    rej("one trailing byte", rep_b + b"\x00", "malformed")
    rej("unsupported version byte", bytes([2]) + rep_b[1:], "unsupported_version")
    # Report header 2 + field prefix 4 + reported-message header 2 + suite field prefix 4 = offset 12.
    assert rep_b[12] == suite
    rej("unsupported suite id", rep_b[:12] + bytes([7]) + rep_b[13:], "unsupported_suite")

    env_bad_suite = env["bytes"][:6] + bytes([0]) + env["bytes"][7:]
    assert env["bytes"][6] == suite

    return {
        "name": name,
        "suite": suite,
        "inputs": {
            "session_key": session_key.hex(),
            "franking_key": k_f.hex(),
            "nonce": n.hex(),
            "wrap_nonce": n_w.hex(),
            "body_ad": body_ad.hex(),
            "plaintext": plaintext.hex(),
        },
        "envelope": {
            "body_associated_data": env["A"].hex(),
            "wrap_associated_data": env["A_w"].hex(),
            "ciphertext": env["C"].hex(),
            "commitment": env["T"].hex(),
            "wrapped_key": env["W"].hex(),
            "bytes": env["bytes"].hex(),
            "json": env["json"],
            "bytes_with_unsupported_suite": env_bad_suite.hex(),
        },
        "context": {"json": context_json(ctx), "bytes": context_bytes(ctx).hex()},
        "stamp_key": {
            "key_id": key_id,
            "mac_key": mac_key.hex(),
            "ed25519_seed": seed.hex() if seed else None,
            "ed25519_public": (
                Ed25519PrivateKey.from_private_bytes(seed).public_key()
                .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
                if seed else None
            ),
        },
        # The published record of a signing key (docs/protocol.md §4.6), created a day before T0.
        "published_key": (
            {
                "network": ctx["network"],
                "key_id": key_id,
                "public_key": b64u(
                    Ed25519PrivateKey.from_private_bytes(seed).public_key()
                    .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)),
                "created_at_ms": T0 - DAY,
            }
            if seed else None
        ),
        "stamp": {
            "input": st["input"].hex(),
            "mac": st["mac"].hex(),
            "signature": st["signature"].hex() if st["signature"] else None,
            "bytes": st["bytes"].hex(),
            "json": st["json"],
        },
        "earlier": earlier_json,
        "report": {
            "reporter": reporter,
            "reason": "harassment",
            "bytes": rep_b.hex(),
            "json": rep_j,
            "now_ms": now,
            "window_ms": 30 * DAY,
            "max_clock_skew_ms": 300_000,
            "outcome": "ok",
        },
        "rejections": rejections,
    }


def build() -> dict:
    direct = {
        "network": "example.net",
        "sender": "alice",
        "recipients": ["bob"],
        "timestamp_ms": T0,
        "message_id": "msg-0002",
    }
    room = {
        "network": "example.net",
        "sender": "alice",
        "room": "room-42",
        "recipients": ["dave", "bob", "carol"],
        "timestamp_ms": T0,
        "message_id": "msg-0100",
    }
    cases = [
        case("suite1-direct-hmac-only", SUITE_CTR_HMAC_SHA256, 1, None,
             b"You will regret this.", b"conversation:alice/bob", direct, "bob", False),
        case("suite2-room-signed-with-earlier", SUITE_AES256CTR_BLAKE3, 0x01020304, "ed25519 seed",
             b"A longer abusive message, long enough to span several AES blocks: " + bytes(range(40)),
             b"", dict(room, recipients=["dave", "bob", "carol"]), "carol", True),
    ]
    return {
        "description": (
            "Franking protocol vectors (docs/protocol.md): envelopes, contexts, stamps, reports and "
            "verify_report outcomes, with rejections produced by real tampering."
        ),
        "source": "scripts/protocol_vectors.py (independent Python implementation; cryptography + blake3)",
        "cases": cases,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = json.dumps(build(), indent=2, sort_keys=True) + "\n"
    if args.check:
        if OUT.read_text() != text:
            print(f"{OUT} is stale; rerun scripts/protocol_vectors.py", file=sys.stderr)
            return 1
        print(f"{OUT} is up to date")
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
