"""The runtime's logs on stderr: `human` (the default) or `json`, one object per line:

    {"time": "2025-01-02T03:04:05.678Z", "level": "info", "logger": "nango.runtime.worker",
     "message": "run 5f0c... (sync issues) started in pid 4242", "environment": "dev",
     "task_id": "5f0c...", "kind": "sync", "script": "issues", "connection": "acme"}

Context fields (`environment`, `task_id`, `kind`, `script`, `connection`, `request_id`) come
from a record's `extra` (`log.info(..., extra=run_context(task, store))`) or from the
surrounding `log_context(...)`; a field without a value is left out. An exception is in
`exception` (its traceback as text).

Secrets never reach a line, in either format: the values the process knows (the environments'
secret keys, the encryption key, the metrics key, the database password) are replaced wherever
they appear, and so are the shapes a secret takes in text (`Bearer <token>`, `password=...`,
`"access_token": "..."`, the password of a URL).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from runtime.redaction import REDACTED, Redactor

if TYPE_CHECKING:
    from runtime.settings import LogFormat, RuntimeSettings
    from runtime.store import Store
    from runtime.store.tasks import Task

__all__ = [
    "CONTEXT_FIELDS",
    "HUMAN_FORMAT",
    "JsonFormatter",
    "RedactingFilter",
    "configure_logging",
    "log_context",
    "run_context",
]

CONTEXT_FIELDS = ("environment", "task_id", "kind", "script", "connection", "request_id")
HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_MESSAGE_CHARS = 64 * 1024
_LOGGERS = ("nango", "uvicorn")
_MARK = "_nango_handler"

_context: ContextVar[Mapping[str, str] | None] = ContextVar("nango_log_context", default=None)


@contextlib.contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Add context fields to every line logged inside the block (this thread or task)."""
    current = dict(_context.get() or {})
    current.update({k: str(v) for k, v in fields.items() if v is not None})
    token = _context.set(current)
    try:
        yield
    finally:
        _context.reset(token)


def run_context(task: Task, store: Store | None = None) -> dict[str, str]:
    """The context fields of a run's lines (`extra=` of a logging call)."""
    connection = task.payload.get("connection_id")
    fields = {"task_id": task.id, "kind": task.kind, "script": task.name}
    if isinstance(connection, str):
        fields["connection"] = connection
    fields["environment"] = _environment_name(store, task.environment_id)
    return fields


_environment_names: dict[tuple[int, int], str] = {}


def _environment_name(store: Store | None, environment_id: int) -> str:
    """The environment's name (looked up once per store), else its id."""
    if store is None:
        return str(environment_id)
    key = (id(store.database), environment_id)
    name = _environment_names.get(key)
    if name is None:
        try:
            found = store.environments.get_by_id(environment_id)
        except Exception:
            return str(environment_id)
        name = found.name if found is not None else str(environment_id)
        if len(_environment_names) > 1024:
            _environment_names.clear()
        _environment_names[key] = name
    return name


# --- redaction ------------------------------------------------------------------------------------

_KEY = r"[\w.-]*(?:token|secret|password|passwd|api[_-]?key|apikey|authorization|signature)[\w.-]*"
_SHAPES = (
    # Authorization values (a credential has a digit or a symbol: "basic authentication" stays)
    (
        re.compile(r"(?i)\b(bearer|basic)(\s+)(?=[\w~+/=.-]*[\d~+/=.-])[\w~+/=.-]{8,}"),
        r"\1\2" + REDACTED,
    ),
    # "access_token": "value" (JSON, Python reprs)
    (
        re.compile(rf"""(?i)(["']{_KEY}["']\s*:\s*["'])[^"']+(["'])"""),
        r"\1" + REDACTED + r"\2",
    ),
    # access_token=value (query strings, forms, key=value messages)
    (re.compile(rf"(?i)\b({_KEY}=)[^\s&\"',;)]+"), r"\1" + REDACTED),
    # scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@"), r"\1" + REDACTED + "@"),
)


def redact_text(text: str, known: Redactor | None = None) -> str:
    """`text` with the known secret values and the shapes of secrets blanked out."""
    if known:
        text = known(text)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Blanks secrets out of a record's message and exception text before any handler formats
    it (the record's arguments are merged into its message)."""

    def __init__(self, known: Redactor | None = None) -> None:
        super().__init__()
        self.known = known

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what can be shown
            message = f"{record.msg!s} {record.args!r}"
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[:MAX_MESSAGE_CHARS] + " [truncated]"
        record.msg, record.args = redact_text(message, self.known), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, self.known)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info, self.known)
        return True


# --- formats --------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_context.get() or {})
        for name in CONTEXT_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = str(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        line = json.dumps(entry, ensure_ascii=False, default=str)
        # A lone surrogate (undecodable bytes) cannot be written as UTF-8.
        return line.encode("utf-8", "replace").decode("utf-8")


def _iso(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def known_secrets(settings: RuntimeSettings) -> Redactor:
    """The secret values of the runtime's settings."""
    from sqlalchemy.engine import make_url

    values = [
        settings.secret_key_dev,
        settings.secret_key_prod,
        settings.encryption_key,
        settings.metrics_key,
    ]
    # An invalid URL is refused elsewhere, with its own message.
    with contextlib.suppress(Exception):
        values.append(make_url(settings.database).password)
    return Redactor(v.strip() for v in values if isinstance(v, str) and v.strip())


def build_handler(log_format: LogFormat, known: Redactor | None = None) -> logging.Handler:
    """A stderr handler in `log_format`, redacting secrets."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(HUMAN_FORMAT)
    handler.setFormatter(formatter)
    handler.addFilter(RedactingFilter(known))
    setattr(handler, _MARK, True)
    return handler


def configure_logging(
    log_format: LogFormat = "human", settings: RuntimeSettings | None = None
) -> None:
    """The runtime's and uvicorn's logs (INFO and up) and every other library's warnings, to
    stderr in `log_format` (stdout holds the start banner only). Calling it again replaces
    what it installed before."""
    known = known_secrets(settings) if settings is not None else None
    handler = build_handler(log_format, known)
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        _replace_handler(logger, handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    warnings = build_handler(log_format, known)
    warnings.setLevel(logging.WARNING)
    _replace_handler(logging.getLogger(), warnings)


def _replace_handler(logger: logging.Logger, handler: logging.Handler) -> None:
    for old in [h for h in logger.handlers if getattr(h, _MARK, False)]:
        logger.removeHandler(old)
    logger.addHandler(handler)
