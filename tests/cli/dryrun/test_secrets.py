"""Secrets are redacted by value, wherever a dry run writes or prints them: the `--json` report,
the human report, log lines, errors and `--save` fixtures; and never sent to another host.

The token reaches every place a careless script or an API can put it: query parameters, response
headers, a response body echoing it, `nango.log(connection.credentials)`, an `ActionError`
payload, a record. Header names say nothing here: only the value gives it away.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from tests.helpers import TOKEN, Cli, FakeApi, Reply, ok, run_json

YAML = """\
integrations:
  github:
    syncs:
      leaky:
        runs: every hour
        output: Leak
        endpoint: GET /leaks
    actions:
      leaky-action:
        output: Leak
        endpoint: POST /leaks
  metabase:
    actions:
      follow:
        output: Moved
        endpoint: GET /moved
models:
  Leak:
    id: string
  Moved:
    moved: boolean
"""
LEAKY_SYNC = """\
import sys

from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    connection = await nango.get_connection()
    token = connection.credentials["access_token"]
    await nango.log(connection.credentials)
    await nango.log(connection.connection_config)
    await nango.log("the token is", token, level="warn")
    print("printed:", token)
    print("to stderr:", token, file=sys.stderr)
    res = await nango.get(endpoint="/echo", params={"api_key": token, "access_token": token})
    await nango.log("echoed", res.data, res.headers)
    await nango.batch_save([{"id": "1", "token": token, "echo": res.data}], "Leak")
"""
LEAKY_ACTION = """\
from models import ActionError, NangoAction


async def run_action(nango: NangoAction) -> dict:
    credentials = (await nango.get_connection()).credentials
    raise ActionError({"credentials": credentials, "why": "bad " + str(credentials)})
"""
FOLLOW = """\
from models import NangoAction


async def run_action(nango: NangoAction) -> dict:
    res = await nango.get(endpoint="/moved")
    return res.data
"""


def echo_replies() -> Reply:
    """An API that gives the token back in its body and in headers of any name."""
    return ok(
        {"token": TOKEN, "note": f"you sent {TOKEN}"},
        x_auth=TOKEN,
        www_authenticate=f'Bearer realm="x", token="{TOKEN}"',
    )


@pytest.fixture
def leaky(make_project: Callable[[dict[str, str]], Path], connect: Any, fake_api: FakeApi) -> Path:
    fake_api.route("/echo", echo_replies())
    return make_project(
        {
            "nango.yaml": YAML,
            "github/syncs/leaky.py": LEAKY_SYNC,
            "github/actions/leaky-action.py": LEAKY_ACTION,
            "metabase/actions/follow.py": FOLLOW,
        }
    )


def forms(secret: str) -> list[str]:
    return [secret, quote_plus(secret)]


def assert_no_secret(text: str) -> None:
    for form in forms(TOKEN):
        assert form not in text


def test_the_json_report_and_the_logs_hold_no_secret(
    cli: Cli, leaky: Path, fake_api: FakeApi
) -> None:
    result = cli("dryrun", "leaky", "c1", "--json", cwd=leaky)
    assert_no_secret(result.stdout + result.stderr)
    report = json.loads(result.stdout)
    # the API did receive the token: only what is written or printed is redacted
    assert fake_api.hits("/echo")[0].query["api_key"] == [TOKEN]
    assert report["batch_save"]["Leak"] == [
        {
            "id": "1",
            "token": "[REDACTED]",
            "echo": {"token": "[REDACTED]", "note": "you sent [REDACTED]"},
        }
    ]
    messages = "\n".join(line["message"] for line in report["logs"])
    assert "[REDACTED]" in messages and "access_token" in messages
    assert "the token is [REDACTED]" in messages
    assert "api_key=[REDACTED]" in report["requests"][0]["url"]


def test_the_human_report_holds_no_secret(cli: Cli, leaky: Path) -> None:
    """Records, request URLs, log lines and what the script printed, on stdout and stderr."""
    result = cli("dryrun", "leaky", "c1", cwd=leaky)
    assert_no_secret(result.output)
    assert "[REDACTED]" in result.output
    assert "to stderr: [REDACTED]" in result.stderr


def test_saved_fixtures_hold_no_secret_in_any_place(cli: Cli, leaky: Path) -> None:
    cli("dryrun", "leaky", "c1", "--save", "--json", cwd=leaky)
    text = (leaky / "github" / "tests" / "leaky.test.json").read_text(encoding="utf-8")
    assert_no_secret(text)
    fixture = json.loads(text)
    entry = fixture["api"]["get"]["/echo"]
    assert entry["headers"]["x-auth"] == "[REDACTED]"
    assert TOKEN not in entry["headers"]["www-authenticate"]
    assert entry["response"] == {"token": "[REDACTED]", "note": "you sent [REDACTED]"}
    assert entry["request"]["params"] == {"api_key": "[REDACTED]", "access_token": "[REDACTED]"}
    assert fixture["nango"]["batchSave"]["Leak"][0]["token"] == "[REDACTED]"


def test_a_secret_kept_in_the_connection_config_is_redacted_too(
    cli: Cli, leaky: Path, connect: Callable[..., None]
) -> None:
    connect(CONNECTION_CONFIG='{"appSecret": "app-secret-0042", "region": "eu"}')
    result = cli("dryrun", "leaky", "c1", "--save", "--json", cwd=leaky)
    fixture = (leaky / "github" / "tests" / "leaky.test.json").read_text(encoding="utf-8")
    for text in (result.stdout, result.stderr, fixture):
        assert "app-secret-0042" not in text
    assert json.loads(fixture)["nango"]["getConnection"]["connection_config"] == {
        "appSecret": "[REDACTED]",
        "region": "eu",
    }


def test_an_action_error_payload_holds_no_secret(cli: Cli, leaky: Path) -> None:
    report = run_json(cli, leaky, "leaky-action", "c1", expect=12)
    assert report["error"]["type"] == "action_script_failure"
    assert report["error"]["payload"]["credentials"]["access_token"] == "[REDACTED]"
    assert "[REDACTED]" in report["error"]["payload"]["why"]
    human = cli("dryrun", "leaky-action", "c1", cwd=leaky, expect=12)
    assert_no_secret(human.output)


def test_a_cross_host_redirect_drops_the_catalog_api_key_header(
    cli: Cli, leaky: Path, connect: Callable[..., None], fake_api: FakeApi
) -> None:
    """metabase sends its key as `x-api-key`: not an `Authorization` header, still a secret."""
    other = FakeApi()  # another host: 127.0.0.1 and localhost are different origins
    other.route("/landing", ok({"moved": True}))
    other.start()
    try:
        landing = other.url.replace("127.0.0.1", "localhost") + "/landing"
        fake_api.route("/moved", Reply(302, "", {"Location": landing}))
        connect("metabase", API_KEY=TOKEN, CONNECTION_CONFIG='{"hostname": "x"}')
        report = run_json(cli, leaky, "follow", "c1")
    finally:
        other.stop()
    assert report["output"] == {"moved": True}
    assert fake_api.hits("/moved")[0].headers["x-api-key"] == TOKEN
    arrived = other.hits("/landing")[0].headers
    assert TOKEN not in json.dumps(arrived)
    assert "x-api-key" not in arrived and "authorization" not in arrived


def test_a_same_host_redirect_keeps_the_key(
    cli: Cli, leaky: Path, connect: Callable[..., None], fake_api: FakeApi
) -> None:
    fake_api.route("/moved", Reply(302, "", {"Location": fake_api.url + "/landing"}))
    fake_api.route("/landing", ok({"moved": True}))
    connect("metabase", API_KEY=TOKEN, CONNECTION_CONFIG='{"hostname": "x"}')
    report = run_json(cli, leaky, "follow", "c1")
    assert report["output"] == {"moved": True}
    assert fake_api.hits("/landing")[0].headers["x-api-key"] == TOKEN
