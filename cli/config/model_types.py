"""The model type language of nango.yaml, parsed exactly as Nango's parser does.

Each field becomes a `ModelField` (type name, literal, model reference, union, list or nested
object). The traversal order, the shared "stack" of model names (which Nango never pops, so a
model referenced twice along one walk reads as a cycle) and the fallbacks are kept as Nango has
them, because they decide the parsed output and the warnings users see.
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator, Iterator
from typing import Any, TypeVar

from cli.config.issues import IssueList
from cli.config.model import Model, ModelField, Scalar
from runtime.sdk.types import PUBLIC_TYPES

_T = TypeVar("_T")

TYPE_ALIASES: dict[str, str] = {
    "integer": "number",
    "int": "number",
    "char": "string",
    "varchar": "string",
    "float": "number",
    "bool": "boolean",
    "string": "string",
    "number": "number",
    "never": "never",
    "void": "void",
    "boolean": "boolean",
    "bigint": "bigint",
    "date": "Date",
    "object": "Record<string, any>",
    "any": "any",
    "array": "any[]",
    "undefined": "undefined",
}

_GENERIC_TYPES = (
    *("Object", "Array", "Function", "Date", "RegExp", "Map", "Set", "WeakMap", "WeakSet"),
    *("Promise", "Symbol", "Error", "Record", "Partial", "Readonly", "Pick", "Omit"),
    *("Awaited", "Required", "Exclude", "Extract", "Uppercase", "Lowercase"),
)
# models.py re-exports these SDK classes: a model of the same name would hide one of them.
RESERVED_MODEL_NAMES = frozenset(PUBLIC_TYPES)
_MODEL_NAME = re.compile(r"^[a-zA-Z0-9_]+\Z")
_LEADING_INT = re.compile(r"^\s*([+-]?)([0-9]+)")

TYPE_SYNTAX_HINT = (
    "Use the YAML type syntax: `string`, `number`, `boolean`, `date`, `object`, `Model`, "
    "`Model[]`, `a | b`, a nested mapping for an object, or `__string: type` for a map "
    "(instead of Record<string, type>)."
)


def is_valid_model_name(name: str) -> bool:
    return bool(_MODEL_NAME.match(name))


def native_literal(text: str) -> tuple[bool, Scalar]:
    """`true`, `false`, `null`, or a leading integer (JavaScript `parseInt`): (True, value);
    anything else: (False, None)."""
    match = _LEADING_INT.match(text)
    if match:
        return True, int(match.group(1) + match.group(2))
    lowered = text.lower()
    literals: dict[str, Scalar] = {"true": True, "false": False, "null": None}
    if lowered in literals:
        return True, literals[lowered]
    if lowered == "undefined":
        return True, "undefined"
    return False, None


def is_generic_syntax(text: str) -> bool:
    return any(text.startswith(f"{name}<") for name in _GENERIC_TYPES)


# A step of the parse: a generator that returns its result. Where the walk goes one level
# deeper (a nested object, list or union, a referenced model) it yields the sub-step instead of
# calling it, and `_run` runs that on its own stack and sends the result back, so hundreds of
# nested references or `__extends` cost no Python stack. Shallow helpers are called with
# `yield from`, which passes such requests through.
_Step = Generator["_Step[Any]", Any, _T]


def _run(step: _Step[_T]) -> _T:
    stack: list[_Step[Any]] = [step]
    sent: Any = None
    while True:
        try:
            needed = stack[-1].send(sent)
        except StopIteration as done:
            stack.pop()
            if not stack:
                return done.value  # type: ignore[no-any-return]
            sent = done.value
            continue
        stack.append(needed)
        sent = None


class ModelsParser:
    """Parses the `models:` section, and anonymous input/output types, into `Model`s.

    The walk is Nango's recursive one (same order, same stack semantics), written as steps that
    `_run` drives without recursion.
    """

    def __init__(self, raw: dict[str, Any], issues: IssueList) -> None:
        self.raw = raw
        self.issues = issues
        self.parsed: dict[str, Model] = {}
        self.report_warnings = True

    def parse_all(self) -> None:
        for name in self.raw:
            if not is_valid_model_name(name):
                self.issues.error(
                    "invalid_model_name",
                    f'Model "{name}" contains invalid characters',
                    ("models", name),
                    hint="Model names may only use letters, digits and underscores.",
                )
                continue
            if name in RESERVED_MODEL_NAMES:
                self.issues.error(
                    "reserved_model_name",
                    f'Model "{name}" has the name of a class of the SDK, which models.py '
                    "exports under that name",
                    ("models", name),
                    hint=f"Rename the model (e.g. {name}Record): scripts import the SDK's "
                    f"{name} from models.py.",
                )
            if name in self.parsed:
                continue
            _run(self._model(name, {name: None}, ("models", name)))

    def get(self, name: object) -> Model | None:
        return self.parsed.get(name) if isinstance(name, str) else None

    def parse_anonymous(self, name: str, key: str, value: Any, path: tuple[str, ...]) -> Model:
        """Parse an input/output type that is not a model name into an anonymous model."""
        fields = self.parse_fields({key: value}, {name: None}, path[:-1])
        return Model(name, fields, is_anon=True)

    def parse_fields(
        self, fields: dict[str, Any] | list[Any], stack: dict[str, None], path: tuple[str, ...]
    ) -> list[ModelField]:
        return _run(self._fields(fields, stack, path))

    def _model(self, name: str, stack: dict[str, None], path: tuple[str, ...]) -> _Step[None]:
        fields = self.raw.get(name)
        if not isinstance(fields, dict):
            self.issues.error(
                "invalid_model",
                f'Model "{name}" must be a mapping of field names to types',
                path,
                hint="Write the fields under the model name, one `field: type` per line.",
            )
            fields = {}
        parsed: list[ModelField] = yield from self._fields(fields, stack, path)
        self.parsed[name] = Model(name, parsed)

    def _warn(self, code: str, message: str, path: tuple[str, ...]) -> None:
        if self.report_warnings:
            self.issues.warning(code, message, path)

    def _is_model(self, name: str, stack: dict[str, None], path: tuple[str, ...]) -> _Step[bool]:
        """Nango's `ifModelParse`: parse a referenced model on first sight; False for a literal."""
        if name in stack:
            names = list(stack)
            self._warn("cyclic_model", f"Cyclic import {names[0]}->{_js_last(names[1:])}", path)
            return True
        if name in self.parsed:
            return True
        if not js_truthy(self.raw.get(name)):
            self._warn(
                "model_not_found_fallback",
                f'Model "{name}" is not defined, using as string literal',
                path,
            )
            return False
        stack[name] = None
        yield self._model(name, stack, ("models", name))
        return True

    def _fields(
        self, fields: dict[str, Any] | list[Any], stack: dict[str, None], path: tuple[str, ...]
    ) -> _Step[list[ModelField]]:
        entries = fields.items() if isinstance(fields, dict) else enumerate(fields)
        parsed: dict[str, ModelField] = {}
        dynamic: ModelField | None = None
        for raw_key, value in entries:
            key = str(raw_key)
            optional = key.endswith("?")
            name = key[:-1] if optional else key
            field_path = (*path, key)
            if name == "__extends":
                extended = yield from self._extend(value, stack, field_path, parsed)
                dynamic = extended or dynamic
            elif name == "__string":
                members = yield self._fields({"tmp": value}, stack, field_path)
                first = members[0]
                first.name, first.dynamic, first.optional = name, True, optional
                dynamic = first
            else:
                parsed[name] = yield from self._value(name, value, optional, stack, field_path)
        if dynamic is not None:
            parsed[dynamic.name] = dynamic
        return list(parsed.values())

    def _extend(
        self,
        value: Any,
        stack: dict[str, None],
        path: tuple[str, ...],
        parsed: dict[str, ModelField],
    ) -> _Step[ModelField | None]:
        parent = _js_last(list(stack))
        if not isinstance(value, str):
            self.issues.error(
                "invalid_extends",
                "__extends must be a model name or a comma-separated list of model names",
                path,
            )
            return None
        dynamic: ModelField | None = None
        for base in (part.strip() for part in value.split(",")):
            is_model = yield from self._is_model(base, stack, path)
            if not is_model:
                self.issues.error(
                    "model_extends_not_found",
                    f'Model "{parent}" is extending "{base}", but it does not exists',
                    path,
                    hint=f'Define a model named "{base}" or fix the name in __extends.',
                )
                continue
            base_model = self.parsed.get(base)
            if base_model is None:
                self.issues.error(
                    "cyclic_extends",
                    f'Model "{parent}" extends "{base}", which extends it back',
                    path,
                )
                continue
            for inherited in base_model.fields:
                if inherited.name in parsed:
                    continue
                if inherited.dynamic:
                    dynamic = inherited
                else:
                    parsed[inherited.name] = inherited
        return dynamic

    def _value(
        self, name: str, value: Any, optional: bool, stack: dict[str, None], path: tuple[str, ...]
    ) -> _Step[ModelField]:
        if isinstance(value, list):
            members = yield self._fields(value, stack, path)
            return ModelField(name, members, array=True, optional=optional)
        if value is None or isinstance(value, bool | int | float):
            if isinstance(value, float) and not math.isfinite(value):
                self.issues.error(
                    "type_syntax_error",
                    f'Type "{_yaml_number(value)}" is not a type: a field may be a literal '
                    "number, but not infinity or NaN",
                    path,
                    hint="Write `number` for any number (JSON has no infinity or NaN).",
                )
            return ModelField(name, value, ts_type=True)
        if isinstance(value, dict):
            members = yield self._fields(value, stack, path)
            return ModelField(name, members, optional=optional)
        text = str(value)
        if "|" in text:
            parts = [part.strip() for part in text.split("|")]
            members = yield from self._fields(parts, stack, path)
            return ModelField(name, members, union=True, optional=optional)
        return (yield from self._type_name(name, text, optional, stack, path))

    def _type_name(
        self, name: str, text: str, optional: bool, stack: dict[str, None], path: tuple[str, ...]
    ) -> _Step[ModelField]:
        is_array = text.endswith("[]")
        clean = text[:-2] if is_array else text
        if clean == "":
            self._syntax_error(text, path)
            return ModelField(name, clean, array=is_array, optional=optional)
        alias = TYPE_ALIASES.get(clean.lower())
        if alias:
            return ModelField(name, alias, ts_type=True, array=is_array, optional=optional)
        is_literal, literal = native_literal(clean)
        if is_literal:
            return ModelField(name, literal, ts_type=True, array=is_array, optional=optional)
        if is_generic_syntax(clean):
            self._syntax_error(clean, path)
            return ModelField(name, clean, array=is_array, optional=optional)
        is_model = yield from self._is_model(clean, stack, path)
        if is_model:
            return ModelField(name, clean, model=True, optional=optional, array=is_array)
        return ModelField(name, clean, array=is_array, optional=optional)

    def _syntax_error(self, text: str, path: tuple[str, ...]) -> None:
        self.issues.error(
            "type_syntax_error",
            f'Type "{text}" contains some unsupported typescript syntax',
            path,
            hint=TYPE_SYNTAX_HINT,
        )


def js_truthy(value: object) -> bool:
    """JavaScript truthiness (an empty mapping or list is truthy there, unlike in Python)."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and value == value
    if isinstance(value, str):
        return value != ""
    return True


def _yaml_number(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    return ".inf" if value > 0 else "-.inf"


def _js_last(items: list[str]) -> str:
    """`Array.prototype.pop()` rendered in a template string: "undefined" for an empty list."""
    return items[-1] if items else "undefined"


def referenced_models(parser: ModelsParser, name: str) -> list[str]:
    """Every model reachable from `name` (itself first), in Nango's discovery order (depth first,
    walked with a stack of iterators, so a long chain of references needs no recursion)."""
    model = parser.get(name)
    if model is None:
        return []
    found: dict[str, None] = {name: None}
    pending: list[Iterator[ModelField]] = [iter(model.fields)]
    while pending:
        item = next(pending[-1], None)
        if item is None:
            pending.pop()
            continue
        if item.model and isinstance(item.value, str):
            if item.value not in found:
                found[item.value] = None
                sub = parser.get(item.value)
                if sub is not None:
                    pending.append(iter(sub.fields))
        elif isinstance(item.value, list):
            pending.append(iter(item.value))
    return list(found)
