"""Talking to the runtime server (NANGO_HOSTPORT)."""

from __future__ import annotations

import os

DEFAULT_HOSTPORT = "http://localhost:3003"


def hostport() -> str:
    return (os.environ.get("NANGO_HOSTPORT") or DEFAULT_HOSTPORT).rstrip("/")


def runtime_version(timeout: float = 2.0) -> tuple[str, str | None, str]:
    """(host, version or None, why not) of the runtime at NANGO_HOSTPORT."""
    import httpx

    host = hostport()
    try:
        response = httpx.get(f"{host}/health", timeout=timeout)
        response.raise_for_status()
        body = response.json()
    except httpx.HTTPError as exc:
        return host, None, type(exc).__name__
    except ValueError:
        return host, None, "the answer was not JSON"
    version = body.get("version") if isinstance(body, dict) else None
    return host, str(version) if version else None, "no version in /health"
