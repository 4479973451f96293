"""`nango generate` on mutated real nango.yaml files: it fails cleanly or its output is valid.

Seeds are the corpus files (`../shared/corpus/nango-yaml/*/nango.yaml`) and a small file of our
own. Each example applies a few mutations to a seed's data (keys deleted or renamed, values
swapped for other YAML types, control characters, deep nesting, shared values that YAML writes as
aliases), writes it back as YAML, sometimes damages the text (control characters, truncation,
other encodings, alias bombs), and runs `nango generate` through the CLI. It must exit 0 or 1,
never with "unexpected error"; every error must be positioned (file:line:column) or file-level
with a reason; when it succeeds, every generated JSON file is strict JSON, models.py imports and
every stub compiles.

Bounded for CI in count and in time: `NANGO_FUZZ_EXAMPLES` examples (default 25) and
`NANGO_FUZZ_SECONDS` seconds (default 90: examples drawn after that are not run). Set both
higher to search longer.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cli.config.yaml_source import parse_yaml
from runtime.sdk import nango as sdk
from runtime.sdk.types import PUBLIC_TYPES
from tests.conftest import CORPUS, Cli

EXAMPLES = int(os.environ.get("NANGO_FUZZ_EXAMPLES", "25"))
BUDGET_S = float(os.environ.get("NANGO_FUZZ_SECONDS", "90"))
_clock_started: list[float] = []


def _over_budget() -> bool:
    """True once the fuzz test has run for `BUDGET_S` seconds (its first example starts it)."""
    if not _clock_started:
        _clock_started.append(time.monotonic())
    return time.monotonic() - _clock_started[0] > BUDGET_S


CORPUS_FILES = sorted((CORPUS / "nango-yaml").glob("*/nango.yaml"))
SEED = """\
integrations:
  github:
    syncs:
      issues:
        description: Fetches the issues.
        runs: every hour
        output: Issue
        endpoint: GET /issues
        webhook-subscriptions: [issue.updated]
    actions:
      create-issue:
        endpoint: POST /issues
        input: CreateIssue
        output: Issue
    on-events:
      post-connection-creation: [setup]
models:
  User:
    id: string
    login?: string | null
  Issue:
    id: string
    title: string
    state: open | closed
    labels: string[]
    author: User
    meta:
      score: number
      tags: [string, number]
    __string: any
  CreateIssue:
    __extends: User
    title: string
"""
FILE_LEVEL_CODES = {"empty_file", "invalid_encoding", "file_unreadable", "missing_property"}
ISSUE_LINE = re.compile(
    r"^(?P<file>\S*nango\.yaml)(?::(?P<line>\d+):(?P<column>\d+))? (?P<severity>error|warning) "
    r"(?P<message>.+) \[(?P<code>[a-z_]+)\]$"
)
CONTROL_CHARACTERS = ["\x00", "\x07", "\x1b", "\x1b[31m", "\x7f", "\x85", "\u202e", "\r", "\t"]
_modules = itertools.count()


def seeds() -> list[str]:
    if not CORPUS_FILES and os.environ.get("CI"):
        pytest.fail(f"the shared corpus is missing (looked in {CORPUS})")
    return [SEED, *(p.read_text(encoding="utf-8") for p in CORPUS_FILES)]


SEEDS = seeds()

# ----- strategies

HOSTILE_NAMES = [
    "../escaped",
    "/abs/x",
    "..",
    ".",
    "$(touch x)",
    "a\x00b",
    "a\x1bb",
    "a\nb",
    "a\u202eb",
]
names = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
    st.sampled_from(["_", "-", "x?", "a|b", "X[]", "__extends", "<<", *HOSTILE_NAMES]),
)
special_text = st.lists(
    st.one_of(
        st.sampled_from(CONTROL_CHARACTERS), st.sampled_from(['"""', "\\", "'", "$x"]), names
    ),
    min_size=1,
    max_size=5,
).map("".join)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("inf"), float("-inf"), float("nan"), 10**400, 2**53 + 1, 1e21]),
    names,
    special_text,
    st.sampled_from(
        [
            "string",
            "number",
            "date",
            "Issue",
            "User",
            "string[]",
            "a | b",
            "Record<string, x>",
            "every hour",
            "every 1s",
            "GET /x",
            "POST /y/{Issue:id}",
            "[]",
            "",
            "null",
            ".inf",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(names, inner, max_size=4)),
    max_leaves=12,
)
SDK_NAMES = ["ActionError", "NangoSync", "NangoAction", "HttpError", "Connection", "ProxyResponse"]


def containers(data: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) of a tree, walked with a stack."""
    found: list[tuple[Any, Any]] = []
    pending = [data]
    seen: set[int] = set()
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            found.append((node, key))
            if isinstance(value, dict | list):
                pending.append(value)
    return found


def mutate_anywhere(data: Any, draw: st.DataObject) -> None:
    places = containers(data)
    if not places:
        return
    container, key = draw.draw(st.sampled_from(places))
    kind = draw.draw(st.sampled_from(["delete", "rename", "retype", "nest", "share", "control"]))
    if kind == "delete":
        del container[key]
    elif kind == "rename" and isinstance(container, dict):
        container[draw.draw(names)] = container.pop(key)
    elif kind == "retype":
        container[key] = draw.draw(values)
    elif kind == "nest":
        depth = draw.draw(st.integers(min_value=1, max_value=130))
        value = container[key]
        for _ in range(depth):
            value = [value] if draw.draw(st.booleans()) else {"k": value}
        container[key] = value
    elif kind == "share":  # the same object twice: YAML writes an anchor and an alias
        other, other_key = draw.draw(st.sampled_from(places))
        container[key] = other[other_key]
    elif kind == "control" and isinstance(container[key], str):
        text = container[key]
        at = draw.draw(st.integers(min_value=0, max_value=len(text)))
        container[key] = text[:at] + draw.draw(special_text) + text[at:]


def sections(data: Any, name: str) -> list[dict[str, Any]]:
    """Every mapping found under a key `name` (the syncs, actions... of every integration)."""
    return [c[k] for c, k in containers(data) if k == name and isinstance(c[k], dict)]


def mutate_where_it_matters(data: Any, draw: st.DataObject) -> None:
    """Changes aimed at what becomes a path, a docstring, a class or a number in the output."""
    integrations = data.get("integrations") if isinstance(data, dict) else None
    models = data.get("models") if isinstance(data, dict) else None
    scripts = [s for name in ("syncs", "actions") for s in sections(data, name)]
    kind = draw.draw(
        st.sampled_from(["integration", "script", "on-event", "text", "text", "model", "model"])
    )
    if kind == "integration" and isinstance(integrations, dict) and integrations:
        key = draw.draw(st.sampled_from(sorted(integrations)))
        integrations[draw.draw(names)] = integrations.pop(key)
    elif kind == "script" and scripts:
        section = draw.draw(st.sampled_from(scripts))
        if section:
            section[draw.draw(names)] = section.pop(draw.draw(st.sampled_from(sorted(section))))
    elif kind == "on-event" and isinstance(integrations, dict) and integrations:
        body = integrations[draw.draw(st.sampled_from(sorted(integrations)))]
        if isinstance(body, dict):
            body["on-events"] = {"post-connection-creation": draw.draw(st.lists(names, max_size=3))}
    elif kind == "text" and scripts:
        script = draw.draw(st.sampled_from([v for s in scripts for v in s.values()] or [None]))
        if isinstance(script, dict):
            key = draw.draw(st.sampled_from(["description", "runs", "webhook-subscriptions"]))
            script[key] = draw.draw(special_text)
    elif kind == "model" and isinstance(models, dict) and models:
        name = draw.draw(st.sampled_from(sorted(models)))
        if draw.draw(st.booleans()):
            models[draw.draw(st.sampled_from(SDK_NAMES))] = models.pop(name)
        elif isinstance(models[name], dict):
            models[name][draw.draw(names)] = draw.draw(st.one_of(scalars, values))


def deep_text(draw: st.DataObject) -> str:
    depth = draw.draw(st.integers(min_value=90, max_value=700))
    if draw.draw(st.booleans()):
        return "[" * depth + "]" * depth
    return "{a: " * depth + "x" + "}" * depth


def alias_bomb(levels: int) -> str:
    lines = ["b0: &b0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def damage(text: str, draw: st.DataObject) -> bytes:
    kind = draw.draw(
        st.sampled_from(
            ["none", "none", "control", "truncate", "encoding", "bomb", "blank", "deep"]
        )
    )
    if kind == "control":
        at = draw.draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:at] + draw.draw(st.sampled_from(CONTROL_CHARACTERS)) + text[at:]
    elif kind == "truncate":
        text = text[: draw.draw(st.integers(min_value=0, max_value=len(text)))]
    elif kind == "bomb":
        text = alias_bomb(draw.draw(st.integers(min_value=2, max_value=12))) + text
    elif kind == "blank":
        text = draw.draw(st.sampled_from(["", "\n\n", "# only a comment\n", "---\n", "~\n"]))
    elif kind == "deep":
        values = list(re.finditer(r"^( +[^ #\n][^:\n]*: )\S[^\n]*$", text, re.M))
        if values:
            found = draw.draw(st.sampled_from(values))
            text = text[: found.start()] + found.group(1) + deep_text(draw) + text[found.end() :]
    elif kind == "encoding":
        codec = draw.draw(st.sampled_from(["utf-16", "utf-32", "utf-8-sig", "latin-1"]))
        return text.encode(codec, errors="replace")
    return text.encode("utf-8")


# ----- checks


def strict_json(file: Path) -> None:
    def refuse(constant: str) -> Any:
        raise AssertionError(f"{file.name} holds {constant}, which is not JSON")

    json.loads(file.read_text(encoding="utf-8"), parse_constant=refuse)


def import_models(file: Path) -> ModuleType:
    name = f"_nango_fuzz_models_{next(_modules)}"
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def check_success(root: Path) -> None:
    strict_json(root / ".nango" / "nango.json")
    strict_json(root / ".nango" / "schema.json")
    models = import_models(root / "models.py")
    for name in PUBLIC_TYPES:  # no model hides an SDK class
        assert getattr(models, name) is getattr(sdk, name), name
    for script in root.glob("*/*/*.py"):
        compile(script.read_text(encoding="utf-8"), str(script), "exec")


def check_failure(stderr: str) -> None:
    lines = stderr.splitlines()
    assert lines and lines[-1].startswith("error "), stderr
    issues = [m for m in map(ISSUE_LINE.match, lines) if m and m["severity"] == "error"]
    if not issues:  # a user error that is not about nango.yaml: one line with a reason
        assert len(lines[-1]) > len("error "), stderr
        return
    for issue in issues:
        positioned = issue["line"] is not None and issue["column"] is not None
        assert positioned or issue["code"] in FILE_LEVEL_CODES, issue.string
        assert issue["message"].strip(), issue.string


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_generate_on_mutated_corpus_files(cli: Cli, tmp_path: Path, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(SEEDS), label="seed")
    tree = parse_yaml(seed).data
    for _ in range(data.draw(st.integers(min_value=0, max_value=4), label="mutations")):
        if data.draw(st.integers(min_value=0, max_value=2)):
            mutate_where_it_matters(tree, data)
        else:
            mutate_anywhere(tree, data)
    try:
        text = yaml.safe_dump(tree, allow_unicode=True, sort_keys=False, width=1000)
    except (yaml.YAMLError, RecursionError):
        return  # PyYAML's own writer cannot write it: not an input a user can have
    root = tmp_path / "examples" / f"example-{next(_modules)}"
    root.mkdir(parents=True)
    (root / "nango.yaml").write_bytes(damage(text, data))
    if _over_budget():  # after every draw: the examples' data stay the same either way
        event("over the time budget: not run")
        return
    result = cli("generate", cwd=root, expect=None)
    assert result.exit_code in (0, 1), result.output
    assert "unexpected error" not in result.output
    assert "Traceback" not in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["examples"], "wrote outside the project"
    assert all(p.name.startswith("example-") for p in (tmp_path / "examples").iterdir())
    event(f"exit {result.exit_code}")
    if result.exit_code == 0:
        check_success(root)
    else:
        check_failure(result.stderr)
