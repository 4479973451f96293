"""Building blocks of the generated `models.py`: a base model and types that never change data.

Validation here checks and keeps: a YAML `number` is `int | float` (18 stays 18), strings are not
coerced to numbers or back, dates stay the strings they came as, fields a model does not declare
are kept, and an optional field that was absent stays absent when the model is dumped.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Strict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)

Str: TypeAlias = StrictStr
Bool: TypeAlias = StrictBool
Int: TypeAlias = StrictInt
Number: TypeAlias = StrictInt | StrictFloat


_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|z|[+-]\d{2}(?::?\d{2})?)?)?\Z",
    re.ASCII,
)


def _check_iso_date(value: str | datetime) -> str | datetime:
    """A date string must be ISO 8601 in its extended form: `2024-01-31`, `2024-01-31T12:00`,
    `2024-01-31T12:00:00.123Z`, `2024-01-31T12:00:00+02:00` (and be a real date)."""
    if isinstance(value, str):
        valid = bool(_ISO_DATE.match(value))
        if valid:
            try:
                datetime.fromisoformat(value.replace("z", "Z").replace(",", "."))
            except ValueError:
                valid = False
        if not valid:
            raise ValueError("must be an ISO 8601 date or date-time string")
    return value


DateValue: TypeAlias = Annotated[
    StrictStr | Annotated[datetime, Strict()], AfterValidator(_check_iso_date)
]
"""A `date` field: an ISO 8601 string (kept as the same string) or a `datetime`."""


def _reject_null(value: Any) -> Any:
    if value is None:
        raise ValueError("may be left out but may not be null")
    return value


NotNull = BeforeValidator(_reject_null)
"""Marks an optional field that is not nullable: it may be absent, but not `null`."""


class Exact:
    """A literal check that compares types too (`1` is not `True`, `1.0` is not `1`)."""

    def __init__(self, *values: object) -> None:
        self.values = values

    def _check(self, value: Any) -> Any:
        if any(type(value) is type(v) and value == v for v in self.values):
            return value
        allowed = ", ".join(repr(v) for v in self.values)
        raise ValueError(f"must be exactly {allowed}")

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return BeforeValidator(self._check).__get_pydantic_core_schema__(source, handler)


class NangoModel(BaseModel):
    """Base of every generated model. Dumps by the original (YAML) field names."""

    model_config = ConfigDict(
        extra="allow",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        protected_namespaces=(),
    )

    def to_record(self) -> dict[str, Any]:
        """The record as the script built it: original names, unset optional fields left out."""
        return self.model_dump(by_alias=True, exclude_unset=True)
