"""Values from YAML parser events, with positions, bounded nesting and bounded aliases.

The builder keeps its own stack of open mappings and lists instead of recursing, so no input
can exhaust Python's stack here. Every value knows its size (nodes, counting what aliases
repeat) and its height (levels of nesting), so an alias that would make the document larger
than `MAX_ALIAS_NODES` or deeper than `MAX_NESTING` is refused where it is written, before
anything is copied or walked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from cli.config.issues import ConfigIssue
from cli.config.yaml_scalars import js_key, js_ordered, resolve_plain

PathKey = tuple[str | int, ...]

# Mappings and lists inside one another, aliases included. Real files use about 10 levels.
MAX_NESTING = 100
# Nodes that aliases may add to a document (an alias counts every node of the value it repeats).
MAX_ALIAS_NODES = 100_000
MERGE_KEY = "<<"


def mark_position(mark: Any) -> tuple[int, int]:
    return (int(mark.line) + 1, int(mark.column) + 1)


class YamlProblem(Exception):
    """A problem found while building, at a position of the text."""

    def __init__(self, message: str, mark: Any, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = mark_position(mark)
        self.hint = hint


@dataclass
class _Value:
    """A finished value: its nodes (aliases expanded), its height, where its keys are written."""

    data: Any
    size: int
    height: int
    origin: PathKey | None = None


class _NoKey:
    """The state of a mapping waiting for its next key."""


_NO_KEY = _NoKey()
_MERGE = object()
_OPEN = _Value(None, 0, 0)  # an anchor whose value is still being built


@dataclass
class _Open:
    """A mapping or list being built."""

    data: Any
    path: PathKey
    anchor: str | None
    start: Any
    size: int = 1
    height: int = 1
    key: Any = _NO_KEY
    merged: set[str] = field(default_factory=set)

    def child_path(self) -> PathKey:
        if isinstance(self.data, list):
            return (*self.path, len(self.data))
        if self.key is _NO_KEY:
            return self.path  # a key that is itself a collection: no path of its own
        return (*self.path, MERGE_KEY if self.key is _MERGE else self.key)


class DocumentBuilder:
    """Feed it every event of one YAML stream; read `root`, `positions`, `aliases` after."""

    def __init__(self) -> None:
        self.root: Any = None
        self.positions: dict[PathKey, tuple[int, int]] = {}
        self.aliases: dict[PathKey, PathKey] = {}
        self.duplicates: list[ConfigIssue] = []
        self.has_document = False
        self._stack: list[_Open] = []
        self._anchors: dict[str, _Value] = {}
        self._alias_nodes = 0

    def feed(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.ScalarEvent):
            value = resolve_plain(event.value) if not event.style else event.value
            self._finish(_Value(value, 1, 0), event, event.anchor)
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event)
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            self._open(event)
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            self._close()
        elif isinstance(event, yaml.DocumentStartEvent):
            if self.has_document:
                raise YamlProblem(
                    "The file holds more than one YAML document (a second `---`)",
                    event.start_mark,
                    hint="Keep one document: remove the `---` line and what follows it.",
                )
            self.has_document = True

    # ----- events

    def _open(self, event: yaml.CollectionStartEvent) -> None:
        if len(self._stack) >= MAX_NESTING:
            raise _too_deep(event.start_mark)
        parent = self._stack[-1] if self._stack else None
        path = parent.child_path() if parent else ()
        if parent is not None and isinstance(parent.data, list):
            self.positions.setdefault(path, mark_position(event.start_mark))
        data: Any = [] if isinstance(event, yaml.SequenceStartEvent) else {}
        self._stack.append(_Open(data, path, event.anchor, event))
        if event.anchor:
            self._anchors[event.anchor] = _OPEN

    def _close(self) -> None:
        frame = self._stack.pop()
        data = frame.data if isinstance(frame.data, list) else js_ordered(frame.data)
        value = _Value(data, frame.size, frame.height, frame.path)
        self._finish(value, frame.start, frame.anchor, placed=True)

    def _alias(self, event: yaml.AliasEvent) -> None:
        target = self._anchors.get(event.anchor or "")
        if target is None:
            raise YamlProblem(
                f'The alias "*{event.anchor}" refers to no anchor defined before it',
                event.start_mark,
                hint=f'Define "&{event.anchor}" on a value earlier in the file.',
            )
        if target is _OPEN:
            raise YamlProblem("An alias refers to the node that contains it", event.start_mark)
        self._alias_nodes += target.size
        if self._alias_nodes > MAX_ALIAS_NODES:
            raise YamlProblem(
                f"Aliases expand this file to more than {MAX_ALIAS_NODES:,} nodes (an alias bomb?)",
                event.start_mark,
                hint="Write the repeated parts out, or repeat fewer of them through aliases.",
            )
        if len(self._stack) + target.height > MAX_NESTING:
            raise _too_deep(event.start_mark)
        self._finish(target, event, None, is_alias=True)

    # ----- placing a finished value in its parent

    def _finish(
        self,
        value: _Value,
        event: Any,
        anchor: str | None,
        *,
        placed: bool = False,
        is_alias: bool = False,
    ) -> None:
        if anchor:
            self._anchors[anchor] = value
        if not self._stack:
            self.root = value.data
            return
        parent = self._stack[-1]
        parent.size += value.size
        parent.height = max(parent.height, value.height + 1)
        if isinstance(parent.data, list):
            self._append(parent, value, event, placed, is_alias)
        elif parent.key is _NO_KEY:
            self._key(parent, value, event, is_alias)
        else:
            self._set(parent, value, is_alias)

    def _append(
        self, parent: _Open, value: _Value, event: Any, placed: bool, is_alias: bool
    ) -> None:
        path = (*parent.path, len(parent.data))
        if not placed:
            self.positions.setdefault(path, mark_position(event.start_mark))
        if is_alias and value.origin is not None:
            self.aliases[path] = value.origin
        parent.data.append(value.data)

    def _key(self, parent: _Open, value: _Value, event: Any, is_alias: bool) -> None:
        if isinstance(value.data, str) and value.data == MERGE_KEY and not is_alias:
            parent.key = _MERGE
            return
        key = js_key(value.data)
        if key in parent.data and key not in parent.merged:
            line, column = mark_position(event.start_mark)
            self.duplicates.append(
                ConfigIssue(
                    "duplicated_mapping_key",
                    f'Key "{key}" appears more than once in the same mapping',
                    tuple(str(p) for p in (*parent.path, key)),
                    line=line,
                    column=column,
                    hint="Remove or rename one of the two entries.",
                )
            )
        parent.merged.discard(key)
        self.aliases.pop((*parent.path, key), None)
        self.positions[(*parent.path, key)] = mark_position(event.start_mark)
        parent.key = key

    def _set(self, parent: _Open, value: _Value, is_alias: bool) -> None:
        key = parent.key
        parent.key = _NO_KEY
        if key is _MERGE:
            self._merge(parent, value)
            return
        parent.data[key] = value.data
        if is_alias and value.origin is not None:
            self.aliases[(*parent.path, key)] = value.origin

    def _merge(self, parent: _Open, value: _Value) -> None:
        """`<<: *base` or `<<: [*a, *b]`: keys not yet set are taken from the sources, in order."""
        base = value.origin
        if base is None:
            return
        if isinstance(value.data, list):
            paths = [self.aliases.get((*base, i), (*base, i)) for i in range(len(value.data))]
            sources = list(zip(value.data, paths, strict=True))
        else:
            sources = [(value.data, base)]
        for source, origin in sources:
            if not isinstance(source, dict):
                continue
            for key, item in source.items():
                if key in parent.data:
                    continue
                parent.data[key] = item
                parent.merged.add(key)
                self.aliases[(*parent.path, key)] = (*origin, key)
                found = self.positions.get((*origin, key))
                if found:
                    self.positions[(*parent.path, key)] = found


def _too_deep(mark: Any) -> YamlProblem:
    return YamlProblem(
        f"Mappings and lists are nested more than {MAX_NESTING} levels deep here",
        mark,
        hint="nango.yaml never needs that depth: flatten it, or define a model and refer to it.",
    )
