"""Issue 8's OAuth story, end to end with real processes: `nango runtime start` in a terminal,
a fake OAuth provider on 127.0.0.1 (authorization and token endpoints), `nango integration
create` with its client, `nango connection create --no-browser` waiting while a "browser"
follows the printed link through consent and callback; then the tokens stored encrypted in the
database file, refreshed once expired, the provider's rotated refresh token kept, and a failed
refresh shown by the API and by `nango connection list`."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.runtime.credentials.fake_oauth import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeOAuth,
    FakeOAuthServer,
    write_catalog,
)
from tests.runtime_harness import wait_until
from tests.user_story import NANGO, Terminal, nango, runtime_terminal, user_environment

pytestmark = pytest.mark.slow

LIFETIME_S = 6  # short-lived tokens are refreshed halfway through their lifetime


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[tuple[FakeOAuthServer, Path]]:
    server = FakeOAuthServer(FakeOAuth(expires_in=LIFETIME_S))
    yield server, write_catalog(tmp_path / "providers.yaml", server.url)
    server.stop()


@pytest.fixture
def terminal(tmp_path: Path, provider: tuple[FakeOAuthServer, Path]) -> Iterator[Terminal]:
    catalog = str(provider[1])
    with runtime_terminal(tmp_path / "runtime-data", NANGO_PROVIDERS_FILE=catalog) as started:
        started.copy_env_into(tmp_path)
        yield started


def _connect_in_a_browser(tmp_path: Path) -> tuple[str, str]:
    """`nango connection create fake acme --no-browser`: open the link it prints as a browser
    would; (what the page said, what the command printed)."""
    with subprocess.Popen(
        [*NANGO, "connection", "create", "fake", "acme", "--no-browser", "--timeout", "120"],
        cwd=tmp_path,
        env=user_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as command:
        assert command.stderr is not None and command.stdout is not None
        link = ""
        for line in command.stderr:
            if line.startswith("http"):
                link = line.strip()
                break
        assert link, command.stderr.read()
        page = httpx.get(link, follow_redirects=True, timeout=60)
        printed = command.stdout.read() + command.stderr.read()
        assert command.wait(120) == 0, printed
    assert page.status_code == 200, page.text
    return page.text, printed


def _database_bytes(data_dir: Path) -> bytes:
    files = [data_dir / "nango.db", data_dir / "nango.db-wal"]
    return b"".join(path.read_bytes() for path in files if path.exists())


def test_connect_refresh_rotate_and_fail(
    tmp_path: Path, terminal: Terminal, provider: tuple[FakeOAuthServer, Path]
) -> None:
    oauth = provider[0].state
    nango(
        "integration", "create", "fake", "--provider", "fake-oauth", "--client-id", CLIENT_ID,
        "--client-secret", "-", "--scopes", "read,write", cwd=tmp_path, input=CLIENT_SECRET,
    )  # fmt: skip
    page, printed = _connect_in_a_browser(tmp_path)
    assert "Connected" in page and "acme" in printed
    (authorize,) = oauth.authorize_requests
    assert authorize["redirect_uri"] == f"{terminal.url}/oauth/callback"
    assert authorize["code_challenge_method"] == "S256"
    assert oauth.counts["code"] == 1

    # stored encrypted: no token, refresh token, verifier or client secret in the file in clear
    secrets = [*oauth.issued, CLIENT_SECRET, oauth.token_requests[-1]["code_verifier"]]
    raw = _database_bytes(tmp_path / "runtime-data")
    assert b"acme.example.com" in raw  # the connection config is stored in clear: we see it
    assert not [secret for secret in secrets if secret.encode() in raw]

    with terminal.client() as client:
        path = "/connections/acme?provider_config_key=fake&refresh_token=true"
        first = client.get(path).json()["credentials"]
        refreshes = oauth.counts["refresh"]  # 0, or 1 on a machine slow enough to need it
        time.sleep(LIFETIME_S / 2 + 0.5)  # past half its lifetime: due for a refresh
        second = client.get(path).json()["credentials"]
        assert oauth.counts["refresh"] == refreshes + 1
        assert second["access_token"] != first["access_token"]
        assert second["refresh_token"] != first["refresh_token"]  # the provider rotated it
        assert oauth.token_requests[-1]["refresh_token"] == first["refresh_token"]

        time.sleep(LIFETIME_S / 2 + 0.5)
        third = client.get(path).json()["credentials"]
        assert oauth.counts["refresh"] == refreshes + 2  # the rotated one was kept, and worked
        assert oauth.token_requests[-1]["refresh_token"] == second["refresh_token"]
        assert third["refresh_token"] != second["refresh_token"]

        oauth.refresh_fails = True
        time.sleep(LIFETIME_S + 0.5)  # expired, and the refresh fails
        failed = client.get(path)
        assert failed.status_code == 400, failed.text
        assert failed.json()["error"]["code"] == "invalid_credentials"

    def listed() -> str | None:
        shown = nango("connection", "list", cwd=tmp_path).stdout
        return shown if "invalid_grant" in shown else None

    shown = wait_until(listed, timeout=30, every=1)
    assert "acme" in shown and third["access_token"] not in shown
    for secret in oauth.issued:
        assert secret not in terminal.output()
