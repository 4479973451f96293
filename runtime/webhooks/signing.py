"""Signatures of webhooks: Nango's on the ones the runtime sends, the providers' on the ones it
receives.

Out: `X-Nango-Hmac-Sha256` = hex HMAC-SHA256 of the body under the environment's secret key;
`X-Nango-Signature` = hex SHA-256 of key + body (Nango's legacy header, still sent).
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["nango_signature_headers", "verify_nango_signature"]


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
