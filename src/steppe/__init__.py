"""steppe: scenario forecasting with discrete-event Monte Carlo.

Write a YAML scenario (actors, uncertain assumptions, events with state-dependent hazards,
series, staged projects, questions), run it many times, and read probability distributions
with their Monte Carlo error.

>>> import steppe
>>> sc = steppe.load("scenarios/baseline.yaml")        # doctest: +SKIP
>>> steppe.run(sc, replications=1000, seed=1).summary   # doctest: +SKIP

The API is imported lazily (PEP 562): ``import steppe`` loads only the exception tree, and
each name below loads its module on first use, so ``steppe validate`` and ``steppe --help``
do not pay for pandas, SciPy, matplotlib or Numba (issue 18). Type checkers and IDEs see
the names through the ``TYPE_CHECKING`` imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from steppe._lazy import lazy_exports
from steppe.errors import (
    ComparisonError,
    EngineError,
    ExpressionError,
    LimitError,
    ResultError,
    ScenarioError,
    SimulationError,
    SteppeError,
)

if TYPE_CHECKING:
    from steppe.analysis.compare import Comparison, compare
    from steppe.analysis.cromwell import lint
    from steppe.analysis.signposts import Signposts, signposts
    from steppe.api import RunResult, run
    from steppe.discovery import Discovery, discover
    from steppe.load import load, loads
    from steppe.model.scenario import Scenario
    from steppe.scoring import ScoreResult, score
    from steppe.sweeps import SensitivityResult, sensitivity, sweep

__version__ = "0.1.0"

__all__ = [
    "Comparison",
    "ComparisonError",
    "Discovery",
    "EngineError",
    "ExpressionError",
    "LimitError",
    "ResultError",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "ScoreResult",
    "SensitivityResult",
    "Signposts",
    "SimulationError",
    "SteppeError",
    "__version__",
    "compare",
    "discover",
    "lint",
    "load",
    "loads",
    "run",
    "score",
    "sensitivity",
    "signposts",
    "sweep",
]

# Each lazily exported name and the module that defines it (mirrors the imports above).
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Comparison": "steppe.analysis.compare",
        "compare": "steppe.analysis.compare",
        "lint": "steppe.analysis.cromwell",
        "Signposts": "steppe.analysis.signposts",
        "signposts": "steppe.analysis.signposts",
        "RunResult": "steppe.api",
        "run": "steppe.api",
        "Discovery": "steppe.discovery",
        "discover": "steppe.discovery",
        "load": "steppe.load",
        "loads": "steppe.load",
        "Scenario": "steppe.model.scenario",
        "ScoreResult": "steppe.scoring",
        "score": "steppe.scoring",
        "SensitivityResult": "steppe.sweeps",
        "sensitivity": "steppe.sweeps",
        "sweep": "steppe.sweeps",
    },
    globals(),
)
