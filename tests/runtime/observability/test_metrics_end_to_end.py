"""End to end on PostgreSQL: two runtime processes (API + worker each, real run processes) share
one database; the `nango init` example deployed, a sync and an action run. Summed over the two
`/metrics`, each run is counted once with its records; the database's figures agree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from runtime.store import open_store
from tests.helpers import TOKEN, Cli, FakeApi, ok
from tests.runtime_harness import DEV_KEY, RuntimeProcess, runtime_process, wait_until

pytestmark = pytest.mark.slow

ENCRYPTION_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
ISSUES = "/repos/octocat/hello-world/issues"


def issue(number: int) -> dict[str, Any]:
    return {
        "id": 1000 + number,
        "number": number,
        "title": f"Issue {number}",
        "state": "open",
        "user": {"login": "octocat"},
        "labels": [],
        "html_url": f"https://github.com/octocat/hello-world/issues/{number}",
        "body": None,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-02T00:00:00Z",
    }


@pytest.fixture
def runtimes(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres: Any
) -> Iterator[tuple[list[RuntimeProcess], str]]:
    api = FakeApi()
    api.route(ISSUES, ok([issue(1), issue(2), issue(3), issue(4)]))
    api.route("/repos/acme/app/issues", ok({"id": 77, "number": 7, "html_url": "https://x/7"}))
    api.start()
    url = postgres.create_database()
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    settings = {"lease_seconds": 5}
    with (
        runtime_process(first, url, settings=settings) as one,
        runtime_process(second, url, settings=settings) as two,
    ):
        monkeypatch.setenv("NANGO_HOSTPORT", one.url)
        monkeypatch.setenv("NANGO_SECRET_KEY_DEV", DEV_KEY)
        cli("init", str(tmp_path / "demo"), cwd=tmp_path)
        cli("deploy", "dev", cwd=tmp_path / "demo")
        with open_store(url, encryption_key=ENCRYPTION_KEY) as store:
            environment = store.environments.get("dev")
            assert environment is not None
            store.integrations.update(environment.id, "github", base_url_override=api.url)
            store.connections.upsert(
                environment.id,
                "github",
                "acme",
                credentials={"type": "OAUTH2", "access_token": TOKEN},
                metadata={"owner": "octocat", "repo": "hello-world"},
            )
        yield [one, two], url
    api.stop()


def scrape(runtime: RuntimeProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{runtime.url}/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(scrapes: list[dict[Any, float]], name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return sum(found.get(key, 0.0) for found in scrapes)


def ended_runs(url: str) -> list[Any] | None:
    """Every run of the database, once none is active (None before)."""
    with open_store(url, encryption_key=ENCRYPTION_KEY, migrate=False) as store:
        environment = store.environments.get("dev")
        assert environment is not None
        runs = store.tasks.list_runs(environment.id, limit=1000)
    return runs if runs and all(run.is_done for run in runs) else None


def figures_of_runs(runs: list[Any]) -> dict[str, float]:
    """What the metrics must say, summed over the processes, about these ended runs."""
    figures: dict[str, float] = {"added": 0}
    for run in runs:
        for name in (f"started {run.kind}", f"{run.kind} {run.state}"):
            figures[name] = figures.get(name, 0) + 1
        figures["added"] += sum(c["added"] for c in (run.counts or {}).values())
    return figures


def figures_of_metrics(scrapes: list[dict[Any, float]]) -> dict[str, float]:
    figures: dict[str, float] = {
        "added": total(scrapes, "nango_records_written_total", change="added")
    }
    for kind in ("sync", "action", "on-event", "webhook"):
        started = total(scrapes, "nango_runs_started_total", kind=kind)
        if started:
            figures[f"started {kind}"] = started
        for state in ("SUCCEEDED", "FAILED", "EXPIRED", "CANCELLED"):
            ended = total(scrapes, "nango_runs_total", kind=kind, state=state)
            if ended:
                figures[f"{kind} {state}"] = ended
    return figures


def test_two_processes_count_each_run_once(
    runtimes: tuple[list[RuntimeProcess], str],
) -> None:
    (one, two), url = runtimes
    with one.client() as client:
        body = {"syncs": ["issues"], "provider_config_key": "github", "connection_id": "acme"}
        assert client.post("/sync/trigger", json=body).status_code == 200
        headers = {"Connection-Id": "acme", "Provider-Config-Key": "github"}
        issue_input = {"owner": "acme", "repo": "app", "title": "Hi"}
        action = {"action_name": "create-issue", "input": issue_input}
        assert client.post("/action/trigger", json=action, headers=headers).status_code == 200
    seen: list[Any] = []

    def agreeing() -> list[dict[Any, float]] | None:
        # A run's end is counted when its worker sees its process end (a tick after the
        # database says it ended), and the schedule may start more runs: wait until the
        # database and the metrics agree.
        runs = ended_runs(url)
        scrapes = [scrape(one), scrape(two)]
        if runs is None:
            return None
        seen[:] = [figures_of_runs(runs), figures_of_metrics(scrapes)]
        return scrapes if seen[0] == seen[1] else None

    try:
        scrapes = wait_until(agreeing, timeout=60)
    except AssertionError:
        raise AssertionError(f"the database and the metrics disagree: {seen}") from None
    expected = seen[0]
    assert expected.get("sync SUCCEEDED", 0) >= 1 and expected.get("action SUCCEEDED") == 1
    assert expected["added"] >= 4
    duration = "nango_run_duration_seconds_count"
    syncs = expected["sync SUCCEEDED"]
    assert total(scrapes, duration, kind="sync", state="SUCCEEDED") == syncs
    for name in ("nango_database_up", "nango_queue_depth"):
        labels = {} if name == "nango_database_up" else {"kind": "sync"}
        key = (name, tuple(sorted(labels.items())))
        # global, read from the database: the same from both (the schedule may queue a run
        # between the two scrapes, so they are taken again until a pair agrees)
        wait_until(lambda key=key: scrape(one)[key] == scrape(two)[key], timeout=30)
