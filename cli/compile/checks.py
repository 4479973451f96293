"""Static checks on a user's integration script, done with `ast` and never by running it.

`check_script()` parses one sync, action or on-event script and reports the mistakes that would
otherwise only show up when the script runs: a missing or wrongly declared entry function, SDK
calls that are never awaited, `nango.paginate()` used without `async for`, records saved from an
action, model names that the sync does not declare, and code that runs on import.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]
ScriptKind = Literal["sync", "action", "on-event"]

ENTRY_FUNCTIONS: dict[ScriptKind, str] = {
    "sync": "fetch_data",
    "action": "run_action",
    "on-event": "on_event",
}
WEBHOOK_FUNCTION = "on_webhook"

#: Methods of the `nango` object that return a coroutine and so must be awaited.
SDK_COROUTINES = frozenset(
    {
        "proxy",
        "get",
        "post",
        "put",
        "patch",
        "delete",
        "log",
        "get_connection",
        "get_metadata",
        "set_metadata",
        "update_metadata",
        "get_environment_variables",
        "trigger_action",
        "get_webhook_url",
        "get_checkpoint",
        "save_checkpoint",
        "clear_checkpoint",
        "batch_save",
        "batch_delete",
        "batch_update",
        "get_records_by_ids",
        "track_deletes_start",
        "track_deletes_end",
    }
)
BATCH_METHODS = frozenset({"batch_save", "batch_delete", "batch_update"})
PAGINATE = "paginate"
#: Callables that take a coroutine and await it (or schedule it) on the caller's behalf.
AWAITING_CALLS = frozenset({"gather", "wait_for", "create_task", "ensure_future", "shield", "wait"})
#: First parameters that name the instance or class, never the `nango` object.
_NOT_RECEIVERS = frozenset({"self", "cls"})

_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_Located = ast.expr | ast.stmt | ast.keyword
_Parents = dict[ast.AST, ast.AST]


@dataclass(frozen=True)
class ScriptIssue:
    """One problem found in a script; `line` and `column` are 1-based."""

    file: Path
    line: int
    column: int
    code: str
    message: str
    severity: Severity = "error"


@dataclass(frozen=True)
class _EntrySpec:
    """A function the script must define, and how it must be declared."""

    name: str
    owner: str
    arities: frozenset[int]
    expected: str


def check_script(
    file: Path,
    *,
    kind: ScriptKind,
    declared_models: Sequence[str],
    has_webhooks: bool = False,
    has_input: bool = False,
    source: str | None = None,
) -> list[ScriptIssue]:
    """Check one script and return its issues, sorted by line and column.

    `source`, when given, is checked instead of the file's contents (the file is then not read).
    A script that does not parse gets a single `syntax_error` issue. Reading a missing file
    raises `OSError`.
    """
    text: str | bytes = file.read_bytes() if source is None else source
    try:
        tree = ast.parse(text, filename=str(file))
    except SyntaxError as exc:
        return [_syntax_issue(file, exc)]
    except ValueError as exc:  # null bytes in the source, on some Python versions
        return [ScriptIssue(file, 1, 1, "syntax_error", f"the script cannot be parsed: {exc}")]
    checker = _ScriptChecker(file, tree, kind, declared_models)
    for spec in _entry_specs(kind, has_webhooks=has_webhooks, has_input=has_input):
        checker.check_entry(spec)
    checker.check_calls()
    checker.check_sync_returns()
    checker.check_top_level(tree.body, allow_docstring=True)
    return sorted(checker.issues, key=lambda issue: (issue.line, issue.column))


def _syntax_issue(file: Path, exc: SyntaxError) -> ScriptIssue:
    line = exc.lineno or 1
    column = exc.offset or 1
    message = f"the script is not valid Python ({exc.msg}); fix the syntax at line {line}"
    return ScriptIssue(file, line, max(column, 1), "syntax_error", message)


def _entry_specs(kind: ScriptKind, *, has_webhooks: bool, has_input: bool) -> list[_EntrySpec]:
    name = ENTRY_FUNCTIONS[kind]
    owner = f"{kind} script"
    if kind == "sync":
        specs = [_EntrySpec(name, owner, frozenset({1}), f"async def {name}(nango: NangoSync)")]
    elif kind == "on-event":
        specs = [_EntrySpec(name, owner, frozenset({1}), f"async def {name}(nango: NangoAction)")]
    elif has_input:
        expected = f"async def {name}(nango: NangoAction, input: <InputModel>)"
        specs = [_EntrySpec(name, f"{owner} with an input", frozenset({2}), expected)]
    else:
        expected = f"async def {name}(nango: NangoAction)"
        specs = [_EntrySpec(name, owner, frozenset({1, 2}), expected)]
    if has_webhooks:
        expected = f"async def {WEBHOOK_FUNCTION}(nango: NangoSync, payload: dict)"
        owner = "sync with webhook-subscriptions"
        specs.append(_EntrySpec(WEBHOOK_FUNCTION, owner, frozenset({2}), expected))
    return specs


def _top_level_function(tree: ast.Module, name: str) -> _FunctionNode | None:
    """The module-level definition of `name` that wins at import time (the last one)."""
    found: _FunctionNode | None = None
    for stmt in tree.body:
        if isinstance(stmt, _FunctionNode) and stmt.name == name:
            found = stmt
    return found


def _signature_fits(fn: _FunctionNode, arities: frozenset[int]) -> bool:
    args = fn.args
    positional = len(args.posonlyargs) + len(args.args)
    required_keyword_only = any(default is None for default in args.kw_defaults)
    variadic = args.vararg is not None or args.kwarg is not None
    return positional in arities and not required_keyword_only and not variadic


def _receiver_names(tree: ast.Module) -> frozenset[str]:
    """`nango`, plus every parameter annotated as the SDK (helpers get `nango` passed in)."""
    names = {"nango"}
    for node in ast.walk(tree):
        if isinstance(node, _FunctionNode):
            for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
                annotation = ast.unparse(arg.annotation) if arg.annotation else ""
                if arg.arg not in _NOT_RECEIVERS and (
                    "NangoSync" in annotation or "NangoAction" in annotation
                ):
                    names.add(arg.arg)
    return frozenset(names)


def _parent_map(tree: ast.Module) -> _Parents:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _climb(
    node: ast.AST, parents: _Parents, passes: Callable[[ast.AST, ast.AST], bool]
) -> tuple[ast.AST, ast.AST | None]:
    """Walk up from `node` while each parent merely `passes` its child's value through."""
    child, parent = node, parents.get(node)
    while parent is not None and passes(parent, child):
        child, parent = parent, parents.get(parent)
    return child, parent


def _through_conditional(parent: ast.AST, child: ast.AST) -> bool:
    return isinstance(parent, ast.IfExp) and child is not parent.test


def _through_collection(parent: ast.AST, child: ast.AST) -> bool:
    if isinstance(parent, ast.List | ast.Tuple | ast.Set | ast.Starred):
        return True
    if isinstance(parent, ast.ListComp | ast.SetComp | ast.GeneratorExp):
        return child is parent.elt
    return _through_conditional(parent, child)


def _callee_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _is_awaited(call: ast.Call, parents: _Parents) -> bool:
    _, parent = _climb(call, parents, _through_conditional)
    return isinstance(parent, ast.Await)


def _is_handed_to_awaiter(call: ast.Call, parents: _Parents) -> bool:
    """True for `asyncio.gather(nango.get(...))`, `tg.create_task(nango.get(...))` and the like."""
    child, parent = _climb(call, parents, _through_collection)
    if isinstance(parent, ast.keyword):
        child, parent = parent, parents.get(parent)
    return (
        isinstance(parent, ast.Call)
        and child is not parent.func
        and _callee_name(parent) in AWAITING_CALLS
    )


def _is_async_iterated(call: ast.Call, parents: _Parents) -> bool:
    parent = parents.get(call)
    if isinstance(parent, ast.AsyncFor):
        return parent.iter is call
    return isinstance(parent, ast.comprehension) and bool(parent.is_async) and parent.iter is call


def _model_argument(call: ast.Call) -> ast.expr | None:
    """The model name given to a batch method: 2nd positional argument or `model=`."""
    if len(call.args) >= 2:
        return call.args[1]
    named = [keyword.value for keyword in call.keywords if keyword.arg == "model"]
    unpacked: list[ast.expr] = [arg for arg in call.args if isinstance(arg, ast.Starred)]
    unpacked += [keyword.value for keyword in call.keywords if keyword.arg is None]
    candidates = named + unpacked
    return candidates[0] if candidates else None


def _direct_returns(body: list[ast.stmt]) -> Iterator[ast.Return]:
    """`return` statements of a function body, leaving out nested functions and classes."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return):
            yield node
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))


def _is_import_guard(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:`, `if typing.TYPE_CHECKING:` or `if __name__ == "__main__":`."""
    if isinstance(test, ast.Name | ast.Attribute):
        return (test.id if isinstance(test, ast.Name) else test.attr) == "TYPE_CHECKING"
    if not isinstance(test, ast.Compare) or len(test.ops) != 1:
        return False
    sides = [test.left, test.comparators[0]]
    names = {side.id for side in sides if isinstance(side, ast.Name)}
    strings = {side.value for side in sides if isinstance(side, ast.Constant)}
    return isinstance(test.ops[0], ast.Eq) and names == {"__name__"} and strings == {"__main__"}


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


_HARMLESS_STATEMENTS = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
    ast.Pass,
)


class _ScriptChecker:
    """Runs the checks on one parsed script and collects what they find."""

    def __init__(
        self, file: Path, tree: ast.Module, kind: ScriptKind, declared_models: Sequence[str]
    ) -> None:
        self.file = file
        self.tree = tree
        self.kind: ScriptKind = kind
        self.declared_models = list(declared_models)
        self.receivers = _receiver_names(tree)
        self.parents = _parent_map(tree)
        self.issues: list[ScriptIssue] = []

    def add(
        self, node: _Located | None, code: str, message: str, severity: Severity = "error"
    ) -> None:
        line, column = (node.lineno, node.col_offset + 1) if node is not None else (1, 1)
        self.issues.append(ScriptIssue(self.file, line, column, code, message, severity))

    def check_entry(self, spec: _EntrySpec) -> None:
        fn = _top_level_function(self.tree, spec.name)
        if fn is None:
            message = (
                f"`{spec.name}` is missing: a {spec.owner} must define it at the top level "
                f"as `{spec.expected}`"
            )
            self.add(None, "missing_entry_function", message)
            return
        if isinstance(fn, ast.FunctionDef):
            message = (
                f"`{spec.name}` must be a coroutine: write `async def {spec.name}(...)` "
                f"instead of `def {spec.name}(...)`"
            )
            self.add(fn, "entry_not_async", message)
        if not _signature_fits(fn, spec.arities):
            message = f"`{spec.name}` has the wrong parameters: declare it as `{spec.expected}`"
            self.add(fn, "bad_signature", message)

    def check_calls(self) -> None:
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            receiver = node.func.value
            if isinstance(receiver, ast.Name) and receiver.id in self.receivers:
                self.check_sdk_call(node, f"{receiver.id}.{node.func.attr}", node.func.attr)

    def check_sdk_call(self, call: ast.Call, label: str, method: str) -> None:
        if method == PAGINATE:
            self.check_paginate(call, label)
        elif method in BATCH_METHODS and self.kind != "sync":
            message = (
                f"`{label}()` is not allowed in an {self.kind} script; only syncs save records, "
                "an action returns its result instead"
            )
            self.add(call, "action_batch_call", message)
        else:
            if method in SDK_COROUTINES:
                self.check_awaited(call, label)
            if method in BATCH_METHODS:
                self.check_model_name(call, label)
        self.check_retries(call, label)

    def check_awaited(self, call: ast.Call, label: str) -> None:
        if _is_awaited(call, self.parents) or _is_handed_to_awaiter(call, self.parents):
            return
        message = (
            f"{label}() must be awaited: write `await {label}(...)`; an un-awaited call never runs"
        )
        self.add(call, "missing_await", message)

    def check_paginate(self, call: ast.Call, label: str) -> None:
        if _is_async_iterated(call, self.parents):
            return
        message = (
            f"{label}() returns an async iterator of pages: loop over it with "
            f"`async for page in {label}(...)` instead of awaiting or using it otherwise"
        )
        self.add(call, "paginate_not_iterated", message)

    def check_model_name(self, call: ast.Call, label: str) -> None:
        example = self.declared_models[0] if self.declared_models else "ModelName"
        model = _model_argument(call)
        if model is None:
            message = (
                f"`{label}()` needs the model name as its second argument: "
                f'write `await {label}(records, "{example}")`'
            )
            self.add(call, "model_name_missing", message)
        elif not isinstance(model, ast.Constant) or not isinstance(model.value, str):
            message = (
                f"the model passed to `{label}()` must be a string literal naming one of this "
                f'sync\'s models, such as "{example}"'
            )
            self.add(model, "model_name_not_literal", message)
        elif model.value not in self.declared_models:
            self.add(model, "unknown_model", self._unknown_model_message(model.value))

    def _unknown_model_message(self, name: str) -> str:
        if not self.declared_models:
            return f'"{name}" is not a model of this sync; the sync declares no output models'
        choices = ", ".join(self.declared_models)
        return f'"{name}" is not a model of this sync; the possible model names are: {choices}'

    def check_retries(self, call: ast.Call, label: str) -> None:
        names = {keyword.arg: keyword for keyword in call.keywords}
        if "retry_on" in names and "retries" not in names:
            message = (
                f"`{label}()` is given `retry_on=` without `retries=`, so it never retries; "
                "add `retries=<count>`"
            )
            self.add(names["retry_on"], "retry_on_without_retries", message)

    def check_sync_returns(self) -> None:
        fetch_data = _top_level_function(self.tree, ENTRY_FUNCTIONS["sync"])
        if self.kind != "sync" or fetch_data is None:
            return
        for ret in _direct_returns(fetch_data.body):
            value = ret.value
            if value is None or (isinstance(value, ast.Constant) and value.value is None):
                continue
            message = (
                "`fetch_data` must not return a value: save records with "
                '`await nango.batch_save(records, "Model")` and end with a bare `return`'
            )
            self.add(ret, "sync_returns_value", message)

    def check_top_level(self, body: list[ast.stmt], *, allow_docstring: bool = False) -> None:
        for index, stmt in enumerate(body):
            if isinstance(stmt, _HARMLESS_STATEMENTS):
                continue
            if allow_docstring and index == 0 and _is_docstring(stmt):
                continue
            if isinstance(stmt, ast.If) and _is_import_guard(stmt.test):
                self.check_top_level(stmt.orelse)
            elif isinstance(stmt, ast.Try | ast.TryStar):
                handlers = [handler.body for handler in stmt.handlers]
                for block in (stmt.body, *handlers, stmt.orelse, stmt.finalbody):
                    self.check_top_level(block)
            else:
                entry = ENTRY_FUNCTIONS[self.kind]
                message = (
                    "this top-level statement runs whenever the script is imported; "
                    f"move it into `{entry}` or a helper function"
                )
                self.add(stmt, "top_level_side_effect", message, "warning")
