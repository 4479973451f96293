"""The options of a dry run, and the parsing of its flag values (`-i`, `-m`, `-c`, `-l`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from runtime.errors import SetupError
from runtime.execution.run import NO_INPUT

Mode = Literal["live", "record", "replay"]
"""Where a run's requests go: the live API, the live API while recording fixtures (`--save`), or
recorded fixtures (`--replay`)."""


@dataclass
class DryRunOptions:
    name: str
    connection_id: str
    environment: str = "dev"
    last_sync_date: datetime | None = None
    input: Any = NO_INPUT
    metadata: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = None
    integration_id: str | None = None
    variant: str | None = None
    validation: bool = False
    mode: Mode = "live"
    keep_all_records: bool = False
    timeout_s: float | None = None

    @property
    def validate(self) -> bool:
        """Recording implies validation: a fixture must hold what production would accept."""
        return self.validation or self.mode == "record"


def mode_of(*, save: bool, replay: bool) -> Mode:
    if save and replay:
        raise SetupError(
            "--save and --replay cannot be used together",
            hint="--save records live answers; --replay answers from what was recorded.",
        )
    return "record" if save else "replay" if replay else "live"


def parse_json_option(text: str, flag: str) -> Any:
    """`--input`/`--metadata`/`--checkpoint`: JSON text, or `@path` to a JSON file."""
    source = f"the {flag} value"
    if text.startswith("@"):
        path = Path(text[1:])
        source = f"the {flag} file {path}"
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise SetupError(
                f"{source} could not be read: {reason}",
                hint=f"Give {flag} JSON text or @path/to/file.json.",
            ) from exc
    try:
        return json.loads(text)
    except RecursionError:
        raise SetupError(
            f"{source} is nested too deeply to be read",
            hint="Nesting of a few hundred levels is the limit.",
        ) from None
    except ValueError as exc:
        raise SetupError(
            f"Failed to parse {source} as JSON: {exc}",
            hint=f"""Quote it for the shell, e.g. {flag} '{{"key": "value"}}'.""",
        ) from exc


def parse_object_option(text: str, flag: str) -> dict[str, Any]:
    value = parse_json_option(text, flag)
    if not isinstance(value, dict):
        raise SetupError(f"{flag} must be a JSON object, not {_json_kind(value)}")
    return value


def _json_kind(value: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def parse_checkpoint(text: str) -> dict[str, str | int | float | bool]:
    value = parse_object_option(text, "--checkpoint")
    for key, item in value.items():
        if not isinstance(item, str | int | float | bool):
            raise SetupError(
                f"Invalid checkpoint: {key!r} must be a string, number or boolean",
                hint="A checkpoint is a flat JSON object.",
            )
    return value


def parse_last_sync_date(text: str) -> datetime:
    """An ISO 8601 date or date-time; without a time zone it is read as UTC."""
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        try:
            found = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise SetupError(
                f"--last-sync-date {text!r} is not a date",
                hint="Use ISO 8601, e.g. 2024-01-31 or 2024-01-31T12:00:00Z.",
            ) from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def parse_timeout(value: float | None) -> float | None:
    """`--timeout SECONDS`: a positive, finite number of seconds (None: the default)."""
    if value is None:
        return None
    if not value > 0 or value == float("inf") or value > 365 * 24 * 3600:
        raise SetupError(
            f"--timeout {value:g} is not a usable number of seconds",
            hint="Give a positive number of seconds, at most a year (e.g. --timeout 60).",
        )
    return float(value)
