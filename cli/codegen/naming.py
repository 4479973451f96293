"""Python names for YAML model and field names, deterministic and collision-free."""

from __future__ import annotations

import keyword
import re

_NOT_IDENT = re.compile(r"[^0-9a-zA-Z_]")

# Names a generated module defines or imports itself; a model with one of these names is renamed.
RESERVED_MODULE_NAMES = frozenset(
    {"annotations", "_b", "_t", "_pd", "_ms", "_model", "__all__", "NANGO_MODELS"}
)


def python_identifier(name: str) -> str:
    """A valid, public Python identifier close to `name` (`first-name` -> `first_name`)."""
    ident = _NOT_IDENT.sub("_", name).lstrip("_")
    if not ident:
        ident = "field"
    if ident[0].isdigit():
        ident = f"f_{ident}"
    if keyword.iskeyword(ident) or keyword.issoftkeyword(ident):
        ident = f"{ident}_"
    return ident


def attribute_name(field_name: str) -> str:
    """The attribute of a field: the name itself, or, when that is not usable, a Python name
    ending with `_` (`first-name` -> `first_name_`, `class` -> `class_`), so that it cannot be
    mistaken for another key of the same record."""
    ident = python_identifier(field_name)
    if ident == field_name:
        return ident
    return ident if ident.endswith("_") else f"{ident}_"


def unique(name: str, taken: set[str]) -> str:
    candidate = name
    while candidate in taken:
        candidate = f"{candidate}_"
    taken.add(candidate)
    return candidate


def class_name(model_name: str) -> str:
    """A class name for a model (model names are already `[A-Za-z0-9_]+`)."""
    ident = python_identifier(model_name)
    if ident != model_name or ident in RESERVED_MODULE_NAMES:
        ident = f"M_{ident}" if not ident.startswith("M_") else f"{ident}_"
    return ident


def pascal(name: str) -> str:
    parts = [p for p in _NOT_IDENT.sub("_", name).split("_") if p]
    return "".join(p[:1].upper() + p[1:] for p in parts) or "Field"
