"""Signatures of webhooks: Nango's on the ones the runtime sends, the providers' on the ones it
receives.

Out: `X-Nango-Hmac-Sha256` = hex HMAC-SHA256 of the body under the environment's secret key;
`X-Nango-Signature` = hex SHA-256 of key + body (Nango's legacy header, still sent).

In: each provider's own scheme, with the integration's webhook secret (`verify_provider_signature`).
Every comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping

__all__ = [
    "SIGNED_PROVIDERS",
    "nango_signature_headers",
    "verify_nango_signature",
    "verify_provider_signature",
]


def nango_signature_headers(secret: str, body: str) -> dict[str, str]:
    """The signature headers of an outgoing webhook `body` (the exact text sent)."""
    data = body.encode()
    return {
        "X-Nango-Signature": hashlib.sha256(secret.encode() + data).hexdigest(),
        "X-Nango-Hmac-Sha256": hmac.new(secret.encode(), data, hashlib.sha256).hexdigest(),
    }


def verify_nango_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` (a receiver's `X-Nango-Hmac-Sha256`) signs `body` with `secret`."""
    if not header:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.strip().lower())


# --- incoming: the providers' schemes -------------------------------------------------------

TOLERANCE_S = 300  # timestamped schemes (Stripe, Slack): older signatures are replays


def _hmac_hex(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def _same(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected, given.strip())


def _github(secret: str, body: bytes, headers: Mapping[str, str], _now: float) -> bool:
    return _same("sha256=" + _hmac_hex(secret, body), headers.get("x-hub-signature-256"))


def _shopify(secret: str, body: bytes, headers: Mapping[str, str], _now: float) -> bool:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return _same(base64.b64encode(digest).decode(), headers.get("x-shopify-hmac-sha256"))


def _linear(secret: str, body: bytes, headers: Mapping[str, str], _now: float) -> bool:
    return _same(_hmac_hex(secret, body), headers.get("linear-signature"))


def _fresh(timestamp: str, now: float) -> bool:
    try:
        return abs(now - int(timestamp)) <= TOLERANCE_S
    except ValueError:
        return False


def _stripe(secret: str, body: bytes, headers: Mapping[str, str], now: float) -> bool:
    parts = [p.split("=", 1) for p in (headers.get("stripe-signature") or "").split(",")]
    fields = [(p[0].strip(), p[1].strip()) for p in parts if len(p) == 2]
    stamp = next((v for k, v in fields if k == "t"), "")
    if not _fresh(stamp, now):
        return False
    expected = _hmac_hex(secret, stamp.encode() + b"." + body)
    return any(_same(expected, v) for k, v in fields if k == "v1")


def _slack(secret: str, body: bytes, headers: Mapping[str, str], now: float) -> bool:
    stamp = headers.get("x-slack-request-timestamp") or ""
    if not _fresh(stamp, now):
        return False
    expected = "v0=" + _hmac_hex(secret, b"v0:" + stamp.encode() + b":" + body)
    return _same(expected, headers.get("x-slack-signature"))


Verifier = Callable[[str, bytes, Mapping[str, str], float], bool]
_VERIFIERS: dict[str, Verifier] = {
    "github": _github,
    "shopify": _shopify,
    "linear": _linear,
    "stripe": _stripe,
    "slack": _slack,
}
SIGNED_PROVIDERS = tuple(sorted(_VERIFIERS))


def verify_provider_signature(
    provider: str, secret: str, body: bytes, headers: Mapping[str, str], *, now: float
) -> bool:
    """Whether a provider's webhook is signed with the integration's `secret`, by the
    provider's scheme (GitHub and its apps, Stripe, Slack, Shopify, Linear); any other
    provider: GitHub's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
    `headers` are lower-cased."""
    family = next((name for name in _VERIFIERS if provider.startswith(name)), "github")
    return _VERIFIERS[family](secret, body, headers, now)
