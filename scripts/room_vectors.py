#!/usr/bin/env python3
"""Room-context test vectors from an independent implementation of docs/protocol.md ("Room contexts").

Written from the specification -- RFC 9162 section 2.1 (Merkle tree hash, inclusion paths and
their verification, implemented here with the RFC's recursive definitions, not the level-by-level
construction the Rust code uses) and the wire format of docs/protocol.md -- sharing no code with the
Rust crate or the other scripts. Only the standard library is needed (hashlib SHA-256, hmac).

Usage (from the repository root):

    python3 scripts/room_vectors.py           # writes docs/vectors/room.json
    python3 scripts/room_vectors.py --check   # regenerates in memory, fails if the file differs

franking-core/tests/room_vectors.rs checks every vector against the Rust implementation. All
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

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "vectors" / "room.json"

VERSION = 1
T_ROOM_CONTEXT, T_MEMBERSHIP_PROOF = 6, 7
STAMP_LABEL = b"franking/v1 stamp\x00"
MAX_SIBLINGS = 20


def drbg(label: str, n: int) -> bytes:
    return hashlib.shake_256(b"franking room test vectors/" + label.encode()).digest(n)


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def field(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def obj(ty: int, fields: list[bytes]) -> bytes:
    return bytes([VERSION, ty]) + b"".join(field(f) for f in fields)


# RFC 9162 section 2.1.1 with this protocol's leaf input: be32(len(id)) || id.
def leaf(member: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + struct.pack(">I", len(member)) + member).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if len(d) == 1:
        return leaf(d[0])
    k = split(len(d))
    return node(mth(d[:k]), mth(d[k:]))


# RFC 9162 section 2.1.3.1: PATH(m, D[n]).
def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = split(len(d))
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


# RFC 9162 section 2.1.3.2.
def verify(leaf_hash: bytes, index: int, size: int, p: list[bytes], root: bytes) -> bool:
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for s in p:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(s, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, s)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def members_of(names: list[str]) -> list[bytes]:
    d = sorted(n.encode() for n in names)
    assert len(set(d)) == len(d), "duplicate member"
    return d


def proof_bytes(epoch: int, index: int, sibs: list[bytes]) -> bytes:
    return obj(T_MEMBERSHIP_PROOF, [struct.pack(">Q", epoch), struct.pack(">I", index), b"".join(sibs)])


def proof_json(epoch: int, index: int, sibs: list[bytes]) -> dict:
    return {"epoch": epoch, "index": index, "siblings": [b64u(s) for s in sibs]}


def proof_vector(epoch: int, index: int, sibs: list[bytes]) -> dict:
    return {
        "epoch": epoch,
        "index": index,
        "siblings": [s.hex() for s in sibs],
        "bytes": proof_bytes(epoch, index, sibs).hex(),
        "json": proof_json(epoch, index, sibs),
    }


def names(n: int) -> list[str]:
    return [f"member-{i:03d}" for i in range(n)]


def trees() -> list[dict]:
    out = []
    sets = [names(n) for n in (1, 2, 3, 4, 5, 7, 8, 9, 13, 100)]
    sets.append(["zoë", "Zed", "bob", "alice", "ålice", "Bob", "carol@example.net"])
    for ms in sets:
        d = members_of(ms)
        root = mth(d)
        picks = range(len(d)) if len(d) <= 13 else (0, 1, 50, 63, 64, 98, 99)
        proofs = []
        for i in picks:
            p = path(i, d)
            assert verify(leaf(d[i]), i, len(d), p, root)
            proofs.append({"member": d[i].decode(), **proof_vector(9, i, p)})
        out.append(
            {
                "members": ms,
                "sorted": [m.decode() for m in d],
                "leaves": [leaf(m).hex() for m in d] if len(d) <= 13 else [],
                "root": root.hex(),
                "proofs": proofs,
            }
        )
    return out


def room_context(network, sender, room, epoch, count, root, ts, message_id):
    b = obj(
        T_ROOM_CONTEXT,
        [
            network.encode(),
            sender.encode(),
            room.encode(),
            struct.pack(">Q", epoch),
            struct.pack(">I", count),
            root,
            struct.pack(">Q", ts),
            message_id.encode(),
        ],
    )
    j = {
        "network": network,
        "sender": sender,
        "room": room,
        "members": {"epoch": epoch, "count": count, "root": b64u(root)},
        "timestamp_ms": ts,
        "message_id": message_id,
    }
    return b, j


def room_case() -> dict:
    ms = names(13)
    d = members_of(ms)
    epoch = 5
    root = mth(d)
    ctx_b, ctx_j = room_context(
        "example.net", "member-000", "room-42", epoch, len(d), root, 1_790_000_000_000, "m-1"
    )
    key_id, mac_key, suite, t = 7, drbg("mac key", 32), 2, drbg("commitment", 32)
    stamp_input = STAMP_LABEL + struct.pack(">I", key_id) + bytes([VERSION, suite]) + t + ctx_b
    mac = hmac.new(mac_key, stamp_input, hashlib.sha256).digest()

    reporter = "member-003"
    i = d.index(reporter.encode())
    good = path(i, d)
    # The previous epoch's member set: member-012 joined at epoch 5.
    d_prev = members_of(ms[:12])
    prev = path(i, d_prev)
    swapped = list(good)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    refusals = [
        ("a non-member presents a member's proof", "mallory", proof_vector(epoch, i, good), "not_room_member"),
        ("a proof issued for the previous epoch", reporter, proof_vector(epoch - 1, i, prev), "membership_epoch_mismatch"),
        ("the previous epoch's proof relabelled with this epoch", reporter, proof_vector(epoch, i, prev), "not_room_member"),
        ("two siblings swapped", reporter, proof_vector(epoch, i, swapped), "not_room_member"),
        ("another member's index", reporter, proof_vector(epoch, i + 1, good), "not_room_member"),
        ("an index past the member count", reporter, proof_vector(epoch, len(d) + 3, good), "not_room_member"),
        ("one sibling dropped", reporter, proof_vector(epoch, i, good[:-1]), "not_room_member"),
        ("one sibling added", reporter, proof_vector(epoch, i, good + [good[0]]), "not_room_member"),
        ("the sender is not a recipient", "member-000", proof_vector(epoch, 0, path(0, d)), "reporter_not_recipient"),
    ]
    for desc, who, p, code in refusals:
        ok = verify(leaf(who.encode()), p["index"], len(d), [bytes.fromhex(s) for s in p["siblings"]], root)
        assert not ok or code in ("membership_epoch_mismatch", "reporter_not_recipient"), desc
    return {
        "members": ms,
        "context": {"bytes": ctx_b.hex(), "json": ctx_j},
        "stamp": {
            "key_id": key_id,
            "mac_key": mac_key.hex(),
            "suite": suite,
            "commitment": t.hex(),
            "input": stamp_input.hex(),
            "mac": mac.hex(),
        },
        "member_proof": {"member": reporter, **proof_vector(epoch, i, good)},
        "refusals": [{"description": a, "member": b, "proof": c, "code": e} for a, b, c, e in refusals],
    }


def second_preimage() -> dict:
    """Present an interior node's children l || r as a member id, with the node's (shorter) path."""
    d = members_of(names(8))
    root = mth(d)
    left, right = mth(d[0:1]), mth(d[1:2])
    fake_member = left + right
    p = path(0, d)[1:]  # the path of node(d0, d1), which sits at index 0 one level up
    assert node(left, right) == mth(d[0:2])
    ok_as_leaf = verify(leaf(fake_member), 0, len(d), p, root)
    ok_as_node = verify(node(left, right), 0, len(d), p, root)
    assert not ok_as_leaf and not ok_as_node
    return {
        "members": names(8),
        "root": root.hex(),
        "fake_member": fake_member.hex(),
        "index": 0,
        "siblings": [s.hex() for s in p],
        "verifies": False,
    }


def malformed_proofs() -> list[dict]:
    good = proof_bytes(1, 0, [drbg("sibling", 32)])
    return [
        {"description": "trailing byte", "bytes": (good + b"\x00").hex()},
        {"description": "siblings not a multiple of 32 bytes", "bytes": obj(T_MEMBERSHIP_PROOF, [struct.pack(">Q", 1), struct.pack(">I", 0), b"\x00" * 33]).hex()},
        {"description": "21 siblings", "bytes": proof_bytes(1, 0, [drbg("s", 32)] * (MAX_SIBLINGS + 1)).hex()},
        {"description": "4-byte epoch", "bytes": obj(T_MEMBERSHIP_PROOF, [struct.pack(">I", 1), struct.pack(">I", 0), b""]).hex()},
        {"description": "wrong object type", "bytes": (bytes([VERSION, 6]) + good[2:]).hex()},
    ]


def malformed_contexts() -> list[dict]:
    def ctx(count=3, room="room-42", root=b"\x11" * 32):
        return room_context("example.net", "alice", room, 1, count, root, 1, "m")[0]

    return [
        {"description": "member count 0", "bytes": ctx(count=0).hex()},
        {"description": "member count over 2^20", "bytes": ctx(count=(1 << 20) + 1).hex()},
        {"description": "empty room id", "bytes": ctx(room="").hex()},
        {"description": "31-byte root", "bytes": ctx(root=b"\x11" * 31).hex()},
        {"description": "trailing byte", "bytes": (ctx() + b"\x00").hex()},
    ]


def build() -> dict:
    return {
        "description": "Room contexts (docs/protocol.md): RFC 9162 member trees over sorted unique "
        "member ids (SHA-256, leaf = 0x00 || be32(len) || id, node = 0x01 || l || r), inclusion "
        "proofs (type 0x07), room contexts (type 0x06) and their stamps, and refusals with codes. "
        "Generated by scripts/room_vectors.py.",
        "trees": trees(),
        "duplicate_member_sets": [["alice", "bob", "alice"], ["x", "x"]],
        "room": room_case(),
        "second_preimage": second_preimage(),
        "malformed_proofs": malformed_proofs(),
        "malformed_contexts": malformed_contexts(),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = json.dumps(build(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} differs from the generator's output", file=sys.stderr)
            return 1
        print(f"{OUT} is up to date")
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
