"""``pmm witness serve``: a C2SP tlog-witness over HTTP, in its own process.

``POST /add-checkpoint`` only (FORMATS.md §2.4); the logic, state and key
live in ``ledger.witness.Witness``. The standard library's threading HTTP
server is enough for one small endpoint; requests over 64 KiB are refused.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ledger.witness import Witness

MAX_REQUEST = 65_536


def make_server(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/add-checkpoint":
                self._reply(404, "not found: POST /add-checkpoint\n", "text/plain")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_REQUEST:
                self._reply(413, f"request over {MAX_REQUEST} bytes\n", "text/plain")
                return
            answer = witness.add_checkpoint(self.rfile.read(length))
            self._reply(answer.status, answer.body, answer.content_type)

        def _reply(self, status: int, body: str, content_type: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet; the witness's state file is its record

    return ThreadingHTTPServer((host, port), Handler)
