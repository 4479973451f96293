"""What tests share: paths, a project builder, the CLI runner, a fake API server, builders of
providers and connections. Fixtures live in the `conftest.py` files and build on these."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = REPO_ROOT.parent / "shared" / "corpus"
TOKEN = "tok-secret-4f9a1c"


def outside_env(*, drop: tuple[str, ...] | frozenset[str] | set[str] = ()) -> dict[str, str]:
    """This process's environment for a `nango` process a test starts: without the NANGO_*
    settings (and the names in `drop`), with the warm start off, so that no test leaves a warm
    server behind (tests/cli/test_warm.py turns it on where it is the subject)."""
    kept = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("NANGO_")}
    return {**kept, "NANGO_WARM": "0"}


def is_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def corpus_missing(what: str = "the shared corpus") -> NoReturn:
    """Skip a test that needs the corpus (`../shared/corpus`), but fail it under CI."""
    message = f"{what} not found at {CORPUS} (it lives beside the repository, in shared/corpus)"
    if is_ci():
        pytest.fail(message + "; CI must have it", pytrace=False)
    pytest.skip(message)


def require_corpus(*parts: str) -> Path:
    """`CORPUS / parts...`, or skip (fail under CI) when it is not there."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        corpus_missing(str(Path(*parts)) if parts else "the shared corpus")
    return path


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Create files under `root` from a {relative path: content} dict; returns root."""
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    return root


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Cli:
    """Runs `nango` in-process with Typer's CliRunner, in a chosen working directory. A plain
    `nango dryrun` command line runs as `nango` runs it: through `cli.fast_path`, without Typer
    (`typer_only=True`: through Typer all the same)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    def __call__(
        self,
        *args: str,
        cwd: Path | None = None,
        expect: int | None = 0,
        input: str | None = None,
        typer_only: bool = False,
    ) -> CliResult:
        from cli.app import app
        from cli.terminal import console as output

        if cwd is not None:
            self.monkeypatch.chdir(cwd)
        output.stdout.cache_clear()
        output.stderr.cache_clear()
        found = None if typer_only else run_fast_path(list(args), input)
        if found is None:
            result = CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)
            found = CliResult(result.exit_code, result.stdout, result.stderr)
        if expect is not None:
            assert found.exit_code == expect, found.output
        return found


def run_fast_path(args: list[str], input: str | None = None) -> CliResult | None:
    """`args` run through `cli.fast_path` with the output captured as CliRunner captures it, or
    None when the fast path leaves them to Typer."""
    from cli import fast_path

    code: Any = 0
    with CliRunner().isolation(input=input) as (stdout, stderr, _):
        try:
            if not fast_path.run(args):
                return None
        except SystemExit as exc:
            code = 0 if exc.code is None else exc.code
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            texts = [
                s.getvalue().decode(errors="replace").replace("\r\n", "\n")
                for s in (stdout, stderr)
            ]
    return CliResult(int(code), *texts)


# --- a fake provider API -------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return self.body.encode(), headers
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(self.body).encode(), headers


def ok(body: Any, **headers: str) -> Reply:
    return Reply(200, body, {k.replace("_", "-"): v for k, v in headers.items()})


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class FakeApi:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                received = Received(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                reply = api._next_reply(received)
                payload, headers = reply.encoded()
                self.send_response(reply.status)
                for name, value in headers.items():
                    self.send_header(name, value.replace("{base}", api.url))
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def _next_reply(self, received: Received) -> Reply:
        with self._lock:
            self.requests.append(received)
            replies = self.routes.get(received.path)
            if not replies:
                return Reply(404, {"message": f"no route for {received.path}"})
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def route(self, path: str, *replies: Reply) -> None:
        self.routes[path] = list(replies)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        if self._thread.is_alive():
            self.server.shutdown()
            self._thread.join(5)
        self.server.server_close()

    def hits(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def run_json(cli: Cli, root: Path, *args: str, expect: int = 0) -> dict[str, Any]:
    """`nango dryrun ARGS --json`: the report, after checking the token was never printed."""
    result = cli("dryrun", *args, "--json", cwd=root, expect=expect)
    assert TOKEN not in result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


class EchoHttp:
    """An HTTP source for the SDK's backends (`start`, `stop`, `send`): notes every call in
    `events` and answers each request with its endpoint; a subclass changes `answer`."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def start(self) -> None:
        self.events.append("start")

    async def stop(self) -> None:
        self.events.append("stop")

    async def send(self, call: Any) -> Any:
        self.events.append(f"{call.method} {call.endpoint}")
        return self.answer(call)

    def answer(self, call: Any) -> Any:
        from runtime.sdk.types import ProxyResponse

        return ProxyResponse(200, {"endpoint": call.endpoint}, {})
