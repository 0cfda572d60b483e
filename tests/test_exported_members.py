"""The public API is exactly what ``steppe.__all__`` says (httpx's exported-members test)."""

import steppe


def test_everything_in_all_exists() -> None:
    for name in steppe.__all__:
        assert hasattr(steppe, name), name


def test_public_api_is_pinned() -> None:
    assert set(steppe.__all__) == {
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
    }


def test_exception_tree() -> None:
    assert issubclass(steppe.ScenarioError, steppe.SteppeError)
    assert issubclass(steppe.ScenarioError, ValueError)
    assert issubclass(steppe.ExpressionError, steppe.ScenarioError)
    assert issubclass(steppe.LimitError, steppe.ScenarioError)
    assert issubclass(steppe.SimulationError, RuntimeError)
    assert issubclass(steppe.ResultError, OSError)
    assert issubclass(steppe.ComparisonError, steppe.SteppeError)
    assert issubclass(steppe.ComparisonError, ValueError)
    assert issubclass(steppe.EngineError, steppe.SteppeError)
    assert issubclass(steppe.EngineError, ValueError)
    assert issubclass(steppe.SteppeError, Exception)
    assert not issubclass(steppe.SteppeError, (ValueError, RuntimeError))
