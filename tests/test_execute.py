"""Chunked execution: the numbers do not depend on the workers, and merged summaries are right.

A run is split into chunks (the engine's ``chunk_size``) that may run on a process pool;
``steppe.results.accumulate.Accumulator`` merges them in chunk order. These tests shrink the
chunk sizes (and ``QUANTILE_SAMPLE``) with ``monkeypatch`` so that multi-chunk runs and the
streaming summaries stay fast. The pool forks, so workers inherit the patched module state.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

import steppe
import steppe.api
import steppe.engines.kernel
import steppe.engines.registry
import steppe.execute
import steppe.results.accumulate
from steppe.cli import main
from steppe.engines import ENGINES, get_engine
from steppe.execute import available_workers, chunks, execute, plan
from steppe.model.scenario import Scenario
from steppe.results.accumulate import Accumulator
from steppe.results.io import read_result_folder
from steppe.results.stats import (
    summarize_distribution,
    summarize_probability,
    summarize_time_to_event,
)

ScenarioFactory = Callable[[str], Scenario]

#: Every random ingredient and every kind of outcome (a copy of test_reproducibility's).
EVERYTHING = (Path(__file__).parent / "data" / "everything.yaml").read_text(encoding="utf-8")

#: One outcome of each kind, for Accumulator tests fed with synthetic samples.
TINY = """\
name: tiny
title: one outcome of each kind
start: 2024-01-01
horizon: 2027-06-30
parameters:
  rate: 0.4
events:
  e: {hazard: rate}
outcomes:
  happened: {probability: occurred(e), by: 2025-12-31}
  count_e: {value: count(e)}
  when: {time_to: occurred(e)}
"""

#: Small chunks so that a few thousand replications span several chunks.
SMALL_CHUNKS: dict[str, int] = {"simpy": 50, "compiled": 1000}
#: ... and the smallest chunks of their tails (the compiled engine's shrinks).
SMALL_TAILS: dict[str, int] = {"simpy": 50, "compiled": 150}
#: Replications per engine in the multi-chunk runs: 5 SimPy chunks, 6 compiled chunks.
MULTI: dict[str, int] = {"simpy": 230, "compiled": 5500}
#: Every engine, for the tests that run each.
ENGINE_NAMES = sorted(ENGINES)


@pytest.fixture
def everything(scenario_from_yaml: ScenarioFactory) -> Scenario:
    return scenario_from_yaml(EVERYTHING)


@pytest.fixture
def tiny(scenario_from_yaml: ScenarioFactory) -> Scenario:
    return scenario_from_yaml(TINY)


@pytest.fixture
def everything_file(tmp_path: Path) -> Path:
    path = tmp_path / "everything.yaml"
    path.write_text(EVERYTHING, encoding="utf-8")
    return path


def with_chunks(
    monkeypatch: pytest.MonkeyPatch, name: str, size: int, smallest: int | None = None
) -> None:
    """Register engine ``name`` with chunks of ``size`` (its tail down to ``smallest``): every
    module asks the registry for it, and forked workers inherit the change."""
    engine = ENGINES[name]
    assert dataclasses.is_dataclass(engine)
    shrunk = dataclasses.replace(engine, chunk_size=size, smallest_chunk=smallest or size)
    monkeypatch.setitem(steppe.engines.registry.ENGINES, name, shrunk)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Shrink every engine's chunks (see :data:`SMALL_CHUNKS`)."""
    assert set(SMALL_CHUNKS) == set(ENGINES)
    for engine, size in SMALL_CHUNKS.items():
        with_chunks(monkeypatch, engine, size, SMALL_TAILS[engine])
    return SMALL_CHUNKS


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def cli_run(scenario: Path, out: Path, *args: str) -> Path:
    result = invoke("run", scenario, "--out", out, "-q", *args)
    assert result.exit_code == 0, result.stderr
    return out


# ---------------------------------------------------------------------------------------
# 1. the number of workers does not change the numbers
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_cli_summary_bytes_do_not_depend_on_workers(
    engine: str, everything_file: Path, tmp_path: Path, small_chunks: dict[str, int]
) -> None:
    n = MULTI[engine]
    assert len(plan(n, engine)) >= 5
    if engine == "compiled":  # a shrinking tail: workers take chunks of different sizes
        assert len({k for _, _, k in plan(n, engine)}) >= 4
    args = ("-n", str(n), "--seed", "11", "--engine", engine)
    folders = {
        w: cli_run(everything_file, tmp_path / f"w{w}", *args, "--workers", str(w))
        for w in (1, 2, 3)
    }
    one = (folders[1] / "summary.json").read_bytes()
    for w in (2, 3):
        assert (folders[w] / "summary.json").read_bytes() == one, f"workers={w}"
    _, manifest, samples = read_result_folder(folders[1])
    assert len(samples) == n
    assert manifest["chunk_size"] == small_chunks[engine]
    for w in (2, 3):
        _, manifest_w, samples_w = read_result_folder(folders[w])
        assert manifest_w["workers"] == w
        pd.testing.assert_frame_equal(samples_w, samples, check_exact=True)


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_api_results_do_not_depend_on_workers(
    engine: str, everything: Scenario, small_chunks: dict[str, int]
) -> None:
    n = MULTI[engine]
    runs = {
        w: steppe.run(everything, replications=n, seed=11, engine=engine, workers=w)
        for w in (1, 2, 3)
    }
    ref = runs[1]
    assert len(ref.samples) == n
    for col in ref.samples.columns:  # guards the comparison: nothing is constant
        assert ref.samples[col].nunique() > 1, col
    for w in (2, 3):
        assert runs[w].summary == ref.summary, f"workers={w}"
        pd.testing.assert_frame_equal(runs[w].samples, ref.samples, check_exact=True)
        assert runs[w].manifest["workers"] == w
        assert runs[w].manifest["chunk_size"] == small_chunks[engine]


def test_more_workers_than_chunks(everything: Scenario, small_chunks: dict[str, int]) -> None:
    one = steppe.run(everything, replications=70, seed=2, engine="simpy", workers=1)
    many = steppe.run(everything, replications=70, seed=2, engine="simpy", workers=5)  # 2 chunks
    assert many.summary == one.summary
    pd.testing.assert_frame_equal(many.samples, one.samples, check_exact=True)


def test_simpy_samples_do_not_depend_on_the_chunk_size(
    everything: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SimPy replications have their own streams: the chunk size changes nothing at all."""
    whole = steppe.run(everything, replications=120, seed=4, engine="simpy")  # one chunk
    with_chunks(monkeypatch, "simpy", 25)
    split = steppe.run(everything, replications=120, seed=4, engine="simpy", workers=2)
    assert split.summary == whole.summary
    pd.testing.assert_frame_equal(split.samples, whole.samples, check_exact=True)


def test_execute_matches_the_engines_chunks(
    everything: Scenario, small_chunks: dict[str, int]
) -> None:
    """execute() is the concatenation of the engine's chunks over the chunk plan."""
    n = 2500
    acc = execute(everything, engine="compiled", seed=3, replications=n, workers=2)
    engine = get_engine("compiled")
    expected = np.vstack(
        [
            engine.simulate(everything, seed=3, start=start, n=k)
            for _, start, k in plan(n, "compiled")
        ]
    )
    assert acc.n == n
    np.testing.assert_array_equal(acc.samples(), expected, strict=True)


class Recorder:
    """A progress callback that records its calls, and is told when the chunks start."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def start(self, workers: int) -> None:
        self.calls.append(("start", workers))

    def __call__(self, done: int) -> None:
        self.calls.append(("done", done))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_timed_progress_is_told_when_the_chunks_start(
    everything: Scenario, small_chunks: dict[str, int], workers: int
) -> None:
    """Once, with the number of processes, before any chunk is reported (steppe._progress
    times the chunks from there)."""
    rec = Recorder()
    assert isinstance(rec, steppe.execute.Timed)
    execute(everything, engine="compiled", seed=3, replications=2500, workers=workers, progress=rec)
    assert rec.calls[0] == ("start", workers)
    assert sorted(rec.calls[1:]) == sorted(("done", n) for _, _, n in plan(2500, "compiled"))


# ---------------------------------------------------------------------------------------
# 2. the chunk plan
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "size"), [(1, 1), (1, 50), (50, 50), (51, 50), (230, 50), (5500, 1000), (7, 3)]
)
def test_chunks_cover_the_run_in_order(n: int, size: int) -> None:
    plan = list(chunks(n, size))
    assert [c for c, _, _ in plan] == list(range(len(plan)))
    assert len(plan) == math.ceil(n / size)
    covered = [i for _, start, k in plan for i in range(start, start + k)]
    assert covered == list(range(n))
    assert all(k == size for _, _, k in plan[:-1])
    assert 1 <= plan[-1][2] <= size
    assert plan[-1][2] == n - size * (len(plan) - 1)


@pytest.mark.parametrize(
    ("n", "size", "smallest"),
    [(1, 50, 6), (230, 50, 6), (5500, 1000, 150), (1_000_000, 50_000, 6_250), (9, 4, 1)],
)
def test_a_shrinking_tail_covers_the_run_in_order(n: int, size: int, smallest: int) -> None:
    plan_ = list(chunks(n, size, smallest))
    assert [c for c, _, _ in plan_] == list(range(len(plan_)))
    covered = [i for _, start, k in plan_ for i in range(start, start + k)]
    assert covered == list(range(n))
    lengths = [k for _, _, k in plan_]
    assert lengths == sorted(lengths, reverse=True)  # never growing
    for _, start, k in plan_:
        left = n - start
        if left > 4 * size:
            assert k == size
        else:  # a quarter of what is left, within [smallest, size], or the rest
            assert k == min(left, max(smallest, math.ceil(left / 4)))
    assert all(k >= smallest for k in lengths[:-1])


def test_a_shrinking_tail_example() -> None:
    # full chunks while more than 4 x 100 are left; then a quarter of what is left (400 ->
    # 100, 300 -> 75, 225 -> 57, 168 -> 42, 126 -> 32), at least 30, and the last 4
    lengths = [k for _, _, k in chunks(1400, 100, 30)]
    assert lengths == [100] * 11 + [75, 57, 42, 32, 30, 30, 30, 4]
    assert list(chunks(230, 50, 50)) == list(chunks(230, 50))  # smallest = size: equal


def test_chunks_examples() -> None:
    assert list(chunks(230, 50)) == [
        (0, 0, 50),
        (1, 50, 50),
        (2, 100, 50),
        (3, 150, 50),
        (4, 200, 30),
    ]
    assert list(chunks(100, 50)) == [(0, 0, 50), (1, 50, 50)]
    assert list(chunks(0, 50)) == []


# ---------------------------------------------------------------------------------------
# 3./4. the accumulator: order independence, streaming summaries
# ---------------------------------------------------------------------------------------


def synthetic(sc: Scenario, n: int, seed: int = 0) -> np.ndarray:
    """Samples for TINY's outcomes: 0/1, real values, event times with ties, year ends, inf."""
    rng = np.random.default_rng(seed)
    tl = sc.timeline
    x = np.empty((n, len(sc.outcomes)))
    for o in sc.outcomes:
        if o.kind == "probability":
            x[:, o.index] = (rng.random(n) < 0.3).astype(float)
        elif o.kind == "distribution":
            # drifting, so that the first rows' quantiles differ from all rows'
            x[:, o.index] = rng.normal(10.0, 3.0, n) + np.linspace(0.0, 4.0, n)
        else:
            t = rng.uniform(0.0, tl.t_horizon, n)
            days = rng.integers(0, int(tl.t_horizon * 365.25), n)
            on_day = days / 365.25  # exactly the start of a day
            ends = np.array([tl.years(d) for d in tl.year_ends()])
            at_end = rng.choice(ends, n)  # exactly on a reporting date
            pick = rng.integers(0, 4, n)
            t = np.select([pick == 0, pick == 1, pick == 2], [t, on_day, at_end], np.inf)
            t[:5] = [0.0, tl.t_horizon, np.inf, ends[0], 1 / 365.25]
            x[:, o.index] = t
    return x


def feed(
    acc: Accumulator, x: np.ndarray, bounds: list[int], order: list[int], layout: str = "K"
) -> None:
    """Add ``x`` to ``acc`` in chunks (copied in ``layout``, as engines return new arrays)."""
    parts = [(a, np.array(x[a:b], order=layout)) for a, b in itertools.pairwise(bounds)]
    for i in order:
        acc.add(*parts[i])


#: Uneven chunks of 2,000 replications; the second one straddles a QUANTILE_SAMPLE of 300.
BOUNDS = [0, 250, 500, 900, 1400, 2000]


@pytest.mark.parametrize("quantile_sample", [None, 300])
@pytest.mark.parametrize("keep_samples", [False, True])
def test_accumulator_does_not_depend_on_chunk_order(
    tiny: Scenario,
    quantile_sample: int | None,
    keep_samples: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Any arrival order, with or without the run's size known in advance (kept samples
    then copied into one array as they merge, else joined at the end), in either memory
    layout of the chunks, gives the same summaries and kept samples."""
    if quantile_sample is not None:
        monkeypatch.setattr(steppe.results.accumulate, "QUANTILE_SAMPLE", quantile_sample)
    x = synthetic(tiny, 2000)
    k = len(BOUNDS) - 1
    orders = [list(range(k)), list(reversed(range(k))), [2, 0, 4, 1, 3]]
    results = []
    for order, replications, layout in itertools.product(orders, [None, 2000], "CF"):
        acc = Accumulator(
            tiny.outcomes, tiny.timeline, keep_samples=keep_samples, replications=replications
        )
        feed(acc, x, BOUNDS, order, layout)
        assert acc.n == 2000
        samples = acc.samples()
        if replications is not None:
            assert samples.flags.f_contiguous == (layout == "F")
        results.append((acc.summaries(), samples))
    for summaries, samples in results[1:]:
        assert summaries == results[0][0]
        np.testing.assert_array_equal(samples, results[0][1], strict=True)
    kept = 2000 if quantile_sample is None or keep_samples else quantile_sample
    np.testing.assert_array_equal(results[0][1], x[:kept], strict=True)


def test_accumulator_refuses_to_summarise_with_a_chunk_missing(tiny: Scenario) -> None:
    x = synthetic(tiny, 2000)
    acc = Accumulator(tiny.outcomes, tiny.timeline)
    feed(acc, x, BOUNDS, [0, 2, 3, 4])  # chunk 1 missing
    assert acc.n == 250  # only what can be merged in order
    with pytest.raises(RuntimeError, match="chunks missing before replication 250"):
        acc.samples()
    with pytest.raises(RuntimeError, match="chunks missing"):
        acc.summaries()
    acc.add(250, x[250:500])
    assert acc.n == 2000
    np.testing.assert_array_equal(acc.samples(), x, strict=True)
    # a run whose first chunk is missing
    acc = Accumulator(tiny.outcomes, tiny.timeline)
    acc.add(250, x[250:500])
    assert acc.n == 0
    with pytest.raises(RuntimeError, match="before replication 0"):
        acc.samples()


def test_accumulator_exact_path_is_stats_on_all_samples(tiny: Scenario) -> None:
    x = synthetic(tiny, 2000)
    acc = Accumulator(tiny.outcomes, tiny.timeline)
    feed(acc, x, BOUNDS, [4, 1, 0, 3, 2])
    got = acc.summaries()
    for o in tiny.outcomes:
        col = x[:, o.index]
        if o.kind == "probability":
            assert got[o.name] == summarize_probability(col)
        elif o.kind == "distribution":
            assert got[o.name] == summarize_distribution(col)
            assert "quantile_sample" not in got[o.name]
        else:
            assert got[o.name] == summarize_time_to_event(col, tiny.timeline)


def _assert_close(a: float, b: float, *, rel: float, abs_: float = 0.0) -> None:
    assert a == pytest.approx(b, rel=rel, abs=abs_)


@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0]])
def test_streaming_summaries_match_the_exact_ones(
    tiny: Scenario, order: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    x = synthetic(tiny, 2000)
    exact_acc = Accumulator(tiny.outcomes, tiny.timeline)
    feed(exact_acc, x, BOUNDS, order)
    exact = exact_acc.summaries()

    monkeypatch.setattr(steppe.results.accumulate, "QUANTILE_SAMPLE", 300)
    acc = Accumulator(tiny.outcomes, tiny.timeline)
    feed(acc, x, BOUNDS, order)
    stream = acc.summaries()
    np.testing.assert_array_equal(acc.samples(), x[:300], strict=True)

    by_kind = {o.kind: o for o in tiny.outcomes}
    assert set(by_kind) == {"probability", "distribution", "time_to_event"}

    # probabilities: from counts over every replication
    name = by_kind["probability"].name
    e, s = exact[name], stream[name]
    assert set(s) == set(e)
    assert s["kind"] == "probability"
    assert s["n"] == e["n"] == 2000
    for key in ("p", "se"):
        _assert_close(s[key], e[key], rel=1e-12, abs_=1e-15)
    for a, b in zip(s["ci95"], e["ci95"], strict=True):
        _assert_close(a, b, rel=1e-12, abs_=1e-15)

    # distributions: moments over every replication, quantiles from the first 300
    name = by_kind["distribution"].name
    e, s = exact[name], stream[name]
    assert set(s) == set(e) | {"quantile_sample"}
    assert s["quantile_sample"] == 300
    assert s["n"] == e["n"] == 2000
    for key in ("mean", "sd", "se", "min", "max"):
        _assert_close(s[key], e[key], rel=1e-9)
    for a, b in zip(s["ci95"], e["ci95"], strict=True):
        _assert_close(a, b, rel=1e-9)
    assert s["min"] == e["min"]
    assert s["max"] == e["max"]
    head = summarize_distribution(x[:300, by_kind["distribution"].index])
    assert s["quantiles"] == head["quantiles"]
    assert s["quantiles_ci95"] == head["quantiles_ci95"]
    assert s["quantiles"] != e["quantiles"]

    # times to event: exact at day resolution, from the histogram of every replication
    name = by_kind["time_to_event"].name
    e, s = exact[name], stream[name]
    assert set(s) == set(e)
    assert s["n"] == e["n"] == 2000
    assert s["p_ever"] == e["p_ever"]
    assert s["p_by"] == e["p_by"]
    assert s["p_by_se"] == e["p_by_se"]
    assert s["p_by_ci95"] == e["p_by_ci95"]
    assert s["quantiles"] == e["quantiles"]
    assert s["quantiles_ci95"] == e["quantiles_ci95"]
    # guard: the comparison covers dates and 'never'
    values = list(e["quantiles"].values())
    assert None in values
    assert any(v is not None for v in values)


def test_streaming_time_quantiles_on_mostly_tied_days(
    tiny: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many ties and few distinct days: order statistics from the histogram still match."""
    tl = tiny.timeline
    rng = np.random.default_rng(5)
    x = synthetic(tiny, 1000, seed=5)
    t_col = next(o for o in tiny.outcomes if o.kind == "time_to_event")
    days = rng.choice([0, 1, 200, 365, 366, 800], 1000)
    x[:, t_col.index] = days / 365.25 + rng.uniform(0, 0.9, 1000) / 365.25
    x[::7, t_col.index] = np.inf
    exact_acc = Accumulator(tiny.outcomes, tl)
    feed(exact_acc, x, [0, 100, 600, 1000], [2, 0, 1])
    monkeypatch.setattr(steppe.results.accumulate, "QUANTILE_SAMPLE", 50)
    acc = Accumulator(tiny.outcomes, tl)
    feed(acc, x, [0, 100, 600, 1000], [2, 0, 1])
    e, s = exact_acc.summaries()[t_col.name], acc.summaries()[t_col.name]
    for key in ("quantiles", "quantiles_ci95", "p_by", "p_ever"):
        assert s[key] == e[key], key


def test_keep_samples_accumulator_stays_exact(
    tiny: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = synthetic(tiny, 2000)
    exact_acc = Accumulator(tiny.outcomes, tiny.timeline)
    feed(exact_acc, x, BOUNDS, [0, 1, 2, 3, 4])
    monkeypatch.setattr(steppe.results.accumulate, "QUANTILE_SAMPLE", 300)
    acc = Accumulator(tiny.outcomes, tiny.timeline, keep_samples=True)
    feed(acc, x, BOUNDS, [3, 1, 4, 0, 2])
    np.testing.assert_array_equal(acc.samples(), x, strict=True)
    assert acc.summaries() == exact_acc.summaries()


# ---------------------------------------------------------------------------------------
# 5. keep_samples through steppe.run and the CLI
# ---------------------------------------------------------------------------------------


def test_run_keeps_quantile_sample_rows_unless_asked(
    everything: Scenario, small_chunks: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(steppe.results.accumulate, "QUANTILE_SAMPLE", 300)
    n = 2500  # 6 compiled chunks
    default = steppe.run(everything, replications=n, seed=8, engine="compiled")
    kept = steppe.run(everything, replications=n, seed=8, engine="compiled", keep_samples=True)
    both = steppe.run(
        everything, replications=n, seed=8, engine="compiled", keep_samples=True, workers=2
    )
    # the streaming summaries are merged in chunk order too: bit for bit the same
    default_2 = steppe.run(everything, replications=n, seed=8, engine="compiled", workers=2)
    assert default_2.summary == default.summary
    pd.testing.assert_frame_equal(default_2.samples, default.samples, check_exact=True)
    assert len(default.samples) == 300
    assert len(kept.samples) == n
    assert list(kept.samples.index) == list(range(n))
    pd.testing.assert_frame_equal(default.samples, kept.samples.iloc[:300], check_exact=True)
    pd.testing.assert_frame_equal(both.samples, kept.samples, check_exact=True)
    assert both.summary == kept.summary
    for o in everything.outcomes:
        d, k = default.summary["outcomes"][o.name], kept.summary["outcomes"][o.name]
        assert d["n"] == k["n"] == n
        assert "quantile_sample" not in k
        if o.kind == "distribution":
            assert d["quantile_sample"] == 300
            assert d["mean"] == pytest.approx(k["mean"], rel=1e-9)
        else:
            assert "quantile_sample" not in d
        if o.kind == "time_to_event":
            assert d["quantiles"] == k["quantiles"]
            assert d["p_by"] == k["p_by"]
        if o.kind == "probability":
            assert d["p"] == pytest.approx(k["p"], rel=1e-12)


def test_run_small_runs_keep_everything(
    everything: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(steppe.results.accumulate, "QUANTILE_SAMPLE", 300)
    res = steppe.run(everything, replications=300, seed=8, engine="compiled")
    assert len(res.samples) == 300
    for body in res.summary["outcomes"].values():
        assert "quantile_sample" not in body


def test_cli_keep_samples(
    everything_file: Path,
    tmp_path: Path,
    small_chunks: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(steppe.results.accumulate, "QUANTILE_SAMPLE", 300)
    common = ("-n", "2100", "--seed", "3", "--engine", "compiled")
    default = cli_run(everything_file, tmp_path / "default", *common, "--workers", "2")
    one = cli_run(everything_file, tmp_path / "one", *common, "--workers", "1")
    summary = (default / "summary.json").read_bytes()
    assert (one / "summary.json").read_bytes() == summary  # streaming path, 3 chunks
    assert json.loads(summary)["outcomes"]["trade_2027"]["quantile_sample"] == 300
    kept = cli_run(everything_file, tmp_path / "kept", *common, "--workers", "2", "--keep-samples")
    _, _, samples_default = read_result_folder(default)
    summary_kept, _, samples_kept = read_result_folder(kept)
    assert len(samples_default) == 300
    assert len(samples_kept) == 2100
    pd.testing.assert_frame_equal(
        samples_default, samples_kept.iloc[:300], check_exact=True, check_index_type=False
    )
    assert summary_kept["outcomes"]["trade_2027"]["n"] == 2100
    assert "quantile_sample" not in summary_kept["outcomes"]["trade_2027"]


# ---------------------------------------------------------------------------------------
# 6. progress
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_progress_adds_up_to_the_replications(
    everything: Scenario, engine: str, workers: int, small_chunks: dict[str, int]
) -> None:
    n = MULTI[engine]
    calls: list[int] = []
    res = steppe.run(
        everything,
        replications=n,
        seed=1,
        engine=engine,
        workers=workers,
        progress=calls.append,
    )
    assert sum(calls) == n
    sizes = [k for _, _, k in plan(n, engine)]
    assert sorted(calls) == sorted(sizes)  # one call per chunk, as it finishes
    if workers == 1:
        assert calls == sizes
    assert res.summary["replications"] == n


def test_execute_progress_is_optional(everything: Scenario, small_chunks: dict[str, int]) -> None:
    acc = execute(everything, engine="simpy", seed=1, replications=60, workers=2, progress=None)
    assert acc.n == 60


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_worker_errors_reach_the_caller(
    scenario_from_yaml: ScenarioFactory, engine: str, small_chunks: dict[str, int]
) -> None:
    """A run that fails in a worker raises the engine's SimulationError, as in-process."""
    bad = scenario_from_yaml(EVERYTHING.replace("hazard: shock_rate", "hazard: shock_rate - 1"))
    message = (
        r"^<string>:\d+:\d+: error: events\.shock\.hazard: the hazard \(must be a finite "
        r"number >= 0\) evaluated to -0\.5 in replication \d+ at t = "
    )
    for workers in (1, 2):
        with pytest.raises(steppe.SimulationError, match=message):
            steppe.run(bad, replications=MULTI[engine], seed=1, engine=engine, workers=workers)


# ---------------------------------------------------------------------------------------
# 7. pickling scenarios (how they reach the workers)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_pickled_scenario_gives_identical_samples(everything: Scenario, engine: str) -> None:
    before = get_engine(engine).simulate(everything, seed=6, start=80, n=40)
    assert everything._compiled  # compiled closures are cached, and must not get in the way
    copy = pickle.loads(pickle.dumps(everything))
    assert isinstance(copy, Scenario)
    assert copy is not everything
    assert copy.name == everything.name
    assert copy.sha256 == everything.sha256
    assert copy.file == everything.file
    assert dict(copy.positions) == dict(everything.positions)
    assert [o.name for o in copy.outcomes] == [o.name for o in everything.outcomes]
    after = get_engine(engine).simulate(copy, seed=6, start=80, n=40)
    np.testing.assert_array_equal(after, before, strict=True)


def test_pickled_overridden_scenario_keeps_the_override(everything: Scenario) -> None:
    fixed = everything.with_overrides({"contagion": 1.5})
    copy = pickle.loads(pickle.dumps(fixed))
    engine = get_engine("compiled")
    a = engine.simulate(fixed, seed=6, start=0, n=200)
    b = engine.simulate(copy, seed=6, start=0, n=200)
    np.testing.assert_array_equal(a, b, strict=True)
    c = engine.simulate(everything, seed=6, start=0, n=200)
    assert not np.array_equal(a, c)


def test_pickled_loaded_file_scenario(everything_file: Path) -> None:
    sc = steppe.load(everything_file)
    copy = pickle.loads(pickle.dumps(sc))
    assert copy.file == sc.file
    assert copy.sha256 == sc.sha256
    assert copy.locate(("events", "shock", "hazard")) == sc.locate(("events", "shock", "hazard"))
    np.testing.assert_array_equal(
        get_engine("simpy").simulate(copy, seed=1, start=0, n=10),
        get_engine("simpy").simulate(sc, seed=1, start=0, n=10),
        strict=True,
    )


# ---------------------------------------------------------------------------------------
# 8. the CLI's --engine and what the manifest records
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "used"), [("simpy", "simpy"), ("compiled", "compiled"), ("auto", "simpy")]
)
def test_cli_engine_choice_is_recorded(
    choice: str,
    used: str,
    everything_file: Path,
    tmp_path: Path,
    small_chunks: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if choice == "auto":  # a small run, and no kernel compiled: the reference engine
        monkeypatch.setenv("STEPPE_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setattr(steppe.engines.kernel, "_loaded", {})
    args = ("-n", "120", "--seed", "2", "--engine", choice, "--workers", "2")
    out = cli_run(everything_file, tmp_path / choice, *args)
    summary, manifest, samples = read_result_folder(out)
    assert summary["engine"] == used
    assert manifest["engine"] == used
    # the manifest records the workers used: no more than there are chunks
    assert manifest["workers"] == min(2, -(-120 // small_chunks[used]))
    assert manifest["chunk_size"] == small_chunks[used]
    assert summary["replications"] == manifest["replications"] == 120
    assert len(samples) == 120
    assert set(summary["outcomes"]) == set(samples.columns)


def test_cli_default_engine_and_workers(
    everything_file: Path, tmp_path: Path, cold_cache: Path
) -> None:
    out = cli_run(everything_file, tmp_path / "defaults", "-n", "50", "--json")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["engine"] == "simpy"  # auto: a small run, and no kernel compiled
    # all cores by default, but no more workers than chunks: 50 replications are one chunk
    assert manifest["workers"] == min(available_workers(), 1)
    assert manifest["chunk_size"] == ENGINES["simpy"].chunk_size == 500


def test_cli_engines_agree_in_law(everything_file: Path, tmp_path: Path) -> None:
    """Both engines run the same scenario; a loose check that they answer the same question."""
    res: dict[str, Any] = {}
    for engine in ("simpy", "compiled"):
        out = cli_run(everything_file, tmp_path / engine, "-n", "400", "--engine", engine)
        res[engine] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for name in ("uz_by_2027", "rail_done"):
        a, b = res["simpy"]["outcomes"][name], res["compiled"]["outcomes"][name]
        assert abs(a["p"] - b["p"]) < 5 * math.hypot(a["se"], b["se"]) + 1e-9, name


def _dies(*args: object, **kwargs: object) -> None:
    os._exit(3)  # as a worker killed by the kernel's OOM killer would end


def test_a_worker_that_dies_is_reported_as_such(
    everything: Scenario, small_chunks: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker process that dies (killed, out of memory) breaks the pool: the run stops
    with steppe's error naming the replications, not a BrokenProcessPool traceback."""
    monkeypatch.setattr(steppe.execute, "_summarised_chunk", _dies)  # inherited on fork
    with pytest.raises(steppe.SimulationError, match=r"a worker process died while running "
                       r"replications 0 to 999 \(killed, or out of memory\?\)"):  # fmt: skip
        execute(everything, engine="compiled", seed=1, replications=5000, workers=2)


#: Replications and kept samples of the runs with and without traces, per engine.
LIGHT_RUNS: dict[str, tuple[int, int]] = {"simpy": (230, 100), "compiled": (2500, 300)}


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_chunks_past_the_kept_sample_run_without_traces_same_numbers(
    everything: Scenario,
    small_chunks: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    engine: str,
    workers: int,
) -> None:
    """The report's traces are summarised from the kept samples only, and extra outcomes do
    not change an engine's random numbers: chunks whose samples are not kept run the
    scenario without them, and the summary is the same, bit for bit."""
    n, kept = LIGHT_RUNS[engine]
    monkeypatch.setattr(steppe.results.accumulate, "QUANTILE_SAMPLE", kept)
    ran: list[tuple[int, int]] = []
    cls = type(get_engine(engine))
    real = cls.simulate

    def spy(self: Any, sc: Scenario, **kwargs: Any) -> np.ndarray:
        ran.append((kwargs["start"], len(sc.outcomes)))
        return real(self, sc, **kwargs)

    monkeypatch.setattr(cls, "simulate", spy)  # seen in-process only
    m = len(everything.outcomes)
    args: dict[str, Any] = {"replications": n, "seed": 8, "engine": engine}
    traced = steppe.run(everything, workers=workers, **args)
    plain = steppe.run(everything, workers=workers, traces=False, **args)
    every = steppe.run(everything, workers=workers, keep_samples=True, **args)
    with monkeypatch.context() as mp:  # every chunk with the traces, as before
        real_execute = steppe.api.execute
        mp.setattr(steppe.api, "execute", lambda *a, **k: real_execute(*a, **(k | {"light": None})))
        heavy = steppe.run(everything, workers=workers, **args)
    assert traced.summary == heavy.summary  # outcomes and traces
    assert traced.summary["outcomes"] == plain.summary["outcomes"]
    pd.testing.assert_frame_equal(traced.samples, heavy.samples, check_exact=True)
    pd.testing.assert_frame_equal(traced.samples, every.samples.iloc[:kept], check_exact=True)
    pd.testing.assert_frame_equal(traced.samples, plain.samples, check_exact=True)
    if workers == 1:  # the traced run: kept chunks with the traces, the others without
        first = ran[: len(plan(n, engine))]
        assert all((k > m) == (start < kept) for start, k in first), first
        assert any(start >= kept for start, _ in first)


def test_a_traced_compiled_run_builds_one_kernel(
    everything: Scenario, small_chunks: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks that keep no traces compute the scenario's own outcomes with the traced
    scenario's kernel: the plain scenario's kernel is never generated nor compiled."""
    monkeypatch.setattr(steppe.results.accumulate, "QUANTILE_SAMPLE", 300)
    loaded: list[int] = []
    real = steppe.engines.kernel.load_kernel

    def spy(sc: Scenario, **kw: Any) -> Any:
        loaded.append(len(sc.outcomes))
        return real(sc, **kw)

    monkeypatch.setattr(steppe.engines.kernel, "load_kernel", spy)
    steppe.run(everything, replications=2500, seed=8, engine="compiled", workers=1)
    assert len(loaded) == 1 and loaded[0] > len(everything.outcomes)  # the traced one only
    assert "compiled" not in steppe.engines.kernel._state(everything)
