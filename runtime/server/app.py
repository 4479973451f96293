"""The FastAPI app of the runtime: routers, error handlers, limits, over one `Store`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from runtime import __version__
from runtime.server.errors import error_body, install_error_handlers
from runtime.server.routes import actions, deploy, health, runs, syncs
from runtime.settings import RuntimeSettings
from runtime.store import Store

__all__ = ["create_app"]


def create_app(settings: RuntimeSettings, store: Store) -> FastAPI:
    """The API over `store` (the caller owns both and closes the store)."""
    app = FastAPI(
        title="nango-py runtime",
        version=__version__,
        description="Nango's public API (as Nango's Node client 0.71.10 uses it), the deploy "
        "endpoints of the nango CLI, and the OAuth connect flow.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store
    app.state.settings = settings
    install_error_handlers(app)
    _limit_body_size(app, settings.max_body_bytes)
    app.include_router(health.router)
    app.include_router(deploy.router)
    app.include_router(actions.router)
    app.include_router(syncs.router)
    app.include_router(runs.router)
    return app


def _limit_body_size(app: FastAPI, limit: int) -> None:
    """Refuse a body larger than `limit` bytes with 413, from its Content-Length or as it comes."""

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return JSONResponse(
                error_body("request_too_large", f"The request body is larger than {limit} bytes"),
                413,
            )
        return await call_next(request)
