"""Fixtures of the dry-run tests: a fake provider API (`tests.helpers.FakeApi`) on 127.0.0.1, a
GitHub-style project with the syncs and actions the tests run, and its connection settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import TOKEN, FakeApi


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    api = FakeApi()
    api.start()
    try:
        yield api
    finally:
        api.stop()


NANGO_YAML = """\
integrations:
  github:
    syncs:
      issues:
        runs: every hour
        output: Issue
        endpoint: GET /issues
      contacts:
        runs: every hour
        output: Contact
        endpoint: GET /contacts
      pages:
        runs: every hour
        output: Page
        endpoint: GET /pages
      meta-sync:
        runs: every hour
        input: RepoMeta
        output: MetaIssue
        endpoint: GET /meta-issues
      dupes:
        runs: every hour
        output: DupIssue
        endpoint: GET /dupes
      bad-records:
        runs: every hour
        output: [BadIssue, BadContact]
        endpoint: [GET /bad-issues, GET /bad-contacts]
      fetch-one:
        runs: every hour
        output: OneIssue
        endpoint: GET /fetch-one
    actions:
      create-issue:
        input: CreateIssue
        output: IssueOut
        endpoint: POST /issues
      fail:
        output: IssueOut
        endpoint: POST /fail
      boom:
        output: IssueOut
        endpoint: POST /boom
      slow:
        output: IssueOut
        endpoint: POST /slow
      bad-output:
        output: IssueOut
        endpoint: POST /bad-output
      echo:
        input: EchoInput
        output: EchoOutput
        endpoint: POST /echo
      get-text:
        output: EchoOutput
        endpoint: POST /get-text
      get-one:
        input: GetOne
        output: IssueOut
        endpoint: POST /get-one

models:
  Issue:
    id: string
    number: number
    title: string
    body?: string
  Contact:
    id: string
    email: string
  MetaIssue:
    id: string
    number: number
    title: string
  DupIssue:
    id: string
    number: number
    title: string
  BadIssue:
    id: string
    number: number
    title: string
  BadContact:
    id: string
    email: string
  OneIssue:
    id: string
    number: number
    title: string
  Page:
    id: string
    name: string
  RepoMeta:
    owner: string
    repo: string
  CreateIssue:
    title: string
    labels?: string[]
  IssueOut:
    id: string
    number: number
    url: string
  EchoInput:
    name: string
  EchoOutput:
    value: string
  GetOne:
    path: string
    retries?: number
"""

SCRIPTS = {
    "github/syncs/issues.py": """
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    async for page in nango.paginate(endpoint="/repos/acme/app/issues", params={"state": "all"}):
        records = []
        for item in page:
            record = {"id": str(item["id"]), "number": item["number"], "title": item["title"]}
            if "body" in item:
                record["body"] = item["body"]
            if "extra" in item:
                record["extra"] = item["extra"]
            records.append(record)
        await nango.batch_save(records, "Issue")
""",
    "github/syncs/contacts.py": """
from models import Contact, NangoSync


async def fetch_data(nango: NangoSync) -> None:
    config = {
        "type": "cursor",
        "cursor_name_in_request": "after",
        "cursor_path_in_response": "paging.next",
        "response_path": "results",
        "limit_name_in_request": "limit",
        "limit": 2,
    }
    async for page in nango.paginate(endpoint="/crm/contacts", paginate=config):
        await nango.batch_save(
            [Contact(id=c["id"], email=c["email"]) for c in page], "Contact"
        )
""",
    "github/syncs/pages.py": """
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    res = await nango.get(endpoint="/page", retries=0)
    await nango.log("type", type(res.data).__name__)
    await nango.batch_save([{"id": "1", "name": res.data}], "Page")
""",
    "github/syncs/meta-sync.py": """
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    metadata = await nango.get_metadata()
    connection = await nango.get_connection()
    checkpoint = await nango.get_checkpoint()
    await nango.log("metadata", metadata)
    await nango.log("connection.metadata", connection.metadata)
    await nango.log("checkpoint", checkpoint)
    last = nango.last_sync_date
    await nango.log(
        "last_sync_date",
        "None" if last is None else last.isoformat(),
        "aware" if last is not None and last.tzinfo is not None else "naive",
    )
    await nango.set_metadata({"owner": "changed", "repo": "x"})
    await nango.save_checkpoint({"page": 3})
    await nango.batch_save([{"id": "1", "number": 1, "title": "t"}], "MetaIssue")
""",
    "github/syncs/dupes.py": """
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    await nango.batch_save(
        [
            {"id": "1", "number": 1, "title": "first"},
            {"id": "2", "number": 2, "title": "other"},
            {"id": "1", "number": 1, "title": "last"},
        ],
        "DupIssue",
    )
""",
    "github/syncs/bad-records.py": """
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    await nango.batch_save(
        [
            {"id": "1", "number": "one", "title": "a"},
            {"id": "2", "number": 2, "title": "b"},
            {"id": "3", "number": "three", "title": "c"},
        ],
        "BadIssue",
    )
    await nango.batch_save([{"id": "c1"}, {"id": "c2", "email": "x@y.z"}], "BadContact")
""",
    "github/syncs/fetch-one.py": """
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    res = await nango.get(endpoint="/one")
    await nango.batch_save([{"id": "1", "number": 1, "title": res.data["title"]}], "OneIssue")
""",
    "github/actions/create-issue.py": """
from models import CreateIssue, IssueOut, NangoAction


async def run_action(nango: NangoAction, input: CreateIssue) -> IssueOut:
    res = await nango.post(endpoint="/repos/acme/app/issues", data={"title": input.title})
    return IssueOut(id=str(res.data["id"]), number=res.data["number"], url=res.data["html_url"])
""",
    "github/actions/fail.py": """
from models import ActionError, IssueOut, NangoAction


async def run_action(nango: NangoAction) -> IssueOut:
    raise ActionError({"reason": "x"})
""",
    "github/actions/boom.py": """
from models import IssueOut, NangoAction


def helper(value: str) -> int:
    raise ValueError("bad value " + value)


async def run_action(nango: NangoAction) -> IssueOut:
    helper("zz")
    return IssueOut(id="1", number=1, url="u")
""",
    "github/actions/slow.py": """
import asyncio

from models import IssueOut, NangoAction


async def run_action(nango: NangoAction) -> IssueOut:
    await asyncio.sleep(30)
    return IssueOut(id="1", number=1, url="u")
""",
    "github/actions/bad-output.py": """
from models import IssueOut, NangoAction


async def run_action(nango: NangoAction) -> IssueOut:
    return {"id": "1", "number": "not a number", "url": "u"}
""",
    "github/actions/echo.py": """
from models import EchoInput, EchoOutput, NangoAction


async def run_action(nango: NangoAction, input: EchoInput) -> EchoOutput:
    return {"value": "hello " + str(input.name)}
""",
    "github/actions/get-text.py": """
from models import EchoOutput, NangoAction


async def run_action(nango: NangoAction) -> EchoOutput:
    res = await nango.get(endpoint="/page", retries=0)
    return {"value": type(res.data).__name__ + ":" + res.data}
""",
    "github/actions/get-one.py": """
from models import GetOne, IssueOut, NangoAction


async def run_action(nango: NangoAction, input: GetOne) -> IssueOut:
    kwargs = {}
    if input.retries is not None:
        kwargs["retries"] = input.retries
    res = await nango.get(endpoint=input.path, **kwargs)
    return IssueOut(id=str(res.data["id"]), number=res.data["number"], url=res.data["url"])
""",
}


@pytest.fixture
def project(make_project: Callable[[dict[str, str]], Path]) -> Path:
    """A project with one `github` integration and the syncs and actions used by these tests."""
    return make_project({"nango.yaml": NANGO_YAML, **SCRIPTS})


@pytest.fixture
def connect(monkeypatch: pytest.MonkeyPatch, fake_api: FakeApi) -> Callable[..., None]:
    """Point the `github` integration (or another) at the fake API with a bearer token."""

    def setup(integration: str = "github", **settings: str) -> None:
        prefix = "NANGO_LOCAL_" + integration.upper().replace("-", "_") + "_"
        values = {"ACCESS_TOKEN": TOKEN, "BASE_URL": fake_api.url, **settings}
        for name, value in values.items():
            monkeypatch.setenv(prefix + name, value)

    setup()
    return setup
