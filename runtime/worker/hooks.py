"""What a deployed run reports besides its writes: lines it printed and records that did not
match their model (validation does not fail a deployed run, as in Nango) go to its log."""

from __future__ import annotations

from runtime.backends.stored import RunLog
from runtime.sdk.validation import ValidationSummary

__all__ = ["RunLogHooks"]


class RunLogHooks:
    """`RunHooks` writing to the run's log."""

    def __init__(self, log: RunLog) -> None:
        self._log = log

    def on_page(self, size: int) -> None:
        pass

    def on_pagination_stop(self, reason: str) -> None:
        self._log.add("debug", f"pagination stopped: {reason}")

    def on_invalid_records(self, summary: ValidationSummary) -> None:
        paths = ", ".join(path for path, _ in summary.by_path.most_common(3))
        self._log.add(
            "warn",
            f"{summary.invalid} {summary.model} record(s) do not match the model ({paths})",
        )

    def on_output(self, text: str) -> str:
        return self._log.add("info", text)

    def shown(self, text: str) -> str:
        return self._log.redact(text)
