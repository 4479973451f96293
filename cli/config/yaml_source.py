"""Load YAML the way Nango's loader (js-yaml 4, default schema) does, keeping line and column.

PyYAML composes the node tree (with positions); the values are built here with js-yaml's rules for
plain scalars (YAML 1.2 core: `yes`/`on` stay strings, `0x1F` is a number) and JavaScript's object
semantics (mapping keys are strings).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import yaml

from cli.config.issues import ConfigError, ConfigIssue

PathKey: TypeAlias = tuple[str | int, ...]

_NULLS = frozenset({"~", "null", "Null", "NULL", ""})
_TRUES = frozenset({"true", "True", "TRUE"})
_FALSES = frozenset({"false", "False", "FALSE"})
_INT = re.compile(r"^[-+]?(?:0b[01]+|0x[0-9a-fA-F]+|0o[0-7]+|[0-9]+)\Z")
_FLOAT = re.compile(
    r"^(?:[-+]?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"
)
_MERGE_KEY = "<<"


@dataclass
class YamlDocument:
    """The loaded value and, for every key or item, its 1-based (line, column)."""

    data: Any
    positions: dict[PathKey, tuple[int, int]]
    file: Path | None = None

    def locate(self, path: tuple[str | int, ...]) -> tuple[int | None, int | None]:
        """Position of the deepest existing prefix of `path` (a missing key: its parent's)."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(tuple(path[:end]))
            if found:
                return found
            key = path[end - 1] if end else None
            if isinstance(key, str):
                optional = self.positions.get((*path[: end - 1], f"{key}?"))
                if optional:
                    return optional
        return None, None

    def place(self, issue: ConfigIssue) -> ConfigIssue:
        line, column = self.locate(issue.path)
        return issue.at(line, column, self.file)


def js_number(text: str) -> int | float:
    """A YAML number as JavaScript holds it: integral values are integers."""
    body = text.lstrip("+-")
    sign = -1 if text.startswith("-") else 1
    if _INT.match(text):
        if body[:2] in ("0b", "0x", "0o"):
            return sign * int(body[2:], {"0b": 2, "0x": 16, "0o": 8}[body[:2]])
        return sign * int(body)
    lowered = body.lower()
    if lowered == ".inf":
        return sign * math.inf
    if lowered == ".nan":
        return math.nan
    value = sign * float(body)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def resolve_plain(text: str) -> Any:
    """Resolve a plain (unquoted) scalar as js-yaml's default schema does."""
    if text in _NULLS:
        return None
    if text in _TRUES:
        return True
    if text in _FALSES:
        return False
    if _INT.match(text) or (_FLOAT.match(text) and _is_finite_or_special(text)):
        return js_number(text)
    return text


def _is_finite_or_special(text: str) -> bool:
    lowered = text.lower().lstrip("+-")
    if lowered in (".inf", ".nan"):
        return True
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def js_key(value: Any) -> str:
    """A mapping key as a JavaScript object key (always a string)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_array_index(key: str) -> bool:
    return (
        key.isdigit() and key.isascii() and (key == "0" or key[0] != "0") and int(key) < 2**32 - 1
    )


def js_ordered(mapping: dict[str, Any]) -> dict[str, Any]:
    """Reorder keys as a JavaScript object iterates them: integer-like keys first, ascending."""
    indices = sorted((k for k in mapping if _is_array_index(k)), key=int)
    if not indices:
        return mapping
    ordered = {k: mapping[k] for k in indices}
    ordered.update((k, v) for k, v in mapping.items() if k not in ordered)
    return ordered


class _Builder:
    def __init__(self) -> None:
        self.positions: dict[PathKey, tuple[int, int]] = {}
        self.duplicates: list[ConfigIssue] = []
        self._active: set[int] = set()

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return resolve_plain(node.value) if not node.style else node.value
        if id(node) in self._active:
            raise _RecursiveAlias(node)
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return self._sequence(node, path)
            assert isinstance(node, yaml.MappingNode)
            return self._mapping(node, path)
        finally:
            self._active.discard(id(node))

    def _sequence(self, node: yaml.SequenceNode, path: PathKey) -> list[Any]:
        items: list[Any] = []
        for index, child in enumerate(node.value):
            self.positions.setdefault((*path, index), _mark(child.start_mark))
            items.append(self.build(child, (*path, index)))
        return items

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged_keys: set[str] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == _MERGE_KEY:
                for key, value in self._merge_sources(value_node, path).items():
                    if key not in out:
                        out[key] = value
                        merged_keys.add(key)
                continue
            key = js_key(self.build(key_node, path))
            if key in out and key not in merged_keys:
                self.duplicates.append(
                    ConfigIssue(
                        "duplicated_mapping_key",
                        f'Key "{key}" appears more than once in the same mapping',
                        tuple(str(p) for p in (*path, key)),
                        line=key_node.start_mark.line + 1,
                        column=key_node.start_mark.column + 1,
                        hint="Remove or rename one of the two entries.",
                    )
                )
            merged_keys.discard(key)
            self.positions[(*path, key)] = _mark(key_node.start_mark)
            out[key] = self.build(value_node, (*path, key))
        return js_ordered(out)

    def _merge_sources(self, node: yaml.Node, path: PathKey) -> dict[str, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in sources:
            value = self.build(source, path)
            if isinstance(value, dict):
                for key, item in value.items():
                    merged.setdefault(key, item)
        return merged


class _RecursiveAlias(Exception):
    def __init__(self, node: yaml.Node) -> None:
        super().__init__("recursive alias")
        self.node = node


def _mark(mark: Any) -> tuple[int, int]:
    return (int(mark.line) + 1, int(mark.column) + 1)


_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, file: Path | None = None) -> YamlDocument:
    """Parse YAML text; a syntax error becomes a `ConfigError` with its position."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(file, [_syntax_issue(exc, file)]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(file, [ConfigIssue("invalid_yaml", str(exc), file=file)]) from exc
    builder = _Builder()
    try:
        data = None if root is None else builder.build(root, ())
    except _RecursiveAlias as exc:
        line, column = _mark(exc.node.start_mark)
        issue = ConfigIssue("invalid_yaml", "An alias refers to the node that contains it", ())
        raise ConfigError(file, [issue.at(line, column, file)]) from None
    if builder.duplicates:
        raise ConfigError(file, [d.at(d.line, d.column, file) for d in builder.duplicates])
    return YamlDocument(data, builder.positions, file)


def _syntax_issue(exc: yaml.MarkedYAMLError, file: Path | None) -> ConfigIssue:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "invalid YAML"
    context = f" ({exc.context})" if exc.context else ""
    issue = ConfigIssue(
        "invalid_yaml",
        f"YAML syntax error: {problem}{context}",
        hint="Check the indentation and quoting around this line.",
    )
    if mark is None:
        return issue.at(None, None, file)
    return issue.at(mark.line + 1, mark.column + 1, file)


def load_yaml_file(file: Path) -> YamlDocument:
    """Read and parse a YAML file; a missing or unreadable file is a `ConfigError` too."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        issue = ConfigIssue("file_not_found", f"no nango.yaml config found at {file}", file=file)
        raise ConfigError(file, [issue]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        issue = ConfigIssue("file_unreadable", f"cannot read {file}: {exc}", file=file)
        raise ConfigError(file, [issue]) from exc
    return parse_yaml(text, file)
