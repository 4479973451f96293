"""Filling the placeholders of a provider's OAuth URLs and token parameters:
`${connectionConfig.<name>}` from the connection's configuration and `${credentials.<name>}`
from its credentials.

`a || b` falls back to `b` when `a` cannot be filled, as in Nango's catalog
(`https://${connectionConfig.hostname}/oauth2/token || https://login.example.com/oauth2/token`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from runtime.credentials.errors import ConnectError

__all__ = ["fill"]

_PLACEHOLDER = re.compile(r"\$\{(connectionConfig|credentials)\.([A-Za-z0-9_.-]+)\}")


def _fill_one(template: str, values: Mapping[str, Mapping[str, Any]]) -> str:
    def replace(match: re.Match[str]) -> str:
        value = values.get(match.group(1), {}).get(match.group(2))
        if value is None or value == "" or isinstance(value, Mapping | list):
            raise KeyError(match.group(0))
        return str(value)

    return _PLACEHOLDER.sub(replace, template)


def fill(
    template: str,
    connection_config: Mapping[str, Any],
    *,
    what: str,
    credentials: Mapping[str, Any] | None = None,
) -> str:
    """`template` with the connection's values filled in; a `ConnectError` naming the missing
    setting when no alternative can be filled."""
    values = {"connectionConfig": connection_config, "credentials": credentials or {}}
    *alternatives, last = (part.strip() for part in template.split("||"))
    for alternative in alternatives:
        try:
            return _fill_one(alternative, values)
        except KeyError:
            continue
    try:
        return _fill_one(last, values)
    except KeyError as missing:
        placeholder = missing.args[0]
        source, _, name = placeholder[2:-1].partition(".")
        if source == "credentials":
            raise ConnectError(
                f"The {what} needs credentials[{name!r}], which the connection does not have"
            ) from None
        raise ConnectError(
            f"The {what} needs the connection setting {name!r}, which was not given",
            hint=f'Pass it in the connection config (`--config \'{{"{name}": "..."}}\'`, or '
            f"`params[{name}]=...` on /oauth/connect).",
        ) from None
