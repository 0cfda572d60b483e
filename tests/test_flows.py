"""Flows and period totals: ``total: SERIES`` with ``over: [FIRST, LAST]``, the integral of a
``kind: rate`` series over a period (``docs/scenario-format.md`` section 12,
``docs/engine.md`` section 7). Analytic cases, the same number as evidence's totals, both
engines alike, located errors, the schema and the reports."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import steppe
from steppe.engines.kernel.codegen import generate
from steppe.errors import ScenarioError

#: Deterministic series whose path is known in closed form on the monthly grid.
STILL = """\
steppe: 1
name: flows
title: "Flows"
start: 2024-01-01
horizon: 2028-01-01
step: month
replications: 3
seed: 1
series:
  const:
    kind: rate
    process: linear
    initial: 12
    unit: USD million
    why: test
  lin:
    kind: rate
    process: linear
    initial: 100
    drift: 6
    why: test
  lg:
    kind: rate
    initial: 100
    drift: 0.1
    why: test
outcomes:
  const_odd: {total: const, over: [2024-02-10, 2026-07-03], unit: USD million}
  lin_2025: {total: lin, over: [2025-01-01, 2026-01-01]}
  lin_odd: {total: lin, over: [2024-03-15, 2026-11-20]}
  lg_last: {total: lg, over: [2027-01-01, 2028-01-01]}
  lg_all: {total: lg, over: [2024-01-01, 2028-01-01]}
  lg_end: {value: lg}
"""


def _write(tmp_path: Path, text: str, name: str = "flows.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _years(day: str) -> float:
    """Model time of ``day`` for a start on 2024-01-01 (``docs/engine.md`` section 1)."""
    return (dt.date.fromisoformat(day) - dt.date(2024, 1, 1)).days / 365.25


def _held(level: Callable[[int], float], a: float, b: float, horizon: float = 4.0) -> float:
    """The integral over ``[a, b]`` of a series stepped on the monthly grid: ``level(k)``
    is its value from tick ``k`` (at ``k / 12``; 0: the start) until the next."""
    edges = [k / 12 for k in range(round(horizon * 12) + 1)] + [math.inf]
    total = 0.0
    for k in range(len(edges) - 1):
        lo, hi = max(edges[k], a), min(edges[k + 1], b)
        if hi > lo:
            total += level(k) * (hi - lo)
    return total


@pytest.mark.parametrize("engine", ["simpy", pytest.param("compiled", marks=pytest.mark.slow)])
def test_deterministic_totals_match_closed_forms(tmp_path: Path, engine: str) -> None:
    """Without noise or jumps each path is known: the total is a sum of value x time held
    (a constant rate, a linear drift, a log drift), over periods on and off the ticks and
    ending at the horizon. Equal up to rounding (the engines add month by month)."""
    r = steppe.run(_write(tmp_path, STILL), engine=engine)  # type: ignore[arg-type]
    s = r.samples
    a, b = _years("2024-02-10"), _years("2026-07-03")
    np.testing.assert_allclose(s["const_odd"], 12.0 * (b - a), rtol=1e-13)
    np.testing.assert_allclose(s["const_odd"], 12.0 * 874 / 365.25, rtol=1e-13)

    def lin(k: int) -> float:
        return 100.0 + 6.0 * k / 12

    def lg(k: int) -> float:
        return 100.0 * math.exp(0.1 * k / 12)

    np.testing.assert_allclose(
        s["lin_2025"], _held(lin, _years("2025-01-01"), _years("2026-01-01")), rtol=1e-12
    )
    np.testing.assert_allclose(
        s["lin_odd"], _held(lin, _years("2024-03-15"), _years("2026-11-20")), rtol=1e-12
    )
    np.testing.assert_allclose(s["lg_last"], _held(lg, _years("2027-01-01"), 4.0), rtol=1e-12)
    np.testing.assert_allclose(s["lg_all"], _held(lg, 0.0, 4.0), rtol=1e-12)
    out = r.summary["outcomes"]["const_odd"]
    assert out["kind"] == "distribution"
    assert out["period"] == ["2024-02-10", "2026-07-03"] and out["date"] == "2026-07-03"
    assert out["unit"] == "USD million"


JUMPS = """\
steppe: 1
name: jumps
title: "A rate that jumps"
start: 2024-01-01
horizon: 2026-01-01
step: month
replications: 3000
seed: 11
events:
  hit: {hazard: 2, recurring: true, why: test}
series:
  x:
    kind: rate
    process: linear
    initial: 10
    jumps:
      - {event: hit, add: 5}
    why: test
outcomes:
  all: {total: x, over: [2024-01-01, 2026-01-01]}
  second: {total: x, over: [2025-01-01, 2026-01-01]}
  hits: {value: count(hit)}
"""


def test_jumps_between_ticks_count_from_their_instant(tmp_path: Path) -> None:
    """x = 10 + 5 N(t), N a Poisson process of rate 2: the total over [a, b] is
    10 (b - a) + 5 int_a^b N(t) dt, whose mean is 10 L + 5 lam (b^2 - a^2) / 2 and whose
    variance is 25 lam (L^2 a + L^3 / 3) (L = b - a; N(a) and the increments after it are
    independent). A total that counted a jump from the next tick instead would be short by
    about 5 x half a month per jump: 3.3 standard errors of the mean over the two years."""
    r = steppe.run(_write(tmp_path, JUMPS), engine="simpy")
    n, lam = len(r.samples), 2.0
    for column, (a, b) in {
        "all": (0.0, _years("2026-01-01")),
        "second": (_years("2025-01-01"), _years("2026-01-01")),
    }.items():
        x = r.samples[column].to_numpy()
        length = b - a
        mean = 10 * length + 5 * lam * (b * b - a * a) / 2
        var = 25 * lam * (length * length * a + length**3 / 3)
        # 4 standard errors of the mean (a false alarm about 1 in 16,000 per column)
        assert abs(x.mean() - mean) < 4 * math.sqrt(var / n), column


EVIDENCE = """\
steppe: 1
name: flows_ev
title: "Flows and evidence"
start: 2024-01-01
horizon: 2027-01-01
as_of: 2025-01-01
step: month
replications: 300
seed: 5
parameters:
  g: {dist: normal, mean: 0.05, sd: 0.1, why: test}
events:
  boom: {hazard: 0.6, recurring: true, why: test}
series:
  trade:
    kind: rate
    initial: 100
    drift: g
    volatility: 0.2
    jumps:
      - {event: boom, factor: 1.2}
    why: test
outcomes:
  t2024: {total: trade, over: [2024-01-01, 2025-01-01]}
  t2025: {total: trade, over: [2025-01-01, 2026-01-01]}
  big: {combine: "t2025 >= 150"}
evidence:
  - series: trade
    total: [2024-01-01, 2025-01-01]
    at_least: 120
    at_most: 130
    source: test
"""


@pytest.mark.parametrize("engine", ["simpy", pytest.param("compiled", marks=pytest.mark.slow)])
def test_a_total_outcome_is_the_total_evidence_observes(tmp_path: Path, engine: str) -> None:
    """One definition: conditioned on evidence that the 2024 total was within [120, 130],
    every particle's 2024 total outcome lies within those bounds (a particle outside has
    weight 0), and a combination reads a total as its value."""
    r = steppe.run(_write(tmp_path, EVIDENCE), engine=engine)  # type: ignore[arg-type]
    s = r.samples  # an equally weighted resample of the particles: none of weight 0
    assert s["t2024"].min() >= 120 and s["t2024"].max() <= 130
    np.testing.assert_array_equal(s["big"], (s["t2025"] >= 150).astype(float))


@pytest.mark.slow
@pytest.mark.parametrize("text", [JUMPS, EVIDENCE, STILL], ids=["jumps", "evidence", "still"])
def test_engines_identical(tmp_path: Path, text: str) -> None:
    """The compiled engine books the totals with the reference's arithmetic: bit for bit,
    plain and conditioned on evidence."""
    path = _write(tmp_path, text.replace("replications: 3000", "replications: 300"))
    a = steppe.run(path, engine="simpy").samples
    b = steppe.run(path, engine="compiled").samples
    assert a.equals(b)


@pytest.mark.slow
def test_same_numbers_for_any_number_of_workers(tmp_path: Path) -> None:
    path = _write(tmp_path, JUMPS.replace("replications: 3000", "replications: 400"))
    one = steppe.run(path, engine="compiled", workers=1).samples
    two = steppe.run(path, engine="compiled", workers=2).samples
    assert one.equals(two)


def test_the_kernel_books_totals_only_when_asked(tmp_path: Path) -> None:
    """A scenario without a total outcome gets the loop it had before totals existed: the
    booking is behind the constant FLOWS, false for it (Numba drops the branch)."""
    with_totals = steppe.load(_write(tmp_path, JUMPS))
    plain = JUMPS[: JUMPS.index("  all:")] + "  hits: {value: count(hit)}\n"
    without = steppe.load(_write(tmp_path, plain, "plain.yaml"))
    assert "FLOWS = True" in generate(with_totals).text
    assert "FLOWS = False" in generate(without).text
    assert "FLOWS = False" in generate(without, evidence=True).text


@pytest.mark.parametrize(
    ("edit", "place", "message"),
    [
        (
            ("total: const, over", "total: cnst, over"),
            "28:22: error: outcomes.const_odd.total",
            "unknown series 'cnst' (did you mean 'const'?)",
        ),
        (
            ("  lg:\n    kind: rate\n", "  lg:\n"),
            "30:20: error: outcomes.lg_last.total",
            "a total is asked only of a series that is an annual rate: declare kind: rate on "
            "series.lg (or ask for its level with value:)",
        ),
        (
            ("over: [2027-01-01, 2028-01-01]", "over: [2027-01-01, 2028-01-02]"),
            "31:43: error: outcomes.lg_last.over[1]",
            "date 2028-01-02 is outside the scenario window [2024-01-01, 2028-01-01]",
        ),
        (
            ("over: [2024-02-10, 2026-07-03]", "over: [2023-12-31, 2026-07-03]"),
            "28:36: error: outcomes.const_odd.over[0]",
            "date 2023-12-31 is outside the scenario window [2024-01-01, 2028-01-01]",
        ),
        (
            ("over: [2025-01-01, 2026-01-01]", "over: [2026-01-01, 2025-01-01]"),
            "29:32: error: outcomes.lin_2025.over",
            "the range [2026-01-01, 2025-01-01] is reversed: give [first day, last day]",
        ),
        (
            ("over: [2025-01-01, 2026-01-01]", "over: [2025-01-01, 2025-01-01]"),
            "29:32: error: outcomes.lin_2025.over",
            "a total needs a period of at least one day, found [2025-01-01, 2025-01-01]",
        ),
    ],
)
def test_errors_are_located(
    tmp_path: Path, edit: tuple[str, str], place: str, message: str
) -> None:
    """FILE:LINE:COL of the value at fault (a date of the period, the period, the series
    name), its YAML path, then what was expected and found."""
    text = STILL.replace(*edit, 1)
    assert text != STILL
    with pytest.raises(ScenarioError) as info:
        steppe.load(_write(tmp_path, text))
    assert str(info.value).endswith(f"flows.yaml:{place}: {message}")


def test_a_total_without_its_period_is_refused(tmp_path: Path) -> None:
    text = STILL.replace("{total: lin, over: [2025-01-01, 2026-01-01]}", "{total: lin}")
    message = r"flows\.yaml:29:13: error: outcomes\.lin_2025: missing required key 'over'"
    with pytest.raises(ScenarioError, match=message):
        steppe.load(_write(tmp_path, text))


def test_in_the_schema() -> None:
    from steppe.load.fileschema import file_schema

    text = json.dumps(file_schema())
    assert '"TotalOutcome"' in text and '"over"' in text


def test_reports_and_comparisons_show_the_period(tmp_path: Path) -> None:
    r = steppe.run(_write(tmp_path, STILL), engine="simpy")
    folder = r.write(tmp_path / "out")
    md = (folder / "report.md").read_text()
    assert "| const_odd | mean (USD million) |" in md
    assert "2024-02-10 to 2026-07-03" in md
    other = _write(tmp_path, STILL.replace("initial: 12", "initial: 24"), "other.yaml")
    cmp = steppe.compare(tmp_path / "flows.yaml", other, engine="simpy")
    row = next(o for o in cmp.outcomes if o.outcome == "const_odd")
    assert row.date == "2024-02-10 to 2026-07-03"
    assert row.differences[1] is not None
    np.testing.assert_allclose(row.differences[1].value, 12.0 * 874 / 365.25, rtol=1e-12)


def test_the_kernel_holds_no_scenario_text(tmp_path: Path) -> None:
    """The period's times reach the kernel as constants (the array K), the series as an
    offset: neither names nor numbers of the scenario are in its source."""
    text = JUMPS.replace("  x:", "  secret_flow:").replace("total: x,", "total: secret_flow,")
    sc = steppe.load(_write(tmp_path, text))
    source = generate(sc).text
    assert "secret_flow" not in source
    lo = sc.outcomes[1].lo
    assert lo is not None and repr(lo)[:8] not in source and "1.0020" not in source
    assert "FLOWS = True" in source


@pytest.mark.slow
def test_the_machine_code_of_a_scenario_without_totals_has_no_booking(
    tmp_path: Path, cold_cache: Path
) -> None:
    """FLOWS is a compile-time constant: Numba drops the branches it guards, so the loop of a
    scenario without totals (the baseline's, say) is the loop it was before they existed.
    (Compiled afresh, in an empty cache: Numba cannot inspect code loaded from its cache.)"""
    from steppe.engines.kernel import load_kernel, simulate_kernel

    plain = JUMPS[: JUMPS.index("  all:")] + "  hits: {value: count(hit)}\n"
    for text, booked in ((plain, False), (JUMPS, True)):
        sc = steppe.load(_write(tmp_path, text))
        simulate_kernel(sc, seed=1, start=0, n=2)
        module, _ = load_kernel(sc)
        ir = "".join(module.run_chunk.inspect_llvm().values())
        assert ("flows" in ir) is booked
