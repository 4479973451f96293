"""Every code block of README.md works: the Quick start's commands run, configs load without
errors (or warnings), Python blocks are the example project's own files, JSON parses."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cli.config.loader import load_config_text
from tests.helpers import REPO_ROOT, outside_env

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
BLOCKS = [
    (m.group(1), m.group(2), README.count("\n", 0, m.start()) + 1) for m in BLOCK.finditer(README)
]
EXAMPLE = REPO_ROOT / "templates" / "project"


def _blocks(language: str) -> list[tuple[str, int]]:
    return [(text, line) for lang, text, line in BLOCKS if lang == language]


def _ids(blocks: list[tuple[str, int]]) -> list[str]:
    return [f"README.md:{line}" for _, line in blocks]


def test_every_block_has_a_known_language() -> None:
    languages = {lang for lang, _, _ in BLOCKS}
    assert languages <= {"", "bash", "yaml", "python", "json", "text", "javascript"}


@pytest.mark.parametrize(("text", "line"), _blocks("yaml"), ids=_ids(_blocks("yaml")))
def test_yaml_blocks_are_valid_configs(text: str, line: int) -> None:
    loaded = load_config_text(text)
    assert loaded.warnings == [], [w.message for w in loaded.warnings]


BACKEND = "# your backend"


@pytest.mark.parametrize(("text", "line"), _blocks("python"), ids=_ids(_blocks("python")))
def test_python_blocks_are_the_example_projects_files(text: str, line: int) -> None:
    first, _, code = text.partition("\n")
    if first.startswith(BACKEND):  # code of the reader's own backend: it must compile
        compile(text, f"README.md:{line}", "exec")
        return
    assert first.startswith("# "), "a Python block starts with `# <path in the example project>`"
    relative = first[2:].strip()
    candidates = [EXAMPLE / f"{relative}.tmpl", EXAMPLE / relative]
    found = next((p for p in candidates if p.is_file()), None)
    assert found is not None, f"{relative} is not a file of the example project"
    assert code == found.read_text(encoding="utf-8")


@pytest.mark.parametrize(("text", "line"), _blocks("javascript"), ids=_ids(_blocks("javascript")))
def test_javascript_blocks_parse(text: str, line: int, tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    assert text.startswith("// your backend")
    script = tmp_path / "block.js"
    script.write_text(text, encoding="utf-8")
    checked = subprocess.run(
        ["node", "--check", str(script)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize(("text", "line"), _blocks("json"), ids=_ids(_blocks("json")))
def test_json_blocks_parse(text: str, line: int) -> None:
    json.loads(text)


def test_env_blocks_name_known_settings() -> None:
    envs = [text for text, _ in _blocks("bash") if text.startswith("# .env")]
    assert envs
    for text in envs:
        for row in text.splitlines()[1:]:
            assert re.match(r"^NANGO_[A-Z_]+=", row), row


INSTALL = "python3 -m venv .venv && . .venv/bin/activate && pip install -q . && "


def _quick_start() -> str:
    return next(text for text, _ in _blocks("bash") if "nango init" in text).strip()


def test_quick_start_goes_from_install_to_records_and_stops_what_it_started() -> None:
    commands = _quick_start().strip("()").split(" && ")
    nango = [shlex.split(c)[1:3] for c in commands if c.startswith("nango ")]
    assert [c[0] for c in nango[:4]] == ["init", "compile", "dryrun", "test"]
    assert ["runtime", "start"] in nango and ["deploy", "dev"] in nango
    assert nango[-3:] == [["fixtures", "stop"], ["runtime", "stop"], ["warm", "stop"]]
    assert _quick_start().startswith("(" + INSTALL)


@pytest.mark.slow
def test_quick_start_runs(tmp_path: Path) -> None:
    """The first command, as a shell runs it (real processes: the runtime, the fixtures
    server), in this test's environment instead of a new one (no pip install), on free ports."""
    script = _quick_start().replace(INSTALL, "")
    port = _free_port()
    script = script.replace("3004", str(port))
    environment = outside_env()
    environment.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}",
        TMPDIR=str(tmp_path),
        NO_COLOR="1",
        COLUMNS="200",
    )
    environment.pop("CI", None)
    try:
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        _stop_leftovers(tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert re.search(r"github/issues\s+demo\s+SUCCEEDED\s+\+4 ~0 -0", output), output
    assert "4 records of GithubIssue" in output, output
    assert "fixtures server (pid" in output and "nango runtime (pid" in output
    (env_file,) = tmp_path.glob("*/demo/.env")
    assert re.search(r"^NANGO_SECRET_KEY_DEV=[0-9a-f-]{36}$", env_file.read_text(), re.M)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stop_leftovers(root: Path) -> None:
    """Background processes a failed run left behind (their pid files)."""
    for pid_file in [*root.glob("*/demo/.runtime/runtime.pid"), *root.glob("*/demo/.nango/*.pid")]:
        with contextlib.suppress(ValueError, OSError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


def test_the_test_command_is_what_ci_runs() -> None:
    second = [text for text, _ in _blocks("bash") if "pytest" in text]
    assert second and "pip install -q -e '.[test]'" in second[0]
    assert "&& pytest -n 2)" in second[0]
    assert "python -m pytest -n 2" in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
