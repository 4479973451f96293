"""The v2 nango.yaml layout, checked against Nango's `parser.v2.unit.test` cases.

Nango calls `NangoYamlParserV2` on a JavaScript object; we give the same data as a Python dict to
`ConfigParser`, which detects v2 because the first integration has `syncs`, `actions` or
`on-events`. The expected JSON is Nango's; issue paths follow our convention (full document
paths, e.g. `integrations > provider > syncs > top > output` where Nango writes
`provider > syncs > top > [output]`).
"""

from __future__ import annotations

from typing import Any

from cli.config.issues import ConfigIssue, IssueList
from cli.config.parser import ConfigParser

NO_EVENTS = {
    "post-connection-creation": [],
    "pre-connection-deletion": [],
    "validate-connection": [],
}
LITERAL_HINT = (
    "was parsed, which might be an error. It is recommended to use a Model for input and output."
)


def parse(raw: dict[str, Any]) -> tuple[dict[str, Any], IssueList]:
    issues = IssueList()
    parsed = ConfigParser(raw, issues, set()).parse()
    return parsed.to_json(), issues


def summary(items: list[ConfigIssue]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(i.code, i.message, i.path) for i in items]


def ts(name: str, value: Any, **flags: Any) -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "tsType": True,
        "array": False,
        "optional": False,
        **flags,
    }


def ref(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value, "model": True, "array": False, "optional": False}


def test_should_parse() -> None:
    raw = {
        "models": {"GithubIssue": {"id": "string"}},
        "integrations": {
            "provider": {
                "syncs": {
                    "top": {
                        "runs": "every day",
                        "input": "GithubIssue",
                        "output": "GithubIssue",
                        "endpoint": "GET /provider/top",
                    }
                },
                "actions": {
                    "createIssue": {"endpoint": "/test", "input": "string", "output": "GithubIssue"}
                },
            }
        },
    }
    parsed, issues = parse(raw)
    assert issues.errors == []
    # Not asserted upstream, but Nango does warn about the literal action input.
    assert summary(issues.warnings) == [
        (
            "model_is_literal",
            f'A literal type "string" {LITERAL_HINT}',
            ("integrations", "provider", "actions", "createIssue", "input"),
        )
    ]
    assert parsed == {
        "integrations": [
            {
                "providerConfigKey": "provider",
                "syncs": [
                    {
                        "auto_start": True,
                        "description": "",
                        "endpoints": [{"method": "GET", "path": "/provider/top"}],
                        "input": "GithubIssue",
                        "name": "top",
                        "output": ["GithubIssue"],
                        "runs": "every day",
                        "scopes": [],
                        "sync_type": "full",
                        "track_deletes": False,
                        "type": "sync",
                        "usedModels": ["GithubIssue"],
                        "webhookSubscriptions": [],
                        "version": "",
                        "features": [],
                    }
                ],
                "onEventScripts": NO_EVENTS,
                "actions": [
                    {
                        "description": "",
                        "input": "Anonymous_provider_action_createIssue_input",
                        "endpoint": {"method": "POST", "path": "/test"},
                        "name": "createIssue",
                        "output": ["GithubIssue"],
                        "scopes": [],
                        "type": "action",
                        "usedModels": [
                            "GithubIssue",
                            "Anonymous_provider_action_createIssue_input",
                        ],
                        "version": "",
                        "features": [],
                    }
                ],
            }
        ],
        "models": {
            "GithubIssue": {"name": "GithubIssue", "fields": [ts("id", "string")]},
            "Anonymous_provider_action_createIssue_input": {
                "fields": [ts("input", "string")],
                "isAnon": True,
                "name": "Anonymous_provider_action_createIssue_input",
            },
        },
        "yamlVersion": "v2",
    }
    assert list(parsed["models"]) == ["GithubIssue", "Anonymous_provider_action_createIssue_input"]


def test_should_handle_recursive_model_through_model() -> None:
    raw = {
        "models": {"Start": {"ref": "Middle"}, "Middle": {"ref": "End"}, "End": {"ref": "Start"}},
        "integrations": {
            "provider": {"actions": {"createIssue": {"endpoint": "/test", "output": "Start"}}}
        },
    }
    parsed, issues = parse(raw)
    assert issues.errors == []
    assert [(w.code, w.message) for w in issues.warnings] == [
        ("cyclic_model", "Cyclic import Start->End")
    ]
    assert parsed == {
        "integrations": [
            {
                "providerConfigKey": "provider",
                "syncs": [],
                "onEventScripts": NO_EVENTS,
                "actions": [
                    {
                        "description": "",
                        "input": None,
                        "endpoint": {"method": "POST", "path": "/test"},
                        "name": "createIssue",
                        "output": ["Start"],
                        "scopes": [],
                        "type": "action",
                        "usedModels": ["Start", "Middle", "End"],
                        "version": "",
                        "features": [],
                    }
                ],
            }
        ],
        "models": {
            "End": {"name": "End", "fields": [ref("ref", "Start")]},
            "Middle": {"name": "Middle", "fields": [ref("ref", "End")]},
            "Start": {"name": "Start", "fields": [ref("ref", "Middle")]},
        },
        "yamlVersion": "v2",
    }
    assert list(parsed["models"]) == ["End", "Middle", "Start"]


def test_should_handle_input_output_as_literal() -> None:
    raw = {
        "models": {},
        "integrations": {
            "provider": {
                "syncs": {
                    "top": {
                        "runs": "every day",
                        "input": "boolean",
                        "output": "foobar",
                        "endpoint": "GET /provider/top",
                    }
                }
            }
        },
    }
    parsed, issues = parse(raw)
    top = ("integrations", "provider", "syncs", "top")
    assert summary(issues.errors) == [
        (
            "model_missing_id",
            'Model "Anonymous_provider_sync_top_output" doesn\'t have an id field. '
            "This is required to be able to uniquely identify the data record",
            (*top, "output"),
        )
    ]
    assert summary(issues.warnings) == [
        ("model_is_literal", f'A literal type "boolean" {LITERAL_HINT}', (*top, "input"))
    ]
    assert parsed == {
        "integrations": [
            {
                "providerConfigKey": "provider",
                "syncs": [
                    {
                        "auto_start": True,
                        "description": "",
                        "endpoints": [{"method": "GET", "path": "/provider/top"}],
                        "input": "Anonymous_provider_sync_top_input",
                        "name": "top",
                        "output": ["Anonymous_provider_sync_top_output"],
                        "runs": "every day",
                        "scopes": [],
                        "sync_type": "full",
                        "track_deletes": False,
                        "type": "sync",
                        "usedModels": [
                            "Anonymous_provider_sync_top_output",
                            "Anonymous_provider_sync_top_input",
                        ],
                        "webhookSubscriptions": [],
                        "version": "",
                        "features": [],
                    }
                ],
                "onEventScripts": NO_EVENTS,
                "actions": [],
            }
        ],
        "models": {
            "Anonymous_provider_sync_top_output": {
                "name": "Anonymous_provider_sync_top_output",
                "fields": [
                    {"name": "output", "value": "foobar", "array": False, "optional": False}
                ],
                "isAnon": True,
            },
            "Anonymous_provider_sync_top_input": {
                "name": "Anonymous_provider_sync_top_input",
                "fields": [ts("input", "boolean")],
                "isAnon": True,
            },
        },
        "yamlVersion": "v2",
    }


def test_should_handle_input_output_as_union() -> None:
    raw = {
        "models": {},
        "integrations": {
            "provider": {
                "actions": {
                    "top": {
                        "input": "string | undefined",
                        "output": "null | true[]",
                        "endpoint": "GET /provider/top",
                    }
                }
            }
        },
    }
    parsed, issues = parse(raw)
    assert issues.errors == []
    assert issues.warnings == []
    assert parsed["yamlVersion"] == "v2"
    assert parsed["models"] == {
        "Anonymous_provider_action_top_output": {
            "name": "Anonymous_provider_action_top_output",
            "fields": [
                {
                    "name": "output",
                    "optional": False,
                    "union": True,
                    "value": [ts("0", None), ts("1", True, array=True)],
                }
            ],
            "isAnon": True,
        },
        "Anonymous_provider_action_top_input": {
            "name": "Anonymous_provider_action_top_input",
            "fields": [
                {
                    "name": "input",
                    "optional": False,
                    "union": True,
                    "value": [ts("0", "string"), ts("1", "undefined")],
                }
            ],
            "isAnon": True,
        },
    }


# ----- endpoints


def test_endpoints_should_handle_endpoint_with_model_inside_found() -> None:
    raw = {
        "models": {"Found": {"id": "string"}},
        "integrations": {
            "provider": {
                "actions": {"getGithubIssue": {"endpoint": "GET /ticketing/tickets/{Found:id}"}}
            }
        },
    }
    parsed, issues = parse(raw)
    assert issues.errors == []
    assert issues.warnings == []
    actions = parsed["integrations"][0]["actions"]
    assert [a["endpoint"] for a in actions] == [
        {"method": "GET", "path": "/ticketing/tickets/{Found:id}"}
    ]


def test_endpoints_should_handle_endpoint_with_model_inside_missing() -> None:
    raw = {
        "models": {},
        "integrations": {
            "provider": {
                "actions": {"getGithubIssue": {"endpoint": "GET /ticketing/tickets/{Missing:id}"}}
            }
        },
    }
    _, issues = parse(raw)
    # Nango's path says `syncs` for this action (a slip upstream); ours is the document path.
    assert summary(issues.errors) == [
        (
            "model_not_found",
            'Model "Missing" does not exists',
            ("integrations", "provider", "actions", "getGithubIssue", "endpoint"),
        )
    ]
    assert issues.warnings == []


def test_endpoints_should_raise_an_error_if_endpoint_is_reused_in_an_integration() -> None:
    raw = {
        "models": {},
        "integrations": {
            "provider": {
                "actions": {
                    "getGithubIssue": {"endpoint": "GET /issue"},
                    "getTrelloIssue": {"endpoint": "GET /issue"},
                }
            }
        },
    }
    _, issues = parse(raw)
    assert summary(issues.errors) == [
        (
            "duplicate_endpoint",
            'Endpoint "GET /issue" is used multiple times. '
            "Please make sure all endpoints are unique.",
            ("integrations", "provider", "actions", "getTrelloIssue", "endpoint"),
        )
    ]
    assert issues.warnings == []


def test_endpoints_should_not_raise_an_error_if_endpoint_is_reused_across_integrations() -> None:
    raw = {
        "models": {},
        "integrations": {
            "providerA": {"actions": {"getGithubIssue": {"endpoint": "GET /issue"}}},
            "providerB": {"actions": {"getTrelloIssue": {"endpoint": "GET /issue"}}},
        },
    }
    _, issues = parse(raw)
    assert issues.errors == []
    assert issues.warnings == []


def test_endpoints_should_handle_endpoint_new_format_single() -> None:
    raw = {
        "models": {"Found": {"id": "string"}},
        "integrations": {
            "provider": {
                "actions": {
                    "getGithubIssue": {
                        "endpoint": {"method": "POST", "path": "/ticketing/tickets/{Found:id}"}
                    }
                }
            }
        },
    }
    parsed, issues = parse(raw)
    assert issues.errors == []
    assert issues.warnings == []
    actions = parsed["integrations"][0]["actions"]
    assert [a["endpoint"] for a in actions] == [
        {"method": "POST", "path": "/ticketing/tickets/{Found:id}"}
    ]


def test_endpoints_should_handle_endpoint_new_format_array() -> None:
    raw = {
        "models": {"Input": {"id": "string"}, "Top": {"id": "string"}, "Tip": {"id": "string"}},
        "integrations": {
            "provider": {
                "syncs": {
                    "top": {
                        "runs": "every day",
                        "input": "Input",
                        "output": ["Top", "Tip"],
                        "endpoint": [
                            {"method": "GET", "path": "/provider/top"},
                            {"path": "/provider/tip", "group": "Record"},
                        ],
                    }
                }
            }
        },
    }
    parsed, issues = parse(raw)
    assert issues.errors == []
    assert issues.warnings == []
    syncs = parsed["integrations"][0]["syncs"]
    assert [s["endpoints"] for s in syncs] == [
        [
            {"method": "GET", "path": "/provider/top"},
            {"method": "GET", "path": "/provider/tip", "group": "Record"},
        ]
    ]


# ----- on-events and post-connection scripts


def test_should_error_if_both_post_connection_scripts_and_on_events_are_present() -> None:
    raw = {
        "models": {},
        "integrations": {
            "provider": {
                "post-connection-scripts": ["test"],
                "on-events": {"post-connection-creation": ["test"]},
            }
        },
    }
    _, issues = parse(raw)
    assert summary(issues.errors) == [
        (
            "both_post_connection_scripts_and_on_events_present",
            "Both post-connection-scripts and on-events are present. "
            "Only one of them can be used at a time.",
            ("integrations", "provider", "on-events"),
        )
    ]
    assert issues.warnings == []


def test_should_handle_post_connection_scripts() -> None:
    """Upstream forces the v2 parser; an integration with only `post-connection-scripts` reads
    as v1 (Nango's `determineVersion` and ours agree), so an empty `actions` makes it v2 here."""
    raw = {
        "models": {},
        "integrations": {"provider": {"actions": {}, "post-connection-scripts": ["test"]}},
    }
    parsed, issues = parse(raw)
    assert issues.errors == []
    assert issues.warnings == []
    assert parsed["yamlVersion"] == "v2"
    assert parsed["integrations"][0]["postConnectionScripts"] == ["test"]


def test_should_handle_on_events() -> None:
    raw = {
        "models": {},
        "integrations": {
            "provider": {
                "on-events": {
                    "post-connection-creation": ["test1", "test2"],
                    "pre-connection-deletion": ["test3", "test4"],
                    "validate-connection": ["test5", "test6"],
                }
            }
        },
    }
    parsed, issues = parse(raw)
    assert issues.errors == []
    assert issues.warnings == []
    assert parsed["integrations"][0]["onEventScripts"] == {
        "post-connection-creation": ["test1", "test2"],
        "pre-connection-deletion": ["test3", "test4"],
        "validate-connection": ["test5", "test6"],
    }
    assert "postConnectionScripts" not in parsed["integrations"][0]
