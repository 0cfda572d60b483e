"""The compiled engine conditioned on evidence (``docs/engine.md`` section 10).

A scenario's evidence kernel is generated from the same functions as its plain kernel
(:func:`steppe.engines.kernel.codegen.generate` with ``evidence=True``), whose race also
books the hazards of the clocks held off by windows, spliced into another loop
(``loop_evidence.py.in``) that replays the reference engine's evidence methods
(:class:`steppe.engines.des._Replication`) with its arithmetic and its order of events:
bit for bit the same samples and log-weights.

The plan is not part of the kernel: its numbers and its shape reach the kernel as arrays
(:class:`~steppe.engines.kernel._contract.EvidenceArgs`), so one compiled evidence kernel
per scenario structure serves every plan — the lead's plan builder, a test's hand-built
plan, or an empty one (which :func:`warm_up_evidence` runs to compile it).

Streams: a particle's generation ``g`` reads every source's Philox stream with counter
``[0, i, g, 0]`` (counter word 2 is a column of the stream array, set by ``restart``);
the windows' drawn times have one stream row each, after the scenario's sources.
"""

from __future__ import annotations

import math

import numpy as np

from steppe.engines.common import MAX_CHANGES, combine_outcomes, draw_parameters, sources
from steppe.engines.des import Lineages, window_slots
from steppe.engines.kernel import _error, _prepare, _state
from steppe.engines.kernel._contract import EvidenceArgs, Failure
from steppe.engines.kernel._philox import new_streams
from steppe.evidence.plan import EvidencePlan
from steppe.model.scenario import Scenario
from steppe.streams import dynamics_keys

__all__ = ["evidence_args", "simulate_kernel_conditioned", "warm_up_evidence"]


def warm_up_evidence(sc: Scenario) -> None:
    """Compile (or load from the cache) ``sc``'s evidence kernel now, e.g. before forking
    workers (once per scenario object)."""
    if _state(sc).get("compiled-evidence-warm"):
        return
    simulate_kernel_conditioned(sc, EvidencePlan(), Lineages(), seed=0, start=0, n=0)
    _state(sc)["compiled-evidence-warm"] = True


def _f(values: list[float]) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def _i(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def _b(values: list[bool]) -> np.ndarray:
    return np.array(values, dtype=np.bool_)


def evidence_args(
    sc: Scenario, plan: EvidencePlan, lineages: Lineages, n_sources: int
) -> EvidenceArgs:
    """``plan`` and the resampling times of ``lineages`` as the evidence kernel reads them;
    the windows' streams of drawn times are rows ``n_sources, ...`` of the stream array
    (one per name of :attr:`EvidencePlan.sources`, in that order)."""
    slots = window_slots(sc, plan)
    rows = {name: n_sources + i for i, name in enumerate(dict.fromkeys(plan.sources))}
    t0: list[int] = []
    times: list[float] = []
    for w in plan.windows:
        t0.append(len(times))
        times += [float(x) for x in w.times]
    checks = plan.series
    late = [(t, 0, i) for i, t in enumerate(plan.checkpoints)]
    late += [(t, 1, g) for g, t in enumerate(lineages.times, start=1)]
    late.sort(key=lambda x: (x[0], x[1]))  # at one instant, the checkpoint first
    queue = sum(len(w.times) + w.draws + 1 + (w.lo > 0.0) for w in plan.windows)
    queue += sum(c.total for c in checks)
    return EvidenceArgs(
        win_slot=_i(slots),
        win_lo=_f([w.lo for w in plan.windows]),
        win_hi=_f([w.hi for w in plan.windows]),
        win_t0=_i(t0),
        win_nt=_i([len(w.times) for w in plan.windows]),
        times=_f(times),
        win_draws=_i([w.draws for w in plan.windows]),
        win_dlo=_f([w.dlo for w in plan.windows]),
        win_dhi=_f([w.dhi for w in plan.windows]),
        win_row=_i([rows[w.source] if w.draws else -1 for w in plan.windows]),
        win_logprop=_f([w.log_proposal for w in plan.windows]),
        chk_series=_i([c.series for c in checks]),
        chk_lo=_f([c.lo for c in checks]),
        chk_hi=_f([c.hi for c in checks]),
        chk_lognormal=_b([c.sigma is not None for c in checks]),
        # the terms of SeriesCheck.log_likelihood that do not depend on the path, computed
        # as it computes them
        chk_logv=_f([math.log(c.value) if c.sigma and c.value else 0.0 for c in checks]),
        chk_sigma=_f([c.sigma if c.sigma is not None else 1.0 for c in checks]),
        chk_const=_f(
            [
                math.log(c.sigma * c.value * math.sqrt(2.0 * math.pi))
                if c.sigma is not None and c.value is not None
                else 0.0
                for c in checks
            ]
        ),
        chk_has_min=_b([c.at_least is not None for c in checks]),
        chk_min=_f([c.at_least if c.at_least is not None else 0.0 for c in checks]),
        chk_has_max=_b([c.at_most is not None for c in checks]),
        chk_max=_f([c.at_most if c.at_most is not None else 0.0 for c in checks]),
        stg_project=_i([c.project for c in plan.stages]),
        stg_stage=_f([float(c.stage) for c in plan.stages]),
        stg_at=_f([c.at for c in plan.stages]),
        stg_reached=_b([c.reached for c in plan.stages]),
        checkpoints=_f(list(plan.checkpoints)),
        late_time=_f([x[0] for x in late]),
        late_kind=_i([x[1] for x in late]),
        late_arg=_i([x[2] for x in late]),
        has_jumps=_b([bool(j) for j in sc.compiled("vector").jumps]),
        queue=int(queue),
    )


def simulate_kernel_conditioned(
    scenario: Scenario,
    plan: EvidencePlan,
    lineages: Lineages,
    *,
    seed: int,
    start: int,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Particles ``[start, start + n)`` of the last generation of ``lineages``, conditioned
    on ``plan``: the samples (outcome-major, as :func:`~steppe.engines.kernel.simulate_kernel`
    returns them) and the log-weights at the checkpoints, shape ``(n, checkpoints)``; bit
    for bit what :func:`steppe.engines.des.simulate_des_conditioned` returns.

    Raises
    ------
    SimulationError
        If a particle fails (worded as the reference engine words it), or a window's event
        has no hazard.
    """
    sc = scenario
    kp = _prepare(sc, evidence=True)
    counters = lineages.counters(np.arange(start, start + n))
    first = int(counters[0].min(initial=0))
    count = int(counters[0].max(initial=-1)) + 1 - first
    params = draw_parameters(sc, seed, first, count)[counters[0] - first]
    columns = np.ascontiguousarray(params.T)  # (n_params, n): one row per parameter
    lifted = kp.lift(columns)
    keys = sources(sc).keys(seed)
    ev = evidence_args(sc, plan, lineages, len(keys))
    names = list(dict.fromkeys(plan.sources))
    st = new_streams(np.concatenate([keys, dynamics_keys(seed, names)]))
    noise_keys = np.ascontiguousarray(keys[kp.noise_sources])
    out = np.full((len(sc.outcomes), n), np.nan)
    logw = np.full((n, len(plan.checkpoints)), np.nan)
    err_i = np.zeros(4, dtype=np.int64)
    err_f = np.zeros(2, dtype=np.float64)
    status = kp.module.run_evidence(
        columns,
        lifted,
        kp.consts,
        kp.off,
        st,
        noise_keys,
        np.zeros((len(noise_keys), kp.n_ticks)),
        np.ascontiguousarray(counters),
        kp.args,
        ev,
        out,
        logw,
        err_i,
        err_f,
        MAX_CHANGES,
    )
    if status:
        err_i[2] = counters[0, err_i[2]]  # the replication the particle descends from
        raise _error(sc, Failure(int(status)), err_i, err_f, 0)
    samples = out.T
    combine_outcomes(sc, samples)
    return samples, logw
