"""The full pipeline (`load_config_text` / `load_config`) on broken files.

Every problem of a file is reported at once, in one `ConfigError`, each with its code, its
document path and the 1-based line and column of the key or item it is about.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.config.issues import ConfigError, ConfigIssue
from cli.config.loader import LoadedConfig, load_config, load_config_text

SYNC_ENDPOINT_MESSAGE = (
    "endpoint must be a URL (or an array of URLs) with an HTTP verb, i.e: `GET /tickets` "
    "or `{method: GET, path: /tickets}`"
)
ACTION_ENDPOINT_MESSAGE = (
    "endpoint must be a URL with an HTTP verb, i.e: `POST /tickets` or "
    "`{method: POST, path: /tickets}`"
)


def config_error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text)
    return caught.value


def where(issues: list[ConfigIssue]) -> list[tuple[str, int | None, int | None]]:
    return [(i.code, i.line, i.column) for i in issues]


def sync_file(**fields: str) -> str:
    """A v2 file with one sync (`github > syncs > issues`), its fields given or defaulted."""
    values = {
        "runs": "every day",
        "output": "Issue",
        "endpoint": "GET /issues",
        **fields,
    }
    body = "".join(f"        {key}: {value}\n" for key, value in values.items())
    return (
        "integrations:\n"
        "  github:\n"
        "    syncs:\n"
        "      issues:\n"
        f"{body}"
        "models:\n"
        "  Issue:\n"
        "    id: string\n"
    )


def action_file(endpoint: str) -> str:
    return (
        "integrations:\n"
        "  github:\n"
        "    actions:\n"
        "      create-issue:\n"
        f"        endpoint: {endpoint}\n"
        "        output: Issue\n"
        "models:\n"
        "  Issue:\n"
        "    id: string\n"
    )


SYNC_PATH = ("integrations", "github", "syncs", "issues")
ACTION_PATH = ("integrations", "github", "actions", "create-issue")


def test_a_valid_file_loads() -> None:
    loaded = load_config_text(sync_file())
    assert isinstance(loaded, LoadedConfig)
    assert loaded.warnings == []
    assert loaded.parsed.yaml_version == "v2"


# ----- YAML syntax


def test_yaml_syntax_error_reports_line_and_column() -> None:
    text = (
        "integrations:\n"
        "  github:\n"
        "    syncs:\n"
        "      issues:\n"
        "        endpoint: GET /issues\n"
        "         runs: every day\n"
    )
    error = config_error(text)
    assert where(error.issues) == [("invalid_yaml", 6, 14)]
    issue = error.issues[0]
    assert issue.severity == "error"
    assert issue.message.startswith("YAML syntax error: ")
    assert issue.hint
    assert str(error) == "nango.yaml has 1 error"


def test_yaml_tab_indentation_is_a_syntax_error() -> None:
    error = config_error("integrations:\n\tgithub: {}\n")
    assert where(error.issues) == [("invalid_yaml", 2, 1)]


def test_yaml_unclosed_flow_sequence_is_a_syntax_error() -> None:
    error = config_error("integrations:\n  github:\n    syncs: [\n")
    assert [i.code for i in error.issues] == ["invalid_yaml"]
    assert error.issues[0].line == 4


def test_yaml_recursive_alias_is_reported() -> None:
    error = config_error("integrations: &a\n  github: *a\n")
    assert [i.code for i in error.issues] == ["invalid_yaml"]


# ----- duplicate keys


def test_duplicate_integration_key() -> None:
    error = config_error("integrations:\n  github: {}\n  github: {}\n")
    assert where(error.issues) == [("duplicated_mapping_key", 3, 3)]
    issue = error.issues[0]
    assert issue.path == ("integrations", "github")
    assert issue.message == 'Key "github" appears more than once in the same mapping'


def test_duplicate_keys_are_all_reported() -> None:
    text = (
        "integrations:\n"
        "  github:\n"
        "    syncs:\n"
        "      issues:\n"
        "        runs: every day\n"
        "        runs: every hour\n"
        "        output: Issue\n"
        "        endpoint: GET /issues\n"
        "models:\n"
        "  Issue:\n"
        "    id: string\n"
        "    id: number\n"
    )
    error = config_error(text)
    assert where(error.issues) == [
        ("duplicated_mapping_key", 6, 9),
        ("duplicated_mapping_key", 12, 5),
    ]
    assert [i.path for i in error.issues] == [(*SYNC_PATH, "runs"), ("models", "Issue", "id")]


# ----- several problems at once


def test_all_problems_are_reported_together_with_their_lines() -> None:
    text = (
        "integrations:\n"  # 1
        "  github:\n"  # 2
        "    syncs:\n"  # 3
        "      issues:\n"  # 4
        "        runs: every 20s\n"  # 5  too short
        "        output: Issue\n"  # 6
        "        endpoint: GET /issues\n"  # 7
        "        descripton: Fetch issues\n"  # 8  unknown key
        "      pulls:\n"  # 9
        "        runs: whenever\n"  # 10 not a frequency
        "        output: Pull\n"  # 11
        "        endpoint: /pulls\n"  # 12
        "      labels:\n"  # 13
        "        runs: every day\n"  # 14
        "        output: Label\n"  # 15 no id
        "        endpoint: GET /labels\n"  # 16
        "    actions:\n"  # 17
        "      create-issue:\n"  # 18
        "        endpoint: FOO /issues\n"  # 19 bad verb
        "        versoin: 1\n"  # 20 unknown key
        "models:\n"  # 21
        "  Issue:\n"  # 22
        "    id: string\n"  # 23
        "  Pull:\n"  # 24
        "    id: string\n"  # 25
        "  Label:\n"  # 26
        "    name: string\n"  # 27
        "  Bad-Name:\n"  # 28 invalid model name
        "    id: string\n"  # 29
    )
    error = config_error(text)
    assert [(i.code, i.line, i.path) for i in error.errors] == [
        ("invalid_runs", 5, (*SYNC_PATH, "runs")),
        ("unknown_key", 8, (*SYNC_PATH, "descripton")),
        ("invalid_runs", 10, ("integrations", "github", "syncs", "pulls", "runs")),
        ("model_missing_id", 15, ("integrations", "github", "syncs", "labels", "output")),
        ("invalid_endpoint", 19, (*ACTION_PATH, "endpoint")),
        ("unknown_key", 20, (*ACTION_PATH, "versoin")),
        ("invalid_model_name", 28, ("models", "Bad-Name")),
    ]
    assert str(error) == "nango.yaml has 7 errors"
    assert all(i.column is not None for i in error.errors)


def test_file_is_named_in_issues(tmp_path: Path) -> None:
    file = tmp_path / "nango.yaml"
    file.write_text(sync_file(runs="every 20s"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(file)
    issue = caught.value.errors[0]
    assert issue.file == file
    assert issue.location == f"{file}:5:9"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nango.yaml")
    assert [i.code for i in caught.value.issues] == ["file_not_found"]


# ----- unknown keys


@pytest.mark.parametrize(
    ("text", "path", "line", "hint"),
    [
        (
            sync_file(outptu="Issue"),
            (*SYNC_PATH, "outptu"),
            8,
            'Did you mean "output"?',
        ),
        (
            "integrations:\n  github:\n    actions: {}\n    sync:\n      a: {}\n",
            ("integrations", "github", "sync"),
            4,
            'Did you mean "syncs"?',
        ),
        (
            "integrations:\n  github:\n    actions: {}\nmodel:\n  Issue:\n    id: string\n",
            ("model",),
            4,
            'Did you mean "models"?',
        ),
    ],
    ids=["sync-key", "integration-key", "root-key"],
)
def test_unknown_key_with_did_you_mean(
    text: str, path: tuple[str, ...], line: int, hint: str
) -> None:
    error = config_error(text)
    assert [(i.code, i.path, i.line, i.hint) for i in error.errors] == [
        ("unknown_key", path, line, hint)
    ]
    assert error.errors[0].message == f'Unknown key "{path[-1]}"'


def test_unknown_key_without_close_match_lists_the_allowed_keys() -> None:
    error = config_error(sync_file(zzz="1"))
    [issue] = error.errors
    assert issue.code == "unknown_key"
    assert issue.hint is not None
    assert issue.hint.startswith("Allowed keys here: ")
    assert "runs" in issue.hint


# ----- missing integrations


@pytest.mark.parametrize(
    "text",
    ["models:\n  Issue:\n    id: string\n", "---\n", "- a\n- b\n", "just text\n"],
    ids=["only-models", "null-document", "list", "scalar"],
)
def test_missing_integrations(text: str) -> None:
    error = config_error(text)
    assert [(i.code, i.message) for i in error.errors] == [
        (
            "missing_property",
            "Invalid file format, you should have at least an `integrations` property "
            "at the root level.",
        )
    ]


def test_integrations_not_a_mapping() -> None:
    error = config_error("integrations:\n")
    assert [(i.code, i.path, i.line) for i in error.errors] == [
        ("invalid_type", ("integrations",), 1)
    ]


def test_empty_integrations_is_fine() -> None:
    loaded = load_config_text("integrations: {}\n")
    assert loaded.parsed.integrations == []


# ----- runs


@pytest.mark.parametrize(
    ("runs", "reason"),
    [
        ("every 20s", "sync_interval_too_short"),
        ("every 29 seconds", "sync_interval_too_short"),
        ("every 0m", "sync_interval_invalid"),
        ("whenever", "sync_interval_invalid"),
        ("every fortnight", "sync_interval_invalid"),
    ],
)
def test_invalid_runs(runs: str, reason: str) -> None:
    error = config_error(sync_file(runs=runs))
    [issue] = error.errors
    assert (issue.code, issue.path, issue.line, issue.column) == (
        "invalid_runs",
        (*SYNC_PATH, "runs"),
        5,
        9,
    )
    assert reason in issue.message
    assert issue.hint


def test_runs_missing_is_required() -> None:
    text = sync_file().replace("        runs: every day\n", "")
    error = config_error(text)
    assert [(i.code, i.path, i.line) for i in error.errors] == [
        ("missing_property", (*SYNC_PATH, "runs"), 4)
    ]


# ----- endpoints (v2 patterns)


@pytest.mark.parametrize(
    "endpoint",
    [
        "POST /issues",
        "issues",
        "GET issues",
        "GET /issues?state=open",
        "GET /iss ues",
        "/issues/{id}",
        "{method: POST, path: /issues}",
        "{method: get, path: /issues}",
        "{method: GET, path: issues}",
        "{method: GET, path: /issues, extra: 1}",
        "{path: /issues, group: 'Group 1'}",
        "[GET /issues, POST /issues]",
    ],
)
def test_sync_endpoint_pattern_violations(endpoint: str) -> None:
    error = config_error(sync_file(endpoint=endpoint))
    assert [(i.code, i.message, i.path, i.line) for i in error.errors] == [
        ("invalid_endpoint", SYNC_ENDPOINT_MESSAGE, (*SYNC_PATH, "endpoint"), 7)
    ]


@pytest.mark.parametrize(
    "endpoint",
    [
        "FOO /issues",
        "GET issues",
        "PATCH  /issues",
        "POST /issues?x=1",
        "{method: FETCH, path: /issues}",
        "{method: POST}",
    ],
)
def test_action_endpoint_pattern_violations(endpoint: str) -> None:
    error = config_error(action_file(endpoint))
    assert [(i.code, i.message, i.path, i.line) for i in error.errors] == [
        ("invalid_endpoint", ACTION_ENDPOINT_MESSAGE, (*ACTION_PATH, "endpoint"), 5)
    ]


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("/issues", {"method": "POST", "path": "/issues"}),
        ("DELETE /issues/:id", {"method": "DELETE", "path": "/issues/:id"}),
        ("PUT /a-b/c_d.e", {"method": "PUT", "path": "/a-b/c_d.e"}),
        (
            "{path: /issues, group: Issues}",
            {"method": "POST", "path": "/issues", "group": "Issues"},
        ),
    ],
)
def test_valid_action_endpoints(endpoint: str, expected: dict[str, str]) -> None:
    loaded = load_config_text(action_file(endpoint))
    [action] = loaded.parsed.integrations[0].actions
    assert action.endpoint is not None
    assert action.endpoint.to_json() == expected


def test_sync_endpoint_required() -> None:
    text = sync_file().replace("        endpoint: GET /issues\n", "")
    error = config_error(text)
    assert [(i.code, i.path) for i in error.errors] == [
        ("missing_property", (*SYNC_PATH, "endpoint"))
    ]


def test_endpoints_mismatch() -> None:
    error = config_error(
        sync_file(output="[Issue, Other]").replace(
            "models:\n", "models:\n  Other:\n    id: string\n"
        )
    )
    assert [(i.code, i.path, i.line) for i in error.errors] == [
        ("endpoints_mismatch", (*SYNC_PATH, "endpoint"), 7)
    ]
    assert error.errors[0].message == (
        'The number of endpoints doesn\'t match the number of models returned by "issues". '
        "The endpoints to model should match 1 to 1."
    )


def test_duplicate_endpoint_in_one_integration() -> None:
    text = (
        "integrations:\n"
        "  github:\n"
        "    actions:\n"
        "      a:\n"
        "        endpoint: GET /issue\n"
        "      b:\n"
        "        endpoint: GET /issue\n"
    )
    error = config_error(text)
    assert [(i.code, i.path, i.line) for i in error.errors] == [
        ("duplicate_endpoint", ("integrations", "github", "actions", "b", "endpoint"), 7)
    ]


# ----- version, sync_type, description


@pytest.mark.parametrize("version", ["v1", "1.0.0-beta", "'1.0'", "1.2.3.4", "true"])
def test_version_pattern(version: str) -> None:
    error = config_error(sync_file(version=version))
    assert [(i.code, i.path, i.line) for i in error.errors] == [
        ("invalid_type", (*SYNC_PATH, "version"), 8)
    ]
    assert error.errors[0].message == (
        'version must be an integer, string or a semver string. Example: "10", "1.0.0", or 10'
    )


@pytest.mark.parametrize(("version", "expected"), [("10", 10), ("'10'", "10"), ("1.0.0", "1.0.0")])
def test_valid_versions(version: str, expected: object) -> None:
    loaded = load_config_text(sync_file(version=version))
    assert loaded.parsed.integrations[0].syncs[0].version == expected


@pytest.mark.parametrize("sync_type", ["partial", "FULL", "Incremental", "1"])
def test_sync_type_enum(sync_type: str) -> None:
    error = config_error(sync_file(sync_type=sync_type))
    assert [(i.code, i.message, i.path, i.line) for i in error.errors] == [
        (
            "invalid_type",
            "sync_type must be either 'incremental' or 'full'.",
            (*SYNC_PATH, "sync_type"),
            8,
        )
    ]


@pytest.mark.parametrize("sync_type", ["incremental", "full"])
def test_sync_type_values(sync_type: str) -> None:
    loaded = load_config_text(sync_file(sync_type=sync_type))
    assert loaded.parsed.integrations[0].syncs[0].sync_type == sync_type


def test_empty_description_is_an_error() -> None:
    error = config_error(sync_file(description=""))
    assert [(i.code, i.message, i.path, i.line) for i in error.errors] == [
        ("invalid_type", "description must be a string.", (*SYNC_PATH, "description"), 8)
    ]


def test_description_is_trimmed() -> None:
    loaded = load_config_text(sync_file(description="'  Fetch issues  '"))
    assert loaded.parsed.integrations[0].syncs[0].description == "Fetch issues"


# ----- warnings


def test_warnings_do_not_fail() -> None:
    text = sync_file() + "    author: User\n"
    loaded = load_config_text(text)
    assert [(w.code, w.message, w.path, w.line, w.severity) for w in loaded.warnings] == [
        (
            "model_not_found_fallback",
            'Model "User" is not defined, using as string literal',
            ("models", "Issue", "author"),
            11,
            "warning",
        )
    ]


def test_warnings_are_kept_alongside_errors() -> None:
    text = sync_file(runs="every 20s") + "    author: User\n"
    error = config_error(text)
    assert [i.code for i in error.errors] == ["invalid_runs"]
    assert [i.code for i in error.warnings] == ["model_not_found_fallback"]
    # Errors come first.
    assert error.issues[0].severity == "error"
    assert str(error) == "nango.yaml has 1 error"


# ----- models


def test_missing_models_section_is_fine() -> None:
    text = (
        "integrations:\n"
        "  github:\n"
        "    actions:\n"
        "      create-issue:\n"
        "        endpoint: POST /issues\n"
        "        output: boolean\n"
    )
    loaded = load_config_text(text)
    # Nango keeps only [A-Za-z0-9_] of the script name in an anonymous model's name.
    assert list(loaded.parsed.models) == ["Anonymous_github_action_createissue_output"]
    assert [w.code for w in loaded.warnings] == ["model_is_literal"]


NOT_A_MAPPING = (
    "integrations:\n"  # 1
    "  github:\n"  # 2
    "    actions:\n"  # 3
    "      create-issue:\n"  # 4
    "        endpoint: POST /issues\n"  # 5
    "models:\n"  # 6
    "  Issue: string\n"  # 7
)


def test_model_that_is_not_a_mapping_is_an_error() -> None:
    error = config_error(NOT_A_MAPPING)
    assert ("invalid_model", ("models", "Issue"), 7) in [
        (i.code, i.path, i.line) for i in error.errors
    ]
    assert error.errors[-1].message == 'Model "Issue" must be a mapping of field names to types'


@pytest.mark.parametrize("value", ["string", "[id, name]", "", "12"])
def test_model_that_is_not_a_mapping_is_reported_only_at_the_model(value: str) -> None:
    """`models` itself is a mapping: no issue should say otherwise, nor point at line 6."""
    error = config_error(NOT_A_MAPPING.replace("Issue: string", f"Issue: {value}"))
    assert {(i.path, i.line) for i in error.errors} == {(("models", "Issue"), 7)}


def test_invalid_model_name_in_full_pipeline() -> None:
    error = config_error(sync_file() + "  Bad Name:\n    id: string\n")
    assert [(i.code, i.message, i.path, i.line) for i in error.errors] == [
        (
            "invalid_model_name",
            'Model "Bad Name" contains invalid characters',
            ("models", "Bad Name"),
            11,
        )
    ]
