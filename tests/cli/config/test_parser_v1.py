"""The v1 nango.yaml layout, checked against Nango's `parser.v1.unit.test` cases.

Nango calls `NangoYamlParserV1` on a JavaScript object; we give the same data as a Python dict to
`ConfigParser`, which detects v1 because the first integration has no `syncs`/`actions`. The
expected JSON is Nango's; issue paths follow our convention (full document paths).
"""

from __future__ import annotations

from typing import Any

import pytest

from cli.config.issues import ConfigError, IssueList
from cli.config.loader import load_config_text
from cli.config.parser import ConfigParser

NO_EVENTS = {
    "post-connection-creation": [],
    "pre-connection-deletion": [],
    "validate-connection": [],
}


def parse(raw: dict[str, Any]) -> tuple[dict[str, Any], IssueList]:
    issues = IssueList()
    parsed = ConfigParser(raw, issues, set()).parse()
    return parsed.to_json(), issues


def test_should_parse() -> None:
    raw = {
        "models": {"GithubIssue": {"id": "string"}},
        "integrations": {
            "provider": {
                "sync": {"type": "sync", "runs": "every day", "returns": "GithubIssue"},
                "createIssue": {"type": "action", "returns": "GithubIssue"},
            }
        },
    }
    parsed, issues = parse(raw)
    assert issues.errors == []
    assert issues.warnings == []
    assert parsed == {
        "integrations": [
            {
                "providerConfigKey": "provider",
                "syncs": [
                    {
                        "auto_start": True,
                        "description": "",
                        "endpoints": [],
                        "input": None,
                        "name": "sync",
                        "output": ["GithubIssue"],
                        "runs": "every day",
                        "scopes": [],
                        "sync_type": "incremental",
                        "track_deletes": False,
                        "type": "sync",
                        "usedModels": ["GithubIssue"],
                        "webhookSubscriptions": [],
                        "version": "",
                    }
                ],
                "onEventScripts": NO_EVENTS,
                "actions": [
                    {
                        "description": "",
                        "input": None,
                        "endpoint": None,
                        "name": "createIssue",
                        "output": ["GithubIssue"],
                        "scopes": [],
                        "type": "action",
                        "usedModels": ["GithubIssue"],
                        "version": "",
                    }
                ],
            }
        ],
        "models": {
            "GithubIssue": {
                "name": "GithubIssue",
                "fields": [
                    {
                        "name": "id",
                        "value": "string",
                        "tsType": True,
                        "array": False,
                        "optional": False,
                    }
                ],
            }
        },
        "yamlVersion": "v1",
    }


def test_should_handle_output_as_literal() -> None:
    raw = {
        "models": {},
        "integrations": {
            "provider": {"hello": {"type": "sync", "runs": "every day", "returns": "test"}}
        },
    }
    parsed, issues = parse(raw)
    assert [(e.code, e.message) for e in issues.errors] == [
        (
            "model_missing_id",
            'Model "Anonymous_provider_sync_hello_output" doesn\'t have an id field. '
            "This is required to be able to uniquely identify the data record",
        )
    ]
    assert issues.warnings == []
    assert parsed == {
        "integrations": [
            {
                "providerConfigKey": "provider",
                "syncs": [
                    {
                        "auto_start": True,
                        "description": "",
                        "endpoints": [],
                        "input": None,
                        "name": "hello",
                        "output": ["Anonymous_provider_sync_hello_output"],
                        "runs": "every day",
                        "scopes": [],
                        "sync_type": "incremental",
                        "track_deletes": False,
                        "type": "sync",
                        "usedModels": ["Anonymous_provider_sync_hello_output"],
                        "webhookSubscriptions": [],
                        "version": "",
                    }
                ],
                "onEventScripts": NO_EVENTS,
                "actions": [],
            }
        ],
        "models": {
            "Anonymous_provider_sync_hello_output": {
                "name": "Anonymous_provider_sync_hello_output",
                "fields": [{"name": "output", "value": "test", "array": False, "optional": False}],
                "isAnon": True,
            }
        },
        "yamlVersion": "v1",
    }


V1_LITERAL_OUTPUT = """\
integrations:
  provider:
    hello:
      type: sync
      runs: every day
      returns: test
"""


def test_v1_missing_id_is_reported_at_the_returns_key() -> None:
    """Our paths are document paths: in v1 a sync's output is `integrations > key > name > returns`.

    Nango reports `provider > syncs > hello > [output]` (its own, layout-independent form); a v1
    file has no `syncs` key, so ours must point at `returns` (line 6), not at the integration.
    """
    _, issues = parse(
        {
            "models": {},
            "integrations": {
                "provider": {"hello": {"type": "sync", "runs": "every day", "returns": "test"}}
            },
        }
    )
    assert [e.path for e in issues.errors] == [("integrations", "provider", "hello", "returns")]


def test_v1_missing_id_line_in_full_pipeline() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(V1_LITERAL_OUTPUT)
    assert [(e.code, e.line) for e in caught.value.errors] == [("model_missing_id", 6)]


def test_v1_action_output_literal_uses_sync_kind_in_anonymous_name() -> None:
    """Nango names a v1 action's anonymous output `..._sync_...` (it passes type 'sync')."""
    parsed, issues = parse(
        {"integrations": {"provider": {"doIt": {"type": "action", "returns": "boolean"}}}}
    )
    action = parsed["integrations"][0]["actions"][0]
    assert action["output"] == ["Anonymous_provider_sync_doIt_output"]
    assert action["usedModels"] == ["Anonymous_provider_sync_doIt_output"]
    assert [(w.code, w.message) for w in issues.warnings] == [
        (
            "model_is_literal",
            'A literal type "boolean" was parsed, which might be an error. '
            "It is recommended to use a Model for input and output.",
        )
    ]


def test_v1_action_literal_warning_is_reported_at_the_returns_key() -> None:
    """Same convention for a v1 action: its output is `integrations > key > name > returns`."""
    _, issues = parse(
        {"integrations": {"provider": {"doIt": {"type": "action", "returns": "boolean"}}}}
    )
    assert [w.path for w in issues.warnings] == [("integrations", "provider", "doIt", "returns")]
