"""`nango fixtures serve`: the project's recorded API answers served over HTTP on this machine,
a stand-in for the providers' APIs when there is no network or no account (an integration's
`--base-url` points at it).

A request is answered as `nango dryrun --replay` answers a script's call: its method, path,
query and body name a recorded entry of some `<integration>/tests/*.test.json` (the
first file, in name order, that has one); headers are not part of the match. The answer is the
recorded status, headers and body, with absolute URLs of a `Link` header moved to this server
(so link pagination stays here). A request with no recording gets 404 and a JSON body saying
so; the server never reaches the network.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from runtime.errors import UserError
from runtime.recordings.fixture_set import FixtureSet
from runtime.recordings.identity import identity_from_call
from runtime.recordings.matching import RecordedResponse
from runtime.recordings.unified import load_unified

__all__ = ["FixtureServer", "load_project_fixtures"]

_ABSOLUTE = re.compile(r"<https?://[^/>]+")
_DROPPED_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


def load_project_fixtures(root: Path) -> list[FixtureSet]:
    """Every `<integration>/tests/<script>.test.json` of the project, in path order."""
    found = [
        load_unified(path, script=path.name.removesuffix(".test.json"))
        for path in sorted(root.glob("*/tests/*.test.json"))
    ]
    if not any(fixtures.entries for fixtures in found):
        raise UserError(
            f"No recorded API answers in {root}/<integration>/tests/*.test.json",
            hint="Record some with `nango dryrun <script> <connection> --save`.",
        )
    return found


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class FixtureServer:
    """A threading HTTP server answering from `fixtures` on (host, port); `url` once bound."""

    def __init__(self, fixtures: list[FixtureSet], host: str = "127.0.0.1", port: int = 0):
        self.fixtures = fixtures
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # query strings may hold secrets: no access log

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                answer = server.answer(self.command, self.path, body, self.headers)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        try:
            self._http = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise UserError(
                f"Cannot listen on {host}:{port}: {exc.strerror or exc}",
                hint="Choose another port with --port (0: any free port).",
            ) from exc
        self._http.daemon_threads = True
        self.url = f"http://{host}:{self._http.server_address[1]}"

    def serve_forever(self) -> None:
        self._http.serve_forever(poll_interval=0.1)

    def start(self) -> FixtureServer:
        """Serve in a daemon thread (tests)."""
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def answer(self, method: str, target: str, body: bytes, headers: Any) -> _Answer:
        """The recorded answer to one request (404 with a JSON message when there is none)."""
        parts = urlsplit(target)
        identity = identity_from_call(
            method=method,
            endpoint=parts.path,
            params=dict(parse_qsl(parts.query, keep_blank_values=True)),
            data=_body(body, headers.get("content-type") or ""),
        )
        for fixtures in self.fixtures:
            entry = fixtures.find_entry(identity)
            if entry is not None:
                return self._recorded(entry.to_response())
        message = {"error": f"no recorded answer for {identity.describe()}"}
        return _Answer(404, {"Content-Type": "application/json"}, json.dumps(message).encode())

    def _recorded(self, recorded: RecordedResponse) -> _Answer:
        headers = {
            str(name): str(value)
            for name, value in (recorded.headers or {}).items()
            if str(name).lower() not in _DROPPED_HEADERS
        }
        for name in list(headers):
            if name.lower() == "link":
                headers[name] = _ABSOLUTE.sub(f"<{self.url}", headers[name])
        data = recorded.data
        if isinstance(data, str):
            payload = data.encode()
        else:
            payload = json.dumps(data).encode()
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = "application/json"
        return _Answer(recorded.status, headers, payload)


def _body(body: bytes, content_type: str) -> Any:
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
