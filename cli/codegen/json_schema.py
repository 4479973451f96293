"""`.nango/schema.json`: correct draft-07 JSON Schema for every model.

Unlike Nango's converter, `null` is `{"type": "null"}`, literals are `const`/`enum`, unions are
`anyOf`, dates are strings with `format: date-time`, optional fields are not `required`, and the
extra keys of a model are allowed (typed by `__string` where the model has one).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from cli.codegen.python_models import ABSENT_TYPES
from cli.config.model import Model, ModelField, ParsedConfig

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
_SCALARS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "bigint": {"type": "integer"},
    "Date": {"type": "string", "format": "date-time"},
    "any": {},
    "Record<string, any>": {"type": "object"},
    "any[]": {"type": "array"},
}
_NOTHING: dict[str, Any] = {"not": {}}


def render_json_schema(config: ParsedConfig, *, comment: str) -> dict[str, Any]:
    definitions = {name: model_schema(model) for name, model in config.models.items()}
    return {"$schema": DRAFT_07, "$comment": comment, "definitions": definitions}


def model_schema(model: Model) -> dict[str, Any]:
    if model.is_anon:
        return field_schema(model.fields[0]) if model.fields else {}
    return _object_schema(model.fields)


def _object_schema(fields: list[ModelField]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    extra: Any = True
    for item in fields:
        if item.dynamic:
            extra = field_schema(replace(item, optional=None, dynamic=None))
            continue
        properties[item.name] = field_schema(item)
        if not item.optional and not _may_be_absent(item):
            required.append(item.name)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = extra
    return schema


def _may_be_absent(item: ModelField) -> bool:
    if item.union:
        return any(m.ts_type and m.value in ABSENT_TYPES for m in item.members)
    return bool(item.ts_type and item.value in ABSENT_TYPES and not item.array)


def field_schema(item: ModelField) -> dict[str, Any]:
    if item.union:
        return _union(item.members)
    if item.array:
        inner = (
            _union(item.members)
            if isinstance(item.value, list)
            else field_schema(replace(item, array=None))
        )
        return {"type": "array", "items": inner}
    if isinstance(item.value, list):
        return _object_schema(item.members)
    if item.model:
        return {"$ref": f"#/definitions/{item.value}"}
    if item.ts_type and isinstance(item.value, str):
        return dict(_NOTHING) if item.value in ABSENT_TYPES else dict(_SCALARS.get(item.value, {}))
    if item.value is None:
        return {"type": "null"}
    return {"const": item.value}


def _union(members: list[ModelField]) -> dict[str, Any]:
    schemas: list[dict[str, Any]] = []
    seen: set[str] = set()
    for member in members:
        schema = field_schema(member)
        key = json.dumps(schema, sort_keys=True)
        if schema != _NOTHING and key not in seen:
            seen.add(key)
            schemas.append(schema)
    if not schemas:
        return dict(_NOTHING)
    if len(schemas) == 1:
        return schemas[0]
    if all(set(s) == {"const"} for s in schemas):
        return {"enum": [s["const"] for s in schemas]}
    return {"anyOf": schemas}
