"""The provider catalog: corpus providers resolve, aliases merge, bad catalogs are reported."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runtime.errors import UserError
from runtime.http.providers import (
    Provider,
    UnknownProviderError,
    get_provider,
    load_catalog,
)

CORPUS_PROVIDERS = Path(__file__).parents[3] / "shared" / "corpus" / "providers.txt"


def _corpus_keys() -> list[str]:
    if not CORPUS_PROVIDERS.is_file():
        pytest.skip(f"provider corpus not found at {CORPUS_PROVIDERS} (../shared/corpus is absent)")
    return [line.strip() for line in CORPUS_PROVIDERS.read_text().splitlines() if line.strip()]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "providers.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- the bundled catalog -------------------------------------------------------------------------


def test_every_corpus_provider_resolves() -> None:
    keys = _corpus_keys()
    catalog = load_catalog()
    missing = sorted(set(keys) - set(catalog))
    assert not missing, f"providers missing from the catalog: {missing}"
    for key in keys:
        provider = get_provider(key)
        assert provider.key == key
        assert provider.auth_mode
        assert provider.display_name
        assert provider.base_url.startswith("https://") or "${connectionConfig." in (
            provider.base_url
        ), f"{key}: {provider.base_url}"


def test_catalog_matches_corpus_exactly() -> None:
    keys = _corpus_keys()
    assert sorted(load_catalog()) == sorted(keys)


def test_bundled_file_is_sorted_by_key() -> None:
    path = Path(__file__).parents[2] / "runtime" / "http" / "providers.yaml"
    keys = [
        line.split(":", 1)[0]
        for line in path.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith((" ", "#"))
    ]
    assert keys == sorted(keys)


def test_api_key_providers_say_how_the_key_is_sent() -> None:
    api_key = [p for p in load_catalog().values() if p.auth_mode == "API_KEY"]
    assert api_key
    for provider in api_key:
        sent = [*provider.headers.values(), *provider.query.values()]
        assert any("${apiKey}" in value for value in sent), provider.key


def test_oauth_providers_have_token_urls() -> None:
    for provider in load_catalog().values():
        if provider.auth_mode in {"OAUTH2", "OAUTH2_CC"}:
            assert provider.token_url, provider.key
        if provider.auth_mode == "BASIC":
            assert provider.token_url is None, provider.key


def test_github_pagination_and_retry() -> None:
    github = get_provider("github")
    assert github.base_url == "https://api.github.com"
    assert github.auth_mode == "OAUTH2"
    assert github.paginate is not None
    assert github.paginate.type == "link"
    assert github.paginate.link_rel_in_response_header == "next"
    assert github.paginate.limit_name_in_request == "per_page"
    assert github.retry is not None
    assert github.retry.at == "x-ratelimit-reset"
    assert github.retry.remaining == "x-ratelimit-remaining"


def test_hubspot_pagination() -> None:
    paginate = get_provider("hubspot").paginate
    assert paginate is not None
    assert paginate.type == "cursor"
    assert paginate.cursor_name_in_request == "after"
    assert paginate.cursor_path_in_response == "paging.next.after"
    assert paginate.limit_name_in_request == "limit"
    assert paginate.response_path == "results"


def test_notion_pagination_and_version_header() -> None:
    notion = get_provider("notion")
    assert notion.headers["notion-version"] == "2022-06-28"
    assert notion.paginate is not None
    assert notion.paginate.type == "cursor"
    assert notion.paginate.cursor_name_in_request == "start_cursor"
    assert notion.paginate.cursor_path_in_response == "next_cursor"
    assert notion.paginate.limit_name_in_request == "page_size"
    assert notion.paginate.response_path == "results"


def test_bundled_aliases_inherit_and_override() -> None:
    basic = get_provider("aircall-basic")
    oauth = get_provider("aircall")
    assert basic.alias == "aircall"
    assert basic.auth_mode == "BASIC"
    assert basic.base_url == oauth.base_url
    assert basic.paginate == oauth.paginate
    assert basic.token_url is None  # explicit null clears the inherited token URL

    pat = get_provider("airtable-pat")
    assert pat.auth_mode == "API_KEY"
    assert pat.headers == {"authorization": "Bearer ${apiKey}"}

    chained = get_provider("lever-basic-sandbox")  # -> lever-basic -> lever
    assert chained.auth_mode == "BASIC"
    assert chained.base_url == "https://api.sandbox.lever.co"
    assert chained.paginate == get_provider("lever").paginate

    mail = get_provider("google-mail")
    assert mail.base_url == "https://gmail.googleapis.com"
    assert mail.token_url == get_provider("google").token_url
    assert mail.paginate is not None
    assert mail.paginate.cursor_name_in_request == "pageToken"  # inherited nested key
    assert mail.paginate.limit_name_in_request == "maxResults"  # added nested key


def test_unknown_provider_suggests_close_names() -> None:
    with pytest.raises(UnknownProviderError) as info:
        get_provider("githib")
    assert isinstance(info.value, UserError)
    assert "githib" in str(info.value)
    assert "github" in info.value.suggestions
    assert "'github'" in str(info.value)


def test_unknown_provider_without_suggestions() -> None:
    with pytest.raises(UnknownProviderError) as info:
        get_provider("zzzzzzzzzzzz")
    assert info.value.suggestions == []
    assert "zzzzzzzzzzzz" in str(info.value)


def test_default_catalog_is_cached_and_copied() -> None:
    first = load_catalog()
    first.pop("github")
    second = load_catalog()
    assert "github" in second
    assert second["hubspot"] is load_catalog()["hubspot"]


# --- custom catalog files ------------------------------------------------------------------------


def test_alias_merges_nested_mappings(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        base:
          display_name: Base
          auth_mode: OAUTH2
          base_url: https://api.example.com
          token_url: https://example.com/token
          headers:
            accept: application/json
            x-version: "1"
          paginate:
            type: cursor
            cursor_name_in_request: cursor
            limit_name_in_request: limit
        variant:
          alias: base
          display_name: Variant
          auth_mode: API_KEY
          token_url: null
          headers:
            x-api-key: ${apiKey}
          paginate:
            limit_name_in_request: per_page
        """,
    )
    catalog = load_catalog(path)
    variant = catalog["variant"]
    assert isinstance(variant, Provider)
    assert variant.alias == "base"
    assert variant.display_name == "Variant"
    assert variant.base_url == "https://api.example.com"
    assert variant.token_url is None
    assert variant.headers == {
        "accept": "application/json",
        "x-version": "1",
        "x-api-key": "${apiKey}",
    }
    assert variant.paginate is not None
    assert variant.paginate.type == "cursor"
    assert variant.paginate.cursor_name_in_request == "cursor"
    assert variant.paginate.limit_name_in_request == "per_page"
    assert catalog["base"].paginate is not None
    assert catalog["base"].paginate.limit_name_in_request == "limit"  # target left untouched


def test_alias_cycle_raises(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        one:
          alias: two
        two:
          alias: three
        three:
          alias: one
        """,
    )
    with pytest.raises(UserError, match="alias cycle") as info:
        load_catalog(path)
    assert "'alias'" in str(info.value)


def test_self_alias_is_a_cycle(tmp_path: Path) -> None:
    path = _write(tmp_path, "me:\n  alias: me\n")
    with pytest.raises(UserError, match="alias cycle me -> me"):
        load_catalog(path)


def test_alias_to_unknown_provider(tmp_path: Path) -> None:
    path = _write(tmp_path, "orphan:\n  alias: nowhere\n  display_name: Orphan\n")
    with pytest.raises(UserError, match=r"'orphan'.*'alias'.*'nowhere'"):
        load_catalog(path)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ("auth_mode: MAGIC", "auth_mode"),
        ("paginate: {type: pages}", "paginate.type"),
        ("paginate: {page_name: p}", "paginate.page_name"),
        ("retry: {error_code: ['4xx9']}", "retry.error_code"),
        ("base_ur: https://typo.example.com", "base_ur"),
        ("headers: {x-key: '${apiKee}'}", "headers"),
    ],
)
def test_schema_violation_names_key_and_field(tmp_path: Path, entry: str, field: str) -> None:
    auth = "" if entry.startswith("auth_mode") else "auth_mode: NONE"
    path = _write(
        tmp_path,
        f"""
        good:
          display_name: Good
          auth_mode: NONE
          base_url: https://good.example.com
        broken:
          display_name: Broken
          base_url: https://broken.example.com
          {auth}
          {entry}
        """,
    )
    with pytest.raises(UserError) as info:
        load_catalog(path)
    message = str(info.value)
    assert "'broken'" in message
    assert f"'{field}" in message
    assert "'good'" not in message


def test_missing_field_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, "bare:\n  display_name: Bare\n  auth_mode: NONE\n")
    with pytest.raises(UserError, match=r"'bare'.*'base_url'.*Field required"):
        load_catalog(path)


def test_api_key_provider_must_send_the_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        silent:
          display_name: Silent
          auth_mode: API_KEY
          base_url: https://api.example.com
        queried:
          display_name: Queried
          auth_mode: API_KEY
          base_url: https://api.example.com
          query:
            api_key: ${apiKey}
        """,
    )
    with pytest.raises(UserError, match=r"'silent'.*apiKey") as info:
        load_catalog(path)
    assert "'queried'" not in str(info.value)


def test_base_url_must_be_absolute(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "rel:\n  display_name: Rel\n  auth_mode: NONE\n  base_url: api.example.com\n"
    )
    with pytest.raises(UserError, match=r"'rel'.*'base_url'"):
        load_catalog(path)


def test_bad_yaml_raises_user_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "github:\n  display_name: [unclosed\n")
    with pytest.raises(UserError, match="invalid YAML") as info:
        load_catalog(path)
    assert isinstance(info.value.__cause__, Exception)


def test_duplicate_keys_are_rejected(tmp_path: Path) -> None:
    entry = "  display_name: X\n  auth_mode: NONE\n  base_url: https://x.example.com\n"
    path = _write(tmp_path, f"dup:\n{entry}dup:\n{entry}")
    with pytest.raises(UserError, match="duplicate key 'dup'"):
        load_catalog(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("- just\n- a list\n", "mapping of provider keys"),
        ("", "mapping of provider keys"),
        ("thing: 3\n", "'thing': entry must be a mapping"),
        ("thing:\n  key: other\n", "'thing': field 'key'"),
    ],
)
def test_bad_catalog_shape(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(UserError, match=match):
        load_catalog(_write(tmp_path, text))


def test_missing_catalog_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read provider catalog"):
        load_catalog(tmp_path / "absent.yaml")
