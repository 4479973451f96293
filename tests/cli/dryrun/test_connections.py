from __future__ import annotations

import pytest

from cli.dryrun.connections import local_connection, settings_prefix
from runtime.errors import UserError
from runtime.http.providers import get_provider


def test_prefix_is_the_integration_id_upper_cased() -> None:
    assert settings_prefix("google-mail") == "NANGO_LOCAL_GOOGLE_MAIL_"
    assert settings_prefix("${PWD}") == "NANGO_LOCAL___PWD__"


def test_no_settings_means_none() -> None:
    assert local_connection("github", {}) is None


def test_oauth2_token_and_settings() -> None:
    found = local_connection(
        "github",
        {
            "NANGO_LOCAL_GITHUB_ACCESS_TOKEN": "tok",
            "NANGO_LOCAL_GITHUB_METADATA": '{"owner": "o"}',
            "NANGO_LOCAL_GITHUB_CONNECTION_CONFIG": '{"subdomain": "acme"}',
            "NANGO_LOCAL_GITHUB_BASE_URL": "http://localhost:1",
        },
    )
    assert found is not None
    assert found.metadata == {"owner": "o"}
    assert found.connection_config == {"subdomain": "acme"}
    assert found.base_url == "http://localhost:1"
    creds = found.credentials(get_provider("github"))
    assert creds["type"] == "OAUTH2"
    assert creds["access_token"] == "tok"


def test_api_key_basic_and_client_credentials() -> None:
    env = {
        "NANGO_LOCAL_X_API_KEY": "key",
        "NANGO_LOCAL_X_USERNAME": "user",
        "NANGO_LOCAL_X_PASSWORD": "pw",
        "NANGO_LOCAL_X_CLIENT_ID": "id",
        "NANGO_LOCAL_X_CLIENT_SECRET": "secret",
    }
    found = local_connection("x", env)
    assert found is not None
    by_mode = {
        mode: found.credentials(get_provider("github").model_copy(update={"auth_mode": mode}))
        for mode in ("API_KEY", "BASIC", "OAUTH2_CC", "NONE")
    }
    assert by_mode["API_KEY"] == {"type": "API_KEY", "apiKey": "key"}
    assert by_mode["BASIC"] == {"type": "BASIC", "username": "user", "password": "pw"}
    assert by_mode["OAUTH2_CC"] == {
        "type": "OAUTH2_CC",
        "client_id": "id",
        "client_secret": "secret",
    }
    assert by_mode["NONE"] == {"type": "NONE"}


def test_a_missing_credential_names_the_setting() -> None:
    found = local_connection("x", {"NANGO_LOCAL_X_METADATA": "{}"})
    assert found is not None
    provider = get_provider("github").model_copy(update={"auth_mode": "API_KEY"})
    with pytest.raises(UserError, match="NANGO_LOCAL_X_API_KEY is not set"):
        found.credentials(provider)


@pytest.mark.parametrize("text", ["not json", "[1, 2]"])
def test_json_settings_must_be_objects(text: str) -> None:
    with pytest.raises(UserError, match="NANGO_LOCAL_X_METADATA"):
        local_connection("x", {"NANGO_LOCAL_X_METADATA": text})
