"""The estimate of a run's time and the announcement of a long run (``steppe._progress``).

No wall clock is measured: the estimator is a pure function, and :class:`Timer` reads the
module's ``_clock``, which the tests replace with a clock they set by hand.
"""

from __future__ import annotations

import logging

import pytest

import steppe._progress
from steppe._progress import LONG_RUN, Timer, duration, projected_seconds


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(steppe._progress, "_clock", c)
    return c


# --- the estimator ---------------------------------------------------------------------


def test_one_worker_projects_its_rate() -> None:
    assert projected_seconds(10.0, 100, 1000, 1, 100) == 100.0


def test_the_other_workers_chunks_count_at_the_first_chunk() -> None:
    """Two workers started two chunks together: when one ends, the other is about to."""
    assert projected_seconds(10.0, 100, 1000, 2, 100) == 50.0
    assert projected_seconds(10.0, 100, 1000, 4, 100) == 25.0


def test_later_the_finished_items_dominate() -> None:
    assert projected_seconds(60.0, 600, 1000, 2, 100) == pytest.approx(60 * 1000 / 700)


def test_a_finished_run_is_projected_at_its_elapsed_time() -> None:
    assert projected_seconds(7.0, 1000, 1000, 2, 100) == 7.0
    assert projected_seconds(7.0, 150, 200, 4, 100) == 7.0  # the workers' chunks cover it


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "0 s"),
        (59, "59 s"),
        (61, "1 min"),
        (59 * 60 + 29, "59 min"),
        (3600, "1 h"),
        (3 * 3600 + 10 * 60 + 12, "3 h 10 min"),
        (47 * 3600 + 59 * 60, "47 h 59 min"),
        (48 * 3600, "2 days"),
        (4 * 86400 + 2 * 3600 + 100, "4 days 2 h"),
    ],
)
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


# --- the timer -------------------------------------------------------------------------


def make(total: int = 1_000_000_000) -> Timer:
    return Timer(total, what=f"this run of {total:,} replications", unit="the first chunk")


def test_a_long_run_is_announced_once_at_its_first_chunk(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    timer = make()
    timer.start(2)
    clock.now += 0.684  # the first chunk of 50,000 on one of two workers
    with caplog.at_level(logging.INFO, logger="steppe"):
        timer(50_000)
        clock.now += 0.1
        timer(50_000)
        timer(50_000)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.INFO,
            "this run of 1,000,000,000 replications will take about 1 h 54 min on 2 workers "
            "(estimated from the first chunk); press Ctrl-C to stop",
        )
    ]


def test_a_short_run_is_not_announced(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    timer = make(1_000_000)
    timer.start(1)
    clock.now += 0.5
    with caplog.at_level(logging.INFO, logger="steppe"):
        timer(50_000)
    assert caplog.records == []
    assert timer.left() == pytest.approx(9.5)


@pytest.mark.parametrize(
    ("first", "announced"), [(LONG_RUN / 10, False), (LONG_RUN / 10 + 1, True)]
)
def test_only_more_than_the_limit_is_announced(
    first: float, announced: bool, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    timer = make(1000)
    timer.start(1)
    clock.now += first  # the first tenth of the run
    with caplog.at_level(logging.INFO, logger="steppe"):
        timer(100)
    expected = (
        "this run of 1,000 replications will take about 1 h on 1 worker "
        "(estimated from the first chunk); press Ctrl-C to stop"
    )
    assert [r.getMessage() for r in caplog.records] == ([expected] if announced else [])


def test_time_left_counts_down_and_is_refined(clock: Clock) -> None:
    timer = make(1000)
    assert timer.left() is None
    timer.start(1)
    assert timer.left() is None  # no chunk finished yet
    clock.now += 10
    timer(100)
    assert timer.left() == pytest.approx(90.0)
    clock.now += 5
    assert timer.left() == pytest.approx(85.0)
    clock.now += 5  # a second chunk in 10 s: the same rate
    timer(100)
    assert timer.left() == pytest.approx(80.0)
    clock.now += 20  # then slower
    timer(100)
    assert timer.left() == pytest.approx(40.0 / 300 * 1000 - 40)
    clock.now += 1000
    assert timer.left() == 0.0


def test_items_done_before_the_start_are_not_timed(clock: Clock) -> None:
    """A resumed sweep reports its saved points first: they took no time now."""
    ticks: list[int] = []
    timer = Timer(100, advance=ticks.append, what="this sweep", unit="the first design point")
    timer(60)
    timer.start(1)
    clock.now += 2
    timer(1)
    assert ticks == [60, 1]
    assert timer.done == 61
    assert timer.left() == pytest.approx(78.0)  # 39 points left at 2 s each


def test_only_the_first_start_counts(clock: Clock) -> None:
    """A comparison runs one scenario after another, each telling the timer it starts."""
    timer = make(200)
    timer.start(2)
    clock.now += 4
    timer(50)
    timer.start(1)
    assert timer.workers == 2
    clock.now += 4
    timer(50)
    assert timer.left() == pytest.approx(8 * 200 / 150 - 8)
