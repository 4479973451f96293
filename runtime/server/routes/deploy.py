"""The deploy endpoints `nango deploy` calls: the plan, then the deploy (reference §5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from runtime.deploy.apply import apply_deploy, plan_deploy
from runtime.deploy.errors import DeployError
from runtime.deploy.wire import DeployRequest, ScriptDifferences, SyncDeploymentResult
from runtime.server.auth import CurrentEnvironment, get_store
from runtime.server.errors import ApiError
from runtime.server.wire import ERROR_RESPONSES
from runtime.store import Store

router = APIRouter(tags=["deploy"], responses=ERROR_RESPONSES)
StoreDep = Annotated[Store, Depends(get_store)]


@router.post("/sync/deploy/confirmation", response_model=ScriptDifferences)
def confirmation(
    request: DeployRequest, environment: CurrentEnvironment, store: StoreDep
) -> ScriptDifferences:
    """What deploying this payload would change (nothing is written)."""
    try:
        return plan_deploy(store, environment.id, request).differences
    except DeployError as exc:
        raise ApiError(400, exc.code, exc.message) from exc


@router.post("/sync/deploy", response_model=list[SyncDeploymentResult])
def deploy(
    request: DeployRequest, environment: CurrentEnvironment, store: StoreDep
) -> list[SyncDeploymentResult]:
    """Deploy the payload in one transaction; one result per script (unchanged ones too)."""
    try:
        return apply_deploy(store, environment.id, request).results
    except DeployError as exc:
        raise ApiError(400, exc.code, exc.message) from exc
