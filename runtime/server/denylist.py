"""Nango's denylist of `Base-Url-Override` hosts (`NANGO_PROXY_BASE_URL_OVERRIDE_DENYLIST`).

Unset: Nango's defaults (cloud metadata endpoints and loopback). An empty list: no denylist
(the operator's choice). A list: the defaults plus its entries. Entries are host names, IP
addresses or URLs; hosts are compared in one canonical form (lower case, no trailing dot, IPv4
in dotted decimal whatever its spelling, IPv6 compressed), so `http://0x7f.1/` is 127.0.0.1.
A URL that cannot be parsed is denied while a denylist is in force.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["DEFAULT_DENYLIST", "canonical_host", "denylist", "is_denied"]

DEFAULT_DENYLIST = (
    "169.254.169.254",
    "metadata.google.internal",
    "localhost",
    "127.0.0.1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:169.254.169.254]",
)


def canonical_host(host: str) -> str:
    """The form hosts are compared in."""
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.rstrip(".")
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        pass
    if text and all(c in "0123456789abcdefx." for c in text):
        try:  # inet_aton reads 127.1, 0x7f.0.0.1 and 2130706433 as browsers do
            return socket.inet_ntoa(socket.inet_aton(text))
        except OSError:
            pass
    return text


def _entry_host(entry: str) -> str:
    text = entry.strip()
    if "://" in text:
        return canonical_host(urlsplit(text).hostname or text)
    if text.startswith("["):
        return canonical_host(text.split("]")[0] + "]")
    return canonical_host(text.rsplit(":", 1)[0] if text.count(":") == 1 else text)


def denylist(configured: Iterable[str] | None) -> frozenset[str]:
    """The hosts denied: Nango's defaults when unset, none for an empty list, else both."""
    if configured is None:
        entries: list[str] = list(DEFAULT_DENYLIST)
    else:
        entries = [e for e in configured if e.strip()]
        if not entries:
            return frozenset()
        entries = [*DEFAULT_DENYLIST, *entries]
    return frozenset(host for host in map(_entry_host, entries) if host)


def is_denied(url: str, denied: frozenset[str]) -> bool:
    if not denied:
        return False
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return True
    if not host:
        return True
    return canonical_host(host) in denied
