"""A newcomer's first session: install the wheel into a fresh venv, then init, compile, add a
sync, generate, and break nango.yaml, all through the installed `nango` executable."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import outside_env

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = "Scripts" if os.name == "nt" else "bin"
# Read at import time, before the autouse fixture points HOME at a temporary folder.
PIP_CACHE_DIR = os.environ.get("PIP_CACHE_DIR") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pip"
)

NEW_SYNC = """\
      pull-requests:
        runs: every day
        output: GithubPullRequest
        endpoint: GET /pull-requests
"""
NEW_MODEL = """\
  GithubPullRequest:
    id: string
    title: string
"""
DEMO_FILES = [
    "nango.yaml",
    "models.py",
    ".nango/schema.json",
    ".nango/nango.json",
    "github/syncs/issues.py",
    "github/actions/create-issue.py",
    ".env",
    ".gitignore",
]
LOCATION = re.compile(r"nango\.yaml:(\d+):(\d+)")
EXAMPLES = re.compile(r"^\s*Examples?:", re.MULTILINE)


def clean_env(venv: Path) -> dict[str, str]:
    """os.environ minus NANGO_*, CI and Python path settings; colors off; the venv activated."""
    dropped = {"CI", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    env = outside_env(drop=dropped)
    env["NO_COLOR"] = "1"
    env["PIP_CACHE_DIR"] = PIP_CACHE_DIR
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv / BIN), env.get("PATH", "")])
    return env


def run(
    cmd: list[str | Path], *, cwd: Path, env: dict[str, str], expect: int = 0, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    found = subprocess.run(
        [str(part) for part in cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    shown = " ".join(str(part) for part in cmd)
    assert found.returncode == expect, (
        f"`{shown}` exited with {found.returncode}, expected {expect}\n"
        f"--- stdout\n{found.stdout}\n--- stderr\n{found.stderr}"
    )
    return found


def install_fresh(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Build a wheel of the repo, install it into a new venv; return its `nango` and the env."""
    wheels = tmp_path / "wheels"
    venv = tmp_path / "venv"
    env = clean_env(venv)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", REPO_ROOT, "--no-deps", "-w", wheels]
    run(pip_wheel, cwd=tmp_path, env=env, timeout=300)
    (wheel,) = wheels.glob("*.whl")
    run([sys.executable, "-m", "venv", venv], cwd=tmp_path, env=env)
    python = venv / BIN / "python"
    run([python, "-m", "pip", "install", wheel], cwd=tmp_path, env=env, timeout=600)
    where = run([python, "-c", "import cli; print(cli.__file__)"], cwd=tmp_path, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    return venv / BIN / "nango", env


def insert_lines(text: str, anchor: str, block: str, *, after: bool) -> str:
    """Insert `block` before or after the one line of `text` equal to `anchor`."""
    index = line_of(text, anchor) - (0 if after else 1)
    lines = text.splitlines(keepends=True)
    return "".join([*lines[:index], block, *lines[index:]])


def line_of(text: str, line: str) -> int:
    """1-based number of the one line equal to `line`."""
    lines = text.splitlines()
    assert lines.count(line) == 1, line
    return lines.index(line) + 1


def check_help(nango: Path, cwd: Path, env: dict[str, str]) -> None:
    for args in (["--help"], ["init", "--help"]):
        found = run([nango, *args], cwd=cwd, env=env)
        has_examples = EXAMPLES.search(found.stdout) is not None
        assert has_examples, f"no Example(s): section in nango {' '.join(args)}:\n{found.stdout}"


def check_init_and_compile(nango: Path, tmp_path: Path, env: dict[str, str]) -> Path:
    run([nango, "init", "demo"], cwd=tmp_path, env=env)
    demo = tmp_path / "demo"
    missing = [name for name in DEMO_FILES if not (demo / name).is_file()]
    assert not missing, f"nango init did not create {missing}"
    run([nango, "compile"], cwd=demo, env=env)
    return demo


def check_add_sync(nango: Path, demo: Path, env: dict[str, str]) -> str:
    """Add a sync and its model by inserting lines; generate writes its stub and model."""
    config = demo / "nango.yaml"
    original = config.read_text(encoding="utf-8")
    issues_script = (demo / "github/syncs/issues.py").read_text(encoding="utf-8")
    edited = insert_lines(original, "    actions:", NEW_SYNC, after=False)
    edited = insert_lines(edited, "models:", NEW_MODEL, after=True)
    config.write_text(edited, encoding="utf-8")
    run([nango, "generate"], cwd=demo, env=env)
    stub = demo / "github/syncs/pull-requests.py"
    assert stub.is_file(), "nango generate did not create the new sync's stub"
    assert "async def fetch_data" in stub.read_text(encoding="utf-8")
    assert "class GithubPullRequest" in (demo / "models.py").read_text(encoding="utf-8")
    assert (demo / "github/syncs/issues.py").read_text(encoding="utf-8") == issues_script
    assert config.read_text(encoding="utf-8") == edited
    run([nango, "compile"], cwd=demo, env=env)
    return edited


def check_broken(
    nango: Path, demo: Path, env: dict[str, str], text: str, lines: set[int]
) -> list[tuple[int, int]]:
    """Write `text` as nango.yaml: generate exits 1 naming exactly `lines`, compile exits 10."""
    (demo / "nango.yaml").write_text(text, encoding="utf-8")
    found = run([nango, "generate"], cwd=demo, env=env, expect=1)
    locations = [(int(line), int(col)) for line, col in LOCATION.findall(found.stderr)]
    assert {line for line, _ in locations} == lines, found.stderr
    assert "Traceback" not in found.stderr + found.stdout, found.stderr
    compiled = run([nango, "compile"], cwd=demo, env=env, expect=10)
    assert "Traceback" not in compiled.stderr + compiled.stdout, compiled.stderr
    return locations


def check_errors(nango: Path, demo: Path, env: dict[str, str], valid: str) -> None:
    # Two schema errors: the `issues` sync loses `runs`, and gains an unknown key.
    two_errors = valid.replace("        runs: every hour\n", "", 1)
    two_errors = insert_lines(
        two_errors, "        scopes: repo", "        colour: blue\n", after=True
    )
    sync_line = line_of(two_errors, "      issues:")
    key_line = line_of(two_errors, "        colour: blue")
    locations = check_broken(nango, demo, env, two_errors, {sync_line, key_line})
    assert (key_line, 9) in locations, locations
    # A YAML syntax error: a second `: ` on one line.
    syntax = valid.replace("        runs: every hour\n", "        runs: every: hour\n", 1)
    check_broken(nango, demo, env, syntax, {line_of(syntax, "        runs: every: hour")})


@pytest.mark.slow
def test_newcomer_from_wheel(tmp_path: Path) -> None:
    nango, env = install_fresh(tmp_path)
    demo = check_init_and_compile(nango, tmp_path, env)
    valid = check_add_sync(nango, demo, env)
    check_errors(nango, demo, env, valid)
    check_help(nango, tmp_path, env)
