"""What a dry run reports: the captured writes, the action's output, the error, and notes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli.project import ScriptRef
from runtime import jsjson
from runtime.backends.capture import Capture
from runtime.execution.failures import ScriptFailure
from runtime.redaction import Redactor


@dataclass
class DryRunReport:
    script: ScriptRef
    capture: Capture
    output: Any = None
    error: ScriptFailure | None = None
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    fixture_file: Path | None = None
    redactor: Redactor = field(default_factory=Redactor)

    @property
    def kind(self) -> str:
        return "sync" if self.script.kind == "sync" else "action"

    def close(self) -> None:
        """Free what the report holds on disk (the spooled records)."""
        self.capture.close()

    def json_chunks(self) -> Iterator[bytes]:
        """The report as the JSON object of `dryrun --json`, in pieces (records streamed as the
        JSON they were encoded to, a batch at a time; secrets redacted)."""
        if not self.redactor:
            yield from self._chunks()
            return
        for chunk in self._chunks():
            yield self.redactor.redact_bytes(chunk)

    def _chunks(self) -> Iterator[bytes]:
        head = {"type": self.kind, "name": self.script.name, "integration": self.script.integration}
        yield jsjson.stringify(head)[:-1].encode()
        for kind in ("save", "delete", "update"):
            yield f',"batch_{kind}":{{'.encode()
            for index, (model, stream) in enumerate(self.capture.models(kind).items()):
                yield ("," if index else "").encode() + jsjson.stringify(model).encode() + b":["
                for count, records in enumerate(stream.joined()):
                    if count:
                        yield b","
                    yield records
                yield b"]"
            yield b"}"
        tail = {
            "output": self.output,
            "logs": [e.to_json() for e in self.capture.logs],
            "requests": [r.to_json() for r in self.capture.requests],
            "error": self.error.to_json() if self.error else None,
        }
        yield b"," + jsjson.stringify(tail)[1:].encode()
