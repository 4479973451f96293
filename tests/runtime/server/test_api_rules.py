"""What every endpoint shares: the key, Nango's error bodies, the body size limit, the OpenAPI
document, and no secret at rest in clear."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from runtime.server.app import create_app
from runtime.settings import RuntimeSettings
from runtime.store import open_store, sqlite_url
from tests.runtime.server.conftest import TEST_KEY, ApiClient, api_client

PROTECTED = [
    ("GET", "/records?model=Issue"),
    ("GET", "/integrations"),
    ("POST", "/integrations"),
    ("GET", "/integrations/x"),
    ("PATCH", "/integrations/x"),
    ("DELETE", "/integrations/x"),
    ("GET", "/environment-variables"),
    ("PUT", "/environment-variables"),
    ("POST", "/connections/metadata"),
    ("PATCH", "/connections/metadata"),
    ("GET", "/proxy/anything"),
    ("POST", "/proxy/anything"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "missing_auth_header"),
        ("Bearer not-a-uuid", "invalid_secret_key_format"),
        ("Bearer 00000000-0000-4000-8000-000000000000", "unknown_account"),
    ],
)
def test_every_endpoint_needs_the_key(
    app: FastAPI, method: str, path: str, authorization: str | None, code: str
) -> None:
    with api_client(app, key=None) as client:
        sent = {"Authorization": authorization} if authorization else {}
        answer = client.request(method, path, headers=sent)
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["message"].startswith("Authentication failed")


def test_health_needs_no_key(app: FastAPI) -> None:
    with api_client(app, key=None) as client:
        answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_unknown_paths_and_methods_have_nangos_body(client: ApiClient) -> None:
    missing = client.get("/no/such/thing")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    wrong = client.request("DELETE", "/environment-variables")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (405, "method_not_allowed")


def test_a_body_over_the_limit_is_413_declared_or_chunked(client: ApiClient) -> None:
    big = b"[" + b'{"name":"A","value":"x"},' * 4000 + b'{"name":"B","value":"y"}]'
    declared = client.put(
        "/environment-variables", content=big, headers={"content-type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "request_too_large"

    def chunks() -> Any:
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    async def stream() -> Any:
        for chunk in chunks():
            yield chunk

    chunked = client.put(
        "/environment-variables", content=stream(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413
    assert client.get("/environment-variables").json() == []


def test_openapi_describes_every_endpoint(client: ApiClient) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    for path, method in [
        ("/records", "get"),
        ("/integrations", "post"),
        ("/integrations/{unique_key}", "delete"),
        ("/environment-variables", "put"),
        ("/connections/metadata", "patch"),
        ("/proxy/{path}", "post"),
        ("/health", "get"),
    ]:
        assert method in paths[path], (path, method)
    records = paths["/records"]["get"]
    schema = records["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/RecordsPage"}
    assert "ErrorBody" in document["components"]["schemas"]


def test_no_secret_is_kept_in_clear(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = open_store(sqlite_url(path), encryption_key=TEST_KEY)
    dev = store.environments.ensure("dev").generated_key
    assert dev is not None
    secrets = {
        "client": "client-secret-CLEAR-1",
        "token": "access-token-CLEAR-2",
        "refresh": "refresh-token-CLEAR-3",
        "variable": "variable-value-CLEAR-4",
    }
    app = create_app(RuntimeSettings(data_dir=tmp_path), store)
    with api_client(app, key=dev) as client:
        created = client.post(
            "/integrations",
            json={
                "provider": "github",
                "unique_key": "gh",
                "credentials": {
                    "type": "OAUTH2",
                    "client_id": "id",
                    "client_secret": secrets["client"],
                },
            },
        )
        assert created.status_code == 200
        client.put("/environment-variables", json=[{"name": "V", "value": secrets["variable"]}])
    environment = store.environments.get("dev")
    assert environment is not None
    store.connections.upsert(
        environment.id,
        "gh",
        "acme",
        credentials={
            "type": "OAUTH2",
            "access_token": secrets["token"],
            "refresh_token": secrets["refresh"],
        },
    )
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("store.db*"))
    for secret in [*secrets.values(), dev]:
        assert secret.encode() not in raw, secret
