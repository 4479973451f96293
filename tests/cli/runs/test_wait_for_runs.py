"""`nango runs --wait`: `wait_for_runs` polls until a run exists and none is waiting or
running, and says which of the two it was still waiting for when the time is up."""

from __future__ import annotations

from typing import Any

import pytest

from cli.runs import RunFilter, wait_for_runs
from runtime.errors import UserError


class Answers:
    """A client answering GET /runtime/runs with one prepared list per call (the last repeats)."""

    def __init__(self, *answers: list[dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.asked: list[dict[str, Any]] = []

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        assert path == "/runtime/runs"
        self.asked.append(params or {})
        runs = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return {"runs": runs}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_waits_for_a_first_run_then_for_it_to_finish() -> None:
    client = Answers([], [{"status": "CREATED"}], [{"status": "STARTED"}], [{"status": "FAILED"}])
    clock = Clock()
    found = wait_for_runs(
        client,  # type: ignore[arg-type]
        RunFilter(script="issues"),
        60,
        clock=clock,
        sleep=clock.sleep,
    )
    assert found == [{"status": "FAILED"}]
    assert len(client.asked) == 4 and client.asked[0] == {"script": "issues", "limit": 20}


@pytest.mark.parametrize(
    ("runs", "said"),
    [([], "no run yet"), ([{"status": "STARTED"}], "a run is still waiting or running")],
)
def test_the_time_is_up(runs: list[dict[str, Any]], said: str) -> None:
    clock = Clock()
    with pytest.raises(UserError, match=said):
        wait_for_runs(Answers(runs), RunFilter(), 5, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    assert clock.now >= 5
