"""`models.py`: pydantic v2 models for every model of nango.yaml, plus the SDK re-exports.

The output is deterministic (same config, same bytes). Types never change data: see
`runtime.sdk.models`. Field names that are not usable Python attributes get an alias that
keeps the original name for validation and dumping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from cli.codegen.naming import (
    RESERVED_MODULE_NAMES,
    attribute_name,
    class_name,
    pascal,
    python_identifier,
    unique,
)
from cli.config.model import Model, ModelField, ParsedConfig, Scalar

SCALAR_TYPES: dict[str, str] = {
    "string": "_ms.Str",
    "number": "_ms.Number",
    "boolean": "_ms.Bool",
    "bigint": "_ms.Int",
    "Date": "_ms.DateValue",
    "any": "_t.Any",
    "Record<string, any>": "_b.dict[_b.str, _t.Any]",
    "any[]": "_b.list[_t.Any]",
}
ABSENT_TYPES = frozenset({"undefined", "void", "never"})


@dataclass
class _Type:
    text: str
    nullable: bool = False
    may_be_absent: bool = False

    def with_none(self) -> str:
        if self.text == "None":
            return "None"
        return f"{self.text} | None" if self.nullable else self.text


@dataclass
class _Module:
    classes: dict[str, str]
    taken: set[str]
    reserved_fields: frozenset[str]
    blocks: list[str] = field(default_factory=list)


def module_names(config: ParsedConfig) -> dict[str, str]:
    """The Python name in `models.py` of every model (a class, or a type alias if anonymous)."""
    taken = set(RESERVED_MODULE_NAMES)
    names = {n: unique(class_name(n), taken) for n, m in config.models.items() if not m.is_anon}
    names.update(
        (n, unique(python_identifier(n), taken)) for n, m in config.models.items() if m.is_anon
    )
    return names


def render_models(config: ParsedConfig, *, header: str, sdk_exports: list[str]) -> str:
    """The text of `models.py` for `config`."""
    all_names = module_names(config)
    classes = {n: all_names[n] for n, m in config.models.items() if not m.is_anon}
    taken = {*RESERVED_MODULE_NAMES, *all_names.values(), *sdk_exports}
    module = _Module(classes, taken, _reserved_field_names())
    for name, model in config.models.items():
        if not model.is_anon:
            module.blocks.append(_render_class(classes[name], model.fields, module))
    aliases = [
        _render_alias(m, all_names[m.name], module) for m in config.models.values() if m.is_anon
    ]
    exports = [e for e in sdk_exports if e not in all_names.values()]
    names = [*classes.values(), *(a.split(":")[0] for a in aliases), *exports, "NANGO_MODELS"]
    parts = [header, _imports(exports), *module.blocks]
    if aliases:
        parts.append("\n".join(aliases) + "\n")
    if classes:
        listing = ", ".join(classes.values())
        parts.append(f"for _model in ({listing},):\n    _model.model_rebuild()\n")
    registry = "".join(f"    {json.dumps(m)}: {all_names[m]},\n" for m in config.models)
    parts.append(
        "# Every model by its nango.yaml name, for the runtime.\n"
        f"NANGO_MODELS: _b.dict[_b.str, _b.object] = {{\n{registry}}}\n"
    )
    parts.append("__all__ = [\n" + "".join(f'    "{n}",\n' for n in names) + "]\n")
    return "\n\n\n".join(parts)


def _reserved_field_names() -> frozenset[str]:
    from runtime.sdk.models import NangoModel

    return frozenset(dir(NangoModel))


def _imports(exports: list[str]) -> str:
    lines = [
        "from __future__ import annotations",
        "",
        "import builtins as _b",
        "import typing as _t",
        "",
        "import pydantic as _pd",
        "",
        "from runtime.sdk import models as _ms",
    ]
    if exports:
        lines.append("from runtime.sdk.nango import (")
        lines.extend(f"    {name} as {name}," for name in exports)
        lines.append(")")
    return "\n".join(lines)


def _render_class(name: str, fields: list[ModelField], module: _Module) -> str:
    lines = [f"class {name}(_ms.NangoModel):"]
    taken = set(module.reserved_fields)
    for item in fields:
        if item.dynamic:
            extra = _type(replace(item, optional=None, dynamic=None), name, module)
            extra_type = f"_b.dict[_b.str, {extra.with_none()}]"
            lines.append(f"    __pydantic_extra__: {extra_type} = _pd.Field(init=False)")
            continue
        lines.append("    " + _render_field(item, name, module, taken))
    if len(lines) == 1:
        lines.append("    pass")
    return "\n".join(lines)


def _render_field(item: ModelField, owner: str, module: _Module, taken: set[str]) -> str:
    attr = unique(attribute_name(item.name), taken)
    kind = _type(item, owner, module)
    optional = bool(item.optional) or kind.may_be_absent
    if optional and kind.nullable:
        annotation, default = f"{kind.text} | None" if kind.text != "None" else "None", "None"
    elif optional:
        inner = "None" if kind.text == "None" else f"{kind.text} | None"
        annotation, default = f"_t.Annotated[{inner}, _ms.NotNull]", "None"
    else:
        annotation, default = kind.with_none(), ""
    if attr != item.name:
        alias = json.dumps(item.name, ensure_ascii=False)
        default = (
            f"_pd.Field(default={default}, alias={alias})"
            if default
            else (f"_pd.Field(alias={alias})")
        )
    return f"{attr}: {annotation}" + (f" = {default}" if default else "")


def _type(item: ModelField, owner: str, module: _Module) -> _Type:
    if item.union:
        return _union(item.members, owner, item.name, module)
    if item.array:
        if isinstance(item.value, list):
            inner = _union(item.members, owner, item.name, module)
        else:
            inner = _type(replace(item, array=None), owner, module)
        return _Type(f"_b.list[{inner.with_none()}]")
    if isinstance(item.value, list):
        return _Type(_nested_class(item, owner, module))
    if item.model and isinstance(item.value, str):
        return _Type(module.classes.get(item.value, "_t.Any"))
    return _scalar(item.value, bool(item.ts_type))


def _scalar(value: Scalar, is_ts_type: bool) -> _Type:
    if value is None:
        return _Type("None", nullable=True)
    if is_ts_type and isinstance(value, str):
        if value in ABSENT_TYPES:
            return _Type("None", may_be_absent=True)
        return _Type(SCALAR_TYPES.get(value, "_t.Any"))
    return _Type(_literal([value]))


def _literal(values: list[Scalar]) -> str:
    if len(values) == 1 and isinstance(values[0], float):
        return f"_t.Annotated[_b.float, _ms.Exact({values[0]!r})]"
    rendered = ", ".join(_python_literal(v) for v in values)
    if all(isinstance(v, str) for v in values):
        return f"_t.Literal[{rendered}]"
    return f"_t.Annotated[_t.Literal[{rendered}], _ms.Exact({rendered})]"


def _python_literal(value: Scalar) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def _is_literal_member(member: ModelField) -> bool:
    if member.array or member.model or isinstance(member.value, list) or member.value is None:
        return False
    if member.ts_type:
        return isinstance(member.value, bool | int)
    return isinstance(member.value, str)


def _union(members: list[ModelField], owner: str, name: str, module: _Module) -> _Type:
    texts: list[str] = []
    literals: list[Scalar] = []
    result = _Type("")
    for member in members:
        if _is_literal_member(member):
            if member.value not in literals or not _same_typed_in(member.value, literals):
                literals.append(member.value)  # type: ignore[arg-type]
            if len(literals) == 1:
                texts.append("<literal>")
            continue
        kind = _type(replace(member, name=name), owner, module)
        result.nullable = result.nullable or kind.nullable
        result.may_be_absent = result.may_be_absent or kind.may_be_absent
        if kind.text != "None" and kind.text not in texts:
            texts.append(kind.text)
    texts = [_literal(literals) if t == "<literal>" else t for t in texts]
    result.text = " | ".join(texts) if texts else "None"
    if result.text == "None" and not result.may_be_absent:
        result.nullable = True
    return result


def _same_typed_in(value: Scalar, values: list[Scalar]) -> bool:
    return any(type(value) is type(v) and value == v for v in values)


def _nested_class(item: ModelField, owner: str, module: _Module) -> str:
    name = unique(f"{owner}{pascal(item.name)}", module.taken)
    module.blocks.append(_render_class(name, item.members, module))
    return name


def _render_alias(model: Model, name: str, module: _Module) -> str:
    first = model.fields[0] if model.fields else None
    kind = _type(first, name, module) if first else _Type("None", nullable=True)
    text = (
        kind.with_none() if not kind.may_be_absent or kind.text == "None" else f"{kind.text} | None"
    )
    return f"{name}: _t.TypeAlias = {text}"
