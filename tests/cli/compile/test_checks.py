"""Tests for the static checks on integration scripts (cli/script_checks.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cli.compile.checks import ScriptIssue, ScriptKind, check_script

FILE = Path("github/syncs/issues.py")

VALID_SYNC = """\
from models import GithubIssue, NangoSync

async def fetch_data(nango: NangoSync) -> None:
    async for page in nango.paginate(endpoint="/repos/acme/app/issues", params={"state": "all"}):
        await nango.batch_save(
            [GithubIssue(id=str(i["id"]), title=i["title"]) for i in page], "GithubIssue"
        )
"""

VALID_ACTION = """\
async def run_action(nango: NangoAction, input: CreateIssueInput) -> IssueOutput:
    res = await nango.post(endpoint="/repos/acme/app/issues", data={"title": input.title})
    return IssueOutput(url=res.data["html_url"], status=res.status)
"""


def check(
    source: str,
    kind: ScriptKind = "sync",
    models: tuple[str, ...] = ("GithubIssue",),
    **options: bool,
) -> list[ScriptIssue]:
    return check_script(
        FILE, kind=kind, declared_models=models, source=textwrap.dedent(source), **options
    )


def codes(source: str, kind: ScriptKind = "sync", **options: bool) -> list[str]:
    return [issue.code for issue in check(source, kind, **options)]


def sync_with(body: str) -> str:
    """A valid sync whose `fetch_data` runs `body` (given at 4-space indentation)."""
    return "async def fetch_data(nango):\n" + textwrap.indent(textwrap.dedent(body), "    ")


# --- valid scripts ---------------------------------------------------------------------------


def test_valid_sync_has_no_issues() -> None:
    assert check(VALID_SYNC) == []


def test_valid_action_has_no_issues() -> None:
    assert check(VALID_ACTION, "action", has_input=True) == []


def test_valid_on_event_has_no_issues() -> None:
    source = 'async def on_event(nango):\n    await nango.log("hello")\n'
    assert check(source, "on-event") == []


def test_valid_sync_with_webhook_has_no_issues() -> None:
    source = VALID_SYNC + "\nasync def on_webhook(nango, payload: dict) -> None:\n    pass\n"
    assert check(source, has_webhooks=True) == []


def test_reads_the_file_when_no_source_is_given(tmp_path: Path) -> None:
    script = tmp_path / "issues.py"
    script.write_text("def fetch_data(nango):\n    pass\n", encoding="utf-8")
    issues = check_script(script, kind="sync", declared_models=["GithubIssue"])
    assert [(i.file, i.code, i.line, i.column) for i in issues] == [
        (script, "entry_not_async", 1, 1)
    ]


# --- syntax errors ---------------------------------------------------------------------------


def test_syntax_error_is_reported_with_its_position_and_stops_the_checks() -> None:
    issues = check("import os\nprint('x')\ndef fetch_data(nango:\n")
    assert len(issues) == 1
    issue = issues[0]
    assert issue.code == "syntax_error"
    assert issue.severity == "error"
    assert issue.line == 3
    assert issue.column >= 1
    assert "line 3" in issue.message


# --- entry functions -------------------------------------------------------------------------


def test_missing_fetch_data() -> None:
    issues = check("async def fetch(nango):\n    pass\n")
    assert [(i.code, i.line, i.column) for i in issues] == [("missing_entry_function", 1, 1)]
    assert "fetch_data" in issues[0].message


@pytest.mark.parametrize(("kind", "name"), [("action", "run_action"), ("on-event", "on_event")])
def test_missing_entry_function_per_kind(kind: ScriptKind, name: str) -> None:
    issues = check("async def fetch_data(nango):\n    pass\n", kind)
    assert [i.code for i in issues] == ["missing_entry_function"]
    assert name in issues[0].message


def test_entry_function_only_counts_at_top_level() -> None:
    source = "class Script:\n    async def fetch_data(self, nango):\n        pass\n"
    assert codes(source) == ["missing_entry_function"]


def test_missing_on_webhook_when_sync_has_webhooks() -> None:
    issues = check(VALID_SYNC, has_webhooks=True)
    assert [i.code for i in issues] == ["missing_entry_function"]
    assert "on_webhook" in issues[0].message


def test_on_webhook_not_required_without_webhooks() -> None:
    assert codes(VALID_SYNC, has_webhooks=False) == []


def test_entry_not_async() -> None:
    issues = check("\n\ndef fetch_data(nango):\n    pass\n")
    assert [(i.code, i.line, i.column) for i in issues] == [("entry_not_async", 3, 1)]
    assert "async def fetch_data" in issues[0].message


def test_on_webhook_not_async() -> None:
    source = VALID_SYNC + "\ndef on_webhook(nango, payload):\n    pass\n"
    assert codes(source, has_webhooks=True) == ["entry_not_async"]


@pytest.mark.parametrize(
    "params",
    ["", "nango, extra", "*args", "nango, *args", "nango, **kwargs", "nango, *, flag"],
)
def test_bad_fetch_data_signature(params: str) -> None:
    assert codes(f"async def fetch_data({params}):\n    pass\n") == ["bad_signature"]


def test_keyword_only_parameter_with_default_is_allowed() -> None:
    assert codes("async def fetch_data(nango, *, verbose=False):\n    pass\n") == []


def test_positional_only_parameter_is_counted() -> None:
    assert codes("async def fetch_data(nango, /):\n    pass\n") == []


def test_plain_def_with_wrong_parameters_reports_both() -> None:
    assert codes("def fetch_data():\n    pass\n") == ["entry_not_async", "bad_signature"]


@pytest.mark.parametrize("params", ["nango", "nango, input"])
def test_run_action_without_declared_input_takes_one_or_two(params: str) -> None:
    source = f"async def run_action({params}):\n    return 1\n"
    assert codes(source, "action", has_input=False) == []


def test_run_action_with_declared_input_needs_two_parameters() -> None:
    issues = check("async def run_action(nango):\n    return 1\n", "action", has_input=True)
    assert [i.code for i in issues] == ["bad_signature"]
    assert "input" in issues[0].message


def test_run_action_with_three_parameters_is_bad() -> None:
    assert codes("async def run_action(nango, input, x):\n    pass\n", "action") == [
        "bad_signature"
    ]


def test_on_event_takes_exactly_one_parameter() -> None:
    assert codes("async def on_event(nango, extra):\n    pass\n", "on-event") == ["bad_signature"]


def test_on_webhook_must_take_nango_and_payload() -> None:
    source = VALID_SYNC + "\nasync def on_webhook(nango):\n    pass\n"
    issues = check(source, has_webhooks=True)
    assert [i.code for i in issues] == ["bad_signature"]
    assert "payload" in issues[0].message


# --- missing await ---------------------------------------------------------------------------


def test_unawaited_sdk_call_is_reported_at_the_call() -> None:
    issues = check(sync_with('x = nango.get(endpoint="/a")\n'))
    assert [(i.code, i.line, i.column) for i in issues] == [("missing_await", 2, 9)]
    assert "await nango.get(...)" in issues[0].message


def test_unawaited_call_as_a_statement() -> None:
    assert codes(sync_with('nango.log("hi")\n')) == ["missing_await"]


def test_returning_an_unawaited_call_is_reported() -> None:
    source = 'async def run_action(nango):\n    return nango.get(endpoint="/a")\n'
    assert codes(source, "action") == ["missing_await"]


def test_awaited_call_inside_conditional_expression_is_accepted() -> None:
    assert codes(sync_with("await (nango.get() if flag else nango.post())\n")) == []


def test_await_of_a_list_of_calls_is_reported() -> None:
    assert codes(sync_with("await [nango.get()]\n")) == ["missing_await"]


def test_non_sdk_method_need_not_be_awaited() -> None:
    assert codes(sync_with("nango.something_sync()\n")) == []


def test_other_objects_are_not_checked() -> None:
    assert codes(sync_with("client.get('/a')\n")) == []


def test_gather_of_direct_calls_is_accepted() -> None:
    body = 'await asyncio.gather(nango.get(endpoint="/a"), nango.post(endpoint="/b"))\n'
    assert codes(sync_with(body)) == []


def test_gather_of_starred_list_comprehension_is_accepted() -> None:
    body = "await asyncio.gather(*[nango.get(endpoint=e) for e in endpoints])\n"
    assert codes(sync_with(body)) == []


def test_gather_of_starred_generator_is_accepted() -> None:
    body = "await asyncio.gather(*(nango.get(endpoint=e) for e in endpoints))\n"
    assert codes(sync_with(body)) == []


def test_wait_with_list_of_calls_is_accepted() -> None:
    body = "await asyncio.wait([nango.get(), nango.post()], timeout=3)\n"
    assert codes(sync_with(body)) == []


def test_create_task_in_task_group_is_accepted() -> None:
    body = """\
    async with asyncio.TaskGroup() as tg:
        tg.create_task(nango.get(endpoint="/a"))
    """
    assert codes(sync_with(body)) == []


@pytest.mark.parametrize("wrapper", ["asyncio.wait_for", "asyncio.shield", "ensure_future"])
def test_other_awaiting_wrappers_are_accepted(wrapper: str) -> None:
    assert codes(sync_with(f"await {wrapper}(nango.get())\n")) == []


def test_call_passed_by_keyword_to_wait_for_is_accepted() -> None:
    assert codes(sync_with("await asyncio.wait_for(fut=nango.get(), timeout=1)\n")) == []


def test_call_passed_to_an_ordinary_function_is_reported() -> None:
    assert codes(sync_with("await run_later(nango.get())\n")) == ["missing_await"]


def test_call_used_as_iterable_of_comprehension_inside_gather_is_reported() -> None:
    body = "await asyncio.gather(*[x for x in nango.get()])\n"
    assert codes(sync_with(body)) == ["missing_await"]


def test_nested_helper_receiving_nango_is_checked() -> None:
    source = VALID_SYNC + (
        '\nasync def helper(client: NangoSync, page):\n    client.post(endpoint="/x")\n'
    )
    issues = check(source)
    assert [(i.code, i.line) for i in issues] == [("missing_await", 10)]
    assert "client.post()" in issues[0].message


def test_inner_function_receiving_nango_is_checked() -> None:
    body = """\
    async def save(n: NangoSync):
        n.batch_save([], "GithubIssue")
    await save(nango)
    """
    assert codes(sync_with(body)) == ["missing_await"]


def test_unannotated_helper_parameter_is_not_assumed_to_be_nango() -> None:
    source = VALID_SYNC + '\nasync def helper(client, page):\n    client.post(endpoint="/x")\n'
    assert codes(source) == []


def test_self_is_not_treated_as_nango() -> None:
    source = VALID_SYNC + "\nclass Cache:\n    def get(self):\n        return self.get()\n"
    assert codes(source) == []


# --- paginate --------------------------------------------------------------------------------


def test_async_comprehension_over_paginate_is_accepted() -> None:
    body = """\
    pages = [page async for page in nango.paginate(endpoint="/a")]
    await nango.batch_save(pages, "GithubIssue")
    """
    assert codes(sync_with(body)) == []


def test_awaited_paginate_is_reported() -> None:
    issues = check(sync_with('pages = await nango.paginate(endpoint="/a")\n'))
    assert [(i.code, i.line, i.column) for i in issues] == [("paginate_not_iterated", 2, 19)]
    assert "async for" in issues[0].message


def test_plain_for_over_paginate_is_reported() -> None:
    body = 'for page in nango.paginate(endpoint="/a"):\n    pass\n'
    assert codes(sync_with(body)) == ["paginate_not_iterated"]


def test_sync_comprehension_over_paginate_is_reported() -> None:
    body = 'pages = [p for p in nango.paginate(endpoint="/a")]\n'
    assert codes(sync_with(body)) == ["paginate_not_iterated"]


def test_paginate_assigned_to_a_variable_is_reported() -> None:
    assert codes(sync_with("pager = nango.paginate(endpoint='/a')\n")) == ["paginate_not_iterated"]


# --- batch calls in actions ------------------------------------------------------------------


@pytest.mark.parametrize("method", ["batch_save", "batch_delete", "batch_update"])
def test_batch_call_in_action_is_reported(method: str) -> None:
    source = f'async def run_action(nango):\n    await nango.{method}([], "X")\n'
    issues = check(source, "action")
    assert [(i.code, i.line, i.column) for i in issues] == [("action_batch_call", 2, 11)]
    assert "action" in issues[0].message


def test_batch_call_in_on_event_is_reported() -> None:
    source = 'async def on_event(nango):\n    await nango.batch_save([], "X")\n'
    assert codes(source, "on-event") == ["action_batch_call"]


# --- model names -----------------------------------------------------------------------------


def test_unknown_model_lists_the_possible_names() -> None:
    issues = check(sync_with('await nango.batch_save([], "Foo")\n'), models=("A", "B"))
    assert [(i.code, i.line, i.column) for i in issues] == [("unknown_model", 2, 32)]
    assert issues[0].message == (
        '"Foo" is not a model of this sync; the possible model names are: A, B'
    )


def test_model_given_by_keyword_is_checked() -> None:
    assert codes(sync_with('await nango.batch_delete([], model="Foo")\n')) == ["unknown_model"]
    assert codes(sync_with('await nango.batch_update([], model="GithubIssue")\n')) == []


def test_model_name_not_literal() -> None:
    issues = check(sync_with("await nango.batch_save([], MODEL)\n"))
    assert [(i.code, i.column) for i in issues] == [("model_name_not_literal", 32)]


def test_model_name_from_kwargs_unpacking_is_not_literal() -> None:
    assert codes(sync_with("await nango.batch_save([], **options)\n")) == ["model_name_not_literal"]


def test_model_name_missing() -> None:
    issues = check(sync_with("await nango.batch_save([])\n"))
    assert [(i.code, i.line, i.column) for i in issues] == [("model_name_missing", 2, 11)]


# --- retry_on --------------------------------------------------------------------------------


def test_retry_on_without_retries_is_reported_at_the_keyword() -> None:
    issues = check(sync_with('await nango.get(endpoint="/a", retry_on=[429])\n'))
    assert [(i.code, i.line, i.column) for i in issues] == [("retry_on_without_retries", 2, 36)]
    assert "retries=" in issues[0].message


def test_retry_on_with_retries_is_accepted() -> None:
    assert codes(sync_with('await nango.get(endpoint="/a", retry_on=[429], retries=3)\n')) == []


def test_retry_on_checked_on_paginate_too() -> None:
    body = 'async for page in nango.paginate(endpoint="/a", retry_on=[500]):\n    pass\n'
    assert codes(sync_with(body)) == ["retry_on_without_retries"]


# --- sync returning a value ------------------------------------------------------------------


def test_sync_returning_a_value_is_reported() -> None:
    issues = check(sync_with("if done:\n    return records\n"))
    assert [(i.code, i.line, i.column) for i in issues] == [("sync_returns_value", 3, 9)]


@pytest.mark.parametrize("statement", ["return", "return None"])
def test_sync_bare_return_is_accepted(statement: str) -> None:
    assert codes(sync_with(f"{statement}\n")) == []


def test_sync_return_inside_nested_function_is_ignored() -> None:
    body = """\
    def key(item):
        return item["id"]
    rows = sorted([], key=lambda r: r["id"])
    """
    assert codes(sync_with(body)) == []


def test_action_may_return_a_value() -> None:
    assert codes("async def run_action(nango):\n    return {'ok': True}\n", "action") == []


# --- top-level side effects ------------------------------------------------------------------


def test_top_level_call_is_a_warning() -> None:
    issues = check('"""Doc."""\nimport os\nprint("loading")\n' + sync_with("pass\n"))
    assert [(i.code, i.severity, i.line, i.column) for i in issues] == [
        ("top_level_side_effect", "warning", 3, 1)
    ]
    assert "imported" in issues[0].message


def test_allowed_top_level_statements_are_not_reported() -> None:
    source = '''\
    """Module docstring."""
    from __future__ import annotations
    import typing
    from typing import TYPE_CHECKING
    try:
        import orjson as json
    except ImportError:
        import json
    if TYPE_CHECKING:
        from models import NangoSync
    if typing.TYPE_CHECKING:
        pass
    LIMIT = 100
    TIMEOUT: int = 5
    pass
    class Helper:
        pass
    def util():
        pass
    async def fetch_data(nango):
        pass
    if __name__ == "__main__":
        print("debug")
    '''
    assert check(source) == []


def test_second_string_expression_is_not_a_docstring() -> None:
    source = sync_with("pass\n") + '"""Not a docstring."""\n'
    assert codes(source) == ["top_level_side_effect"]


@pytest.mark.parametrize(
    "statement",
    ["for x in range(3):\n    pass", "with open('f') as f:\n    pass", "x += 1", "main()"],
)
def test_other_top_level_statements_are_reported(statement: str) -> None:
    assert codes(sync_with("pass\n") + statement + "\n") == ["top_level_side_effect"]


def test_side_effect_inside_try_is_reported_at_the_statement() -> None:
    source = "try:\n    import x\nexcept ImportError:\n    setup()\n" + sync_with("pass\n")
    issues = check(source)
    assert [(i.code, i.line, i.column) for i in issues] == [("top_level_side_effect", 4, 5)]


def test_else_branch_of_type_checking_guard_is_checked() -> None:
    source = "if TYPE_CHECKING:\n    pass\nelse:\n    setup()\n" + sync_with("pass\n")
    assert codes(source) == ["top_level_side_effect"]


def test_other_if_blocks_are_reported() -> None:
    assert codes("if DEBUG:\n    import pdb\n" + sync_with("pass\n")) == ["top_level_side_effect"]


# --- ordering --------------------------------------------------------------------------------


def test_issues_are_sorted_by_line_and_column() -> None:
    source = """\
    setup()
    def fetch_data(nango):
        nango.batch_save([], Model); nango.get()
        return 1
    """
    issues = check(source)
    positions = [(i.line, i.column) for i in issues]
    assert positions == sorted(positions)
    assert [i.code for i in issues] == [
        "top_level_side_effect",
        "entry_not_async",
        "missing_await",
        "model_name_not_literal",
        "missing_await",
        "sync_returns_value",
    ]
