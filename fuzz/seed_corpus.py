#!/usr/bin/env python3
"""Write libFuzzer seed corpora for every fuzz target from the independent vectors in docs/vectors/.

Usage: python3 fuzz/seed_corpus.py   (from the repository root; writes fuzz/corpus/<target>/)
"""
import base64
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
# JSON/differential targets select the type with their first byte (see fuzz_targets/json.rs).
SELECTOR = {"envelope": 0, "stamp": 1, "context": 2, "report": 3}
# fuzz_targets/intake_multipart.rs parses bodies with this boundary.
BOUNDARY = b"franking-fuzz"
# fuzz_targets/admin_bodies.rs: selector byte -> example body of that request type.
ADMIN_BODIES = {
    0: {"moderator": "mod-1"},
    1: {"action": "remove_content", "reason": "spam"},
    2: {"reason": "duplicate"},
    3: {"body": "checked the attachment"},
    4: {"id": "example.net", "name": "Example"},
    5: {"name": "Example network"},
    6: {"categories": ["spam"], "window_ms": 86400000},
    7: {"grace_ms": 3600000},
    8: {"reason": "compromised"},
    9: {"role": "moderator", "label": "alice"},
    10: {"url": "https://hooks.example.net/franking", "event_types": ["case.resolved"]},
    11: {"enabled": False},
    12: {"overlap_ms": 60000},
    13: {"checkpoints": []},
    14: {"commitment": "AAAA", "context": {"network": "example.net"}},
    15: {"messages": []},
}


def put(target: str, data: bytes) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha256(data).hexdigest()[:16]).write_bytes(data)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def multipart(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    out = b""
    for name, filename, body in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += b"--" + BOUNDARY + b"\r\n"
        out += f"Content-Disposition: {disposition}\r\n\r\n".encode() + body + b"\r\n"
    return out + b"--" + BOUNDARY + b"--\r\n"


def attachment_seeds() -> None:
    """Content encodings; attachment blobs as `[reference][piece size][blob]`."""
    content = json.loads((ROOT / "docs/vectors/content.json").read_text())
    for item in content["valid"] + content["invalid"]:
        put("content", bytes.fromhex(item["encoding"]))
    att = json.loads((ROOT / "docs/vectors/attachment.json").read_text())
    n_valid = len(att["valid"])
    for i, item in enumerate(att["valid"]):
        put("attachment", bytes([i, 7]) + bytes.fromhex(item["blob"]))
    for j, item in enumerate(att["invalid"]):
        put("attachment", bytes([n_valid + j, 63]) + bytes.fromhex(item["blob"]))


def intake_seeds(proto: dict) -> None:
    """Multipart intake bodies: each protocol report alone, and with a content plaintext whose
    attachments are followed by blobs (the reports do not verify; the parser does not verify)."""
    content = json.loads((ROOT / "docs/vectors/content.json").read_text())
    att = json.loads((ROOT / "docs/vectors/attachment.json").read_text())
    for case in proto["cases"]:
        report = (case.get("report") or {}).get("json")
        if report is None:
            continue
        sub = {"reporter": report["reporter"], "category": "spam", "report": report}
        put("intake_multipart", multipart([("report", None, json.dumps(sub).encode())]))
        for item in content["valid"]:
            if not item["json"]["attachments"]:
                continue
            with_content = json.loads(json.dumps(sub))
            with_content["report"]["message"]["plaintext"] = b64url(bytes.fromhex(item["encoding"]))
            blobs = [
                ("attachment", str(i), bytes.fromhex(att["valid"][i % len(att["valid"])]["blob"]))
                for i in range(len(item["json"]["attachments"]))
            ]
            body = json.dumps(with_content).encode()
            put("intake_multipart", multipart([("report", None, body)] + blobs))


def admin_seeds() -> None:
    for selector, body in ADMIN_BODIES.items():
        put("admin_bodies", bytes([selector]) + json.dumps(body).encode())


def main() -> None:
    proto = json.loads((ROOT / "docs/vectors/protocol.json").read_text())
    for case in proto["cases"]:
        for kind in ("envelope", "stamp", "context", "report"):
            item = case.get(kind)
            if not item or "bytes" not in item:
                continue
            raw = bytes.fromhex(item["bytes"])
            put(kind, raw)
            put("roundtrip", bytes([SELECTOR[kind]]) + raw)
            if kind == "report":
                put("verify_report", raw)
            if "json" in item:
                put("json", bytes([SELECTOR[kind]]) + json.dumps(item["json"]).encode())
        for rejection in case.get("rejections", []):
            if "report_hex" in rejection:
                raw = bytes.fromhex(rejection["report_hex"])
                put("report", raw)
                put("verify_report", raw)
    attachment_seeds()
    intake_seeds(proto)
    admin_seeds()
    print(f"seed corpora written under {CORPUS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
