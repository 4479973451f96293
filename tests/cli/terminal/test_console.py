"""User, script and API text is printed verbatim: no markup, no emoji, no raw control characters."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cli.terminal import console as output
from tests.conftest import Cli

RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], str]]:
    """stdout and stderr consoles writing into one buffer (as a terminal would show them)."""
    buffer = io.StringIO()
    output.stdout.cache_clear()
    output.stderr.cache_clear()
    for name in ("stdout", "stderr"):
        console = getattr(output, name)()
        monkeypatch.setattr(console, "file", buffer)
    yield buffer.getvalue
    output.stdout.cache_clear()
    output.stderr.cache_clear()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("nango.yaml:100:5", "nango.yaml:100:5"),
        ("every :fire: hour", "every :fire: hour"),
        ("[bold]not bold[/bold] [link=x]y", "[bold]not bold[/bold] [link=x]y"),
        ("red \x1b[31mtext\x1b[0m", "red \\x1b[31mtext\\x1b[0m"),
        (
            "bell\x07 back\x08 cr\r nul\x00 del\x7f c1\x9b",
            "bell\\x07 back\\x08 cr\\r nul\\x00 del\\x7f c1\\x9b",
        ),
        ("abc\u202edef \u200b \u2066x\u2069", "abc\\u202edef \\u200b \\u2066x\\u2069"),
        ("ends with a backslash \\", "ends with a backslash \\"),
        ("two\nlines", "two\nlines"),
        ("unicode stays: é ü 中 🎉", "unicode stays: é ü 中 🎉"),
    ],
)
def test_every_helper_prints_text_verbatim(
    captured: Callable[[], str], text: str, shown: str
) -> None:
    output.success(text)
    output.warning(text)
    output.error(text, hint=text)
    output.result(f"[bold]{output.esc(text)}[/bold]")
    output.info(output.esc(text))
    printed = captured()
    assert printed.count(shown) == 6
    assert "💯" not in printed and "🔥" not in printed
    assert not RAW_CONTROLS.search(printed)


def test_esc_line_keeps_text_on_its_line() -> None:
    assert output.esc_line("a\nb\tc\rd") == "a\\nb\\tc\\rd"
    assert output.esc("a\nb\tc\rd") == "a\nb\tc\\rd"
    assert output.esc_line("[red]x") == "\\[red]x"


def test_a_config_error_at_line_100_keeps_its_location(
    cli: Cli, make_project: Callable[[dict[str, str]], Path]
) -> None:
    text = (
        "integrations:\n  github:\n    syncs:\n      issues:\n"
        '        runs: "every :fire: hour"\n        output: Issue\n        endpoint: GET /issues\n'
        + "\n" * 90
        + 'models:\n  Issue:\n    "\\e[31mred\\e[0m": Record<string, x>\n    id: string\n'
    )
    root = make_project({"nango.yaml": text})
    result = cli("generate", cwd=root, expect=1)
    assert "nango.yaml:5:9 error" in result.stderr
    assert 'runs "every :fire: hour" is not a frequency' in result.stderr
    assert "nango.yaml:100:5 error" in result.stderr
    assert "at models > Issue > \\x1b[31mred\\x1b[0m" in result.stderr
    assert "🔥" not in result.stderr and "💯" not in result.stderr
    assert not RAW_CONTROLS.search(result.output)


def test_styled_text_for_renderables_has_no_emoji(captured: Callable[[], str]) -> None:
    from rich.spinner import Spinner

    output.stderr().print(Spinner("dots", output.styled(f"running {output.esc(':fire: x')}")))
    assert "running :fire: x" in captured()
