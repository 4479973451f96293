"""`nango runtime start --background`, `nango runtime stop` and `--env-file`: the runtime as a
detached process of the data directory (`runtime.pid`, `runtime.log` there), and the `.env`
lines a project needs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cli.background import start_detached, stop_detached, update_env_file
from cli.terminal import console as output

__all__ = ["start_in_background", "stop_background", "write_env_file"]

PID_FILE = "runtime.pid"
LOG_FILE = "runtime.log"
_ENV_LINE = re.compile(r"^\s*(NANGO_[A-Z_]+)=(\S+)\s*$", re.MULTILINE)


def start_in_background(settings: Any, argv: list[str], env_file: Path | None) -> None:
    """Start `nango runtime start <argv>` detached, print its banner and where it logs, and
    write `env_file` from the banner's `.env` lines."""
    data_dir = Path(settings.data_dir)
    last = "NANGO_SECRET_KEY_PROD=" if settings.role == "worker" else "NANGO_HOSTPORT="
    log = data_dir / LOG_FILE
    started = start_detached(
        argv,
        log=log,
        pid_file=data_dir / PID_FILE,
        is_last_line=lambda line: last in line,
        health_url=lambda printed: _health_url(printed, settings.role),
        what="The nango runtime",
    )
    output.result(output.esc(started.printed.rstrip("\n")))
    output.result("")
    where = "" if data_dir == _default_dir() else f" --data-dir {data_dir}"
    output.success(
        f"running in the background (pid {started.pid}); log {log}; "
        f"stop it with `nango runtime stop{where}`"
    )
    if env_file is not None:
        _write_values(env_file, _env_values(started.printed))


def _default_dir() -> Path:
    from runtime.settings import load_settings

    return Path(load_settings(flags={}, config_file=None).data_dir)


def _health_url(printed: str, role: str) -> str | None:
    if role == "worker":
        return None
    hostport = _env_values(printed).get("NANGO_HOSTPORT")
    return f"{hostport}/health" if hostport else None


def _env_values(printed: str) -> dict[str, str]:
    """The `.env` lines of a banner; a key not known now (`<the dev key ...>`) is left out."""
    return {name: value for name, value in _ENV_LINE.findall(printed) if value[:1] != "<"}


def write_env_file(path: Path, prepared: Any) -> None:
    """The `.env` lines of a runtime started here: its URL and the keys known now."""
    values = {env.variable: env.secret_key for env in prepared.environments if env.secret_key}
    if prepared.settings.role != "worker":
        values["NANGO_HOSTPORT"] = prepared.url
    _write_values(path, values)


def _write_values(path: Path, values: dict[str, str]) -> None:
    update_env_file(path, values)
    names = ", ".join(values) or "nothing (no key is known now)"
    output.info(f"wrote {names} to {path}")


def stop_background(settings: Any) -> int:
    """Stop the runtime started with --background on this data directory; its pid."""
    data_dir = Path(settings.data_dir)
    return stop_detached(
        data_dir / PID_FILE,
        what="The nango runtime",
        stop_command=f"nango runtime stop --data-dir {data_dir}",
        timeout=max(30.0, settings.lease_seconds),
    )
