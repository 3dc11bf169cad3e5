#!/usr/bin/env python3
"""Minimal action proxy for tests that need an action container but no language runtime.

POST /init answers 200 {"ok": true} whatever it is sent (any number of times).
POST /run answers 200 with the "value" it is sent (a non-object value comes back as {"value": <it>}),
after writing one log line and the activation sentinel to stdout and to stderr.
"""
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            message = json.loads(body or b"{}")
        except ValueError:
            message = {}
        if self.path == "/init":
            self.reply(200, {"ok": True})
        elif self.path == "/run":
            value = message.get("value", {}) if isinstance(message, dict) else {}
            activation = message.get("activation_id", "") if isinstance(message, dict) else ""
            for stream in (sys.stdout, sys.stderr):
                stream.write(f"blackbox run {activation}\n{SENTINEL}\n")
                stream.flush()
            self.reply(200, value if isinstance(value, (dict, list)) else {"value": value})
        else:
            self.reply(404, {"error": "not found"})

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("OW_PROXY_PORT", "8080"))), Handler)
    server.daemon_threads = True
    server.serve_forever()
