"""`GET /health`: no key needed."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from runtime import __version__

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str


@router.get("/health", response_model=Health)
def health() -> Health:
    """The runtime answers: `{"status": "ok", "version": ...}`."""
    return Health(status="ok", version=__version__)
