"""Correlated parameters (``correlations:``): Iman and Conover's method over fixed blocks.

The rank correlations achieved, the marginals kept exactly, the draws independent of
chunks, workers and engine, fixed parameters, and every located error.
"""

from __future__ import annotations

import itertools
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import steppe
from steppe.engines.common import draw_parameters
from steppe.engines.correlate import BLOCK
from steppe.errors import ScenarioError, ScenarioWarning
from steppe.load.fileschema import file_schema
from steppe.load.provenance import provenance_gaps
from steppe.model.correlations import nearest_correlation

HEAD = """\
name: corr
title: Correlated parameters
start: 2025-01-01
horizon: 2030-01-01
replications: 3000
seed: 11
parameters:
  a: {dist: pert, min: 0, mode: 0.3, max: 1, why: test}
  b: {dist: lognormal, ci90: [0.5, 2.0], why: test}
  c: {dist: uniform, low: 0, high: 1, why: test}
  d: {dist: normal, mean: 0, sd: 1, why: test}
  f: {value: 0.5, why: test}
  g: {expr: "a * 2", why: test}
events:
  e: {hazard: "0.1 * b + 0.05 * c", why: test}
outcomes:
  pe: {probability: "occurred(e)"}
  va: {value: "a + b * c + d"}
"""

PAIRS = """\
correlations:
  - {between: [a, b], rank: 0.6, why: test}
  - {between: [a, c], rank: -0.4, why: test}
"""


def scenario(extra: str = PAIRS) -> steppe.Scenario:
    return steppe.loads(HEAD + textwrap.dedent(extra), file="corr.yaml")


def spearman_tolerance(rho: float, n: int) -> float:
    """Four standard errors of a sample Spearman correlation of ``n`` pairs: about
    ``sqrt(1.06 / (n - 3)) (1 - rho^2)`` (Fieller, Hartley and Pearson, 1957, for a normal
    copula). Iman-Conover's blocks fix the scores' correlation exactly, so the achieved
    correlation varies less than that: the bound is conservative."""
    return 4.0 * math.sqrt(1.06 / (n - 3)) * (1.0 - rho * rho)


def test_the_achieved_rank_correlations_match_the_target() -> None:
    sc = scenario()
    n = 64 * BLOCK
    x = draw_parameters(sc, 11, 0, n)
    r = stats.spearmanr(x[:, :4]).statistic
    for (i, j), rho in {(0, 1): 0.6, (0, 2): -0.4, (1, 2): 0.0, (0, 3): 0.0}.items():
        assert abs(r[i, j] - rho) < spearman_tolerance(rho, n), (i, j, r[i, j])


def test_marginals_are_kept_exactly_within_every_block() -> None:
    sc, free = scenario(), scenario("")
    n = 5 * BLOCK + 300  # the last block partial
    x, y = draw_parameters(sc, 11, 0, n), draw_parameters(free, 11, 0, n)
    for col in range(3):  # a, b, c: the same values, reordered within each block
        for b0 in range(0, n - BLOCK + 1, BLOCK):  # complete blocks (the partial one: below)
            np.testing.assert_array_equal(
                np.sort(x[b0 : b0 + BLOCK, col]), np.sort(y[b0 : b0 + BLOCK, col])
            )
        # and by a KS test on the whole run's complete blocks: statistic 0
        whole = 5 * BLOCK
        ks = stats.ks_2samp(x[:whole, col], y[:whole, col])
        assert ks.statistic == 0.0
    # uncorrelated parameters keep exactly their draws; so do f and g's formula
    np.testing.assert_array_equal(x[:, 3], y[:, 3])
    np.testing.assert_array_equal(x[:, 5], 2 * x[:, 0])
    assert not np.array_equal(x[:, 0], y[:, 0])  # a was reordered


def test_the_last_partial_block_is_a_slice_of_the_whole_block() -> None:
    sc = scenario()
    # the partial tail equals the same replications of a longer run
    n = 2 * BLOCK + 17
    np.testing.assert_array_equal(
        draw_parameters(sc, 11, 0, n), draw_parameters(sc, 11, 0, 3 * BLOCK)[:n]
    )
    # and the uniforms there are the uncorrelated draws of the whole block, reordered
    tail = draw_parameters(sc, 11, 2 * BLOCK, BLOCK)[:, 2]
    free = draw_parameters(scenario(""), 11, 2 * BLOCK, BLOCK)[:, 2]
    np.testing.assert_array_equal(np.sort(tail), np.sort(free))


@pytest.mark.parametrize("cuts", [[0, 1000, 3000], [0, 1, 1023, 1024, 1025, 2500, 3000], [0, 3000]])
def test_draws_do_not_depend_on_the_chunks(cuts: list[int]) -> None:
    sc = scenario()
    whole = draw_parameters(sc, 11, 0, 3000)
    parts = [draw_parameters(sc, 11, a, b - a) for a, b in itertools.pairwise(cuts)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_a_matrix_gives_the_same_draws_as_its_pairs() -> None:
    matrix = """\
    correlations:
      parameters: [a, b, c]
      matrix: [[1, 0.6, -0.4], [0.6, 1, 0], [-0.4, 0, 1]]
      why: test
    """
    mixed = """\
    correlations:
      parameters: [a, b]
      matrix: [[1, 0.6], [0.6, 1]]
      pairs: [{between: [c, a], rank: -0.4, why: test}]
      why: test
    """
    want = draw_parameters(scenario(), 3, 0, 2000)
    np.testing.assert_array_equal(draw_parameters(scenario(matrix), 3, 0, 2000), want)
    np.testing.assert_array_equal(draw_parameters(scenario(mixed), 3, 0, 2000), want)


def test_a_fixed_correlated_parameter_is_constant_and_the_others_keep_their_draws() -> None:
    sc = scenario()
    a = sc.param("a").index
    x = draw_parameters(sc, 11, 0, 2000)
    fixed = draw_parameters(sc, 11, 0, 2000, {a: 0.25})
    assert (fixed[:, a] == 0.25).all()
    others = [i for i in range(len(sc.params)) if i not in (a, sc.param("g").index)]
    np.testing.assert_array_equal(fixed[:, others], x[:, others])
    np.testing.assert_array_equal(fixed[:, sc.param("g").index], 0.5)
    # an override (steppe run --set a=0.25) is the same thing
    over = sc.with_overrides({"a": 0.25})
    np.testing.assert_array_equal(draw_parameters(over, 11, 0, 2000), fixed)
    # and survives the pickling that sends a scenario to a spawned worker
    import pickle

    again = pickle.loads(pickle.dumps(over))
    np.testing.assert_array_equal(draw_parameters(again, 11, 0, 2000), fixed)


def test_a_run_is_the_same_on_one_or_two_workers_and_records_the_correlations() -> None:
    sc = scenario()
    one = steppe.run(sc, replications=2500, engine="simpy", workers=1, traces=False)
    two = steppe.run(sc, replications=2500, engine="simpy", workers=2, traces=False)
    assert one.summary["outcomes"] == two.summary["outcomes"]
    assert one.summary["correlations"] == two.summary["correlations"]
    achieved = one.summary["correlations"].pop("achieved")
    assert one.summary["correlations"].pop("achieved_over") == 2500
    # the draws' rank correlations: near the targets (Iman-Conover within blocks of 1,024;
    # a sample Spearman's error is about (1 - rho^2) / sqrt(n) <= 0.02 here), 1 on the diagonal
    np.testing.assert_allclose(np.diag(achieved), 1.0)
    assert abs(achieved[0][1] - 0.6) < 0.05 and abs(achieved[0][2] + 0.4) < 0.05
    assert one.summary["correlations"] == {
        "method": "Iman-Conover",
        "parameters": ["a", "b", "c"],
        "rank_matrix": [[1.0, 0.6, -0.4], [0.6, 1.0, 0.0], [-0.4, 0.0, 1.0]],
        "repaired": False,
        "smallest_eigenvalue_given": pytest.approx(0.27889, abs=1e-5),
    }
    assert "correlations" not in steppe.run(scenario(""), replications=10).summary


@pytest.mark.slow
def test_the_compiled_engine_draws_the_same_correlated_samples() -> None:
    sc = scenario()
    ref = steppe.run(sc, replications=1500, engine="simpy", traces=False)
    fast = steppe.run(sc, replications=1500, engine="compiled", workers=2, traces=False)
    np.testing.assert_array_equal(ref.samples.to_numpy(), fast.samples.to_numpy())


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "correlations:\n  - {between: [a, bb], rank: 0.5}\n",
            r"corr.yaml:\d+:\d+: error: correlations\[0\]\.between\[1\]: unknown parameter "
            r"'bb' \(did you mean 'b'\?\)",
        ),
        (
            "correlations:\n  - {between: [a, f], rank: 0.5}\n",
            r"correlations\[0\]\.between\[1\]: parameter 'f' is fixed \(0.5\): only "
            "parameters drawn from a distribution can be correlated",
        ),
        (
            "correlations:\n  - {between: [g, a], rank: 0.5}\n",
            r"correlations\[0\]\.between\[0\]: parameter 'g' is derived \(= a \* 2\)",
        ),
        (
            "correlations:\n  - {between: [a, a], rank: 0.5}\n",
            r"correlations\[0\]\.between: a parameter cannot be correlated with itself",
        ),
        (
            "correlations:\n  - {between: [a, b], rank: 0.5}\n  - {between: [b, a], rank: 0.2}\n",
            r"correlations\[1\]\.between: the correlation of 'b' and 'a' is already given at "
            r"correlations\[0\]",
        ),
        (
            "correlations:\n  - {between: [a, b], rank: 1.5}\n",
            r"correlations\[0\]\.rank: .*less than or equal to 1",
        ),
        (
            "correlations: 0.5\n",
            r"correlations: expected a list of \{between: \[A, B\], rank: R\}",
        ),
        (
            "correlations:\n  parameters: [a, b]\n  matrix: [[1, 0.5], [0.4, 1]]\n",
            r"correlations\.matrix\[1\]\[0\]: the matrix must be symmetric: \[0\]\[1\] is 0.5 "
            r"but \[1\]\[0\] is 0.4",
        ),
        (
            "correlations:\n  parameters: [a, b]\n  matrix: [[0.9, 0.5], [0.5, 1]]\n",
            r"correlations\.matrix\[0\]\[0\]: the diagonal must be 1",
        ),
        (
            "correlations:\n  parameters: [a, b]\n  matrix: [[1, 0.5, 0], [0.5, 1, 0]]\n",
            r"correlations\.matrix\[0\]: row 0 has 3 entries; the matrix must be 2 x 2",
        ),
        (
            "correlations:\n  parameters: [a, b]\n",
            r"correlations: .*give parameters and matrix together",
        ),
    ],
)
def test_bad_correlations_are_located_errors(extra: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenario(extra)


NOT_PSD = """\
correlations:
  - {between: [a, b], rank: 0.9, why: test}
  - {between: [a, c], rank: 0.9, why: test}
  - {between: [b, c], rank: -0.9, why: test}
"""


def test_a_matrix_that_is_not_positive_semi_definite_is_an_error_with_its_eigenvalue() -> None:
    eig = float(np.linalg.eigvalsh([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]])[0])
    with pytest.raises(ScenarioError) as info:
        scenario(NOT_PSD)
    text = str(info.value)
    assert text.startswith("corr.yaml:20:3: error: correlations: the rank correlation matrix ")
    assert f"smallest eigenvalue is {eig:.6g}" in text
    assert "`pairs:` and `repair: nearest`" in text


def test_repair_nearest_uses_the_nearest_correlation_matrix_with_a_warning() -> None:
    repaired = """\
    correlations:
      repair: nearest
      why: test
      pairs:
        - {between: [a, b], rank: 0.9}
        - {between: [a, c], rank: 0.9}
        - {between: [b, c], rank: -0.9}
    """
    with pytest.warns(ScenarioWarning, match=r"corr.yaml:20:3: warning: correlations: the rank "):
        sc = scenario(repaired)
    assert sc.correlation is not None and sc.correlation.repaired
    m = sc.correlation.matrix()
    assert np.linalg.eigvalsh(m)[0] > -1e-10
    np.testing.assert_allclose(np.diag(m), 1.0)
    x = draw_parameters(sc, 1, 0, 4 * BLOCK)
    assert np.isfinite(x).all()


def test_nearest_correlation_reproduces_highams_example() -> None:
    # Higham (2002), section 4: the nearest correlation matrix to this one.
    a = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    want = np.array([[1.0, 0.7607, 0.1573], [0.7607, 1.0, 0.7607], [0.1573, 0.7607, 1.0]])
    np.testing.assert_allclose(nearest_correlation(a), want, atol=1e-4)


def test_every_correlation_needs_a_source_for_provenance(tmp_path: Path) -> None:
    path = tmp_path / "corr.yaml"
    path.write_text(HEAD + "correlations:\n  - {between: [a, b], rank: 0.5}\n")
    gaps = provenance_gaps(path)
    assert [(g.path, g.message) for g in gaps] == [
        (("correlations", 0), "a correlation without a source or why: add `source:` or `why:`")
    ]
    path.write_text(HEAD + "correlations:\n  parameters: [a, b]\n  matrix: [[1, .5], [.5, 1]]\n")
    assert [g.path for g in provenance_gaps(path)] == [("correlations", "matrix")]


def test_the_schema_describes_correlations_and_precision() -> None:
    props = file_schema()["$defs"]["Scenario"]["properties"]
    assert "correlations" in props and "precision" in props
    assert "correlations" in file_schema()["$defs"]["Variant"]["properties"]


def test_a_variant_replaces_the_correlations_as_a_whole(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        HEAD + "correlations:\n  parameters: [a, b]\n  matrix: [[1, .5], [.5, 1]]\n"
    )
    (tmp_path / "v.yaml").write_text(
        "extends: base.yaml\nname: v\ntitle: v\ndescription: v\n"
        "correlations:\n  pairs: [{between: [c, d], rank: 0.3}]\n"
    )
    sc = steppe.load(tmp_path / "v.yaml")
    assert sc.correlation is not None and sc.correlation.names == ("c", "d")


def test_the_cli_prints_the_repair_warning_as_a_located_line(tmp_path: Path) -> None:
    import warnings

    from click.testing import CliRunner

    from steppe.cli import main

    path = tmp_path / "corr.yaml"
    path.write_text(
        HEAD + "correlations:\n  repair: nearest\n  why: test\n  pairs:\n"
        "    - {between: [a, b], rank: 0.9}\n    - {between: [a, c], rank: 0.9}\n"
        "    - {between: [b, c], rank: -0.9}\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        result = CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout == f"{path}: ok\n"
    assert result.stderr.startswith(
        f"{path}:20:3: warning: correlations: the rank correlation matrix is not positive "
        "semi-definite (smallest eigenvalue -0.8); using the nearest correlation matrix"
    )
