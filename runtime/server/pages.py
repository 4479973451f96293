"""The small HTML pages of the OAuth flow (what a browser shows after the consent page).

Every text is escaped; the page loads nothing, runs no script, cannot be framed or cached.
"""

from __future__ import annotations

import html

from fastapi.responses import HTMLResponse

__all__ = ["page"]

_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
_TEMPLATE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title} - nango-py</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em}}
h1{{color:{color}}}</style></head>
<body><h1>{title}</h1><p>{detail}</p></body>
</html>
"""


def page(title: str, detail: str, *, status: int = 200, succeeded: bool = False) -> HTMLResponse:
    """A page saying what happened (`title` and `detail` are plain text)."""
    content = _TEMPLATE.format(
        title=html.escape(title),
        detail=html.escape(detail),
        color="#1a7f37" if succeeded else "#b42318",
    )
    return HTMLResponse(content, status_code=status, headers=_HEADERS)
