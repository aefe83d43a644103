#!/usr/bin/env python3
"""A franking webhook receiver: verifies `Franking-Signature`, rejects stale timestamps and
de-duplicates by event id. Standard library only.

    FRANKING_WEBHOOK_SECRET=whsec_... python3 webhook_receiver.py 8000     # serve
    python3 webhook_receiver.py --check < case.json                        # used by the tests

`--check` reads {"header", "body", "secret", "now"} (JSON) from stdin and prints `ok` or the reason.
"""
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

TOLERANCE_SECS = 300


def verify(header: str, body: bytes, secret: str, now: int | None = None,
           tolerance: int = TOLERANCE_SECS) -> str | None:
    """None if `header` is a valid signature of `body` under `secret`, else the reason."""
    t, sigs = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and t is None:
            try:
                t = int(value)
            except ValueError:
                return "malformed"
        elif key == "v1":
            sigs.append(value)
    if t is None or not sigs:
        return "malformed"
    now = int(time.time()) if now is None else now
    if abs(now - t) > tolerance:
        return "stale"
    expected = hmac.new(secret.encode(), str(t).encode() + b"." + body, hashlib.sha256).hexdigest()
    if any(hmac.compare_digest(expected, s) for s in sigs):
        return None
    return "mismatch"


SEEN: set[str] = set()  # use your database in production


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        reason = verify(self.headers.get("Franking-Signature", ""), body,
                        os.environ["FRANKING_WEBHOOK_SECRET"])
        if reason:
            self.send_response(401)
            self.end_headers()
            return
        event = json.loads(body)
        if event["id"] not in SEEN:  # at-least-once delivery: de-duplicate by event id
            SEEN.add(event["id"])
            if event["type"] == "case.resolved":
                print(f"act on message {event['message_id']}: {event['action']}", flush=True)
        self.send_response(204)
        self.end_headers()


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        c = json.load(sys.stdin)
        print(verify(c["header"], c["body"].encode(), c["secret"], c["now"]) or "ok")
    else:
        HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
