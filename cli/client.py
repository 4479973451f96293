"""The CLI's one HTTP client to the runtime (`NANGO_HOSTPORT`), for deploy, connections,
integrations, runs, logs and version.

Every failure is a `RuntimeAPIError` that says what happened and what to do: the runtime is not
running, the key is missing or wrong, or the server refused (its code and message).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

from runtime import __version__
from runtime.errors import RuntimeAPIError, SetupError

__all__ = ["DEFAULT_HOSTPORT", "RuntimeClient", "hostport", "runtime_version", "secret_key_for"]

DEFAULT_HOSTPORT = "http://localhost:3003"


def hostport() -> str:
    return (os.environ.get("NANGO_HOSTPORT") or DEFAULT_HOSTPORT).rstrip("/")


def secret_key_for(environment: str) -> str:
    """`NANGO_SECRET_KEY_<ENV>`, else `NANGO_SECRET_KEY`; a clear error when neither is set."""
    name = f"NANGO_SECRET_KEY_{environment.upper()}"
    key = os.environ.get(name) or os.environ.get("NANGO_SECRET_KEY")
    if not key:
        raise SetupError(
            f"{name} is not set: the runtime needs the {environment} environment's secret key",
            hint=f"Add {name}=<key> to the project's .env (`nango runtime start` prints the keys "
            "when it first starts).",
        )
    return key.strip()


class RuntimeClient:
    """Calls the runtime's API with the environment's secret key."""

    def __init__(
        self,
        *,
        environment: str = "dev",
        secret_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.environment = environment
        self.base_url = (base_url or hostport()).rstrip("/")
        key = secret_key if secret_key is not None else secret_key_for(environment)
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
            headers={"authorization": f"Bearer {key}", "user-agent": f"nango-py-cli/{__version__}"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RuntimeClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """The answer's JSON body (None when empty); a `RuntimeAPIError` otherwise."""
        try:
            response = self._client.request(
                method, path, json=json, params=params, headers=dict(headers or {})
            )
        except httpx.TimeoutException as exc:
            raise RuntimeAPIError(
                f"The runtime at {self.base_url} did not answer {method} {path} in time",
                hint="Check that it is running and not overloaded (`nango runtime start`).",
            ) from exc
        except httpx.HTTPError as exc:
            raise RuntimeAPIError(
                f"The runtime is not reachable at {self.base_url} ({type(exc).__name__})",
                hint="Start it with `nango runtime start`, or point NANGO_HOSTPORT at it.",
            ) from exc
        return _answer(response, method, path, self.environment)

    def get(self, path: str, **options: Any) -> Any:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> Any:
        return self.request("POST", path, **options)

    def patch(self, path: str, **options: Any) -> Any:
        return self.request("PATCH", path, **options)

    def put(self, path: str, **options: Any) -> Any:
        return self.request("PUT", path, **options)

    def delete(self, path: str, **options: Any) -> Any:
        return self.request("DELETE", path, **options)


def _answer(response: httpx.Response, method: str, path: str, environment: str) -> Any:
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if response.is_success:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    code = str(error.get("code")) if isinstance(error, dict) and error.get("code") else None
    message = error.get("message") if isinstance(error, dict) else None
    text = str(message) if message else (response.text[:200] or response.reason_phrase)
    hint = None
    if response.status_code == 401:
        hint = (
            f"Check NANGO_SECRET_KEY_{environment.upper()}: it must be the key the runtime "
            f"printed for the {environment} environment."
        )
    shown = f"{text} ({code})" if code else text
    raise RuntimeAPIError(
        f"{method} {path} failed with {response.status_code}: {shown}",
        status=response.status_code,
        code=code,
        hint=hint,
    )


def runtime_version(timeout: float = 2.0) -> tuple[str, str | None, str]:
    """(host, version or None, why not) of the runtime at NANGO_HOSTPORT."""
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
