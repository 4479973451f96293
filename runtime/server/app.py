"""The FastAPI app of the runtime: routers, error handlers, limits, over one `Store`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from runtime import __version__
from runtime.http.client import build_client
from runtime.server.errors import install_error_handlers
from runtime.server.limits import BodySizeLimit
from runtime.server.records_fast import RecordsFastPath
from runtime.server.routes import (
    actions,
    connections,
    deploy,
    health,
    integrations,
    metadata,
    metrics,
    oauth,
    proxy,
    records,
    runs,
    syncs,
    variables,
    webhooks,
)
from runtime.settings import RuntimeSettings
from runtime.store import Store

__all__ = ["PROXY_TIMEOUT_S", "create_app"]

PROXY_TIMEOUT_S = 120.0


def create_app(settings: RuntimeSettings, store: Store) -> FastAPI:
    """The API over `store` (the caller owns both and closes the store)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.http_client.aclose()

    app = FastAPI(
        title="nango-py runtime",
        version=__version__,
        description="Nango's public API (as Nango's Node client 0.71.10 uses it), the deploy "
        "endpoints of the nango CLI, the OAuth connect flow and webhooks. Every endpoint but "
        "/health, /oauth/* and the providers' POST /webhook/* needs `Authorization: Bearer "
        "<environment secret key>`.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.settings = settings
    # One connection pool for every proxied call (the provider's API, on the user's behalf).
    app.state.http_client = build_client(timeout=PROXY_TIMEOUT_S)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    # Outermost: well-formed `GET /records` requests skip the rest (records_fast.py).
    app.add_middleware(RecordsFastPath)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(records.router)
    # Before the connections router: its /connections/{id} would take /connections/metadata.
    app.include_router(metadata.router)
    app.include_router(integrations.router)
    app.include_router(variables.router)
    app.include_router(proxy.router)
    app.include_router(connections.router)
    app.include_router(oauth.router)
    app.include_router(deploy.router)
    app.include_router(actions.router)
    app.include_router(syncs.router)
    app.include_router(runs.router)
    app.include_router(webhooks.router)
    return app
