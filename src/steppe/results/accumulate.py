"""Mergeable summaries: outcome statistics built chunk by chunk in bounded memory.

A run is split into chunks of replications. :class:`Accumulator` takes each chunk's samples
(in any order: chunks are merged in chunk order at the end, so the result does not depend
on which worker finished first) and keeps

* for every outcome, exact mergeable statistics over **all** replications: counts of
  successes (probabilities), count, mean and sum of squared deviations merged with Chan's
  formula, minimum and maximum (distributions), counts at every reporting date and a
  histogram of event days (times to event);
* the per-replication samples of the first :data:`QUANTILE_SAMPLE` replications (or all of
  them when ``keep_samples`` is asked for).

When a run has at most :data:`QUANTILE_SAMPLE` replications its summary is computed from all
the samples, exactly as :mod:`steppe.results.stats` does. Beyond that:

* probabilities, ``p_by``, means, standard deviations, minima and maxima still use every
  replication;
* quantiles of a **time to event** are exact at the resolution they are reported in (a
  day), from the histogram of event days over every replication;
* quantiles of a **distribution** outcome, and their intervals, are computed from the first
  :data:`QUANTILE_SAMPLE` replications; the summary says so (``quantile_sample``).

References
----------
.. [1] T. F. Chan, G. H. Golub and R. J. LeVeque, "Algorithms for computing the sample
   variance: analysis and recommendations", *The American Statistician* 37 (1983), 242-247.
"""

from __future__ import annotations

import datetime as dt
import math
import mmap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from steppe.model.scenario import OutcomeModel
from steppe.model.timeline import DAYS_PER_YEAR, Timeline
from steppe.results.stats import (
    QUANTILE_LEVELS,
    Z95,
    interval_ranks,
    order_rank,
    summarize_distribution,
    summarize_probability,
    summarize_time_to_event,
    wilson_interval,
)

__all__ = ["QUANTILE_SAMPLE", "Accumulator", "ChunkStats", "chunk_stats"]

#: Replications whose samples are kept for quantiles of distribution outcomes.
QUANTILE_SAMPLE = 250_000


@dataclass
class _Moments:
    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    lo: float = math.inf
    hi: float = -math.inf

    @staticmethod
    def of(x: np.ndarray) -> tuple[int, float, float, float, float]:
        """``(n, mean, m2, min, max)`` of one chunk's sample."""
        mb = float(np.mean(x))
        return int(x.size), mb, float(np.sum((x - mb) ** 2)), float(np.min(x)), float(np.max(x))

    def merge(self, chunk: tuple[int, float, float, float, float]) -> None:
        """Chan et al.'s pairwise update with a chunk's moments (see :meth:`of`)."""
        nb, mb, m2b, lo, hi = chunk
        if nb == 0:
            return
        n = self.n + nb
        delta = mb - self.mean
        self.mean += delta * nb / n
        self.m2 += m2b + delta * delta * self.n * nb / n
        self.n = n
        self.lo = min(self.lo, lo)
        self.hi = max(self.hi, hi)


@dataclass(frozen=True)
class ChunkStats:
    """The mergeable statistics of one chunk: what :class:`Accumulator` keeps of it.

    Computed where the chunk ran (:func:`chunk_stats`), so a worker sends these few numbers
    (and its samples only when they are kept) instead of every sample.
    """

    n: int
    successes: dict[int, int]
    moments: dict[int, tuple[int, float, float, float, float]]
    by_counts: dict[int, np.ndarray]
    days: dict[int, np.ndarray]


def _grid(timeline: Timeline) -> tuple[np.ndarray, int]:
    """Model times of the reporting dates, and the number of days up to the horizon."""
    date_t = np.array([timeline.years(d) for d in timeline.year_ends()])
    return date_t, math.floor(timeline.t_horizon * DAYS_PER_YEAR + 1e-9) + 1


def chunk_stats(outcomes: Sequence[OutcomeModel], timeline: Timeline, x: np.ndarray) -> ChunkStats:
    """The mergeable statistics of a chunk's samples ``x`` (one column per outcome)."""
    date_t, n_days = _grid(timeline)
    successes, moments, by_counts, days = {}, {}, {}, {}
    for o in outcomes:
        col = x[:, o.index]
        if o.kind == "probability":
            successes[o.index] = int(np.count_nonzero(col))
        elif o.kind == "distribution":
            moments[o.index] = _Moments.of(col) if col.size else (0, 0.0, 0.0, 0.0, 0.0)
        else:
            # times <= each date: date j counts the times whose first date >= them is <= j
            # (NaN and inf sort after every date, so they count nowhere)
            first = np.bincount(np.searchsorted(date_t, col), minlength=len(date_t) + 1)
            by_counts[o.index] = np.cumsum(first[: len(date_t)])
            finite = col[np.isfinite(col)]
            d = np.floor(finite * DAYS_PER_YEAR + 1e-9).astype(np.int64)
            days[o.index] = np.bincount(d, minlength=n_days)[:n_days]
    return ChunkStats(len(x), successes, moments, by_counts, days)


def _outcome_major(x: np.ndarray) -> bool:
    """Whether samples ``x`` (replications x outcomes) are stored outcome by outcome."""
    return bool(x.flags.f_contiguous)


@dataclass
class _Chunk:
    start: int
    stats: ChunkStats
    samples: np.ndarray | None  # (n, n_outcomes), when kept


@dataclass
class Accumulator:
    """Collects chunks of per-replication samples and summarises them.

    Parameters
    ----------
    outcomes
        The scenario's outcomes (columns of each chunk).
    timeline
        For reporting dates and day histograms.
    keep_samples
        Keep every replication's samples (for ``samples.parquet``), not only the first
        :data:`QUANTILE_SAMPLE`.
    summarized
        Keep statistics for the first ``summarized`` outcomes only (default: all); the others
        (e.g. the report's traces, summarised from the kept samples) are kept as samples, and
        chunks may come with statistics of these first outcomes only.
    replications
        The run's number of replications, when known. The kept samples are then copied
        into one array as their chunks are merged, so nothing is left to join when the
        last chunk arrives (the run's tail is serial: workers are idle by then);
        otherwise they are joined on first use.
    """

    outcomes: Sequence[OutcomeModel]
    timeline: Timeline
    keep_samples: bool = False
    summarized: int | None = None
    replications: int | None = None
    _pending: dict[int, _Chunk] = field(default_factory=dict)
    _next: int = 0
    _n: int = 0
    _kept: list[np.ndarray] = field(default_factory=list)
    _kept_n: int = 0
    _shared: bool = False
    _successes: dict[int, int] = field(default_factory=dict)
    _moments: dict[int, _Moments] = field(default_factory=dict)
    _by_counts: dict[int, np.ndarray] = field(default_factory=dict)
    _days: dict[int, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._dates = self.timeline.year_ends()
        _, n_days = _grid(self.timeline)
        for o in self.summarized_outcomes:
            if o.kind == "probability":
                self._successes[o.index] = 0
            elif o.kind == "distribution":
                self._moments[o.index] = _Moments()
            else:
                self._by_counts[o.index] = np.zeros(len(self._dates), dtype=np.int64)
                self._days[o.index] = np.zeros(n_days, dtype=np.int64)

    @property
    def summarized_outcomes(self) -> Sequence[OutcomeModel]:
        """The outcomes whose statistics are kept (see ``summarized``)."""
        return self.outcomes[: self.summarized]

    @property
    def n(self) -> int:
        """Replications merged so far (in chunk order)."""
        return self._n

    def add(self, start: int, samples: np.ndarray) -> None:
        """Add the samples of replications ``[start, start + len(samples))`` (kept samples are
        copied when the run's size is known, else kept by reference: do not modify them
        afterwards)."""
        stats = chunk_stats(self.summarized_outcomes, self.timeline, samples)
        self.add_stats(start, stats, samples)

    def share_kept(self, order: Literal["C", "F"]) -> np.ndarray:
        """Make the array of kept samples now, in memory shared with the processes forked
        after this call, and return it.

        Whoever runs a kept chunk then writes its rows there itself (the chunk at ``start``
        fills rows ``[start, start + take)``, ``take`` what is kept of it) and adds the
        chunk without its samples: they cross no pipe and are not copied again. Needs
        ``replications``; ``order``: the layout of the chunks (``"F"``: outcome-major).
        """
        if self.replications is None or self._kept:
            raise RuntimeError("share_kept needs the run's size, before any chunk is added")
        rows = self._kept_rows(self.replications)
        size = rows * len(self.outcomes) * 8
        memory = mmap.mmap(-1, max(size, 1))  # anonymous and shared (MAP_SHARED)
        kept = np.ndarray((rows, len(self.outcomes)), np.float64, memory, order=order)
        self._kept, self._shared = [kept], True
        return kept

    def kept_for_workers(self, order: Literal["C", "F"]) -> np.ndarray | None:
        """The shared array that forked workers write kept samples into: made now
        (:meth:`share_kept`) if no chunk was added yet, the one made before if any; ``None``
        when earlier chunks were kept in this process's memory (a run in stages whose
        first stage ran here): workers then send their samples back."""
        if self._shared:
            return self._kept[0]
        if self._kept or self._n or self._pending:
            return None
        return self.share_kept(order)

    def proportion(self, index: int) -> tuple[int, int]:
        """``(successes, replications)`` merged so far of probability outcome ``index``."""
        return self._successes[index], self._n

    def needs_samples(self, start: int) -> bool:
        """Whether the samples of a chunk starting at ``start`` are kept (so must be sent)."""
        return self.keep_samples or start < QUANTILE_SAMPLE

    def add_stats(self, start: int, stats: ChunkStats, samples: np.ndarray | None) -> None:
        """Add a chunk by its statistics (see :func:`chunk_stats`), with its samples when
        :meth:`needs_samples` says they are kept (as in :meth:`add`), unless they were
        written in place (:meth:`share_kept`)."""
        if samples is None and self.needs_samples(start) and not self._shared:
            raise ValueError(f"the samples of the chunk at {start} are needed")
        self._pending[start] = _Chunk(start, stats, samples)
        while self._next in self._pending:
            chunk = self._pending.pop(self._next)
            self._merge(chunk.stats, chunk.samples)
            self._next += chunk.stats.n

    def _merge(self, stats: ChunkStats, x: np.ndarray | None) -> None:
        for i, count in stats.successes.items():
            self._successes[i] += count
        for i, mom in stats.moments.items():
            self._moments[i].merge(mom)
        for i, counts in stats.by_counts.items():
            self._by_counts[i] += counts
            self._days[i] += stats.days[i]
        if self.keep_samples or self._kept_n < QUANTILE_SAMPLE:
            n = stats.n
            take = n if self.keep_samples else min(n, QUANTILE_SAMPLE - self._kept_n)
            if x is None:
                pass  # written in place by the worker that ran it (see share_kept)
            elif self.replications is not None:
                self._copy_in(x, take)
            else:
                # a whole chunk is kept as it came (engines return new arrays); part of one
                # is copied, so as not to hold the rest (order "K": keeps the layout)
                self._kept.append(x if take == len(x) else x[:take].copy(order="K"))
            self._kept_n += take
        self._n += stats.n

    def _copy_in(self, x: np.ndarray, take: int) -> None:
        """Copy the first ``take`` rows of ``x`` into the kept samples' array (made at the
        first kept chunk, in its layout: outcome-major chunks, the compiled engine's, keep
        each outcome's column contiguous)."""
        if not self._kept:
            assert self.replications is not None
            rows = self._kept_rows(self.replications)
            major: Literal["C", "F"] = "F" if _outcome_major(x) else "C"
            self._kept.append(np.empty((rows, len(self.outcomes)), order=major))
        self._kept[0][self._kept_n : self._kept_n + take] = x[:take]

    def _kept_rows(self, replications: int) -> int:
        """How many replications' samples a run of ``replications`` keeps."""
        return replications if self.keep_samples else min(QUANTILE_SAMPLE, replications)

    def samples(self) -> np.ndarray:
        """The kept samples, in replication order."""
        if self._pending:
            raise RuntimeError(f"chunks missing before replication {self._next}")
        if not self._kept:
            return np.empty((0, len(self.outcomes)))
        if self.replications is not None:
            return self._kept[0][: self._kept_n]
        if len(self._kept) > 1:  # joined once: summaries and the caller both read them
            # outcome-major chunks (the compiled engine's) are joined outcome-major: each
            # outcome's column stays contiguous and the copy is a few long memcpys
            major: Literal["C", "F"] = "C"
            if all(_outcome_major(k) for k in self._kept):
                major = "F"
            joined = np.empty((self._kept_n, len(self.outcomes)), order=major)
            self._kept = [np.concatenate(self._kept, axis=0, out=joined)]
        return self._kept[0]

    def summaries(self) -> dict[str, dict[str, Any]]:
        """Per-outcome summaries (the ``outcomes`` bodies of ``summary.json``) of the
        summarized outcomes (e.g. a scenario's own outcomes, without the traces that
        :mod:`steppe.results.traces` appends)."""
        kept = self.samples()
        exact = self._kept_n == self._n
        out: dict[str, dict[str, Any]] = {}
        for o in self.summarized_outcomes:
            if exact:
                col = kept[:, o.index]
                if o.kind == "probability":
                    out[o.name] = summarize_probability(col)
                elif o.kind == "distribution":
                    out[o.name] = summarize_distribution(col)
                else:
                    out[o.name] = summarize_time_to_event(col, self.timeline)
            elif o.kind == "probability":
                out[o.name] = self._probability(o.index)
            elif o.kind == "distribution":
                out[o.name] = self._distribution(o.index, kept[:, o.index])
            else:
                out[o.name] = self._time_to_event(o.index)
        return out

    # -- streaming summaries (more than QUANTILE_SAMPLE replications) ----------------------

    def _probability(self, i: int) -> dict[str, Any]:
        n = self._n
        p = self._successes[i] / n
        lo, hi = wilson_interval(self._successes[i], n)
        return {
            "kind": "probability",
            "p": p,
            "se": math.sqrt(p * (1 - p) / n),
            "ci95": [lo, hi],
            "n": n,
        }

    def _distribution(self, i: int, sub: np.ndarray) -> dict[str, Any]:
        body = summarize_distribution(sub)  # quantiles from the kept sample
        mom = self._moments[i]
        n = mom.n
        sd = math.sqrt(mom.m2 / (n - 1))
        se = sd / math.sqrt(n)
        body.update(
            mean=mom.mean,
            sd=sd,
            se=se,
            ci95=[mom.mean - Z95 * se, mom.mean + Z95 * se],
            min=mom.lo,
            max=mom.hi,
            n=n,
            quantile_sample=int(sub.size),
        )
        return body

    def _time_to_event(self, i: int) -> dict[str, Any]:
        n = self._n
        counts = self._by_counts[i]
        p_by, p_by_se, p_by_ci = {}, {}, {}
        for day, count in zip(self._dates, counts.tolist(), strict=True):
            key = day.isoformat()
            p = count / n
            p_by[key], p_by_se[key] = p, math.sqrt(p * (1 - p) / n)
            p_by_ci[key] = list(wilson_interval(count, n))
        cum = np.cumsum(self._days[i])
        finite = int(cum[-1])

        def order_stat(k: int) -> str | None:
            """Date of the k-th smallest time (1-based); None when it is 'never'."""
            if k > finite:
                return None
            day = int(np.searchsorted(cum, k, side="left"))
            return (self.timeline.start + dt.timedelta(days=day)).isoformat()

        quantiles: dict[str, str | None] = {}
        intervals: dict[str, list[str | None]] = {}
        for q in QUANTILE_LEVELS:
            key = f"{q:g}"
            quantiles[key] = order_stat(order_rank(q, n))
            lo, hi = interval_ranks(n, q)
            intervals[key] = [order_stat(lo), order_stat(hi)]
        return {
            "kind": "time_to_event",
            "n": n,
            "p_by": p_by,
            "p_by_se": p_by_se,
            "p_by_ci95": p_by_ci,
            "quantiles": quantiles,
            "quantiles_ci95": intervals,
            "p_ever": finite / n,
        }
