"""`GET /metrics`: this process's metrics and the database's figures, in the Prometheus text
format (or OpenMetrics, when the scraper's `Accept` asks for it). No environment key: with
`NANGO_METRICS_KEY` set it needs `Authorization: Bearer <metrics key>`, else it is open (as
`/health` is). See `runtime.observability`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from runtime.observability.exposition import is_authorized, render_metrics
from runtime.observability.gauges import DatabaseCollector
from runtime.observability.metrics import process_metrics
from runtime.server.auth import store_of
from runtime.server.errors import ApiError
from runtime.server.wire import ErrorBody
from runtime.settings import RuntimeSettings

router = APIRouter(tags=["metrics"])

_TEXT = {"schema": {"type": "string"}}


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The metrics (Prometheus text format, or OpenMetrics on request)",
            "content": {"text/plain": _TEXT, "application/openmetrics-text": _TEXT},
        },
        401: {"model": ErrorBody, "description": "The metrics key is required (unauthorized)"},
    },
)
def metrics(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Runs by kind and state, run durations, scheduling delays, lease expiries, records
    written (this process's counters), queue depth and age, runs in progress and webhook
    deliveries (from the database, global)."""
    settings: RuntimeSettings = request.app.state.settings
    if not is_authorized(settings.metrics_key, authorization):
        raise ApiError(401, "unauthorized", "This endpoint needs the metrics key")
    body, content_type = render_metrics(process_metrics(), _collector(request), accept)
    return Response(content=body, media_type=content_type)


def _collector(request: Request) -> DatabaseCollector:
    state = request.app.state
    collector: DatabaseCollector | None = getattr(state, "metrics_collector", None)
    if collector is None:
        collector = state.metrics_collector = DatabaseCollector(store_of(request))
    return collector
