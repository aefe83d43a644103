#!/usr/bin/env python3
"""Known-answer test vectors for franking-core's committing AEADs, from an independent implementation.

Written from the specifications in the module docs of franking-core/src/caead/ (mod.rs, nonce_ctr.rs,
ctr_hmac.rs, ctr_blake3.rs, ctx_gcm.rs) -- not by translating the Rust code. Primitives come from
`cryptography` (OpenSSL: AES-256 in ECB mode for single blocks, HMAC-SHA-256, SHA-256, AES-256-GCM)
and `blake3` (the reference BLAKE3 bindings). The CTR mode (counter blocks N || be32(i), i = 0, 1, ...,
as GCM lays them out) is implemented here block by block over AES-256-ECB.

Usage (from the repository root):

    pip install -r scripts/requirements.txt
    python3 scripts/caead_vectors.py            # writes franking-core/tests/vectors/*.json
    python3 scripts/caead_vectors.py --check    # regenerates in memory, fails if the files differ

All randomness comes from SHAKE-256 over fixed labels, so reruns are byte-identical.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import struct
import sys
from pathlib import Path

import blake3
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "franking-core" / "tests" / "vectors"
SOURCE = (
    "scripts/caead_vectors.py (independent Python implementation from the caead module docs; "
    "cryptography + blake3, versions pinned in scripts/requirements.txt); "
    "regenerate with: python3 scripts/caead_vectors.py"
)

# --------------------------------------------------------------------------------------------------
# Deterministic randomness
# --------------------------------------------------------------------------------------------------


def drbg(label: str, n: int) -> bytes:
    """n pseudorandom bytes determined by `label` (SHAKE-256, so stable across Python versions)."""
    return hashlib.shake_256(b"franking caead test vectors/" + label.encode()).digest(n)


# --------------------------------------------------------------------------------------------------
# Primitives
# --------------------------------------------------------------------------------------------------


def aes256_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    assert len(key) == 32 and len(data) % 16 == 0
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(data) + enc.finalize()


def hmac_sha256(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def le64(n: int) -> bytes:
    return struct.pack("<Q", n)


def xor(a: bytes, b: bytes) -> bytes:
    assert len(a) == len(b)
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big") if a else b""


# --------------------------------------------------------------------------------------------------
# AES-256-CTR with 96-bit nonces (nonce_ctr.rs):
#   CB_i = N || be32(i)                                            (12-byte N, i = 0, 1, ...)
#   C    = M xor (AES-256(K_enc, CB_0) || AES-256(K_enc, CB_1) || ...)
# --------------------------------------------------------------------------------------------------


def counter_blocks(nonce: bytes, nblocks: int) -> bytes:
    assert len(nonce) == 12 and nblocks < 2**32
    return b"".join(nonce + i.to_bytes(4, "big") for i in range(nblocks))


def nonce_ctr(k_enc: bytes, nonce: bytes, msg: bytes) -> bytes:
    nblocks = (len(msg) + 15) // 16
    keystream = aes256_ecb_encrypt(k_enc, counter_blocks(nonce, nblocks))[: len(msg)]
    return xor(msg, keystream)


# --------------------------------------------------------------------------------------------------
# CtrHmacSha256 (ctr_hmac.rs)
# --------------------------------------------------------------------------------------------------


class CtrHmacSha256:
    name = "CtrHmacSha256"
    nonce_len = 12
    TAG_LABEL = b"franking/v1 ctr-hmac-sha256 tag\0"

    def __init__(self, key: bytes):
        assert len(key) == 32 and len(self.TAG_LABEL) == 32
        self.k_enc = hmac_sha256(key, b"franking/v1 ctr-hmac-sha256 enc")
        self.k_mac = hmac_sha256(key, b"franking/v1 ctr-hmac-sha256 mac")

    def encrypt(self, nonce: bytes, ad: bytes, msg: bytes) -> tuple[bytes, bytes]:
        c = nonce_ctr(self.k_enc, nonce, msg)
        t = hmac_sha256(self.k_mac, self.TAG_LABEL + nonce + ad + c + le64(len(ad)) + le64(len(c)))
        return c, t


# --------------------------------------------------------------------------------------------------
# Aes256CtrBlake3 (ctr_blake3.rs)
# --------------------------------------------------------------------------------------------------


class Aes256CtrBlake3:
    name = "Aes256CtrBlake3"
    nonce_len = 12
    LABEL_KDF = b"franking/v1 aes256ctr-blake3 kdf\0"

    def __init__(self, key: bytes):
        assert len(key) == 32 and len(self.LABEL_KDF) == 33
        okm = blake3.blake3(self.LABEL_KDF + key).digest(length=64)
        self.k_mac, self.k_enc = okm[:32], okm[32:64]

    def encrypt(self, nonce: bytes, ad: bytes, msg: bytes) -> tuple[bytes, bytes]:
        c = nonce_ctr(self.k_enc, nonce, msg)
        t = blake3.blake3(c + ad + nonce + self.k_mac + le64(len(ad)) + le64(len(c))).digest()
        return c, t


# --------------------------------------------------------------------------------------------------
# CtxAes256Gcm (ctx_gcm.rs):
#   (C, T) = AES-256-GCM(K, N, A, M);  T* = SHA-256(LABEL || K || N || A || T)
# --------------------------------------------------------------------------------------------------


class CtxAes256Gcm:
    name = "CtxAes256Gcm"
    nonce_len = 12
    LABEL = b"franking/v1 ctx-aes256gcm\0\0\0\0\0\0\0"

    def __init__(self, key: bytes):
        assert len(key) == 32 and len(self.LABEL) == 32
        self.key = key

    def encrypt(self, nonce: bytes, ad: bytes, msg: bytes) -> tuple[bytes, bytes]:
        assert len(nonce) == 12
        out = AESGCM(self.key).encrypt(nonce, msg, ad)
        c, t = out[:-16], out[-16:]
        return c, hashlib.sha256(self.LABEL + self.key + nonce + ad + t).digest()


# --------------------------------------------------------------------------------------------------
# Vector sets
# --------------------------------------------------------------------------------------------------

KIB = 1024
SIZES = [
    ("1 byte", 1),
    ("15 bytes (one partial block)", 15),
    ("16 bytes (one block)", 16),
    ("17 bytes (block + 1)", 17),
    ("64 bytes", 64),
    ("1 KiB", KIB),
    ("1 KiB + 1", KIB + 1),
    ("16 KiB + 3", 16 * KIB + 3),
    ("300 KiB + 7 (crosses the 256 KiB sealing segment)", 300 * KIB + 7),
]


def vec(comment: str, key: bytes, nonce: bytes, ad: bytes, msg: bytes, ct: bytes, tag: bytes,
        result: str = "valid") -> dict:
    return {
        "comment": comment,
        "key": key.hex(),
        "nonce": nonce.hex(),
        "ad": ad.hex(),
        "msg": msg.hex(),
        "ct": ct.hex(),
        "tag": tag.hex(),
        "result": result,
    }


def make(scheme_cls) -> dict:
    n_len = scheme_cls.nonce_len
    sid = scheme_cls.name
    vectors = []

    def add(comment, key, nonce, ad, msg):
        c, t = scheme_cls(key).encrypt(nonce, ad, msg)
        vectors.append(vec(comment, key, nonce, ad, msg, c, t))
        return c, t

    # Fixed key/nonce for the size sweep so the ciphertexts are prefixes of one keystream.
    key0 = bytes(range(32))
    nonce0 = bytes(range(0xA0, 0xA0 + n_len))
    add("empty message, empty AD", key0, nonce0, b"", b"")
    add("all-zero key and nonce, empty message, empty AD", bytes(32), bytes(n_len), b"", b"")
    add("all-zero key and nonce, 32 zero bytes, empty AD", bytes(32), bytes(n_len), b"", bytes(32))
    add("empty message, 13-byte AD", key0, nonce0, b"header bytes!", b"")
    for label, size in SIZES:
        msg = drbg(f"{sid}/size/{size}/msg", size)
        ad = drbg(f"{sid}/size/{size}/ad", 20)
        add(f"{label}, 20-byte AD", key0, nonce0, ad, msg)
    add("64-byte message, empty AD", key0, nonce0, b"", drbg(f"{sid}/noad/msg", 64))
    add("100-byte message, 2 KiB AD", key0, nonce0, drbg(f"{sid}/longad/ad", 2 * KIB),
        drbg(f"{sid}/longad/msg", 100))
    add("empty message, 2 KiB + 1 AD", key0, nonce0, drbg(f"{sid}/longad2/ad", 2 * KIB + 1), b"")

    # Random keys, nonces, ADs and message lengths.
    for i in range(8):
        r = drbg(f"{sid}/random/{i}/params", 4)
        mlen = int.from_bytes(r[:2], "big") % 3000
        alen = r[2] % 80
        add(f"random #{i}: {mlen}-byte message, {alen}-byte AD",
            drbg(f"{sid}/random/{i}/key", 32), drbg(f"{sid}/random/{i}/nonce", n_len),
            drbg(f"{sid}/random/{i}/ad", alen), drbg(f"{sid}/random/{i}/msg", mlen))

    # Extreme nonces: all-ones and all-zero nonce bytes with multi-block messages (the 32-bit
    # counter starts at 0 after the nonce, whatever its value).
    for fill, size in [(0xFF, 17), (0xFF, 64), (0x00, KIB + 1)]:
        add(f"nonce all-{fill:02x}, {size}-byte message", drbg(f"{sid}/extreme/{fill}/{size}/key", 32),
            bytes([fill]) * n_len, drbg(f"{sid}/extreme/ad", 5),
            drbg(f"{sid}/extreme/{fill}/{size}/msg", size))

    # Invalid vectors: a valid (K, N, A, M, C, T) with one thing changed.
    key = drbg(f"{sid}/invalid/key", 32)
    nonce = drbg(f"{sid}/invalid/nonce", n_len)
    ad = b"invalid-vector AD"
    msg = drbg(f"{sid}/invalid/msg", 48)
    c, t = scheme_cls(key).encrypt(nonce, ad, msg)

    def flip(b: bytes, bit: int) -> bytes:
        a = bytearray(b)
        a[bit // 8] ^= 1 << (bit % 8)
        return bytes(a)

    inv = "invalid"
    vectors.append(vec("invalid: tag bit 0 flipped", key, nonce, ad, msg, c, flip(t, 0), inv))
    vectors.append(vec("invalid: last tag bit flipped", key, nonce, ad, msg, c, flip(t, 255), inv))
    vectors.append(vec("invalid: ciphertext bit 0 flipped", key, nonce, ad, msg, flip(c, 0), t, inv))
    vectors.append(vec("invalid: last ciphertext bit flipped", key, nonce, ad, msg,
                       flip(c, 8 * len(c) - 1), t, inv))
    vectors.append(vec("invalid: wrong AD (one bit flipped)", key, nonce, flip(ad, 3), msg, c, t, inv))
    vectors.append(vec("invalid: wrong AD (empty instead of 17 bytes)", key, nonce, b"", msg, c, t, inv))
    vectors.append(vec("invalid: wrong nonce (one bit flipped)", key, flip(nonce, 7), ad, msg, c, t, inv))
    vectors.append(vec("invalid: wrong key (one bit flipped)", flip(key, 0), nonce, ad, msg, c, t, inv))
    vectors.append(vec("invalid: ciphertext truncated by one byte", key, nonce, ad, msg, c[:-1], t, inv))
    ce, te = scheme_cls(key).encrypt(nonce, ad, b"")
    vectors.append(vec("invalid: empty message, tag bit flipped", key, nonce, ad, b"", ce,
                       flip(te, 100), inv))

    return {"scheme": scheme_cls.name, "source": SOURCE, "vectors": vectors}


FILES = {
    "ctr_hmac_sha256.json": CtrHmacSha256,
    "aes256ctr_blake3.json": Aes256CtrBlake3,
    "ctx_aes256gcm.json": CtxAes256Gcm,
}


def self_test() -> None:
    """Sanity checks of the building blocks against public answers before writing anything."""
    # FIPS 197 Appendix C.3 (AES-256).
    k = bytes(range(32))
    assert aes256_ecb_encrypt(k, bytes.fromhex("00112233445566778899aabbccddeeff")).hex() == \
        "8ea2b7ca516745bfeafc49904b496089"
    # BLAKE3 reference vector for the empty input.
    assert blake3.blake3(b"").hexdigest() == \
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    # Counter blocks are N || be32(i) from i = 0.
    assert counter_blocks(b"\xff" * 12, 2) == b"\xff" * 12 + bytes(4) + b"\xff" * 12 + b"\x00\x00\x00\x01"
    # NIST GCM test case 13 (AES-256, zero key, zero IV, empty plaintext).
    assert AESGCM(bytes(32)).encrypt(bytes(12), b"", b"").hex() == "530f8afbc74536b9a963b4f1c4cb738b"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="fail if the files on disk differ")
    args = ap.parse_args()
    self_test()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    status = 0
    for fname, cls in FILES.items():
        text = json.dumps(make(cls), indent=1) + "\n"
        path = OUT_DIR / fname
        n = len(json.loads(text)["vectors"])
        if args.check:
            same = path.exists() and path.read_text() == text
            print(f"{path.relative_to(ROOT)}: {'up to date' if same else 'DIFFERS'} ({n} vectors)")
            status |= 0 if same else 1
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)} ({n} vectors, {len(text)} bytes)")
    return status


if __name__ == "__main__":
    sys.exit(main())
