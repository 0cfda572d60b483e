"""A compiled scenario: names resolved, expressions checked, times in model years.

:class:`Scenario` is built from a validated :class:`~steppe.model.schema.ScenarioSpec`. It
knows nothing of files: the loader builds specs from YAML and attaches file positions to the
errors raised here, which carry YAML paths.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from steppe.errors import ExpressionError, PathPart, ScenarioError, format_path
from steppe.model.base import suggest
from steppe.model.correlations import Correlation, build_correlation
from steppe.model.deps import reads_clock
from steppe.model.distributions import DistributionBase
from steppe.model.evidence import build_evidence
from steppe.model.expr import (
    Compiled,
    Expression,
    Hoist,
    Symbol,
    compile_expression,
    parse_expression,
)
from steppe.model.observations import Observation
from steppe.model.precision import PrecisionRule, build_precision
from steppe.model.schema import (
    STEPS,
    CombineOutcome,
    DerivedParam,
    FixedParam,
    ProbabilityOutcome,
    ScenarioSpec,
    TimeToOutcome,
    TotalOutcome,
    ValueOutcome,
)
from steppe.model.timeline import Timeline

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "DurationModel",
    "EventModel",
    "OutcomeModel",
    "ParamModel",
    "ProjectModel",
    "Scenario",
    "SeriesModel",
]

OutcomeKind = Literal["probability", "distribution", "time_to_event"]
Path = tuple[PathPart, ...]


@dataclass(frozen=True)
class ParamModel:
    """One assumption: drawn from ``dist``, fixed at ``value``, or derived by ``expr``."""

    name: str
    index: int
    dist: DistributionBase | None = None
    value: float | None = None
    expr: Expression | None = None
    source: str | None = None
    why: str | None = None

    def describe(self) -> str:
        """A one-line account of the assumption, for reports."""
        if self.dist is not None:
            d = self.dist.model_dump(exclude_none=True, exclude={"source", "why"}, by_alias=True)
            kind = d.pop("dist")
            return f"{kind}(" + ", ".join(f"{k}={v}" for k, v in d.items()) + ")"
        if self.expr is not None:
            return f"= {self.expr.source}"
        return f"{self.value:g}"


@dataclass(frozen=True)
class DurationModel:
    """A duration in years: a formula over parameters, or a distribution drawn each time."""

    expr: Expression | None = None
    dist: DistributionBase | None = None


@dataclass(frozen=True)
class EventModel:
    name: str
    index: int
    hazard: Expression | None
    recurring: bool
    duration: DurationModel | None
    history_count: int
    title: str | None = None
    actor: str | None = None


@dataclass(frozen=True)
class ProjectModel:
    name: str
    index: int
    stage_names: tuple[str, ...]
    durations: tuple[DurationModel, ...]
    completed_stages: int
    pace: Expression
    cancel_hazard: Expression
    title: str | None = None
    #: The start condition (``pace`` and ``cancel_hazard`` above are already gated by it).
    starts_when: Expression | None = None


@dataclass(frozen=True)
class JumpModel:
    event_index: int
    multiply: bool
    amount: Expression


@dataclass(frozen=True)
class SeriesModel:
    name: str
    index: int
    initial: Expression
    process: Literal["log", "linear"]
    drift: Expression
    volatility: Expression
    floor: float | None
    jumps: tuple[JumpModel, ...]
    unit: str = ""
    title: str | None = None
    #: Mean reversion: the level the series reverts to and the half-life (years), or None.
    reverts_to: Expression | None = None
    half_life: Expression | None = None


@dataclass(frozen=True)
class OutcomeModel:
    """A question. ``t`` is the model time of its ``by``/``at`` date, or of the end of a
    total's period (None for time_to).

    A ``total`` outcome's ``expr`` is the name of its series; ``series`` is that series'
    index, ``period`` its ``over:`` dates and ``lo`` the model time of the first (``t`` is
    that of the last, ``date`` the last). They are None for the other forms.
    """

    name: str
    index: int
    kind: OutcomeKind
    form: Literal["probability", "value", "time_to", "combine", "total"]
    expr: Expression
    t: float | None
    date: dt.date | None
    title: str | None = None
    unit: str | None = None
    series: int | None = None
    period: tuple[dt.date, dt.date] | None = None
    lo: float | None = None


@dataclass
class CompiledModel:
    """Every expression of a scenario compiled in one mode (``scalar`` or ``vector``)."""

    derived: list[tuple[int, Compiled]]
    hazards: list[Compiled | None]
    event_durations: dict[int, Compiled]
    stage_durations: dict[tuple[int, int], Compiled]
    pace: list[Compiled]
    cancel: list[Compiled]
    initial: list[Compiled]
    drift: list[Compiled]
    volatility: list[Compiled]
    #: Mean-reverting series: the level and the half-life (``None`` for other series).
    level: list[Compiled | None]
    half_life: list[Compiled | None]
    jumps: list[list[tuple[int, bool, Compiled]]]  # by event: (series, multiply, amount)
    outcomes: list[Compiled]
    #: Whether each hazard / cancellation hazard / pace / outcome reads a series or ``t``,
    #: i.e. whether its value can change at a tick. Engines may skip re-evaluating the
    #: others at ticks: their values cannot have changed.
    hazard_ticks: list[bool]
    cancel_ticks: list[bool]
    pace_ticks: list[bool]
    outcome_ticks: list[bool]
    #: Parameter-only sub-expressions (see :class:`~steppe.model.expr.Hoist`): engines fill
    #: the namespace field ``h`` with their values, once per replication.
    hoisted: list[Any]


@dataclass(frozen=True)
class Scenario:
    """A validated, compiled scenario. Build it with :meth:`from_spec` (or ``steppe.load``)."""

    spec: ScenarioSpec
    timeline: Timeline
    step: float
    params: tuple[ParamModel, ...]
    param_order: tuple[int, ...]
    events: tuple[EventModel, ...]
    projects: tuple[ProjectModel, ...]
    series: tuple[SeriesModel, ...]
    outcomes: tuple[OutcomeModel, ...]
    outcome_order: tuple[int, ...]
    symbols: Mapping[str, Symbol] = field(repr=False)
    param_symbols: Mapping[str, Symbol] = field(repr=False)
    outcome_symbols: Mapping[str, Symbol] = field(repr=False)
    file: str | None = None
    sha256: str | None = None
    #: Line and column of values in the scenario file, by YAML path (set by the loader).
    positions: Mapping[Path, tuple[int, int]] = field(default_factory=dict, repr=False)
    #: What was observed up to ``spec.as_of`` (``evidence:``), sorted by the day each item
    #: ends; empty for a forecast from ``start``.
    evidence: tuple[Observation, ...] = ()
    #: ``FILE:LINE:COL`` of each evidence item, by item index (set by the loader): the
    #: scenario file, a file it extends, or an evidence file.
    evidence_places: Mapping[int, str] = field(default_factory=dict, repr=False)
    #: The rank correlations of its parameters (``correlations:``), if any.
    correlation: Correlation | None = None
    #: When to stop a run before its replications (``precision:``), if at all.
    precision: PrecisionRule | None = None
    #: Parameters fixed by :meth:`with_overrides`: they may stay in ``correlations:``.
    overridden: frozenset[str] = frozenset()
    _compiled: dict[str, CompiledModel] = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @functools.cached_property
    def ticks(self) -> np.ndarray:
        """The times of the series' steps in model years: ``step, 2 step, ...`` up to the
        horizon. Computed when an engine first asks (NumPy is not needed to validate)."""
        import numpy as np

        n_ticks = math.floor(self.timeline.t_horizon / self.step + 1e-9)
        return np.arange(1, n_ticks + 1, dtype=np.float64) * self.step

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Compiled closures do not pickle: rebuild from the spec in the receiving process.
        # The evidence is rebuilt from the spec too; it travels along for a scenario whose
        # evidence was set in Python (``dataclasses.replace``), which it then keeps.
        places = dict(self.evidence_places)
        return (
            _rebuild,
            (
                self.spec,
                self.file,
                self.sha256,
                dict(self.positions),
                self.evidence,
                places,
                self.overridden,
            ),
        )

    def param(self, name: str) -> ParamModel:
        """The parameter called ``name`` (``KeyError`` if there is none)."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def compiled(self, mode: Literal["scalar", "vector"]) -> CompiledModel:
        """All expressions compiled for ``mode`` (cached)."""
        if mode not in self._compiled:
            self._compiled[mode] = _compile_all(self, mode)
        return self._compiled[mode]

    @classmethod
    def from_spec(
        cls,
        spec: ScenarioSpec,
        *,
        file: str | None = None,
        sha256: str | None = None,
        positions: Mapping[Path, tuple[int, int]] | None = None,
        overridden: frozenset[str] = frozenset(),
    ) -> Scenario:
        """Resolve names and compile ``spec``; raises :class:`ScenarioError` with a path.
        ``overridden``: parameters fixed by :meth:`with_overrides`."""
        return _build(
            spec, file=file, sha256=sha256, positions=positions or {}, overridden=overridden
        )

    def locate(self, path: Path) -> str:
        """``FILE:LINE:COL: error: YAML.PATH`` for messages about the value at ``path``.

        An evidence item (``("evidence", i, ...)``) is located where the loader found it,
        which may be an evidence file or a file the scenario extends.
        """
        item = path[1] if len(path) >= 2 and path[0] == "evidence" else None
        if isinstance(item, int) and item in self.evidence_places:
            return f"{self.evidence_places[item]}: error: {format_path(path)}"
        where = self.file or "<scenario>"
        p = tuple(path)
        while p and p not in self.positions:
            p = p[:-1]
        if p in self.positions:
            line, col = self.positions[p]
            where += f":{line}:{col}"
        return f"{where}: error: {format_path(path)}"

    def with_overrides(self, overrides: Mapping[str, float]) -> Scenario:
        """A copy in which each named parameter is fixed at the given value.

        A correlated parameter (``correlations:``) that is fixed so keeps its place in the
        correlations: the other parameters keep exactly the draws they had, as when a
        sweep fixes it (:func:`steppe.engines.common.draw_parameters`).

        Raises
        ------
        ScenarioError
            If a name is not a parameter (with a did-you-mean) or a value is not a number.
        """
        if not overrides:
            return self
        params = dict(self.spec.parameters)
        for name, value in overrides.items():
            if name not in params:
                raise ScenarioError(
                    f"cannot set {name!r}: no such parameter{suggest(name, list(params))}",
                    path=("parameters", name),
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ScenarioError(
                    f"cannot set {name!r}: expected a number, found {value!r}",
                    path=("parameters", name),
                )
            if not math.isfinite(value):
                raise ScenarioError(
                    f"cannot set {name!r}: expected a finite number, found {value!r}",
                    path=("parameters", name),
                )
            params[name] = FixedParam(value=float(value), why="set by override")
        spec = self.spec.model_copy(update={"parameters": params})
        return _build(
            spec, file=self.file, sha256=self.sha256, positions=self.positions,
            overridden=self.overridden | frozenset(overrides),
        )  # fmt: skip


# ----------------------------------------------------------------------------------------


def _parse(source: str | float, path: Path) -> Expression:
    return parse_expression(source, path=path)


#: State functions that, once true, stay true within a replication.
_LATCHING_CALLS = frozenset({"occurred", "completed", "cancelled", "any_occurred", "all_occurred"})
#: State functions that never decrease (compared with ``>=`` or ``>`` a constant).
_GROWING_CALLS = frozenset({"count", "stage", "n_occurred"})


def _check_latching(tree: ast.expr, owner: Mapping[str, str], path: Path) -> None:
    """Refuse a start condition that could become false again once true.

    Allowed: ``occurred``, ``completed``, ``cancelled``, ``any_occurred``, ``all_occurred``;
    ``count``, ``stage`` or ``n_occurred`` compared with ``>=`` or ``>`` to a number, a
    parameter or an actor attribute; ``and`` / ``or`` of these; ``True``.
    """

    def constant(node: ast.expr) -> bool:
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.Attribute):  # ACTOR.attribute
            return True
        return isinstance(node, ast.Name) and owner.get(node.id) == "parameters"

    def ok(node: ast.expr) -> bool:
        if isinstance(node, ast.BoolOp):
            return all(ok(v) for v in node.values)
        if isinstance(node, ast.Constant):
            return bool(node.value)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return node.func.id in _LATCHING_CALLS
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right, op = node.left, node.comparators[0], node.ops[0]
            if isinstance(op, ast.Lt | ast.LtE):  # k <= count(e) is count(e) >= k
                left, right, op = right, left, ast.GtE()
            return (
                isinstance(op, ast.Gt | ast.GtE)
                and isinstance(left, ast.Call)
                and isinstance(left.func, ast.Name)
                and left.func.id in _GROWING_CALLS
                and constant(right)
            )
        return False

    if not ok(tree):
        raise ScenarioError(
            "starts_when must stay true once it holds (the project starts once): use "
            "occurred(e), completed(p), cancelled(p), any_occurred(...), all_occurred(...), "
            "or count(e) / stage(p) / n_occurred(...) >= a number or parameter, joined by "
            "'and' / 'or'; a condition on a series, t, active() or 'not' can become false "
            "again (to start a project when a series first crosses a level, let an event "
            "with a high hazard mark the crossing)",
            path=path,
        )


def _gate(expr: Expression, start: Expression) -> Expression:
    """``expr`` while ``start`` holds, 0 before (both already parsed and checked)."""
    return _parse(f"({expr.source}) if ({start.source}) else 0", expr.path)


def _check_date(day: dt.date, tl: Timeline, path: Path) -> float:
    if not tl.start <= day <= tl.horizon:
        raise ScenarioError(
            f"date {day.isoformat()} is outside the scenario window "
            f"[{tl.start.isoformat()}, {tl.horizon.isoformat()}]",
            path=path,
        )
    return tl.years(day)


def _toposort(deps: dict[str, set[str]], kind: str, root: str) -> list[str]:
    """Order names so that each comes after what it reads; report a cycle if any."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, stack: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*stack[stack.index(name) :], name]
            raise ScenarioError(
                f"cycle in {kind} formulas: {' -> '.join(cycle)}", path=(root, name)
            )
        state[name] = 1
        for dep in sorted(deps[name]):
            visit(dep, [*stack, name])
        state[name] = 2
        order.append(name)

    for name in deps:
        visit(name, [])
    return order


def _build(
    spec: ScenarioSpec,
    *,
    file: str | None,
    sha256: str | None,
    positions: Mapping[Path, tuple[int, int]],
    overridden: frozenset[str] = frozenset(),
) -> Scenario:
    tl = Timeline(spec.start, spec.horizon)
    step = STEPS[spec.step]

    # One namespace for actors, parameters, events, projects and series.
    owner: dict[str, str] = {}
    for section in ("actors", "parameters", "events", "projects", "series"):
        for name in getattr(spec, section):
            if name in owner:
                raise ScenarioError(
                    f"name {name!r} is already used in {owner[name]}; names must be unique "
                    "across actors, parameters, events, projects and series",
                    path=(section, name),
                )
            owner[name] = section

    consts: dict[str, Symbol] = {}
    for actor, a in spec.actors.items():
        for attr, v in a.attributes.items():
            consts[f"{actor}.{attr}"] = Symbol("const", value=float(v))

    params: list[ParamModel] = []
    for i, (name, p) in enumerate(spec.parameters.items()):
        path = ("parameters", name)
        if isinstance(p, float | int):
            params.append(ParamModel(name, i, value=float(p)))
        elif isinstance(p, FixedParam):
            params.append(ParamModel(name, i, value=p.value, source=p.source, why=p.why))
        elif isinstance(p, DerivedParam):
            expr = _parse(p.expr, (*path, "expr"))
            params.append(ParamModel(name, i, expr=expr, source=p.source, why=p.why))
        else:
            params.append(ParamModel(name, i, dist=p, source=p.source, why=p.why))
    param_symbols: dict[str, Symbol] = {
        **consts,
        **{p.name: Symbol("param", p.index) for p in params},
    }
    deps = {p.name: (set(p.expr.names) & set(spec.parameters)) if p.expr else set() for p in params}
    order = _toposort(deps, "parameter", "parameters")
    param_order = tuple(list(spec.parameters).index(n) for n in order)

    events: list[EventModel] = []
    for i, (name, e) in enumerate(spec.events.items()):
        path = ("events", name)
        if e.actor is not None and e.actor not in spec.actors:
            raise ScenarioError(
                f"unknown actor {e.actor!r}{suggest(e.actor, list(spec.actors))}",
                path=(*path, "actor"),
            )
        for j, day in enumerate(e.history):
            if day > spec.start:
                raise ScenarioError(
                    f"history date {day.isoformat()} is after the start "
                    f"({spec.start.isoformat()}); history lists occurrences before the start",
                    path=(*path, "history", j),
                )
        hazard = _parse(e.hazard, (*path, "hazard")) if e.hazard is not None else None
        duration = _duration(e.duration, (*path, "duration"))
        events.append(
            EventModel(name, i, hazard, e.recurring, duration, len(e.history), e.title, e.actor)
        )

    projects: list[ProjectModel] = []
    for i, (name, pr) in enumerate(spec.projects.items()):
        path = ("projects", name)
        for j, actor in enumerate(pr.actors):
            if actor not in spec.actors:
                raise ScenarioError(
                    f"unknown actor {actor!r}{suggest(actor, list(spec.actors))}",
                    path=(*path, "actors", j),
                )
        durations = tuple(
            _duration(s.duration, (*path, "stages", j, "duration")) for j, s in enumerate(pr.stages)
        )
        pace = _parse(pr.pace, (*path, "pace"))
        cancel = _parse(pr.cancel_hazard, (*path, "cancel_hazard"))
        start = None
        if pr.starts_when is not None:
            start = _parse(pr.starts_when, (*path, "starts_when"))
            _check_latching(start.tree, owner, (*path, "starts_when"))
            # gated: the same expressions, 0 until the condition holds (it then stays true)
            pace = _gate(pace, start)
            cancel = _gate(cancel, start)
        projects.append(
            ProjectModel(
                name,
                i,
                tuple(s.name for s in pr.stages),
                durations,  # type: ignore[arg-type]
                pr.completed_stages,
                pace,
                cancel,
                pr.title,
                start,
            )
        )

    event_index = {e.name: e.index for e in events}
    series: list[SeriesModel] = []
    for i, (name, s) in enumerate(spec.series.items()):
        path = ("series", name)
        jumps = []
        for j, jump in enumerate(s.jumps):
            if jump.event not in event_index:
                raise ScenarioError(
                    f"unknown event {jump.event!r}{suggest(jump.event, list(event_index))}",
                    path=(*path, "jumps", j, "event"),
                )
            multiply = jump.factor is not None
            amount = jump.factor if multiply else jump.add
            assert amount is not None
            key = "factor" if multiply else "add"
            expr = _parse(amount, (*path, "jumps", j, key))
            jumps.append(JumpModel(event_index[jump.event], multiply, expr))
        for j, jump in enumerate(s.jumps):
            if jump.add is not None and s.process == "log":
                raise ScenarioError(
                    "an 'add' jump could make a log series zero or negative; "
                    "use 'factor' for a log series (or process: linear)",
                    path=(*path, "jumps", j, "add"),
                )
        if s.floor is not None and s.process == "log":
            raise ScenarioError(
                "floor applies to linear series only (a log series stays positive)",
                path=(*path, "floor"),
            )
        series.append(
            SeriesModel(
                name,
                i,
                _parse(s.initial, (*path, "initial")),
                s.process,
                _parse(s.drift, (*path, "drift")),
                _parse(s.volatility, (*path, "volatility")),
                s.floor,
                tuple(jumps),
                s.unit,
                s.title,
                None if s.reverts_to is None else _parse(s.reverts_to, (*path, "reverts_to")),
                None if s.half_life is None else _parse(s.half_life, (*path, "half_life")),
            )
        )

    symbols: dict[str, Symbol] = {
        **param_symbols,
        "t": Symbol("time"),
        **{s.name: Symbol("series", s.index) for s in series},
        **{e.name: Symbol("event", e.index) for e in events},
        **{p.name: Symbol("project", p.index) for p in projects},
    }

    outcomes: list[OutcomeModel] = []
    for i, (name, o) in enumerate(spec.outcomes.items()):
        form, kind, date_key = _OUTCOME_FORMS[type(o)]
        path = ("outcomes", name)
        if isinstance(o, TotalOutcome):
            outcomes.append(_total(name, i, o, spec, tl, series))
            continue
        when: dt.date | None = None
        t: float | None = None
        if date_key is not None:
            when = getattr(o, date_key) or spec.horizon
            t = _check_date(when, tl, (*path, date_key))
        expr = _parse(getattr(o, form), (*path, form))
        outcomes.append(OutcomeModel(name, i, kind, form, expr, t, when, o.title, o.unit))
    outcome_symbols = {o.name: Symbol("outcome", o.index) for o in outcomes}
    odeps = {
        o.name: (set(o.expr.names) & set(outcome_symbols)) if o.form == "combine" else set()
        for o in outcomes
    }
    oorder = _toposort(odeps, "outcome", "outcomes")
    outcome_order = tuple(list(spec.outcomes).index(n) for n in oorder)
    evidence = build_evidence(spec)
    correlation = build_correlation(spec.correlations, params, overridden)
    precision = build_precision(spec.precision, outcomes)

    scenario = Scenario(
        spec=spec,
        timeline=tl,
        step=step,
        params=tuple(params),
        param_order=param_order,
        events=tuple(events),
        projects=tuple(projects),
        series=tuple(series),
        outcomes=tuple(outcomes),
        outcome_order=outcome_order,
        symbols=symbols,
        param_symbols=param_symbols,
        outcome_symbols=outcome_symbols,
        file=file,
        sha256=sha256,
        positions=positions,
        evidence=evidence,
        correlation=correlation,
        precision=precision,
        overridden=overridden,
    )
    scenario.compiled("scalar")  # binds every name now, so errors surface at load time
    _check_signposts(spec, tl, symbols)
    return scenario


def _check_signposts(spec: ScenarioSpec, tl: Timeline, symbols: Mapping[str, Symbol]) -> None:
    """Check the declared signposts as outcomes ``probability: ... by: ...`` are checked;
    they run as hidden outcomes (:func:`steppe.results.indicators.plan_indicators`)."""
    for name, sp in spec.signposts.items():
        path = ("signposts", name)
        _check_date(sp.by, tl, (*path, "by"))
        expr = _parse(sp.probability, (*path, "probability"))
        try:
            compile_expression(expr, symbols, mode="scalar", context=f"signpost {name!r}")
        except ExpressionError as exc:
            raise ExpressionError(exc.message, path=expr.path) from None


#: Outcome spec class -> (form: also the key holding its expression, kind, date key).
_OUTCOME_FORMS: dict[type, tuple[Any, OutcomeKind, str | None]] = {
    ProbabilityOutcome: ("probability", "probability", "by"),
    ValueOutcome: ("value", "distribution", "at"),
    TimeToOutcome: ("time_to", "time_to_event", None),
    CombineOutcome: ("combine", "probability", "by"),
    TotalOutcome: ("total", "distribution", "over"),
}


def _total(
    name: str,
    index: int,
    o: TotalOutcome,
    spec: ScenarioSpec,
    tl: Timeline,
    series: list[SeriesModel],
) -> OutcomeModel:
    """A ``total`` outcome: its series must be a rate, its period within the window and at
    least a day long (the checks of evidence's ``total:``, ``steppe.model.evidence``)."""
    path: Path = ("outcomes", name)
    known = {s.name: s.index for s in series}
    if o.total not in known:
        raise ScenarioError(
            f"unknown series {o.total!r}{suggest(o.total, list(known))}", path=(*path, "total")
        )
    if spec.series[o.total].kind != "rate":
        raise ScenarioError(
            f"a total is asked only of a series that is an annual rate: declare kind: rate "
            f"on series.{o.total} (or ask for its level with value:)",
            path=(*path, "total"),
        )
    first, last = o.over
    lo = _check_date(first, tl, (*path, "over", 0))
    hi = _check_date(last, tl, (*path, "over", 1))
    if first > last:
        raise ScenarioError(
            f"the range [{first}, {last}] is reversed: give [first day, last day]",
            path=(*path, "over"),
        )
    if first == last:
        raise ScenarioError(
            f"a total needs a period of at least one day, found [{first}, {last}]",
            path=(*path, "over"),
        )
    expr = _parse(o.total, (*path, "total"))
    return OutcomeModel(
        name, index, "distribution", "total", expr, hi, last, o.title, o.unit,
        series=known[o.total], period=(first, last), lo=lo,
    )  # fmt: skip


def _duration(value: Any, path: Path) -> DurationModel | None:
    if value is None:
        return None
    if isinstance(value, DistributionBase):
        return DurationModel(dist=value)
    return DurationModel(expr=_parse(value, path))


def _compile_all(sc: Scenario, mode: Literal["scalar", "vector"]) -> CompiledModel:
    hoist = Hoist()

    def comp(expr: Expression, symbols: Mapping[str, Symbol], ctx: str) -> Compiled:
        # Expressions over the state share one table of parameter-only sub-expressions.
        table = hoist if symbols is sc.symbols else None
        try:
            return compile_expression(expr, symbols, mode=mode, context=ctx, hoist=table)
        except ExpressionError as exc:
            raise ExpressionError(exc.message, path=expr.path) from None

    ps, ss = sc.param_symbols, sc.symbols
    derived = [
        (p.index, comp(p.expr, ps, "a parameter formula (parameters and actor attributes only)"))
        for p in (sc.params[i] for i in sc.param_order)
        if p.expr is not None
    ]
    event_durations: dict[int, Compiled] = {}
    for e in sc.events:
        if e.duration is not None and e.duration.expr is not None:
            event_durations[e.index] = comp(e.duration.expr, ps, "a duration")
    stage_durations: dict[tuple[int, int], Compiled] = {}
    for pr in sc.projects:
        for j, d in enumerate(pr.durations):
            if d.expr is not None:
                stage_durations[(pr.index, j)] = comp(d.expr, ps, "a stage duration")
    jumps: list[list[tuple[int, bool, Compiled]]] = [[] for _ in sc.events]
    for s in sc.series:
        for jm in s.jumps:
            jumps[jm.event_index].append((s.index, jm.multiply, comp(jm.amount, ss, "a jump")))
    for pr in sc.projects:  # checked alone first, so that its errors point at it
        if pr.starts_when is not None:
            comp(pr.starts_when, ss, "a start condition")
    outcomes = [
        comp(o.expr, sc.outcome_symbols if o.form == "combine" else ss, f"outcome {o.name!r}")
        for o in sc.outcomes
    ]

    def ticking(expr: Expression | None) -> bool:
        return expr is not None and reads_clock(expr, ss)

    compiled = CompiledModel(
        hazard_ticks=[ticking(e.hazard) for e in sc.events],
        cancel_ticks=[ticking(p.cancel_hazard) for p in sc.projects],
        pace_ticks=[ticking(p.pace) for p in sc.projects],
        outcome_ticks=[ticking(o.expr) for o in sc.outcomes],
        derived=derived,
        hazards=[comp(e.hazard, ss, "a hazard") if e.hazard else None for e in sc.events],
        event_durations=event_durations,
        stage_durations=stage_durations,
        pace=[comp(p.pace, ss, "a pace") for p in sc.projects],
        cancel=[comp(p.cancel_hazard, ss, "a cancellation hazard") for p in sc.projects],
        initial=[comp(s.initial, ps, "an initial value (parameters only)") for s in sc.series],
        drift=[comp(s.drift, ss, "a drift") for s in sc.series],
        volatility=[comp(s.volatility, ss, "a volatility") for s in sc.series],
        level=[
            None if s.reverts_to is None else comp(s.reverts_to, ss, "a level to revert to")
            for s in sc.series
        ],
        half_life=[
            None if s.half_life is None else comp(s.half_life, ss, "a half-life") for s in sc.series
        ],
        jumps=jumps,
        outcomes=outcomes,
        hoisted=[],
    )
    compiled.hoisted = hoist.evaluators(mode)
    return compiled


def _rebuild(
    spec: ScenarioSpec,
    file: str | None,
    sha256: str | None,
    positions: Mapping[Path, tuple[int, int]],
    evidence: tuple[Observation, ...] | None = None,
    evidence_places: Mapping[int, str] | None = None,
    overridden: frozenset[str] = frozenset(),
) -> Scenario:
    sc = Scenario.from_spec(
        spec, file=file, sha256=sha256, positions=positions, overridden=overridden
    )
    if evidence is not None and evidence != sc.evidence:
        sc = replace(sc, evidence=evidence, _compiled={})
    if evidence_places:
        sc = replace(sc, evidence_places=evidence_places, _compiled=sc._compiled)
    return sc
