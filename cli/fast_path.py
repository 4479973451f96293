"""`nango dryrun` with a plain command line, run without loading Typer.

Typer costs a `nango dryrun` process ~0.1-0.2 s of CPU before the command starts: importing it
and every command module, and parsing, which builds a pydantic validator per option. The dry run
is the command users run over and over (and editors and scripts with `--json`), so a command line
this module understands is parsed here, to the same values Typer would give the command, and the
command body runs through the same boundary (`cli.boundary.invoke`).

Understood: the two arguments, the options of `nango dryrun` and the global flags, with their
values as the next word or after `=` (`--environment=prod`; `-eprod` for a short option), `--`
(every later word is an argument), and repeated options (the last value counts, as in Typer).
Anything else goes to Typer, which gives the help, or the error, it always gave: `--help`, an
unknown option, a flag with a value, a missing value or argument, an extra argument, `-` as a
word, a `--timeout` that is not plain digits, a word that is not valid UTF-8, shell completion.
"""

from __future__ import annotations

import os
import re
from typing import Any

__all__ = ["DRYRUN_FLAGS", "DRYRUN_VALUE_OPTIONS", "parse_dryrun", "run"]

DRYRUN_VALUE_OPTIONS: dict[str, str] = {
    "-e": "environment",
    "--environment": "environment",
    "-l": "last_sync_date",
    "--last-sync-date": "last_sync_date",
    "--lastSyncDate": "last_sync_date",
    "-i": "input",
    "--input": "input",
    "-m": "metadata",
    "--metadata": "metadata",
    "-c": "checkpoint",
    "--checkpoint": "checkpoint",
    "--integration-id": "integration_id",
    "--variant": "variant",
    "--timeout": "timeout",
}
"""Each option of `nango dryrun` that takes a value, and its parameter."""

DRYRUN_FLAGS: dict[str, str] = {
    "--validation": "validation",
    "--validate": "validation",
    "--save": "save",
    "--save-responses": "save",
    "--replay": "replay",
    "--json": "json_output",
    "--debug": "debug",
    "--no-interactive": "no_interactive",
    "--auto-confirm": "auto_confirm",
}
"""Each flag of `nango dryrun` (the global flags included), and its parameter."""

_DEFAULTS: dict[str, Any] = {
    "environment": "dev",
    "last_sync_date": None,
    "input": None,
    "metadata": None,
    "checkpoint": None,
    "integration_id": None,
    "variant": None,
    "validation": False,
    "save": False,
    "replay": False,
    "json_output": False,
    "timeout": None,
    "debug": False,
    "no_interactive": False,
    "auto_confirm": False,
}
_PLAIN_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_ARGUMENTS = ("name", "connection_id")


class _NotPlain(Exception):
    """The command line is one for Typer to parse."""


def run(args: list[str]) -> bool:
    """Run `nango dryrun` when `args` (the command line after `nango`) is a plain one: True
    once it ran (a failure exits through `SystemExit`, as from Typer), False when Typer is to
    parse `args`."""
    if not args or args[0] != "dryrun" or _completion_requested():
        return False
    values = parse_dryrun(args[1:])
    if values is None:
        return False
    from cli.boundary import invoke
    from cli.dryrun.command import dryrun_command
    from cli.exit_codes import ExitCode

    invoke(dryrun_command, ExitCode.DRYRUN_ERROR, **values)
    return True


def parse_dryrun(args: list[str]) -> dict[str, Any] | None:
    """The parameters Typer would pass to `nango dryrun`'s command for `args` (the words after
    `dryrun`), or None when `args` is not a plain command line."""
    try:
        values, arguments = _scan(args)
        if len(arguments) != len(_ARGUMENTS):
            return None
        values.update(zip(_ARGUMENTS, arguments, strict=True))
        if values["timeout"] is not None:
            values["timeout"] = _plain_number(values["timeout"])
    except _NotPlain:
        return None
    return values


def _scan(args: list[str]) -> tuple[dict[str, Any], list[str]]:
    values = dict(_DEFAULTS)
    arguments: list[str] = []
    words = iter(args)
    for word in words:
        _check_encodable(word)
        if word == "--":
            arguments.extend(map(_check_encodable, words))
        elif word == "-" or not word.startswith("-"):
            arguments.append(_argument(word))
        else:
            name, value = _option(word, words)
            values[name] = value
    return values, arguments


def _option(word: str, words: Any) -> tuple[str, Any]:
    """The parameter and value of the option `word` (its value possibly the next word)."""
    if word.startswith("--"):
        spelling, has_value, attached = word.partition("=")
    else:  # a short option: its value may follow it in the same word (`-eprod`)
        spelling, attached = word[:2], word[2:]
        has_value = "=" if attached else ""
    if spelling in DRYRUN_FLAGS and not has_value:
        return DRYRUN_FLAGS[spelling], True
    if spelling not in DRYRUN_VALUE_OPTIONS:
        raise _NotPlain  # help, an unknown option, or a flag given a value
    if has_value:
        return DRYRUN_VALUE_OPTIONS[spelling], attached
    value = next(words, None)
    if value is None:
        raise _NotPlain  # the value is missing
    return DRYRUN_VALUE_OPTIONS[spelling], _check_encodable(value)


def _argument(word: str) -> str:
    if word == "-":
        raise _NotPlain
    return word


def _check_encodable(word: str) -> str:
    """`word` when it is valid text (a command line word that was not UTF-8 holds surrogates)."""
    try:
        word.encode()
    except UnicodeEncodeError:
        raise _NotPlain from None
    return word


def _plain_number(text: str) -> float:
    if not _PLAIN_NUMBER.fullmatch(text):
        raise _NotPlain  # Typer's float conversion decides the rest (`1e3`, `inf`, `-1`...)
    return float(text)


def _completion_requested() -> bool:
    """Shell completion (`_NANGO_COMPLETE=...`) is Typer's to answer."""
    return any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ)
