"""Load YAML the way Nango's loader (js-yaml 4, default schema) does, keeping line and column.

PyYAML's C parser gives the events (with positions); the values are built here, without
recursion, with js-yaml's rules for plain scalars (YAML 1.2 core: `yes`/`on` stay strings,
`0x1F` is a number) and JavaScript's object semantics (mapping keys are strings). An alias shares
the value of its anchor, as in JavaScript, and what aliases add to the document is bounded, as
is the nesting, so that a small hostile file fails fast with a position instead of exhausting
time, memory or the stack of every later step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from cli.config.issues import ConfigError, ConfigIssue
from cli.config.text_source import read_config_text
from cli.config.yaml_builder import MAX_NESTING, DocumentBuilder, PathKey, YamlProblem
from cli.config.yaml_scalars import js_key, js_number, js_ordered, resolve_plain

__all__ = [
    "YamlDocument",
    "js_key",
    "js_number",
    "js_ordered",
    "load_yaml_file",
    "parse_yaml",
    "resolve_plain",
]


@dataclass
class YamlDocument:
    """The loaded value and, for every key or item, its 1-based (line, column).

    `aliases` maps the path of an alias (or of a merged key) to the path of the value it
    repeats, so that a problem inside aliased content is located where that content is written.
    `blank` says why a document without content has none (`"is empty"`, `"holds only
    comments"`), and is `None` for a document with content.
    """

    data: Any
    positions: dict[PathKey, tuple[int, int]]
    file: Path | None = None
    aliases: dict[PathKey, PathKey] = field(default_factory=dict)
    blank: str | None = None

    def locate(self, path: tuple[str | int, ...]) -> tuple[int | None, int | None]:
        """Position of the deepest existing prefix of `path` (a missing key: its parent's)."""
        path = self._through_aliases(path)
        for end in range(len(path), -1, -1):
            found = _lookup(self.positions, path[:end])
            if found:
                return found
            key = path[end - 1] if end else None
            if isinstance(key, str):
                optional = _lookup(self.positions, (*path[: end - 1], f"{key}?"))
                if optional:
                    return optional
        return None, None

    def place(self, issue: ConfigIssue) -> ConfigIssue:
        line, column = self.locate(issue.path)
        return issue.at(line, column, self.file)

    def _through_aliases(self, path: tuple[str | int, ...]) -> tuple[str | int, ...]:
        # Anchors are written at real paths, so this ends; the bound is only a safeguard.
        for _ in range(MAX_NESTING):
            for end in range(len(path) - 1, 0, -1):
                origin = _lookup(self.aliases, path[:end])
                if origin is not None:
                    path = (*origin, *path[end:])
                    break
            else:
                return path
        return path


def _lookup(table: dict[PathKey, _T], path: tuple[str | int, ...]) -> _T | None:
    """`table[path]`, where a list index may be given as a digit string (issue paths are text)."""
    found = table.get(path)
    if found is None and any(isinstance(p, str) and p.isdigit() for p in path):
        found = table.get(tuple(int(p) if isinstance(p, str) and p.isdigit() else p for p in path))
    return found


_T = TypeVar("_T")
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, file: Path | None = None) -> YamlDocument:
    """Parse YAML text; a syntax error becomes a `ConfigError` with its position."""
    builder = DocumentBuilder()
    try:
        for event in yaml.parse(text, Loader=_Loader):
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(file, [_syntax_issue(exc, file)]) from exc
    except yaml.reader.ReaderError as exc:
        raise ConfigError(file, [_reader_issue(exc, text, file)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(file, [ConfigIssue("invalid_yaml", str(exc), file=file)]) from exc
    except YamlProblem as exc:
        issue = ConfigIssue("invalid_yaml", exc.message, hint=exc.hint)
        raise ConfigError(file, [issue.at(*exc.position, file)]) from None
    if builder.duplicates:
        raise ConfigError(file, [d.at(d.line, d.column, file) for d in builder.duplicates])
    blank = None
    if not builder.has_document:
        blank = "is empty" if not text.strip() else "holds only comments"
    return YamlDocument(builder.root, builder.positions, file, builder.aliases, blank)


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


def _reader_issue(exc: yaml.reader.ReaderError, text: str, file: Path | None) -> ConfigIssue:
    """A character YAML does not allow in a file (NUL, other control characters)."""
    position = max(0, min(int(exc.position), len(text)))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    character = exc.character
    code = ord(character) if isinstance(character, str) else int(character)
    issue = ConfigIssue(
        "invalid_yaml",
        f"The character U+{code:04X} is not allowed in a YAML file",
        hint='Write it as an escape in a double-quoted string (e.g. "\\t"), or remove it.',
    )
    return issue.at(line, column, file)


def load_yaml_file(file: Path) -> YamlDocument:
    """Read and parse a YAML file; a missing or unreadable file is a `ConfigError` too."""
    return parse_yaml(read_config_text(file), file)
