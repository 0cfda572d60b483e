"""What steppe imports at start-up (issue 18): ``import steppe``, ``steppe --help`` and
``steppe validate`` load neither pandas, scipy.stats, matplotlib nor Numba.

Each check runs in a fresh interpreter (the test process has imported everything already)
and looks at ``sys.modules``: no timing is asserted (``benchmarks/bench_startup.py``
measures the times).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import steppe
from steppe.engines import choices, registry
from steppe.model import _ops
from steppe.model.distributions import Z95, Lognormal, Normal
from steppe.sweeps import _names, designs, gsa

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
HEAVY = ("pandas", "scipy.stats", "matplotlib", "numba")

# Runs the code given on its command line, then prints the heavy modules it left imported.
PROBE = """
import json, sys
{code}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def imported_after(code: str) -> list[str]:
    """The modules of ``HEAVY`` that ``code`` imports, in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code, heavy=HEAVY)],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    last: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return last


def in_cli(*args: str) -> str:
    """Code that runs ``steppe ARGS`` in-process (the command's ``main``), exit status 0."""
    return (
        "from steppe.cli import main\n"
        "try:\n"
        f"    main({list(args)!r})\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
    )


def test_import_steppe_imports_nothing_heavy() -> None:
    assert imported_after("import steppe") == []


def test_help_imports_nothing_heavy() -> None:
    assert imported_after(in_cli("--help")) == []


def test_validate_imports_nothing_heavy() -> None:
    assert imported_after(in_cli("validate", str(BASELINE))) == []


def test_validate_without_correlations_needs_no_numpy() -> None:
    code = in_cli("validate", str(BASELINE)) + "assert 'numpy' not in sys.modules\n"
    assert imported_after(code) == []


def test_every_command_help_imports_nothing_heavy() -> None:
    code = "".join(
        in_cli(cmd, "--help")
        for cmd in ("run", "validate", "schema", "sweep", "compare", "report", "score", "signposts")
    )
    assert imported_after(code) == []


def test_the_api_is_still_there_when_used() -> None:
    code = "import steppe\nsc = steppe.load({path!r})\nassert sc.name == 'baseline'\n"
    assert imported_after(code.format(path=str(BASELINE))) == []
    assert "pandas" in imported_after("import steppe\nassert steppe.run.__name__ == 'run'\n")


def test_load_is_the_function_after_its_package_is_imported() -> None:
    # steppe.load is both a function and a package: importing the package must not hide
    # the function (it did not when steppe imported its API eagerly).
    import steppe.load.loader

    assert callable(steppe.load)
    assert steppe.load.__module__ == "steppe.load.loader"
    import steppe.scoring.score

    assert callable(steppe.scoring.score)


def test_dir_lists_the_lazy_names() -> None:
    assert set(steppe.__all__) <= set(dir(steppe))


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'steppe' has no attribute 'nope'"):
        steppe.nope  # noqa: B018


def test_engine_choices_agree_with_the_registry() -> None:
    assert (choices.AUTO, *registry.ENGINES) == choices.CHOICES


def test_sweep_names_agree_with_their_modules() -> None:
    assert designs.DESIGNS is _names.DESIGNS
    assert gsa.METHODS is _names.METHODS


def test_vector_table_has_every_operation() -> None:
    assert set(_ops.VECTOR) == set(_ops.SCALAR)


def test_z95_is_scipys() -> None:
    from scipy import stats

    assert float(stats.norm.ppf(0.95)) == Z95


@pytest.mark.parametrize(
    ("dist", "lo", "hi"),
    [
        (Normal(dist="normal", mean=1.0, sd=2.0), -3.0, 0.5),
        (Normal(dist="normal", ci90=(0.0, 0.3)), 0.1, math.inf),
        (Lognormal(dist="lognormal", ci90=(250.0, 700.0)), 100.0, 900.0),
        (Lognormal(dist="lognormal", median=5.0, sigma=1.0), -1.0, 2.0),
        (Lognormal(dist="lognormal", mu=0.0, sigma=0.5), 30.0, 40.0),
    ],
)
def test_closed_form_mass_matches_scipy(dist: Normal | Lognormal, lo: float, hi: float) -> None:
    # The truncation check's closed form against SciPy's CDF; the two differ by rounding
    # only (1e-12 relative, or absolute for masses near 0).
    frozen = dist.frozen()
    mass = dist._closed_mass(lo, hi)
    assert mass == pytest.approx(float(frozen.cdf(hi) - frozen.cdf(lo)), rel=1e-12, abs=1e-15)
