"""Environment variables: `GET /environment-variables` (Nango's) and `PUT
/environment-variables` (ours: the environment's variables become exactly the given list).
Values are encrypted at rest."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from runtime.server.auth import CurrentEnvironment, CurrentStore, current_environment
from runtime.server.validation import invalid, only_query
from runtime.server.wire import ERROR_RESPONSES, EnvironmentVariableBody

router = APIRouter(
    tags=["environment variables"],
    dependencies=[Depends(current_environment), Depends(only_query())],
    responses=ERROR_RESPONSES,
)

MAX_VARIABLES = 1000


@router.get("/environment-variables")
def list_variables(
    environment: CurrentEnvironment, store: CurrentStore
) -> list[EnvironmentVariableBody]:
    """The environment's variables, `[{name, value}]`, in the order they were first set."""
    found = store.variables.list_all(environment.id)
    return [EnvironmentVariableBody(name=v.name, value=v.value) for v in found]


@router.put("/environment-variables")
def replace_variables(
    environment: CurrentEnvironment,
    store: CurrentStore,
    variables: Annotated[list[EnvironmentVariableBody], Body(max_length=MAX_VARIABLES)],
) -> list[EnvironmentVariableBody]:
    """Make the environment's variables exactly these (names unique); answers them."""
    names = [v.name for v in variables]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise invalid("invalid_body", str(index), f"Duplicate variable name {name!r}")
    store.variables.replace_all(environment.id, {v.name: v.value for v in variables})
    return list_variables(environment, store)
