"""The runtime's log formats: JSON, one object per line with time, level, logger, message and
the run's context; the human format by default; secrets never written, in either format."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from runtime.observability.logs import (
    HUMAN_FORMAT,
    JsonFormatter,
    RedactingFilter,
    build_handler,
    configure_logging,
    known_secrets,
    log_context,
    redact_text,
    run_context,
)
from runtime.redaction import REDACTED
from runtime.settings import RuntimeSettings
from runtime.store.tasks import NewTask, Timeouts
from tests.runtime.store.conftest import World

DEV_KEY = "6a1e2f3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
ENCRYPTION_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing JSON through the runtime's handler into a buffer."""
    settings = RuntimeSettings(
        secret_key_dev=DEV_KEY,
        encryption_key=ENCRYPTION_KEY,
        database_url="postgresql://nango:pg-Pa55word@db:5432/nango",
    )
    handler = build_handler("json", known_secrets(settings))
    buffer = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    logger = logging.getLogger("nango.test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, buffer
    logger.removeHandler(handler)


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    text = buffer.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_one_json_object_per_line(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = captured
    logger.info("first line\nsecond line of the same record: %s", "arg")
    logger.warning("unicode stays readable: ünïcödé, and a lone surrogate: \udcff")
    first, second = lines(buffer)
    assert set(first) == {"time", "level", "logger", "message"}
    assert first["level"] == "info" and first["logger"] == "nango.test.logs"
    assert first["message"] == "first line\nsecond line of the same record: arg"
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert second["level"] == "warning" and "ünïcödé" in second["message"]


def test_the_context_of_a_run(captured: tuple[logging.Logger, io.StringIO], world: World) -> None:
    logger, buffer = captured
    new = NewTask(
        world.environment_id, "sync", "issues", {"connection_id": "acme"}, Timeouts(1000, 1000)
    )
    task = world.store.tasks.create(new)
    assert task is not None
    logger.info("run started", extra=run_context(task, world.store))
    with log_context(request_id="r-1", environment="prod"):
        logger.info("inside a block")
    logger.info("after the block")
    run, inside, after = lines(buffer)
    assert run["task_id"] == task.id
    assert (run["environment"], run["kind"], run["script"], run["connection"]) == (
        "dev",
        "sync",
        "issues",
        "acme",
    )
    assert (inside["request_id"], inside["environment"]) == ("r-1", "prod")
    assert "request_id" not in after


def test_known_secrets_never_reach_a_line(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = captured
    logger.info("key %s used", DEV_KEY)
    logger.warning("connecting to %s", "postgresql://nango:pg-Pa55word@db:5432/nango")
    try:
        raise ValueError(f"bad key {ENCRYPTION_KEY}")
    except ValueError:
        logger.exception("failed")
    text = buffer.getvalue()
    for secret in (DEV_KEY, ENCRYPTION_KEY, "pg-Pa55word"):
        assert secret not in text
    *_, failure = lines(buffer)
    assert "ValueError: bad key [REDACTED]" in failure["exception"]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer gho_16C7e42F292c6912E7710c838347Ae178B4a", "gho_16C7e42F"),
        ("header basic dXNlcjpwYXNzd29yZA== sent", "dXNlcjpwYXNzd29yZA"),
        ('{"access_token": "ya29.a0AfH6SMBx", "expires_in": 3599}', "ya29.a0AfH6SMBx"),
        ("{'client_secret': 'cs-12345678'}", "cs-12345678"),
        ("POST /token?refresh_token=1//0gAbCdEf&x=1 failed", "1//0gAbCdEf"),
        ("password=hunter2!, retrying", "hunter2!"),
        ("https://user:s3cr3t@api.example.com/v1", "s3cr3t"),
    ],
)
def test_the_shapes_of_secrets_are_blanked_out(text: str, secret: str) -> None:
    redacted = redact_text(text)
    assert secret not in redacted and REDACTED in redacted


@pytest.mark.parametrize(
    "text",
    [
        "basic authentication is not supported by this provider",
        "the token expired for connection acme",
        "run 5f0c (sync issues) started in pid 4242",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert redact_text(text) == text


def test_the_human_format_is_the_default_and_redacts_too() -> None:
    handler = build_handler(RuntimeSettings().log_format, known_secrets(RuntimeSettings()))
    assert isinstance(handler.formatter, logging.Formatter)
    assert not isinstance(handler.formatter, JsonFormatter)
    assert handler.formatter._fmt == HUMAN_FORMAT
    record = logging.LogRecord(
        "nango", logging.INFO, __file__, 1, "Bearer %s", ("abc12345678",), None
    )
    assert RedactingFilter().filter(record)
    assert handler.format(record).endswith("nango: Bearer [REDACTED]")


def test_a_bad_format_string_is_still_logged() -> None:
    record = logging.LogRecord("nango", logging.INFO, __file__, 1, "%d items", ("x",), None)
    RedactingFilter().filter(record)
    assert "%d items" in JsonFormatter().format(record)


def test_a_huge_message_is_cut() -> None:
    record = logging.LogRecord("nango", logging.INFO, __file__, 1, "x" * 1_000_000, None, None)
    RedactingFilter().filter(record)
    line = JsonFormatter().format(record)
    assert len(line) < 70_000 and json.loads(line)["message"].endswith("[truncated]")


def test_configuring_twice_installs_one_handler_per_logger() -> None:
    configure_logging("json")
    configure_logging("human")
    for name in ("nango", "uvicorn", ""):
        ours = [h for h in logging.getLogger(name).handlers if getattr(h, "_nango_handler", 0)]
        assert len(ours) == 1
    (nango,) = logging.getLogger("nango").handlers
    assert not isinstance(nango.formatter, JsonFormatter)
    assert logging.getLogger("nango").propagate is False
