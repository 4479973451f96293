"""Long chains and deep nesting of models: parsed, generated and imported, or refused clearly.

Chains of references and of `__extends` are walked without recursion; a cycle through more
classes than pydantic can build within Python's stack is a positioned error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from cli.config.issues import ConfigError
from cli.config.loader import load_config_text
from cli.config.references import MAX_CYCLE_CLASSES
from tests.cli.codegen.conftest import Generated

HEAD = """\
integrations:
  github:
    syncs:
      issues:
        runs: every hour
        output: Issue
        endpoint: GET /issues
models:
  Issue:
    id: string
"""


def chain(count: int, *, reverse: bool = False) -> str:
    """`Issue.next -> M0 -> M1 -> ... -> M<count>`, defined in that order or reversed."""
    models = [f"  M{i}:\n    a: M{i + 1} | null\n" for i in range(count)]
    models.append(f"  M{count}:\n    a: string\n")
    if reverse:
        models.reverse()
    return HEAD + "    next: M0\n" + "".join(models)


def nested_value(depth: int) -> Any:
    """`depth` + 1 mappings, one inside the other, around "end"."""
    value: Any = {"a": "end"}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reversed"])
def test_a_chain_of_200_references_generates_and_imports(
    generate: Callable[[str], Generated], reverse: bool
) -> None:
    gen = generate(chain(200, reverse=reverse))
    sync = gen.parsed.integrations[0].syncs[0]
    assert sync.used_models[:3] == ["Issue", "M0", "M1"]
    assert len(sync.used_models) == 202
    record = {"id": "1", "next": nested_value(200)}
    assert gen.round_trip("Issue", record) == record


def test_a_chain_of_250_extends_generates_and_imports(
    generate: Callable[[str], Generated],
) -> None:
    models = [f"  M{i}:\n    __extends: M{i + 1}\n    f{i}: string\n" for i in range(250)]
    text = HEAD.replace("    id: string\n", "    id: string\n    __extends: M0\n")
    text += "".join(models) + "  M250:\n    last: number\n"
    gen = generate(text)
    names = [f.name for f in gen.parsed.models["Issue"].fields]
    # Inherited fields come first, the deepest base's first (as in Nango).
    assert names == ["id", "last", *(f"f{i}" for i in reversed(range(250)))]
    record = {"id": "1", **{f"f{i}": "x" for i in range(250)}, "last": 1}
    assert gen.round_trip("Issue", record) == record


def cycle(count: int, nested: int = 0) -> str:
    """A cycle of `count` models; the first also holds objects nested `nested` levels deep."""
    inner = "".join(" " * (4 + 2 * i) + f"n{i}:\n" for i in range(nested))
    inner += " " * (4 + 2 * nested) + "a: M1 | null\n" if nested else ""
    first = "  M0:\n" + (inner or "    a: M1 | null\n")
    others = [f"  M{i}:\n    a: M{(i + 1) % count} | null\n" for i in range(1, count)]
    return HEAD + "    next: M0\n" + first + "".join(others)


def test_a_cycle_at_the_limit_imports_even_in_a_thread(
    generate: Callable[[str], Generated],
) -> None:
    found: list[Any] = []

    def run() -> None:
        gen = generate(cycle(MAX_CYCLE_CLASSES))
        found.append(gen.round_trip("M0", {"a": {"a": None}}))

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert found == [{"a": {"a": None}}]


@pytest.mark.parametrize(
    ("count", "nested"),
    [(200, 0), (MAX_CYCLE_CLASSES + 1, 0), (2, MAX_CYCLE_CLASSES)],
    ids=["200-models", "one-too-many", "nested-objects-count"],
)
def test_a_cycle_through_too_many_classes_is_a_positioned_error(count: int, nested: int) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(cycle(count, nested))
    [issue] = caught.value.errors
    assert issue.code == "model_cycle_too_long"
    assert issue.path == ("models", "M0")
    assert (issue.line, issue.column) == (12, 3)
    assert f"at most {MAX_CYCLE_CLASSES}" in issue.message


def test_objects_nested_to_the_yaml_limit_generate_and_import(
    generate: Callable[[str], Generated],
) -> None:
    depth = 94  # with the root, `models`, `Issue` and the field: 99 levels of YAML
    objects = "".join(" " * (6 + 2 * i) + "a:\n" for i in range(depth))
    objects += " " * (6 + 2 * depth) + "a: string\n"
    lists = "".join(" " * (6 + 2 * i) + "-\n" for i in range(depth))
    lists += " " * (6 + 2 * depth) + "- string\n"
    gen = generate(HEAD + "    deep:\n" + objects + "    lists?:\n" + lists)
    record = {"id": "1", "deep": nested_value(depth)}
    assert gen.round_trip("Issue", record) == record
    lists_value: Any = ["x"]
    for _ in range(depth):
        lists_value = [lists_value]
    record["lists"] = lists_value
    assert gen.round_trip("Issue", record) == record
