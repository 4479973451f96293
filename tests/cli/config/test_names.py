"""Names that become paths or Python names: integration ids, script names, model names."""

from __future__ import annotations

import pytest

from cli.config.issues import ConfigError, ConfigIssue
from cli.config.loader import load_config_text
from runtime.sdk.types import PUBLIC_TYPES


def errors(text: str) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text)
    return caught.value.errors


def yaml_key(name: str) -> str:
    """`name` as a YAML double-quoted key (control characters escaped)."""
    escaped = "".join(
        c if 32 <= ord(c) < 127 and c not in '"\\' else f"\\u{ord(c):04x}" for c in name
    )
    return f'"{escaped}"'


def with_integration(key: str) -> str:
    return (
        "integrations:\n"
        f"  {key}:\n"
        "    syncs:\n"
        "      issues:\n"
        "        runs: every hour\n"
        "        output: Issue\n"
        "        endpoint: GET /issues\n"
        "models:\n"
        "  Issue:\n"
        "    id: string\n"
    )


HOSTILE = [
    "../escaped",
    "/abs",
    "/abs/x",
    "..",
    ".",
    "a/b",
    "a\\b",
    "$(touch x)",
    "`touch x`",
    "git\x00hub",
    "git\x1b[31mhub",
    "git\nhub",
    "git\u202ebuh",
    "",
    "x" * 256,
]


@pytest.mark.parametrize("name", HOSTILE, ids=repr)
def test_an_integration_id_that_is_not_one_safe_name_is_a_positioned_error(name: str) -> None:
    [issue] = errors(with_integration(yaml_key(name)))
    assert issue.code == "invalid_integration_id"
    assert issue.path == ("integrations", name)
    assert (issue.line, issue.column) == (2, 3)


@pytest.mark.parametrize(
    "name", ["github", "my-api_v2", "acme.com", "team@acme", "a:b", "with space", "~x", "${PWD}"]
)
def test_integration_ids_nango_accepts_load(name: str) -> None:
    loaded = load_config_text(with_integration(yaml_key(name)))
    assert loaded.parsed.integrations[0].provider_config_key == name


def on_events(names: list[str]) -> str:
    items = "".join(f"        - {yaml_key(n)}\n" for n in names)
    return f"integrations:\n  github:\n    on-events:\n      post-connection-creation:\n{items}"


@pytest.mark.parametrize("name", [n for n in HOSTILE if n], ids=repr)
def test_an_on_event_script_name_is_checked_like_any_script_name(name: str) -> None:
    found = errors(on_events(["setup", name]))
    assert [(i.code, i.path, i.line, i.column) for i in found] == [
        (
            "invalid_script_name",
            ("integrations", "github", "on-events", "post-connection-creation", "1"),
            6,
            11,
        )
    ]


def test_a_post_connection_script_name_is_checked_too() -> None:
    text = with_integration("github").replace(
        "models:", '    post-connection-scripts:\n      - "../../../x"\nmodels:'
    )
    [issue] = errors(text)
    assert issue.code == "invalid_script_name"
    assert issue.path == ("integrations", "github", "post-connection-scripts", "0")
    assert (issue.line, issue.column) == (9, 9)


def test_valid_on_event_names_load() -> None:
    loaded = load_config_text(on_events(["setup", "post_Connection-2"]))
    assert loaded.parsed.integrations[0].on_event_script_names() == ["setup", "post_Connection-2"]


def test_a_sync_name_longer_than_nango_allows() -> None:
    text = with_integration("github").replace("      issues:", "      " + "s" * 256 + ":")
    [issue] = errors(text)
    assert issue.code == "invalid_script_name"
    assert "longer than 255" in issue.message


@pytest.mark.parametrize("name", PUBLIC_TYPES)
def test_a_model_named_like_an_sdk_export_is_refused(name: str) -> None:
    text = with_integration("github") + f"  {name}:\n    id: string\n"
    [issue] = errors(text)
    assert (issue.code, issue.path, issue.line, issue.column) == (
        "reserved_model_name",
        ("models", name),
        11,
        3,
    )
    assert issue.hint is not None and f"{name}Record" in issue.hint


def test_sdk_names_as_fields_or_in_other_cases_are_fine() -> None:
    text = with_integration("github") + "  Connections:\n    ActionError: string\n"
    assert "Connections" in load_config_text(text).parsed.models
