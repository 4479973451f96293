"""End to end: a real `nango dev --json` process on the `nango init` example, driven by saving
files and read through its stdout, one JSON object per cycle."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.init.scaffold import init_project
from tests.cli.dev.dev_process import DevProcess, Event, touches

pytestmark = pytest.mark.slow

SYNC = "github/syncs/issues.py"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return init_project(path=tmp_path / "demo").root


@pytest.fixture
def dev(project: Path, tmp_path: Path) -> Iterator[DevProcess]:
    with (tmp_path / "dev.stderr").open("w") as stderr, DevProcess(project, stderr=stderr) as dev:
        first = dev.next_event()
        assert first["cycle"] == 1 and first["ok"], first
        assert {s["name"] for s in first["scripts"]} == {"issues", "create-issue"}
        yield dev


def _save(project: Path, relative: str, text: str) -> None:
    (project / relative).write_text(text, encoding="utf-8")


def _saved_cycle(dev: DevProcess, relative: str) -> Event:
    return dev.wait_for(lambda e: relative in e.get("changed", []))


def test_a_saved_script_is_compiled_and_tested_then_a_syntax_error_shows_file_and_line(
    dev: DevProcess, project: Path
) -> None:
    source = (project / SYNC).read_text(encoding="utf-8")
    _save(project, SYNC, source + "\n# a comment\n")
    saved = _saved_cycle(dev, SYNC)
    assert saved["ok"] is True
    assert [(s["name"], s["compile"], s["test"]) for s in saved["scripts"]] == [
        ("issues", "ok", "passed")
    ]

    broken = source + "\n\ndef oops(:\n    pass\n"
    _save(project, SYNC, broken)
    failed = _saved_cycle(dev, SYNC)
    assert failed["ok"] is False
    error = failed["scripts"][0]["error"]
    assert failed["scripts"][0]["compile"] == "failed"
    assert error["file"] == SYNC
    assert error["line"] == broken.count("\n", 0, broken.index("def oops")) + 1

    _save(project, SYNC, source)
    fixed = _saved_cycle(dev, SYNC)
    assert fixed["ok"] is True and fixed["scripts"][0]["test"] == "passed"


def test_a_burst_of_saves_gives_at_most_two_cycles(dev: DevProcess, project: Path) -> None:
    source = (project / SYNC).read_text(encoding="utf-8")
    for number in range(20):
        _save(project, SYNC, source + f"\n# save {number}\n")
    last = dev.wait_for(lambda e: touches(e, "issues"))
    cycles = [last, *dev.quiet_events(3.0)]
    assert len([e for e in cycles if touches(e, "issues")]) <= 2, cycles
    assert cycles[-1]["ok"] is True


def test_a_broken_config_shows_every_error_and_the_watch_goes_on(
    dev: DevProcess, project: Path
) -> None:
    config = (project / "nango.yaml").read_text(encoding="utf-8")
    broken = config.replace("runs: every hour", "runs: every blue moon").replace(
        "endpoint: POST /issues", "endpoint: FETCH /issues"
    )
    _save(project, "nango.yaml", broken)
    failed = _saved_cycle(dev, "nango.yaml")
    assert failed["ok"] is False
    assert len(failed["errors"]) >= 2
    for error in failed["errors"]:
        assert error["file"] == "nango.yaml" and error["line"] and error["column"], error
    assert dev.process.poll() is None

    _save(project, "nango.yaml", config)
    assert _saved_cycle(dev, "nango.yaml")["ok"] is True


def test_a_new_sync_gets_its_stub_and_model(dev: DevProcess, project: Path) -> None:
    config = (project / "nango.yaml").read_text(encoding="utf-8")
    added = config.replace(
        "    actions:\n",
        "      labels:\n        runs: every day\n        output: GithubLabel\n"
        "        endpoint: GET /labels\n    actions:\n",
    ).replace("models:\n", "models:\n  GithubLabel:\n    id: string\n    name: string\n")
    _save(project, "nango.yaml", added)
    cycle = _saved_cycle(dev, "nango.yaml")
    assert cycle["ok"] is True, cycle
    assert "github/syncs/labels.py" in cycle["created"]
    assert [(s["name"], s["test"]) for s in cycle["scripts"]] == [("labels", "no fixture")]
    assert "class GithubLabel(" in (project / "models.py").read_text(encoding="utf-8")
    assert (project / "github" / "syncs" / "labels.py").is_file()


def test_a_changed_model_retests_the_scripts_that_use_it(dev: DevProcess, project: Path) -> None:
    config = (project / "nango.yaml").read_text(encoding="utf-8")
    changed = config.replace("    url: string\n", "    url: string\n    draft?: boolean\n", 1)
    assert "draft?" in changed.split("GithubIssue:")[1].split("CreateIssueInput:")[0]
    _save(project, "nango.yaml", changed)
    cycle = _saved_cycle(dev, "nango.yaml")
    assert cycle["ok"] is True, cycle
    assert [s["name"] for s in cycle["scripts"]] == ["issues"]
    assert "models.py" in cycle["generated"]


def test_ctrl_c_and_sigterm_stop_cleanly(project: Path, tmp_path: Path) -> None:
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 0)):
        log = tmp_path / f"dev-{sig}.stderr"
        with log.open("w") as stderr, DevProcess(project, stderr=stderr) as dev:
            assert dev.next_event()["ok"] is True
            assert dev.stop(sig) == code
        assert "Traceback" not in log.read_text(encoding="utf-8")


def test_deploy_after_green_cycles(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runtime.server.app import create_app
    from runtime.settings import RuntimeSettings
    from runtime.store import open_store, sqlite_url
    from tests.runtime.store.conftest import TEST_KEY
    from tests.runtime_harness import DEV_KEY, serve_in_thread

    store = open_store(sqlite_url(tmp_path / "runtime.db"), encryption_key=TEST_KEY)
    environment = store.environments.ensure("dev", secret_key=DEV_KEY).environment
    settings = RuntimeSettings(data_dir=tmp_path / "data")
    try:
        with serve_in_thread(create_app(settings, store)) as url:
            monkeypatch.setenv("NANGO_HOSTPORT", url)
            monkeypatch.setenv("NANGO_SECRET_KEY_DEV", DEV_KEY)
            with DevProcess(project, "--deploy") as dev:
                first = dev.wait_for(lambda e: "deploy" in e)["deploy"]
                assert first["ok"] and first["plan"].startswith("+2 ~0 -0"), first
                assert sorted(first["deployed"]) == ["github/create-issue", "github/issues"]

                source = (project / SYNC).read_text(encoding="utf-8")
                _save(project, SYNC, source.replace('"state": "all"', '"state": "open"'))
                assert _saved_cycle(dev, SYNC)["ok"] is False  # no fixture for that request
                assert not any("deploy" in e for e in dev.quiet_events(3.0))
                _save(project, SYNC, source + "\n# deployed on a green cycle\n")
                second = dev.wait_for(lambda e: "deploy" in e)["deploy"]
                assert second["ok"] and second["plan"].startswith("+0 ~1 -0"), second
                assert second["deployed"] == ["github/issues"]
        active = store.scripts.list_active(environment.id)
        assert sorted((s.name, s.version) for s in active) == [
            ("create-issue", "1"),
            ("issues", "2"),
        ]
    finally:
        store.close()
