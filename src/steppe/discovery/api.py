"""``steppe.discover``: in which worlds does an outcome happen? PRIM boxes and a CART tree.

From a run's kept replications (each with its parameter draws) or a sweep's design points,
:func:`discover` finds a box -- a few parameter ranges -- where the cases in which the outcome
holds are concentrated, and reports it as "P(outcome) inside the box, and the share of all
such cases the box holds". The box is chosen on PRIM's peeling trajectory (a trade-off of
coverage against density) by a stated rule, then pasted; CART's leaves give a second view.

Rules for choosing the box on the peeling trajectory (``Discovery.rule`` says which chose it):

* ``box=i``: the ``i``-th box of the trajectory (0 is the box of all cases);
* ``threshold=t``: the box of largest coverage whose density is at least ``t`` (if none
  reaches ``t``, the densest box, and the rule says so);
* otherwise the **knee**: coverage and density are scaled to [0, 1] over the trajectory,
  and the box farthest above the chord from the first box to the last is chosen (the
  point after which more density costs most coverage). The knee is a default, not a
  judgement: on a shallow trajectory it can pick a box of high coverage and little gain of
  density; ask for a threshold then.

The chosen box is then pasted (:func:`~steppe.discovery.prim.paste`): a limit is moved back
out where that raises the density. With ``drop_insignificant``, the limit of largest
quasi-p-value above 0.05 is then removed (put back to the data's range), the box's
statistics and quasi-p-values computed again, and so on until every limit left is
significant (EMA Workbench's ``drop_restriction``, one limit at a time).

This module imports only NumPy at its top: :mod:`steppe.discovery.data` (pandas, the
engines), :mod:`~steppe.discovery.cart` (scikit-learn) and the report (matplotlib) load when
they are used.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from steppe.discovery.prim import PrimBox, box_of, paste, peel, quasi_p
from steppe.errors import ResultError, ScenarioError

if TYPE_CHECKING:
    import pandas as pd

    from steppe.api import RunResult
    from steppe.discovery.cart import Leaf
    from steppe.discovery.data import Cases

__all__ = ["Discovery", "Limit", "default_out", "discover", "knee"]

#: Quasi-p-values above this mark a limit as not significant (EMA Workbench's display).
SIGNIFICANT = 0.05


@dataclass(frozen=True)
class Limit:
    """One restricted parameter of a box.

    Attributes
    ----------
    name
        The parameter, as the scenario names it.
    lower, upper
        The box's limits; ``None`` for a side left at the data's range (unrestricted).
    qp_lower, qp_upper
        Quasi-p-values of the two limits (``None`` for an unrestricted side).
    data_min, data_max
        The parameter's range over the cases.
    """

    name: str
    lower: float | None
    upper: float | None
    qp_lower: float | None
    qp_upper: float | None
    data_min: float
    data_max: float

    def phrase(self) -> str:
        """``"kz_growth_share > 0.52"``, ``"0.1 <= x <= 0.4"``, ``"x < 7"``."""
        if self.lower is not None and self.upper is not None:
            return f"{_num(self.lower)} <= {self.name} <= {_num(self.upper)}"
        if self.lower is not None:
            return f"{self.name} >= {_num(self.lower)}"
        return f"{self.name} <= {_num(self.upper or 0.0)}"

    @property
    def significant(self) -> bool:
        """Whether every restricted side's quasi-p-value is at most 0.05."""
        qps = [q for q in (self.qp_lower, self.qp_upper) if q is not None]
        return all(q <= SIGNIFICANT for q in qps)


def _num(v: float) -> str:
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.1f}".rstrip("0").rstrip(".")
    return f"{v:.3g}"


def _pct(p: float) -> str:
    return f"{100 * p:.0f}%"


@dataclass(frozen=True)
class Discovery:
    """The result of :func:`discover`.

    Attributes
    ----------
    scenario, outcome, origin
        The scenario, the outcome, and ``"run"`` or ``"sweep"``.
    phrase
        The condition that makes a case "of interest".
    parameters
        The input parameters (those that vary over the cases).
    n, k
        Cases, and cases of interest.
    trajectory
        PRIM's peeling trajectory (box 0 holds every case).
    significance
        Per box of the trajectory, the quasi-p-values of its restricted limits: parameter
        index to ``(lower, upper)`` (``None`` for an unrestricted side).
    chosen
        Index of the chosen box on the trajectory.
    rule
        How it was chosen, in words.
    pasted
        The boxes pasting went through from the chosen box (empty if none improved it).
    box
        The box reported: the last pasted box, or the chosen one (with limits dropped, if
        ``drop_insignificant`` was asked for).
    released
        The limits dropped as not significant, in order ("uz_trade_growth <= 0.302 (qp
        0.17)").
    limits
        Its restricted parameters, with quasi-p-values.
    leaves
        CART's leaves, densest first.
    settings
        ``peel_alpha``, ``paste_alpha``, ``mass_min``, ``threshold``, ``cart_depth``.
    info
        Per parameter: ``distribution``, ``source``, ``why`` (from the scenario).
    dropped
        Parameters left out because they do not vary over the cases.
    title
        The outcome's title in the scenario ("" if none).
    x, y
        The cases: inputs (one column per parameter of ``parameters``) and the 0/1 outcome.
    """

    scenario: str
    outcome: str
    origin: str
    phrase: str
    parameters: tuple[str, ...]
    n: int
    k: int
    trajectory: tuple[PrimBox, ...] = field(repr=False)
    significance: tuple[dict[int, tuple[float | None, ...]], ...] = field(repr=False)
    chosen: int
    rule: str
    pasted: tuple[PrimBox, ...] = field(repr=False)
    box: PrimBox = field(repr=False)
    released: tuple[str, ...]
    limits: tuple[Limit, ...]
    leaves: tuple[Leaf, ...] = field(repr=False)
    settings: dict[str, Any] = field(default_factory=dict)
    info: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    dropped: tuple[str, ...] = ()
    title: str = ""
    x: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False, compare=False)
    y: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)

    def sentence(self) -> str:
        """The box in one sentence."""
        b = self.box
        where = " and ".join(limit.phrase() for limit in self.limits) or "no restriction"
        return (
            f"{self.phrase}: in {_pct(b.density)} of the {self._cases()} inside the box "
            f"(against {_pct(self.k / max(self.n, 1))} overall), which holds "
            f"{_pct(b.coverage)} of all such {self._cases()} and {_pct(b.mass)} of all "
            f"{self._cases()}: {where}"
        )

    def _cases(self) -> str:
        return "runs" if self.origin == "run" else "design points"

    def leaf_limits(self, leaf: Leaf) -> str:
        """A CART leaf's box in words."""
        parts = []
        for j, (lo, hi) in sorted(leaf.limits.items()):
            name = self.parameters[j]
            if math.isfinite(lo) and math.isfinite(hi):
                parts.append(f"{_num(lo)} < {name} <= {_num(hi)}")
            elif math.isfinite(lo):
                parts.append(f"{name} > {_num(lo)}")
            else:
                parts.append(f"{name} <= {_num(hi)}")
        return " and ".join(parts) or "every case"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the content of ``discovery.json``)."""

        def box(
            b: PrimBox, qp: dict[int, tuple[float | None, ...]] | None = None
        ) -> dict[str, Any]:
            out = {
                "step": b.step, "coverage": b.coverage, "density": b.density, "mass": b.mass,
                "n": b.n, "k": b.k, "res_dim": b.res_dim,
                "restricted": [self.parameters[j] for j in b.restricted],
                "lower": {self.parameters[j]: float(b.lower[j]) for j in b.restricted},
                "upper": {self.parameters[j]: float(b.upper[j]) for j in b.restricted},
            }  # fmt: skip
            if qp is not None:
                out["qp"] = {self.parameters[j]: list(pair) for j, pair in qp.items()}
            return out

        return {
            "scenario": self.scenario,
            "outcome": self.outcome,
            "title": self.title,
            "origin": self.origin,
            "condition": self.phrase,
            "cases": self.n,
            "cases_of_interest": self.k,
            "base_density": self.k / max(self.n, 1),
            "parameters": list(self.parameters),
            "constant_parameters": list(self.dropped),
            "settings": self.settings,
            "rule": self.rule,
            "chosen": self.chosen,
            "sentence": self.sentence(),
            "box": {
                **box(self.box),
                "limits": [
                    {
                        **limit.__dict__,
                        "significant": limit.significant,
                        **self.info.get(limit.name, {}),
                    }
                    for limit in self.limits
                ],
            },
            "trajectory": [
                box(b, qp) for b, qp in zip(self.trajectory, self.significance, strict=True)
            ],
            "pasting": [box(b) for b in self.pasted],
            "dropped_limits": list(self.released),
            "cart": [
                {
                    "limits": self.leaf_limits(leaf),
                    "n": leaf.n,
                    "k": leaf.k,
                    "density": leaf.density,
                    "coverage": leaf.coverage,
                    "mass": leaf.mass,
                }
                for leaf in self.leaves
            ],
            "assumptions": self.info,
        }

    def write(self, out_dir: str | Path, *, report: bool = True) -> Path:
        """Write the discovery folder (``discovery.json``, ``report.html``, ``report.md``,
        ``figures/``) atomically and return its path."""
        from steppe.discovery.report import write_discovery  # matplotlib: only when asked

        return write_discovery(self, Path(out_dir), report=report)


def knee(boxes: tuple[PrimBox, ...] | list[PrimBox]) -> int:
    """The knee of a peeling trajectory: the box farthest above the chord (see above)."""
    if len(boxes) < 3:
        return len(boxes) - 1
    c = np.array([b.coverage for b in boxes])
    d = np.array([b.density for b in boxes])
    cs = (c - c.min()) / max(float(np.ptp(c)), 1e-300)
    ds = (d - d.min()) / max(float(np.ptp(d)), 1e-300)
    # signed distance from the chord (first -> last); positive above it (towards more
    # density and coverage at once); the ends are 0
    dx, dy = cs[-1] - cs[0], ds[-1] - ds[0]
    dist = (dx * (ds - ds[0]) - dy * (cs - cs[0])) / math.hypot(dx, dy)
    return int(np.argmax(-dist if dx < 0 else dist))


def _choose(boxes: list[PrimBox], threshold: float | None, index: int | None) -> tuple[int, str]:
    if index is not None:
        if not 0 <= index < len(boxes):
            raise ScenarioError(
                f"box {index} is not on the peeling trajectory: it has boxes 0 to {len(boxes) - 1}"
            )
        return index, f"box {index} of the peeling trajectory, as asked"
    if threshold is not None:
        ok = [i for i, b in enumerate(boxes) if b.density >= threshold]
        if ok:
            i = max(ok, key=lambda i: (boxes[i].coverage, -i))
            return i, (
                f"density threshold {threshold:g}: the box of largest coverage whose density "
                f"is at least {threshold:g}"
            )
        i = len(boxes) - 1
        return i, (
            f"density threshold {threshold:g}: no box reaches it (the densest has "
            f"{boxes[i].density:.3f}); the densest box"
        )
    i = knee(boxes)
    return i, (
        "the knee of the peeling trajectory (the box farthest above the chord from the first "
        "box to the last, coverage and density scaled to [0, 1]); ask for a density "
        "threshold if its density is too low"
    )


def discover(
    source: RunResult | pd.DataFrame | str | Path,
    outcome: str,
    *,
    where: str | None = None,
    threshold: float | None = None,
    box: int | None = None,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
    cart_depth: int = 3,
    drop_insignificant: bool = False,
    scenario: str | Path | None = None,
) -> Discovery:
    """Find parameter ranges in which ``outcome`` is concentrated (scenario discovery).

    Parameters
    ----------
    source
        A :class:`~steppe.RunResult`, a result folder, a sweep folder, or the table of
        :func:`steppe.sweep` (see :mod:`steppe.discovery.data` for where the cases come
        from).
    outcome
        The outcome's name.
    where
        Which values count, as a condition on ``value`` (``"value >= 3000"``); needed for
        value outcomes and sweeps. Default: a probability outcome holds; a time-to-event
        outcome happens by the horizon.
    threshold
        Choose the box of largest coverage with at least this density (see the module
        docstring for the rules); default: the knee.
    box
        Choose this box of the peeling trajectory instead.
    peel_alpha, paste_alpha, mass_min
        PRIM's settings (EMA Workbench's defaults).
    cart_depth
        Levels of the CART tree.
    drop_insignificant
        Remove, one at a time, the limits whose quasi-p-value is above 0.05 (see the module
        docstring).
    scenario
        The scenario file of a result folder whose manifest's path does not reach it.

    Returns
    -------
    Discovery

    Raises
    ------
    ResultError
        For an unknown outcome, a source that cannot be read, a scenario file changed since
        the run, or no case (or every case) of interest.
    ScenarioError
        For a setting out of range (a box not on the trajectory, a threshold outside (0, 1]).
    ExpressionError
        For a ``where`` that is not a valid condition, or a missing one.

    References
    ----------
    See :mod:`steppe.discovery.prim` (Friedman and Fisher 1999, Bryant and Lempert 2010,
    EMA Workbench) and :mod:`steppe.discovery.cart`.
    """
    from steppe.discovery.cart import cart_leaves
    from steppe.discovery.data import load_cases

    for name, v in (("peel_alpha", peel_alpha), ("paste_alpha", paste_alpha),
                    ("mass_min", mass_min)):  # fmt: skip
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 0.5:
            raise ScenarioError(f"{name} must be a number in (0, 0.5), found {v!r}")
    if threshold is not None and not 0 < threshold <= 1:
        raise ScenarioError(f"threshold must be a density in (0, 1], found {threshold!r}")
    if isinstance(cart_depth, bool) or not isinstance(cart_depth, int) or cart_depth < 1:
        raise ScenarioError(f"cart_depth must be a whole number >= 1, found {cart_depth!r}")
    cases: Cases = load_cases(source, outcome, where=where, scenario=scenario)
    x = cases.x.to_numpy(dtype=float)
    y = cases.y.astype(float)
    n, k = len(y), int(y.sum())
    if x.shape[1] == 0:
        raise ResultError(f"{cases.scenario}: no parameter varies over the cases")
    if k in (0, n):
        raise ResultError(
            f"{cases.scenario}: the condition '{cases.phrase}' holds in "
            f"{'none' if k == 0 else 'all'} of the {n:,} cases: there is nothing to discover"
        )
    boxes = peel(x, y, peel_alpha=peel_alpha, mass_min=mass_min)
    chosen, rule = _choose(boxes, threshold, box)
    pasted = paste(x, y, boxes[chosen], paste_alpha=paste_alpha, mass_min=mass_min)
    final = pasted[-1] if pasted else boxes[chosen]
    names = tuple(str(c) for c in cases.x.columns)
    qp = quasi_p(x, y, final)
    released: list[str] = []
    while drop_insignificant:
        sides = [(q, j, s) for j, pair in qp.items() for s, q in enumerate(pair) if q is not None]
        q, j, side = max(sides, default=(0.0, 0, 0))
        if q <= SIGNIFICANT:
            break
        low, high = final.lower.copy(), final.upper.copy()
        if side == 0:
            text, low[j] = f"{names[j]} >= {_num(low[j])}", x[:, j].min()
        else:
            text, high[j] = f"{names[j]} <= {_num(high[j])}", x[:, j].max()
        released.append(f"{text} (qp {q:.2g})")
        final = box_of(x, y, low, high, "drop")
        qp = quasi_p(x, y, final)
    if released:
        rule += "; then limits with a quasi-p-value above 0.05 dropped: " + ", ".join(released)
    limits = []
    for j in final.restricted:
        lo = float(final.lower[j]) if final.lower[j] != x[:, j].min() else None
        hi = float(final.upper[j]) if final.upper[j] != x[:, j].max() else None
        limits.append(
            Limit(names[j], lo, hi, qp[j][0], qp[j][1], float(x[:, j].min()),
                  float(x[:, j].max()))
        )  # fmt: skip
    leaves = cart_leaves(x, y, max_depth=cart_depth, mass_min=mass_min)
    info = {
        name: {"distribution": i.distribution, "source": i.source, "why": i.why}
        for name, i in cases.params.items()
        if name in names
    }
    settings = {
        "peel_alpha": peel_alpha, "paste_alpha": paste_alpha, "mass_min": mass_min,
        "threshold": threshold, "box": box, "cart_depth": cart_depth, "where": where,
        "drop_insignificant": drop_insignificant,
    }  # fmt: skip
    return Discovery(
        scenario=cases.scenario, outcome=outcome, origin=cases.origin, phrase=cases.phrase,
        parameters=names, n=n, k=k, trajectory=tuple(boxes),
        significance=tuple(quasi_p(x, y, b) for b in boxes), chosen=chosen, rule=rule,
        pasted=tuple(pasted), box=final, released=tuple(released), limits=tuple(limits),
        leaves=tuple(leaves),
        settings=settings, info=info, dropped=cases.dropped, title=cases.title, x=x, y=y,
    )  # fmt: skip


def default_out(d: Discovery) -> Path:
    """``results/discovery-<scenario>-<outcome>``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{d.scenario}-{d.outcome}")
    return Path("results") / f"discovery-{safe}"
