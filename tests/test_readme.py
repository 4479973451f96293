"""Every code block of README.md works: the Quick start's commands run, configs load without
errors (or warnings), Python blocks are the example project's own files, JSON parses."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from cli.config.loader import load_config_text
from tests.helpers import REPO_ROOT, Cli

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
    assert languages <= {"", "bash", "yaml", "python", "json", "text"}


@pytest.mark.parametrize(("text", "line"), _blocks("yaml"), ids=_ids(_blocks("yaml")))
def test_yaml_blocks_are_valid_configs(text: str, line: int) -> None:
    loaded = load_config_text(text)
    assert loaded.warnings == [], [w.message for w in loaded.warnings]


@pytest.mark.parametrize(("text", "line"), _blocks("python"), ids=_ids(_blocks("python")))
def test_python_blocks_are_the_example_projects_files(text: str, line: int) -> None:
    first, _, code = text.partition("\n")
    assert first.startswith("# "), "a Python block starts with `# <path in the example project>`"
    relative = first[2:].strip()
    candidates = [EXAMPLE / f"{relative}.tmpl", EXAMPLE / relative]
    found = next((p for p in candidates if p.is_file()), None)
    assert found is not None, f"{relative} is not a file of the example project"
    assert code == found.read_text(encoding="utf-8")


@pytest.mark.parametrize(("text", "line"), _blocks("json"), ids=_ids(_blocks("json")))
def test_json_blocks_parse(text: str, line: int) -> None:
    json.loads(text)


def test_env_blocks_name_known_settings() -> None:
    envs = [text for text, _ in _blocks("bash") if text.startswith("# .env")]
    assert envs
    for text in envs:
        for row in text.splitlines()[1:]:
            assert re.match(r"^NANGO_[A-Z_]+=", row), row


def test_quick_start_commands_run(cli: Cli, tmp_path: Path) -> None:
    first = next(text for text, _ in _blocks("bash") if "nango init" in text)
    commands = [shlex.split(part) for part in first.strip().strip("()").split(" && ")]
    nango = [c[1:] for c in commands if c and c[0] == "nango"]
    assert [c[0] for c in nango] == ["init", "compile", "dryrun", "test"]
    cwd = tmp_path
    for command in commands:
        if command[:1] == ["cd"] and command[1] != "$(mktemp -d)":
            cwd = cwd / command[1]
        elif command[:1] == ["nango"]:
            cli(*command[1:], cwd=cwd)


def test_the_test_command_is_what_ci_runs() -> None:
    second = [text for text, _ in _blocks("bash") if "pytest" in text]
    assert second and "pip install -q -e '.[test]'" in second[0]
    assert "python -m pytest" in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
