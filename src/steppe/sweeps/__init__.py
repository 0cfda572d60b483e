"""Sweeps and sensitivity analysis: many runs of one scenario at different parameter values.

* :func:`sweep` (:mod:`~steppe.sweeps.runner`) — a design (grid, Latin hypercube, Sobol'
  sequence) of parameter values, one run per point with common random numbers, a table of
  each outcome's estimate and its Monte Carlo error; checkpointed
  (:mod:`~steppe.sweeps.checkpoint`), on local processes or a Dask cluster
  (:mod:`~steppe.sweeps.executors`).
* :func:`sensitivity` (:mod:`~steppe.sweeps.gsa`) — Sobol' indices or Morris screening
  (SALib's estimators) of a scenario's outcomes or of a plain Python function.
* :mod:`~steppe.sweeps.report` and :mod:`~steppe.sweeps.cli` — the sweep folder and
  ``steppe sweep``.

See ``docs/sweeps.md``.
"""

from typing import TYPE_CHECKING

from steppe._lazy import lazy_exports

if TYPE_CHECKING:
    from steppe.sweeps.designs import Design, make_design
    from steppe.sweeps.executors import DaskExecutor, Executor, ProcessExecutor, SerialExecutor
    from steppe.sweeps.gsa import SensitivityResult, sensitivity
    from steppe.sweeps.runner import sweep

__all__ = [
    "DaskExecutor",
    "Design",
    "Executor",
    "ProcessExecutor",
    "SensitivityResult",
    "SerialExecutor",
    "make_design",
    "sensitivity",
    "sweep",
]

# Lazily (PEP 562): ``steppe sweep``'s module imports this package at start-up.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Design": "steppe.sweeps.designs",
        "make_design": "steppe.sweeps.designs",
        **dict.fromkeys(
            ("DaskExecutor", "Executor", "ProcessExecutor", "SerialExecutor"),
            "steppe.sweeps.executors",
        ),
        "SensitivityResult": "steppe.sweeps.gsa",
        "sensitivity": "steppe.sweeps.gsa",
        "sweep": "steppe.sweeps.runner",
    },
    globals(),
)
