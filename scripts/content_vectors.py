#!/usr/bin/env python3
"""Message content and attachment blob test vectors from an independent implementation of
docs/protocol.md section 7 ("Message content" and "Attachment blobs").

Written from the specification, not by translating the Rust code (franking-core/src/frank/content.rs
and attachment.rs). The Aes256CtrBlake3 CAEAD is the one of scripts/protocol_vectors.py (itself written
from the caead module docs), imported from there so it exists once among the scripts.

Usage (from the repository root):

    pip install -r scripts/requirements.txt
    python3 scripts/content_vectors.py           # writes docs/vectors/content.json, attachment.json
    python3 scripts/content_vectors.py --check   # regenerates in memory, fails if a file differs

franking-core/tests/protocol_vectors.rs checks every vector against the Rust implementation: valid
encodings decode to the listed fields and re-encode byte-identically, sealing with the listed key and
segment size reproduces each blob and commitment, and every invalid encoding or blob is refused with
its exact error code. All "randomness" is SHAKE-256 over fixed labels, so reruns are byte-identical.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from pathlib import Path

import blake3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol_vectors import aes256ctr_blake3_seal, b64u  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT_CONTENT = ROOT / "docs" / "vectors" / "content.json"
OUT_ATTACHMENT = ROOT / "docs" / "vectors" / "attachment.json"

# ------------------------------------------------------------------------------------------------
# Message content: "FKM" || 0x01 || be32(|text|) || text || be16(n) || n x attachment reference
# ------------------------------------------------------------------------------------------------

CONTENT_MAGIC = b"FKM"
CONTENT_VERSION = 1
MAX_ATTACHMENTS = 64


def drbg(label: str, n: int) -> bytes:
    return hashlib.shake_256(b"franking content test vectors/" + label.encode()).digest(n)


def media_type_ok(mt: bytes) -> bool:
    return 1 <= len(mt) <= 255 and all(0x20 <= b <= 0x7E for b in mt)


def encode_content(text: str, attachments: list[dict]) -> bytes:
    t = text.encode("utf-8")
    assert len(attachments) <= MAX_ATTACHMENTS
    out = CONTENT_MAGIC + bytes([CONTENT_VERSION]) + struct.pack(">I", len(t)) + t
    out += struct.pack(">H", len(attachments))
    for a in attachments:
        mt = a["media_type"].encode("ascii")
        assert media_type_ok(mt)
        out += a["key"] + a["commitment"] + struct.pack(">Q", a["length"]) + bytes([len(mt)]) + mt
    return out


def attachment_fields(a: dict) -> dict:
    return {
        "key": a["key"].hex(),
        "commitment": a["commitment"].hex(),
        "length": a["length"],
        "media_type": a["media_type"],
    }


def attachment_json(a: dict) -> dict:
    return {
        "key": b64u(a["key"]),
        "commitment": b64u(a["commitment"]),
        "length": a["length"],
        "media_type": a["media_type"],
    }


def ref(label: str, length: int, media_type: str) -> dict:
    return {
        "key": drbg(label + "/key", 32),
        "commitment": drbg(label + "/commitment", 32),
        "length": length,
        "media_type": media_type,
    }


def content_vectors() -> dict:
    valid_inputs = [
        ("empty", "", []),
        ("text only", "hello, bob", []),
        ("unicode text", "h\u00e9llo \u2014 \U0001f600", []),
        ("attachment only", "", [ref("photo", 123_456, "image/jpeg")]),
        (
            "text and two attachments",
            "see these",
            [
                ref("a", 0, "application/pdf"),
                ref("b", 2**64 - 1, "text/plain; charset=utf-8"),
            ],
        ),
        ("longest media type", "x", [ref("long", 5, "a/" + "b" * 253)]),
        ("most attachments", "many", [ref(f"m{i}", i, "image/png") for i in range(MAX_ATTACHMENTS)]),
    ]
    valid = []
    for name, text, atts in valid_inputs:
        enc = encode_content(text, atts)
        valid.append(
            {
                "name": name,
                "text": text,
                "attachments": [attachment_fields(a) for a in atts],
                "encoding": enc.hex(),
                "json": {"text": text, "attachments": [attachment_json(a) for a in atts]},
            }
        )

    base = encode_content("hi", [ref("r", 7, "image/png")])
    # Offsets in `base`: prefix 4, text length 4, text 2, count 2, then the reference:
    # key 32, commitment 32, length 8, media type length 1, media type 9.
    mt_len_at = 4 + 4 + 2 + 2 + 32 + 32 + 8

    def with_media_type(mt: bytes) -> bytes:
        return base[:mt_len_at] + bytes([len(mt)]) + mt

    invalid = [
        ("empty input", b"", "not_message_content"),
        ("other format", b"plain text from another client", "not_message_content"),
        ("two bytes of the magic", b"FK", "not_message_content"),
        ("magic without version", b"FKM", "content_malformed"),
        ("version 0", b"FKM\x00" + base[4:], "content_unsupported_version"),
        ("version 2", b"FKM\x02" + base[4:], "content_unsupported_version"),
        ("truncated text length", base[:6], "content_malformed"),
        ("text longer than the input", base[:4] + struct.pack(">I", 1000) + base[8:], "content_malformed"),
        ("text not UTF-8", base[:8] + b"\xc3\x28" + base[10:], "content_malformed"),
        ("missing attachment count", base[:10], "content_malformed"),
        ("truncated reference", base[:-1], "content_malformed"),
        ("trailing byte", base + b"\x00", "content_malformed"),
        ("65 attachments", encode_content("", []) [:-2] + struct.pack(">H", 65), "content_malformed"),
        ("empty media type", with_media_type(b""), "content_malformed"),
        ("control character in media type", with_media_type(b"image/\x07png"), "content_malformed"),
        ("non-ASCII media type", with_media_type("image/p\u00e9g".encode()), "content_malformed"),
        ("DEL in media type", with_media_type(b"image/\x7f"), "content_malformed"),
    ]
    return {
        "description": "Message content format (docs/protocol.md section 7.1): valid encodings with "
        "their fields and JSON form, and invalid encodings with the exact franking_core::Error code "
        "MessageContent::decode returns. Byte strings are hex in `encoding`/fields, base64url "
        "without padding in `json`.",
        "generator": "scripts/content_vectors.py",
        "valid": valid,
        "invalid": [{"name": n, "encoding": b.hex(), "code": c} for n, b, c in invalid],
    }


# ------------------------------------------------------------------------------------------------
# Attachment blobs
# ------------------------------------------------------------------------------------------------

MAGIC = b"FKAT"
BLOB_VERSION = 1
SUITE = 1  # Aes256CtrBlake3
COMMIT_LABEL = b"franking/v1 attachment commitment\x00"


def header(segment_size: int, version: int = BLOB_VERSION, suite: int = SUITE, reserved: bytes = b"\0\0") -> bytes:
    return MAGIC + bytes([version, suite]) + reserved + struct.pack(">I", segment_size)


def segment_nonce(i: int, final: bool) -> bytes:
    return struct.pack(">Q", i) + bytes([1 if final else 0]) + b"\0\0\0"


def seal_segments(key: bytes, hdr: bytes, segments: list[bytes]) -> tuple[bytes, bytes]:
    """Seal the given segments (the caller decides the split) -> (blob, commitment)."""
    blob = hdr
    commit = blake3.blake3(COMMIT_LABEL + hdr)
    for i, m in enumerate(segments):
        c, t = aes256ctr_blake3_seal(key, segment_nonce(i, i == len(segments) - 1), hdr, m)
        blob += c + t
        commit.update(t)
    return blob, commit.digest()


def split(data: bytes, s: int) -> list[bytes]:
    if not data:
        return [b""]
    return [data[i : i + s] for i in range(0, len(data), s)]


def seal(key: bytes, segment_size: int, data: bytes) -> tuple[bytes, bytes]:
    return seal_segments(key, header(segment_size), split(data, segment_size))


def attachment_vectors() -> dict:
    valid = []
    for name, seg, length in [
        ("empty file", 1024, 0),
        ("one byte", 1024, 1),
        ("one full segment", 1024, 1024),
        ("one byte more than a segment", 1024, 1025),
        ("three segments", 1024, 2100),
        ("larger segments", 2048, 5000),
    ]:
        key = drbg(f"blob/{name}/key", 32)
        data = drbg(f"blob/{name}/file", length)
        blob, commitment = seal(key, seg, data)
        valid.append(
            {
                "name": name,
                "key": key.hex(),
                "segment_size": seg,
                "media_type": "application/octet-stream",
                "plaintext": data.hex(),
                "length": length,
                "blob": blob.hex(),
                "commitment": commitment.hex(),
            }
        )

    # Invalid blobs, all against the reference of one valid file (segment size 1024, 2100 bytes).
    seg = 1024
    key = drbg("invalid/key", 32)
    data = drbg("invalid/file", 2100)
    blob, commitment = seal(key, seg, data)
    rec = seg + 32

    def record(i: int) -> slice:
        return slice(12 + i * rec, 12 + (i + 1) * rec)

    def flip(b: bytes, at: int) -> bytes:
        return b[:at] + bytes([b[at] ^ 0x01]) + b[at + 1 :]

    segs = split(data, seg)
    swapped = blob[:12] + blob[record(1)] + blob[record(0)] + blob[record(2)]
    other_key_blob, _ = seal(drbg("invalid/other key", 32), seg, data)
    other_file_blob, _ = seal(key, seg, drbg("invalid/other file", 2100))
    longer_blob, _ = seal(key, seg, data + b"\xaa" * 10)
    # A non-canonical blob of the two full segments: an extra, empty final segment.
    two_full = data[: 2 * seg]
    noncanon_blob, noncanon_commit = seal_segments(key, header(seg), split(two_full, seg) + [b""])
    noncanon_ref = {"length": 2 * seg, "commitment": noncanon_commit.hex()}

    invalid = [
        ("flipped ciphertext byte in segment 1", flip(blob, record(1).start + 5), "attachment_tag_invalid", None),
        ("flipped tag byte of the final segment", flip(blob, len(blob) - 1), "attachment_tag_invalid", None),
        ("segments 0 and 1 swapped", swapped, "attachment_tag_invalid", None),
        ("sealed under another key", other_key_blob, "attachment_tag_invalid", None),
        ("extended by one byte", blob + b"\x00", "attachment_tag_invalid", None),
        ("extended by a copy of segment 0", blob + blob[record(0)], "attachment_tag_invalid", None),
        ("truncated at a segment boundary", blob[: record(2).start], "attachment_truncated", None),
        ("truncated inside a segment", blob[: record(2).start + 40], "attachment_truncated", None),
        ("truncated inside the final tag", blob[:-1], "attachment_truncated", None),
        ("header only", blob[:12], "attachment_truncated", None),
        ("shorter than a header", blob[:5], "attachment_truncated", None),
        ("empty", b"", "attachment_truncated", None),
        ("bad magic", b"FKAU" + blob[4:], "attachment_header_invalid", None),
        ("version 2", header(seg, version=2) + blob[12:], "attachment_header_invalid", None),
        ("suite 2", header(seg, suite=2) + blob[12:], "attachment_header_invalid", None),
        ("reserved byte set", header(seg, reserved=b"\0\1") + blob[12:], "attachment_header_invalid", None),
        ("segment size not a multiple of 16", header(1000) + blob[12:], "attachment_header_invalid", None),
        ("segment size below 1 KiB", header(512) + blob[12:], "attachment_header_invalid", None),
        ("segment size above 16 MiB", header(16 * 1024 * 1024 + 16) + blob[12:], "attachment_header_invalid", None),
        ("another segment size", header(2048) + blob[12:], "attachment_tag_invalid", None),
        ("same key, another file of the same length", other_file_blob, "attachment_commitment_mismatch", None),
        ("same key, a longer file", longer_blob, "attachment_length_mismatch", None),
        ("reference one byte longer", blob, "attachment_length_mismatch", {"length": 2101}),
        ("reference one byte shorter", blob, "attachment_length_mismatch", {"length": 2099}),
        ("empty final segment after full ones", noncanon_blob, "attachment_non_canonical", noncanon_ref),
    ]
    assert len(segs) == 3
    out = []
    for name, b, code, override in invalid:
        reference = {"length": 2100, "commitment": commitment.hex()}
        if override:
            reference.update(override)
        out.append({"name": name, "blob": b.hex(), "reference": reference, "code": code})
    return {
        "description": "Attachment blob format (docs/protocol.md section 7.2): valid files sealed "
        "with the given key and segment size, with the expected blob and whole-file commitment; and "
        "invalid blobs, each checked against `reference` (the `invalid_key`, plus the listed length "
        "and commitment) with the exact franking_core::Error code opening returns. Hex throughout.",
        "generator": "scripts/content_vectors.py",
        "valid": valid,
        "invalid_key": key.hex(),
        "invalid_plaintext": data.hex(),
        "invalid": out,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    outputs = {
        OUT_CONTENT: json.dumps(content_vectors(), indent=2, sort_keys=True) + "\n",
        OUT_ATTACHMENT: json.dumps(attachment_vectors(), indent=2, sort_keys=True) + "\n",
    }
    if args.check:
        stale = [p for p, text in outputs.items() if not p.exists() or p.read_text() != text]
        for p in stale:
            print(f"{p} is stale; rerun scripts/content_vectors.py", file=sys.stderr)
        if stale:
            return 1
        print("content and attachment vectors are up to date")
        return 0
    for p, text in outputs.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
