"""The compiled engine: generated code, its arithmetic, its errors, what it declines.

Its statistical equivalence with the reference engine is in ``test_equivalence.py``, the
independence of its numbers from the number of workers in ``test_execute.py`` and when
``auto`` picks it in ``test_engines.py``.
"""

from __future__ import annotations

import functools
import io
import random
import textwrap
import tokenize

import numpy as np
import pytest

import steppe
import steppe.engines.kernel
import steppe.engines.registry
from steppe.engines.des import simulate_des
from steppe.engines.kernel import import_source, simulate_kernel, unsupported
from steppe.engines.kernel.codegen import FIELDS, expression_module, generate
from steppe.errors import ExpressionError, ScenarioError, SimulationError
from steppe.model.expr import compile_expression, parse_expression
from steppe.model.scenario import Scenario
from test_expr import GRID, OPERATIONS, SYMBOLS, assert_same

#: a, b, c are parameters 0, 1, 2 (see test_expr.SYMBOLS); the other blocks follow.
OFFSETS = {name: 3 + i for i, name in enumerate(FIELDS)} | {"p": 0}


def kernel_values(sources: list[str], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scalar-mode values and compiled values of each expression on each row (a, b, c)."""
    compiled = [compile_expression(parse_expression(s), SYMBOLS, mode="scalar") for s in sources]
    source = expression_module([c.ir for c in compiled], OFFSETS)
    module = import_source(source.text)
    consts = np.asarray(source.constants, dtype=np.float64)
    w = np.zeros(OFFSETS["k"] + len(consts))
    w[OFFSETS["k"] :] = consts
    out = np.zeros(len(sources))
    got_k = np.empty((len(rows), len(sources)))
    got_s = np.empty((len(rows), len(sources)))
    with np.errstate(all="ignore"):
        for r, row in enumerate(rows):
            w[:3] = row
            module.evaluate(w, 0.0, out)
            got_k[r] = out
            ns = _NS([float(x) for x in row])
            got_s[r] = [float(c(ns)) for c in compiled]
    return got_s, got_k


class _NS:
    def __init__(self, p: list[float]) -> None:
        self.p, self.t = p, 0.0


def test_every_operator_matches_the_scalar_mode_on_special_values() -> None:
    got_s, got_k = kernel_values(OPERATIONS, GRID)
    for j, source in enumerate(OPERATIONS):
        assert_same(got_s[:, j], got_k[:, j], GRID, source)


def _random_expression(rng: random.Random, depth: int = 0) -> str:
    leaves = ["0", "1", "2", "0.5", "3", "10", "1e-300", "1e300", "a", "b", "c"]
    if depth > 2 or rng.random() < 0.3:
        return rng.choice(leaves)
    sub = lambda: _random_expression(rng, depth + 1)  # noqa: E731 - a local shorthand
    kind = rng.randrange(7)
    if kind == 0:
        op = rng.choice(["+", "-", "*", "/", "**", "<", "<=", ">", ">=", "==", "!=", "and", "or"])
        return f"({sub()} {op} {sub()})"
    if kind == 1:
        return f"({rng.choice(['-', 'not '])}{sub()})"
    if kind == 2:
        return f"({sub()} if {sub()} else {sub()})"
    if kind == 3:
        return f"{rng.choice(['exp', 'log', 'sqrt', 'abs', 'floor', 'ceil'])}({sub()})"
    if kind == 4:
        return f"{rng.choice(['min', 'max'])}({sub()}, {sub()}, {sub()})"
    if kind == 5:
        return f"clip({sub()}, {sub()}, {sub()})"
    return f"({sub()} < {sub()} <= {sub()})"


def test_random_expressions_match_the_scalar_mode() -> None:
    """60 random expressions (fixed seed), compiled in one module, on 300 grid rows.

    One module for all of them: compiling each separately would take minutes.
    """
    rng = random.Random(20240115)
    sources = []
    while len(sources) < 60:
        text = _random_expression(rng)
        try:
            compile_expression(parse_expression(text), SYMBOLS)
        except ExpressionError:
            continue  # e.g. a constant part that overflows (1e300 ** 10): refused anyway
        sources.append(text)
    rows = GRID[np.random.default_rng(7).choice(len(GRID), 300, replace=False)]
    got_s, got_k = kernel_values(sources, rows)
    for j, source in enumerate(sources):
        assert_same(got_s[:, j], got_k[:, j], rows, source)


# ---------------------------------------------------------------------------------------
# What the generated source may contain
# ---------------------------------------------------------------------------------------

HOSTILE = """
steppe: 1
name: hostile
title: "__import__('os').system('echo pwned')"
start: 2024-01-01
horizon: 2026-12-31
parameters:
  rate: {value: 0.5, why: "exec('1/0')"}
events:
  evil_name_os_system: {hazard: "rate * 2", title: "eval(compile('x', '', 'exec'))"}
series:
  trade_exec: {initial: 10, drift: "0.1 * occurred(evil_name_os_system)", volatility: 0.1}
outcomes:
  evil_outcome_import: {probability: occurred(evil_name_os_system), by: 2025-12-31}
"""


def _generated_names(text: str) -> set[str]:
    part = text[text.index("def hazards") : text.index("def run_chunk")]
    tokens = tokenize.generate_tokens(io.StringIO(part).readline)
    return {tok.string for tok in tokens if tok.type == tokenize.NAME}


def test_generated_source_holds_no_scenario_text() -> None:
    sc = steppe.loads(textwrap.dedent(HOSTILE))
    text = generate(sc).text
    for needle in ("pwned", "evil", "exec(", "eval(", "__import__", "trade_exec", "0.5"):
        assert needle not in text[text.index("def hazards") :]
    allowed = {
        # Python keywords and the kernel's own names
        *("def", "if", "else", "return", "and", "or", "not", "True", "False", "while"),
        *("for", "in", "range"),
        *("njit", "_nrt", "_OPTS", "np", "inf", "nan", "floor", "ceil", "abs", "max"),
        *("w", "t", "K", "i", "v", "x", "res", "now", "tick", "out", "st", "rep", "Z", "k"),
        *("hazards", "paces", "at_tick", "initial", "jump", "duration", "observe"),
        *("TICK_RACE", "t_new", "dt", "root", "refresh", "limit", "p", "std_exponential"),
        *("fmin2", "fmax2", "fpow", "fexp", "flog", "fsqrt", "choice", "math", "log", "expm1"),
        "sqrt",  # math.log, math.expm1, math.sqrt of a mean-reverting series
        *("normal", "lognormal", "uniform", "triangular", "beta", "gamma", "weibull"),
        "exponential",
        *("flows_start", "flows", "FLOWS", "since", "a", "b"),  # the totals (none here)
    }
    locals_ = ("amt", "mu", "sig", "inc", "root", "gap", "rev")  # numbered per series
    names = {n for n in _generated_names(text) if not n.startswith(locals_)}
    assert names <= allowed, names - allowed


def test_scenarios_that_differ_only_in_numbers_share_a_kernel() -> None:
    base = textwrap.dedent(HOSTILE)
    other = base.replace("value: 0.5", "value: 0.75").replace("initial: 10", "initial: 12")
    one, two = generate(steppe.loads(base)), generate(steppe.loads(other))
    assert one.text == two.text
    assert one.constants != two.constants


# ---------------------------------------------------------------------------------------
# Errors: located and worded as in the reference engine
# ---------------------------------------------------------------------------------------

FAILING = {
    "hazard": ("events:\n  e: {hazard: '0 - rate'}", "hazard"),
    "stage": (
        "projects:\n  pr:\n    stages:\n      - {name: one, duration: 1}\n"
        "      - {name: two, duration: '0 - rate'}",
        "stages",
    ),
    "jump": (
        "events:\n  e: {hazard: 5}\nseries:\n  x:\n    initial: 1\n    drift: 0\n"
        "    volatility: 0\n    jumps: [{event: e, factor: '0 - rate'}]",
        "jumps",
    ),
    "outcome": (
        "series:\n  x: {initial: 1, drift: 0, volatility: 0}\noutcomes:\n"
        "  bad: {value: 'x / 0', at: 2024-06-30}",
        "outcomes.bad",
    ),
}


@pytest.mark.parametrize("case", list(FAILING))
def test_errors_are_worded_as_in_the_reference_engine(case: str) -> None:
    body, where = FAILING[case]
    text = (
        "steppe: 1\nname: failing\ntitle: failing\nstart: 2024-01-01\nhorizon: 2025-12-31\n"
        "parameters:\n  rate: {value: 1}\n" + body + "\n"
    )
    if "outcomes:" not in text:
        text += "outcomes:\n  o: {probability: 'rate > 0', by: 2024-12-31}\n"
    sc = steppe.loads(text, file="failing.yaml")
    with pytest.raises(SimulationError) as ref:
        simulate_des(sc, seed=1, start=0, n=5)
    with pytest.raises(SimulationError) as comp:
        simulate_kernel(sc, seed=1, start=0, n=5)
    assert where in str(comp.value)
    # The same place, words and value; the replication and time may differ where the error
    # comes after random events (the engines draw different random numbers).
    assert (
        str(comp.value).split(" in replication ")[0] == str(ref.value).split(" in replication ")[0]
    )


# ---------------------------------------------------------------------------------------
# What the compiled engine declines
# ---------------------------------------------------------------------------------------

SMALL = """
steppe: 1
name: small
title: small
start: 2024-01-01
horizon: 2025-12-31
parameters:
  rate: {value: 0.5}
events:
  e: {hazard: rate, duration: {dist: gamma, shape: 2, scale: 0.1, truncate: [TRUNC]}}
outcomes:
  hit: {probability: occurred(e), by: 2025-12-31}
"""


def test_a_duration_truncated_to_a_sliver_is_left_to_the_reference_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # gamma(2, 0.1) keeps P(X in [1.2, 10]) ~ 8e-5: about 12,000 rejections per draw.
    sc: Scenario = steppe.loads(SMALL.replace("TRUNC", "1.2, 10"))
    assert unsupported(sc) is not None
    monkeypatch.setattr(steppe.engines.registry, "AUTO_COMPILED_FROM", 1)
    assert steppe.run(sc, replications=20, seed=1).summary["engine"] == "simpy"
    with pytest.raises(ScenarioError, match="compiled engine cannot run this scenario"):
        steppe.run(sc, replications=20, seed=1, engine="compiled")


def test_truncated_durations_follow_the_truncated_law() -> None:
    """Rejection draws of gamma(2, 0.1) kept to [0.1, 0.2] against scipy's truncated law.

    KS test of 4000 draws: p > 1e-3 (a correct sampler fails with probability 1e-3).
    """
    from scipy import stats

    from steppe.engines.common import sources
    from steppe.engines.kernel import load_kernel
    from steppe.engines.kernel._philox import new_streams

    sc = steppe.loads(SMALL.replace("TRUNC", "0.1, 0.2"))
    module, consts = load_kernel(sc)
    st = new_streams(sources(sc).keys(5))  # as simulate_kernel lays out the streams
    w = np.zeros(module.W_SIZE)
    w[module.O_K :] = consts  # as run_chunk lays out the constants
    rep = np.uint64(0)  # one stream: its successive draws are independent
    draws = np.array([module.duration(0, st, rep, w, 0.0) for _ in range(4000)])
    assert draws.min() >= 0.1 and draws.max() <= 0.2
    base = stats.gamma(2, scale=0.1)
    lo, hi = base.cdf(0.1), base.cdf(0.2)

    def cdf(x: np.ndarray) -> np.ndarray:
        return np.asarray((base.cdf(x) - lo) / (hi - lo))

    assert stats.kstest(draws, cdf).pvalue > 1e-3


# ---------------------------------------------------------------------------------------
# Selective refresh: re-evaluating only what reads a changed part of the state
# ---------------------------------------------------------------------------------------


#: durations, stages, pace and cancellation reading them; jumps and floors; hazards reading
#: the clock (three scenarios: each comparison compiles one more kernel, about 15 s)
@pytest.mark.parametrize("name", ["shocks", "series", "clock_quarter"])
def test_selective_refresh_gives_the_same_numbers_bit_for_bit(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``refresh`` skips what no change since the last one can have affected; what it skips
    would evaluate to the value it holds, so the kernel with the skips and the kernel that
    re-evaluates everything give identical samples (synthetic scenarios of
    ``test_equivalence.py``)."""
    from test_equivalence import SYNTHETIC, scenario

    text, seed, _, _ = SYNTHETIC[name]
    selective = simulate_kernel(scenario(text), seed=seed, start=0, n=3000)
    every = functools.partial(generate, selective=False)
    monkeypatch.setattr(steppe.engines.kernel, "generate", every)
    assert every(scenario(text)).text != generate(scenario(text)).text  # another kernel
    full = simulate_kernel(scenario(text), seed=seed, start=0, n=3000)
    assert all(len(np.unique(col)) > 1 for col in selective.T[:3])  # the guard: random
    np.testing.assert_array_equal(selective, full, strict=True)
