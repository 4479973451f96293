"""How `nango records` prints: a line per record (its id, last action and fields), or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cli.terminal import console as output

METADATA_KEY = "_nango_metadata"


def record_line(record: dict[str, Any]) -> str:
    """`<id>  <LAST_ACTION>  {fields as compact JSON}` (user data escaped by the caller)."""
    metadata = record.get(METADATA_KEY) or {}
    fields = {key: value for key, value in record.items() if key != METADATA_KEY}
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return f"{record.get('id')}  {metadata.get('last_action', '')}  {text}"


def render_records(records: Sequence[dict[str, Any]], model: str, *, more: bool) -> None:
    if not records:
        output.info(f"No records of {output.esc(model)}.")
        return
    for record in records:
        output.result(output.esc_line(record_line(record)))
    shown = f"{len(records)} record{'s' if len(records) != 1 else ''} of {output.esc(model)}"
    output.info(f"{shown}{' (more left: raise --limit)' if more else ''}")


def write_records_json(records: Sequence[dict[str, Any]], *, more: bool) -> None:
    print(json.dumps({"records": list(records), "more": more}, ensure_ascii=False))
