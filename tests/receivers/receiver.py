"""The far ends of Aftercare's alerts, for the tests: a real SMTP server (aiosmtpd) and a
webhook receiver that checks every signature as the Standard Webhooks specification says,
written here independently of Aftercare's own signing code.

Started by a test with the test tools' Python (AFTERCARE_FHIR_PYTHON). It prints one JSON line,
{"smtp": PORT, "http": PORT}, and stops when its standard input closes (when the test ends).

HTTP endpoints, on 127.0.0.1:
  PUT  /secrets/NAME      body: the whsec_ secret of webhook NAME
  POST /fail/NAME?times=N the next N deliveries to NAME answer 503
  POST /hook/NAME         a delivery: verified, recorded, answered 204 (or 503 when told to fail)
  GET  /hook/NAME         the deliveries recorded for NAME, as JSON
  GET  /mail              every email received, as JSON
"""

import base64
import email
import email.policy
import hashlib
import hmac
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from aiosmtpd.controller import Controller

LOCK = threading.Lock()
MAIL = []
HOOKS = {}
SECRETS = {}
FAILS = {}
TOLERANCE_SECONDS = 300


def verify(secret, headers, body):
    """True when the webhook-signature header holds a valid v1 signature of this delivery."""
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature", "")
    if not msg_id or not stamp or not secret.startswith("whsec_"):
        return False
    try:
        if abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
            return False
    except ValueError:
        return False
    key = base64.b64decode(secret[len("whsec_"):])
    signed = f"{msg_id}.{stamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for part in signatures.split(" "):
        version, _, value = part.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


class Mailbox:
    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        with LOCK:
            MAIL.append({
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "subject": str(parsed["subject"]),
                "message_id": str(parsed["message-id"]),
                "headers": {k.lower(): str(v) for k, v in parsed.items()},
                "text": body.get_content() if body else "",
            })
        return "250 OK"


class Hooks(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, payload=None):
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        return self.rfile.read(int(self.headers.get("content-length", "0")))

    def do_PUT(self):
        name = urlparse(self.path).path.removeprefix("/secrets/")
        with LOCK:
            SECRETS[name] = self.body().decode().strip()
        self.answer(204)

    def do_GET(self):
        path = urlparse(self.path).path
        with LOCK:
            if path == "/mail":
                return self.answer(200, MAIL)
            if path.startswith("/hook/"):
                return self.answer(200, HOOKS.get(path.removeprefix("/hook/"), []))
        self.answer(404)

    def do_POST(self):
        url = urlparse(self.path)
        body = self.body()
        if url.path.startswith("/fail/"):
            times = int(parse_qs(url.query).get("times", ["1"])[0])
            with LOCK:
                FAILS[url.path.removeprefix("/fail/")] = times
            return self.answer(204)
        if not url.path.startswith("/hook/"):
            return self.answer(404)
        name = url.path.removeprefix("/hook/")
        headers = {k.lower(): v for k, v in self.headers.items()}
        with LOCK:
            if FAILS.get(name, 0) > 0:
                FAILS[name] -= 1
                return self.answer(503)
            secret = SECRETS.get(name)
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
            HOOKS.setdefault(name, []).append({
                "id": headers.get("webhook-id"),
                "verified": secret is not None and verify(secret, headers, body),
                "payload": payload,
            })
        self.answer(204)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    smtp = Controller(Mailbox(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    print(json.dumps({"smtp": smtp.port, "http": http.server_address[1]}), flush=True)
    sys.stdin.read()
    http.shutdown()
    smtp.stop()


if __name__ == "__main__":
    main()
