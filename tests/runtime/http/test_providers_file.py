"""NANGO_PROVIDERS_FILE: a catalog in Nango's own format, layered over the bundled one."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from runtime.errors import UserError
from runtime.http.providers import (
    PROVIDERS_FILE_VARIABLE,
    UnknownProviderError,
    get_provider,
    load_catalog,
)
from tests.runtime.http.nango_catalog import differences, nango_resolved, proxy

BUNDLED = load_catalog()


def _layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "providers.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    monkeypatch.setenv(PROVIDERS_FILE_VARIABLE, str(path))
    return path


# --- Nango's whole catalog -----------------------------------------------------------------------


def test_every_nango_provider_resolves_with_every_fact(
    nango_catalog_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROVIDERS_FILE_VARIABLE, str(nango_catalog_file))
    raw, resolved = nango_resolved(nango_catalog_file)
    found = []
    for key in raw:
        provider = get_provider(key)
        assert provider.key == key
        assert provider.base_url == proxy(resolved[key]).get("base_url"), key
        assert provider.auth_mode == resolved[key]["auth_mode"], key
        found += differences(key, provider, raw, resolved)
    assert not found, "\n".join(found)
    assert len(raw) > 900


def test_spot_checks_of_nango_providers_we_do_not_bundle(
    nango_catalog_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROVIDERS_FILE_VARIABLE, str(nango_catalog_file))
    assert "1password-scim" not in BUNDLED
    scim = get_provider("1password-scim")
    assert scim.auth_mode == "API_KEY"
    assert scim.base_url == "https://${connectionConfig.domain}/scim"
    assert scim.headers == {"authorization": "Bearer ${apiKey}"}

    chained = get_provider("google-calendar-mcp")  # -> google-calendar -> google
    assert chained.alias == "google-calendar"
    assert chained.auth_mode == get_provider("google").auth_mode

    mcp = get_provider("mcp-generic")  # no proxy block at all: no base URL
    assert (mcp.auth_mode, mcp.base_url) == ("MCP_OAUTH2_GENERIC", None)

    tripletex = get_provider("tripletex").paginate
    assert tripletex is not None and tripletex.offset_start_value == 0


def test_nango_file_over_ours_keeps_our_extra_entries(
    nango_catalog_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROVIDERS_FILE_VARIABLE, str(nango_catalog_file))
    assert get_provider("lattice-scim").alias == "lattice"
    assert set(load_catalog()) >= set(BUNDLED)


# --- layering rules ------------------------------------------------------------------------------


def test_entries_replace_ours_by_key_and_new_ones_are_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _layer(
        tmp_path,
        monkeypatch,
        """
        github:
            display_name: GitHub Enterprise
            categories: [dev-tools]
            auth_mode: OAUTH2
            token_url: https://ghe.acme.test/login/oauth/access_token
            proxy:
                base_url: https://ghe.acme.test/api/v3
                verification: {method: GET, endpoints: [/user]}
        acme:
            display_name: Acme
            auth_mode: API_KEY
            docs: https://acme.test/docs
            proxy:
                base_url: https://api.acme.test
                headers:
                    x-api-key: ${apiKey}
        """,
    )
    github = get_provider("github")
    assert github.base_url == "https://ghe.acme.test/api/v3"
    assert github.paginate is None and github.retry is None  # replaced whole, not merged
    assert get_provider("acme").headers == {"x-api-key": "${apiKey}"}
    assert get_provider("hubspot") == BUNDLED["hubspot"]
    app = get_provider("github-app")  # ours, an alias of github: now of the layered github
    assert (app.auth_mode, app.base_url) == ("APP", "https://ghe.acme.test/api/v3")


def test_aliases_reach_across_files_with_nangos_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _layer(
        tmp_path,
        monkeypatch,
        """
        github-mine:
            alias: github
            display_name: GitHub (mine)
        github-proxy:
            alias: github
            display_name: GitHub (through a proxy)
            proxy:
                headers:
                    x-proxy: "1"
        """,
    )
    mine, ours = get_provider("github-mine"), BUNDLED["github"]
    assert mine.alias == "github"
    assert (mine.base_url, mine.paginate, mine.token_url) == (
        ours.base_url,
        ours.paginate,
        ours.token_url,
    )
    behind = get_provider("github-proxy")  # a proxy block replaces the target's, base URL too
    assert behind.headers == {"x-proxy": "1"}
    assert behind.base_url is None and behind.paginate is None
    assert behind.auth_mode == ours.auth_mode


def test_the_file_is_read_again_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = "acme:\n    display_name: Acme\n    auth_mode: NONE\n    proxy:\n        base_url: {}\n"
    path = _layer(tmp_path, monkeypatch, entry.format("https://one.acme.test"))
    assert get_provider("acme").base_url == "https://one.acme.test"
    path.write_text(entry.format("https://second.acme.test"), encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a new version even on a coarse clock
    assert get_provider("acme").base_url == "https://second.acme.test"


def test_relative_path_is_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "acme:\n    display_name: Acme\n    auth_mode: NONE\n"
    (tmp_path / "catalog.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(PROVIDERS_FILE_VARIABLE, "catalog.yaml")
    assert get_provider("acme").display_name == "Acme"


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_setting_means_the_bundled_catalog(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROVIDERS_FILE_VARIABLE, value)
    assert load_catalog() == BUNDLED


def test_unknown_provider_hint_names_the_variable() -> None:
    with pytest.raises(UnknownProviderError) as caught:
        get_provider("1password-scim")
    assert caught.value.hint is not None and PROVIDERS_FILE_VARIABLE in caught.value.hint


def test_load_catalog_takes_the_nango_file_directly(tmp_path: Path) -> None:
    path = tmp_path / "nango.yaml"
    path.write_text("acme:\n    display_name: Acme\n    auth_mode: NONE\n", encoding="utf-8")
    catalog = load_catalog(nango_file=path)
    assert catalog["acme"].base_url is None
    assert catalog["github"] == BUNDLED["github"]


# --- bad files -----------------------------------------------------------------------------------


def _error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> tuple[str, Path]:
    path = _layer(tmp_path, monkeypatch, text)
    with pytest.raises(UserError) as caught:
        get_provider("github")
    assert caught.value.hint is not None and PROVIDERS_FILE_VARIABLE in caught.value.hint
    return str(caught.value), path


def test_yaml_syntax_error_names_file_line_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message, path = _error(
        tmp_path, monkeypatch, "acme:\n    display_name: Acme\n    auth_mode: [NONE\n"
    )
    assert message.startswith(f"{path}:4:1: invalid YAML: ")


def test_duplicate_provider_names_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = "acme:\n    display_name: Acme\n    auth_mode: NONE\n"
    message, path = _error(tmp_path, monkeypatch, entry + entry)
    assert message == f"{path}:4:1: invalid YAML: found duplicate key 'acme'"


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("    auth_mode: MAGIC\n", "provider 'acme': field 'auth_mode': Input should be"),
        ("    auth_mode: NONE\n    proxy: https://x\n", "provider 'acme': field 'proxy': must be"),
        (
            "    auth_mode: NONE\n    proxy:\n        base_url: api.acme.test\n",
            "provider 'acme': field 'base_url': Value error, 'api.acme.test' must start with",
        ),
        (
            "    auth_mode: NONE\n    proxy:\n        paginate: {type: pages}\n",
            "provider 'acme': field 'paginate.type'",
        ),
        ("    alias: nowhere\n", "provider 'acme': field 'alias': unknown provider 'nowhere'"),
    ],
)
def test_bad_entry_names_file_line_provider_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str, problem: str
) -> None:
    text = "good:\n    display_name: Good\n    auth_mode: NONE\nacme:\n    display_name: A\n"
    message, path = _error(tmp_path, monkeypatch, text + entry)
    assert f"{path}:4: {problem}" in message
    assert "'good'" not in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- a list\n", "expected a mapping of provider keys to entries"),
        ("acme: 3\n", ":1: provider 'acme': entry must be a mapping"),
    ],
)
def test_bad_file_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, problem: str
) -> None:
    message, path = _error(tmp_path, monkeypatch, text)
    assert message.startswith(str(path)) and problem in message


def test_many_bad_entries_are_summarised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "".join(f"p{n:02}:\n    display_name: P\n    auth_mode: MAGIC\n" for n in range(30))
    message, _ = _error(tmp_path, monkeypatch, text)
    assert "provider 'p19'" in message and "provider 'p20'" not in message
    assert message.endswith("... and 10 more")


def test_missing_file_names_the_file_and_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROVIDERS_FILE_VARIABLE, str(tmp_path / "absent.yaml"))
    with pytest.raises(UserError) as caught:
        get_provider("github")
    assert str(caught.value).startswith(
        f"cannot read provider catalog {tmp_path / 'absent.yaml'} ({PROVIDERS_FILE_VARIABLE}): "
    )


def test_a_directory_or_undecodable_file_is_a_user_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROVIDERS_FILE_VARIABLE, str(tmp_path))
    with pytest.raises(UserError, match="cannot read provider catalog"):
        get_provider("github")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00junk")
    monkeypatch.setenv(PROVIDERS_FILE_VARIABLE, str(binary))
    with pytest.raises(UserError, match=r"cannot read provider catalog .*binary\.yaml"):
        get_provider("github")
