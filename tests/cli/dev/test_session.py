"""The core of `nango dev` in-process: what each kind of change leads to, without a watcher."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cli.dev.events import CycleResult
from cli.dev.session import DevSession
from cli.init.scaffold import init_project
from cli.project import Project

SYNC = "github/syncs/issues.py"
ACTION = "github/actions/create-issue.py"


@pytest.fixture
def session(tmp_path: Path) -> DevSession:
    root = init_project(path=tmp_path / "demo").root
    session = DevSession(Project(root))
    first = session.start()
    assert first.ok and [s.test for s in first.scripts] == ["passed", "passed"]
    return session


def _save(session: DevSession, relative: str, text: str) -> CycleResult | None:
    path = session.project.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    changes = session.changes([path])
    return session.cycle(changes) if changes else None


def _read(session: DevSession, relative: str) -> str:
    return (session.project.root / relative).read_text(encoding="utf-8")


def _tested(result: CycleResult | None) -> list[tuple[str, str, str]]:
    assert result is not None
    return [(s.name, s.compile, s.test) for s in result.scripts]


def test_a_save_that_changes_nothing_and_generated_files_start_no_cycle(
    session: DevSession,
) -> None:
    assert _save(session, SYNC, _read(session, SYNC)) is None
    root = session.project.root
    for path in (root / "models.py", root / ".nango" / "nango.json", root / "notes.txt"):
        path.write_text(path.read_text(encoding="utf-8") + " " if path.exists() else "x")
        assert not session.changes([path])


def test_a_changed_script_runs_its_new_code(session: DevSession) -> None:
    text = _read(session, SYNC).replace('title=item["title"]', 'title=item["title"].upper()')
    result = _save(session, SYNC, text)
    assert _tested(result) == [("issues", "ok", "failed")]
    assert result is not None and result.first_failure is not None
    failure = result.first_failure
    assert failure.file == "github/tests/issues.test.json"
    assert failure.message.startswith("batch_save GithubIssue")
    assert any('"title"' in line for line in failure.details)


def test_a_changed_fixture_is_replayed(session: DevSession) -> None:
    fixture = "github/tests/create-issue.test.json"
    original = _read(session, fixture)
    expected = '"id": "1000008",\n    "number": 8,'
    assert expected in original
    changed = original.replace(expected, '"id": "1000008",\n    "number": 9,')
    assert _tested(_save(session, fixture, changed)) == [("create-issue", "ok", "failed")]
    assert _tested(_save(session, fixture, original)) == [("create-issue", "ok", "passed")]


def test_a_changed_helper_retests_the_scripts_importing_it(session: DevSession) -> None:
    _save(session, "github/labels.py", "def names(item):\n    return ['a']\n")
    text = _read(session, SYNC).replace(
        "from models import", "from github.labels import names  # noqa: F401\nfrom models import"
    )
    assert _tested(_save(session, SYNC, text)) == [("issues", "ok", "passed")]
    result = _save(session, "github/labels.py", "def names(item):\n    return ['b']\n")
    assert _tested(result) == [("issues", "ok", "passed")]


def test_a_broken_config_keeps_failing_cycles_until_fixed(session: DevSession) -> None:
    config = _read(session, "nango.yaml")
    failed = _save(session, "nango.yaml", config.replace("runs: every hour", "runs: sometimes"))
    assert failed is not None and not failed.ok
    assert [(p.file, p.line, p.code) for p in failed.config_errors] == [
        ("nango.yaml", 10, "invalid_runs")
    ]
    during = _save(session, SYNC, _read(session, SYNC) + "\n# still broken\n")
    assert during is not None and not during.ok and _tested(during) == [("issues", "ok", "passed")]
    fixed = _save(session, "nango.yaml", config)
    assert fixed is not None and fixed.ok and fixed.scripts == []


def test_env_changes_are_read_again(session: DevSession, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NANGO_SECRET_KEY_PROD", "from-the-shell")
    result = _save(session, ".env", "NANGO_HOSTPORT=http://a:1\nNANGO_SECRET_KEY_PROD=file\n")
    assert result is not None and result.env_reloaded and result.ok
    assert os.environ["NANGO_HOSTPORT"] == "http://a:1"
    _save(session, ".env", "NANGO_HOSTPORT=http://b:2\n")
    assert os.environ["NANGO_HOSTPORT"] == "http://b:2"
    _save(session, ".env", "# nothing\n")
    assert "NANGO_HOSTPORT" not in os.environ
    assert os.environ["NANGO_SECRET_KEY_PROD"] == "from-the-shell"


def test_without_tests_scripts_are_only_compiled(tmp_path: Path) -> None:
    root = init_project(path=tmp_path / "demo").root
    result = DevSession(Project(root), run_tests=False).start()
    assert [(s.compile, s.test) for s in result.scripts] == [("ok", "skipped")] * 2


def test_a_deleted_script_fails_to_compile_and_a_stub_is_not_recreated_by_a_save(
    session: DevSession,
) -> None:
    path = session.project.root / ACTION
    path.unlink()
    result = session.cycle(session.changes([path]))
    assert _tested(result) == [("create-issue", "failed", "skipped")]
    assert result.first_failure is not None and result.first_failure.code == "missing_script"


def test_a_failure_stays_shown_until_fixed(session: DevSession) -> None:
    action = _read(session, ACTION)
    broken = _save(session, ACTION, action + "\ndef oops(:\n")
    assert broken is not None and not broken.ok
    other = _save(session, SYNC, _read(session, SYNC) + "\n# unrelated\n")
    assert other is not None and other.ok and not other.is_all_green
    assert other.first_failure is not None and other.first_failure.file == ACTION
    fixed = _save(session, ACTION, action)
    assert fixed is not None and fixed.is_all_green and fixed.first_failure is None


def test_config_warnings_are_kept_until_the_config_changes(session: DevSession) -> None:
    config = _read(session, "nango.yaml")
    warned = _save(session, "nango.yaml", config.replace("output: IssueOutput", "output: Nope"))
    assert warned is not None and warned.ok and warned.warnings
    assert warned.warnings[0].file == "nango.yaml" and warned.warnings[0].line
    later = _save(session, SYNC, _read(session, SYNC) + "\n# later\n")
    assert later is not None and later.warnings == warned.warnings
    cleared = _save(session, "nango.yaml", config)
    assert cleared is not None and cleared.warnings == []


def test_a_half_written_config_never_stops_the_session(session: DevSession) -> None:
    config = _read(session, "nango.yaml")
    for end in range(0, len(config), 23):
        result = _save(session, "nango.yaml", config[:end])
        assert result is not None
        if not result.ok:
            assert all(p.file == "nango.yaml" for p in result.config_errors)
    restored = _save(session, "nango.yaml", config)
    assert restored is not None and restored.is_all_green


def test_a_broken_fixture_or_an_unexpected_error_is_a_failed_script(
    session: DevSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _save(session, "github/tests/issues.test.json", "{not json")
    assert _tested(result) == [("issues", "ok", "failed")]
    assert result is not None and result.first_failure is not None
    assert result.first_failure.code == "bad_fixture"

    import cli.dev.checking as checking

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(checking, "check_one", explode)
    failed = _save(session, SYNC, _read(session, SYNC) + "\n# boom\n")
    assert failed is not None and failed.first_failure is not None
    assert failed.first_failure.message == "RuntimeError: boom"

    import cli.dev.session as module

    monkeypatch.setattr(module, "load_config", explode)
    config = _save(session, "nango.yaml", _read(session, "nango.yaml") + "\n# x\n")
    assert config is not None and config.config_errors[0].code == "internal_error"


def test_an_unreadable_env_file_sets_nothing(session: DevSession) -> None:
    result = _save(session, ".env", "")
    (session.project.root / ".env").write_bytes(b"NANGO_X=\xff\xfe\n")
    result = session.cycle(session.changes([session.project.root / ".env"]))
    assert result.env_reloaded and "NANGO_X" not in os.environ
