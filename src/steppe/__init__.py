"""steppe: scenario forecasting with discrete-event Monte Carlo.

Write a YAML scenario (actors, uncertain assumptions, events with state-dependent hazards,
series, staged projects, questions), run it many times, and read probability distributions
with their Monte Carlo error.

>>> import steppe
>>> sc = steppe.load("scenarios/baseline.yaml")        # doctest: +SKIP
>>> steppe.run(sc, replications=1000, seed=1).summary   # doctest: +SKIP
"""

from steppe.analysis.compare import Comparison, compare
from steppe.analysis.cromwell import lint
from steppe.analysis.signposts import Signposts, signposts
from steppe.api import RunResult, run
from steppe.discovery import Discovery, discover
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
