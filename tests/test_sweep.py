"""``steppe.sweep``: designs, the table, common random numbers, executors and checkpoints."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import steppe
from steppe.errors import ResultError, ScenarioError, SimulationError
from steppe.sweeps.designs import make_design
from steppe.sweeps.executors import ProcessExecutor, SerialExecutor

SMOKE = Path(__file__).parent / "data" / "smoke.yaml"


@pytest.fixture(scope="module")
def smoke() -> steppe.Scenario:
    return steppe.load(SMOKE)


# --- designs --------------------------------------------------------------------------


def test_grid_is_every_combination_of_levels() -> None:
    d = make_design({"a": (0.0, 1.0), "b": [5.0, 7.0]}, design="grid", n=3)
    assert d.names == ("a", "b")
    np.testing.assert_array_equal(d.points, [[0, 5], [0, 7], [0.5, 5], [0.5, 7], [1, 5], [1, 7]])


def test_lhs_has_one_point_per_stratum_and_depends_only_on_the_seed() -> None:
    before = np.random.get_state()[1].copy()  # noqa: NPY002 - checking it is untouched
    d = make_design({"a": (0.0, 10.0), "b": (-1.0, 1.0)}, design="lhs", n=20, seed=4)
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    strata = np.sort(np.floor(d.points[:, 0]).astype(int))
    np.testing.assert_array_equal(strata, np.arange(10).repeat(2))  # 20 points, 10 units
    again = make_design({"a": (0.0, 10.0), "b": (-1.0, 1.0)}, design="lhs", n=20, seed=4)
    np.testing.assert_array_equal(d.points, again.points)
    other = make_design({"a": (0.0, 10.0), "b": (-1.0, 1.0)}, design="lhs", n=20, seed=5)
    assert not np.array_equal(d.points, other.points)


def test_sobol_design_is_scrambled_and_balanced() -> None:
    d = make_design({"a": (0.0, 1.0), "b": (0.0, 1.0)}, design="sobol", n=16, seed=1)
    # A scrambled (0, m, 2)-net in base 2: every 1/4 x 1/4 box holds exactly one point.
    boxes = {(int(x * 4), int(y * 4)) for x, y in d.points}
    assert len(boxes) == 16


def test_list_values_in_a_random_design_take_each_value() -> None:
    d = make_design({"a": [1.0, 2.0, 3.0]}, design="lhs", n=30, seed=2)
    assert set(d.points[:, 0]) == {1.0, 2.0, 3.0}


@pytest.mark.parametrize(
    ("vary", "design", "n", "message"),
    [
        ({"a": (1.0, 1.0)}, "grid", 3, "vary 'a': low must be < high, found 1 >= 1"),
        ({"a": (2.0, 1.0)}, "grid", 3, "vary 'a': low must be < high, found 2 >= 1"),
        ({"a": (0.0, float("nan"))}, "grid", 3, "vary 'a': expected a finite number, found nan"),
        ({"a": (0, 1, 2)}, "grid", 3, "vary 'a': a range is a pair (low, high), found 3 numbers"),
        ({"a": [1.0, 1.0]}, "grid", 3, "vary 'a': a list of values needs at least two distinct"),
        ({}, "grid", 3, "nothing to vary: give at least one parameter"),
        ({"a": (0.0, 1.0)}, "cube", 3, "unknown design 'cube'; expected one of grid, lhs, sobol"),
        ({"a": (0.0, 1.0)}, "sobol", 10, "a Sobol' design needs a power of 2 points (its "),
        ({"a": (0.0, 1.0)}, "lhs", None, "a 'lhs' design needs the number of points n"),
        ({"a": (0.0, 1.0)}, "lhs", 0, "n must be a whole number >= 1, found 0"),
    ],
)
def test_bad_designs_are_refused(
    vary: dict[str, Any], design: Any, n: int | None, message: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        make_design(vary, design=design, n=n)
    assert info.value.message.startswith(message)


# --- the table ------------------------------------------------------------------------


def test_sweep_table_columns_and_statistics(smoke: steppe.Scenario) -> None:
    table = steppe.sweep(
        smoke, vary={"contagion": (0.0, 2.0), "shock_rate": [0.2, 1.0]}, n=3,
        replications=100, seed=3, outcomes=["uz_by_2027", "trade_2027", "uz_time"],
    )  # fmt: skip
    assert list(table.columns) == [
        "point", "contagion", "shock_rate", "uz_by_2027", "uz_by_2027_se",
        "trade_2027", "trade_2027_se", "uz_time", "uz_time_se",
    ]  # fmt: skip
    assert len(table) == 6
    assert table.attrs["statistics"] == {
        "uz_by_2027": "P", "trade_2027": "mean", "uz_time": "P(by 2030-12-31)",
    }  # fmt: skip
    # Each row is exactly steppe.run at that point with the sweep's seed (without the
    # report's traces, whose extra observation times change the random numbers drawn).
    row = table.iloc[4]
    res = steppe.run(
        smoke, replications=100, seed=3, traces=False,
        overrides={"contagion": row["contagion"], "shock_rate": row["shock_rate"]},
    )  # fmt: skip
    o = res.summary["outcomes"]
    assert row["uz_by_2027"] == o["uz_by_2027"]["p"]
    assert row["uz_by_2027_se"] == o["uz_by_2027"]["se"]
    assert row["trade_2027"] == o["trade_2027"]["mean"]
    assert row["trade_2027_se"] == o["trade_2027"]["se"]
    assert row["uz_time"] == o["uz_time"]["p_by"]["2030-12-31"]
    assert row["uz_time_se"] == o["uz_time"]["p_by_se"]["2030-12-31"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"vary": {"contagon": (0.0, 1.0)}},
            ScenarioError,
            "<scenario>: error: parameters.contagon: cannot vary 'contagon': no such parameter "
            "(did you mean 'contagion'?)",
        ),
        (
            {"vary": {"contagion": (0.0, 1.0)}, "outcomes": ["uz_by_2072"]},
            ScenarioError,
            "<scenario>: error: outcomes.uz_by_2072: unknown outcome 'uz_by_2072' "
            "(did you mean 'uz_by_2027'?)",
        ),
        (
            {"vary": {"contagion": (0.0, 1.0)}, "replications": 0},
            ScenarioError,
            "<scenario>: error: <document>: replications must be a whole number >= 1, found 0",
        ),
        (
            {"vary": {"contagion": (0.0, 1.0)}, "seed": -1},
            ScenarioError,
            "<scenario>: error: <document>: seed must be a whole number in [0, 2**63), found -1",
        ),
    ],
)
def test_sweep_refuses_bad_requests(
    smoke: steppe.Scenario, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        steppe.sweep(smoke, n=2, **{"replications": 10, **kwargs})
    assert str(info.value) == message


def test_a_failing_point_names_itself(smoke: steppe.Scenario) -> None:
    with pytest.raises(SimulationError, match=r"^design point 0 \(shock_rate=-1\): .*hazard"):
        steppe.sweep(smoke, vary={"shock_rate": [-1.0, 1.0]}, replications=10, seed=1)


# --- common random numbers -------------------------------------------------------------


def test_common_random_numbers_make_adjacent_differences_less_noisy(
    smoke: steppe.Scenario,
) -> None:
    """Var(B - A) = Var(A) + Var(B) - 2 Cov(A, B): the same seed at every point makes the
    estimates at neighbouring points positively correlated (every parameter not varied,
    e.g. the trade growth ``kz_growth``, takes the same value in replication i), so their
    differences are far less noisy than with a fresh seed per point. Along a fine grid the
    true curve barely moves between neighbours, so the spread of the first differences
    measures that noise. Every source of randomness has its own stream per replication, so
    a changed ``contagion`` changes only what depends on it: with this design CRN cuts
    that variance 6,000- to 27,000-fold (ratios 3.7e-5, 1.6e-4, 5.6e-5 for seeds 11-13;
    80-fold when only the parameters were shared); the test asks for 2-fold. With 19
    differences a side, an observed ratio 5 times its expectation has probability below
    0.001 (F(18, 18)). Both engines draw the same numbers (``tests/test_streams.py``): the
    compiled one runs it.
    """
    grid = np.linspace(0.5, 1.5, 20)
    crn = steppe.sweep(
        smoke, vary={"contagion": list(grid)}, replications=200, seed=11,
        outcomes=["trade_2027"], engine="compiled",
    )["trade_2027"].to_numpy()  # fmt: skip
    fresh = np.array(
        [
            steppe.run(
                smoke,
                replications=200,
                seed=11 + 1000 * i,
                overrides={"contagion": c},
                traces=False,
                engine="compiled",
            ).summary["outcomes"]["trade_2027"]["mean"]
            for i, c in enumerate(grid)
        ]
    )
    assert crn[0] == fresh[0]  # the first point is the same run
    ratio = np.var(np.diff(crn), ddof=1) / np.var(np.diff(fresh), ddof=1)
    assert ratio < 0.5, ratio


# --- executors --------------------------------------------------------------------------


def test_local_processes_give_the_serial_table(smoke: steppe.Scenario) -> None:
    kwargs: dict[str, Any] = {
        "vary": {"contagion": (0.0, 2.0), "base": (0.02, 0.2)}, "design": "lhs", "n": 8,
        "replications": 100, "seed": 5,
    }  # fmt: skip
    serial = steppe.sweep(smoke, executor=SerialExecutor(), **kwargs)
    procs = steppe.sweep(smoke, executor=ProcessExecutor(2), **kwargs)
    pd.testing.assert_frame_equal(serial, procs, check_exact=True)


# --- checkpoints ------------------------------------------------------------------------


class StopAfter(SerialExecutor):
    """Runs ``k`` points, then raises as a Ctrl-C would."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.ran: list[int] = []

    def run(self, fn: Any, indices: Sequence[int]) -> Iterator[tuple[int, Any]]:
        for i in indices:
            if len(self.ran) == self.k:
                raise KeyboardInterrupt
            self.ran.append(i)
            yield i, fn(i)


def test_resume_after_an_interruption_equals_an_uninterrupted_sweep(
    smoke: steppe.Scenario, tmp_path: Path
) -> None:
    kwargs: dict[str, Any] = {
        "vary": {"contagion": (0.0, 2.0)}, "n": 6, "replications": 60, "seed": 2,
    }  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        steppe.sweep(smoke, checkpoint=tmp_path / "ck", executor=StopAfter(4), **kwargs)
    assert sorted(p.name for p in (tmp_path / "ck" / "points").iterdir()) == [
        f"{i:06d}.json" for i in range(4)
    ]
    second = StopAfter(10)
    resumed = steppe.sweep(smoke, checkpoint=tmp_path / "ck", executor=second, **kwargs)
    assert second.ran == [4, 5]  # nothing redone
    whole = steppe.sweep(smoke, **kwargs)
    pd.testing.assert_frame_equal(resumed, whole, check_exact=True)


def test_a_checkpoint_of_another_sweep_is_not_resumed(
    smoke: steppe.Scenario, tmp_path: Path
) -> None:
    ck = tmp_path / "ck"
    steppe.sweep(smoke, vary={"contagion": (0.0, 2.0)}, n=2, replications=20, seed=2,
                 checkpoint=ck)  # fmt: skip
    with pytest.raises(ResultError, match=r"seed: 2 in the checkpoint, 3 now") as info:
        steppe.sweep(smoke, vary={"contagion": (0.0, 2.0)}, n=2, replications=20, seed=3,
                     checkpoint=ck)  # fmt: skip
    assert str(info.value).startswith(f"cannot resume the sweep in {ck}: it was made by a ")
    # Starting afresh is explicit, and clears the old points.
    fresh = steppe.sweep(smoke, vary={"contagion": (0.0, 2.0)}, n=2, replications=20, seed=3,
                         checkpoint=ck, resume=False)  # fmt: skip
    assert len(fresh) == 2
    key = json.loads((ck / "checkpoint.json").read_text())
    assert key["seed"] == 3


def test_a_foreign_point_file_or_folder_is_refused(smoke: steppe.Scenario, tmp_path: Path) -> None:
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(ResultError, match="it exists, is not empty, and was not written by steppe"):
        steppe.sweep(smoke, vary={"contagion": (0.0, 2.0)}, n=2, replications=20,
                     checkpoint=other)  # fmt: skip
    assert (other / "notes.txt").read_text() == "keep me"
    ck = tmp_path / "ck"
    steppe.sweep(smoke, vary={"contagion": (0.0, 2.0)}, n=2, replications=20, checkpoint=ck)
    point = ck / "points" / "000001.json"
    data = json.loads(point.read_text())
    data["values"]["contagion"] = 1.5
    point.write_text(json.dumps(data))
    with pytest.raises(ResultError, match="this point file does not belong to the sweep"):
        steppe.sweep(smoke, vary={"contagion": (0.0, 2.0)}, n=2, replications=20,
                     checkpoint=ck)  # fmt: skip


def _dies_at_two(i: int) -> int:
    if i == 2:
        os._exit(3)  # as a worker killed by the kernel's OOM killer would end
    return i


def test_a_process_worker_that_dies_stops_the_sweep_with_steppes_error() -> None:
    with (
        ProcessExecutor(2) as ex,
        pytest.raises(SimulationError, match=r"a worker process died while running design "
                      r"point \d+ \(killed, or out of memory\?\); the sweep stopped"),
    ):  # fmt: skip
        list(ex.run(_dies_at_two, range(6)))
