#!/usr/bin/env python3
"""Write libFuzzer seed corpora for every fuzz target from the independent vectors in docs/vectors/.

Usage: python3 fuzz/seed_corpus.py   (from the repository root; writes fuzz/corpus/<target>/)
"""
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
# JSON/differential targets select the type with their first byte (see fuzz_targets/json.rs).
SELECTOR = {"envelope": 0, "stamp": 1, "context": 2, "report": 3}


def put(target: str, data: bytes) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha256(data).hexdigest()[:16]).write_bytes(data)


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
    print(f"seed corpora written under {CORPUS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
