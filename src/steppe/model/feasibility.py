"""Evidence the model gives probability zero, found without simulating.

A run conditioned on evidence that cannot happen under the model would end with every
replication at weight 0 (``docs/engine.md`` section 10). The cases that can be traced to
the scenario statically are refused when the scenario is built, each with the reason:

* an event observed to occur whose hazard is the constant 0, or that has no hazard (only a
  history);
* a project stage observed to have begun before the durations of the stages before it
  allow: the sum of the smallest durations (:func:`least`: constants, distributions,
  parameters and formulas over them), divided by the largest pace (:func:`most`: the pace
  is a formula over parameters such as ``shock_pace if active(shock) else 1``, bounded
  branch by branch), when that pace is finite and above 0; or observed not to have begun
  although it had begun at the start;
* a series observed below what it can be: ``at_most`` below a linear series' ``floor``
  (for a total, the floor times the period), or not above 0 for a log series.

The bounds are conservative: a formula they cannot bound (a series, the time ``t``, a
state function outside the test of ``a if c else b``, a division ...) gives no bound, and
nothing is refused on its account. A bound that is too tight would refuse possible
evidence, which must never happen; one that is too loose only leaves the impossibility to
the run, which reports an evidence no replication survives (as it does for anything not
traced here, such as a hazard that is 0 only for some parameter values).
"""

from __future__ import annotations

import ast
import datetime as dt
import math
from dataclasses import dataclass

from steppe.errors import PathPart, ScenarioError
from steppe.model.distributions import Choice, DistributionBase
from steppe.model.evidence_spec import SeriesAtSpec, SeriesTotalSpec
from steppe.model.schema import STEPS, DerivedParam, FixedParam, ProjectSpec, ScenarioSpec
from steppe.model.timeline import DAYS_PER_YEAR, Timeline

__all__ = [
    "Earliest",
    "cannot_occur",
    "check_event_can_occur",
    "check_series_bounds",
    "check_stage",
    "dist_max",
    "dist_min",
    "earliest_start",
    "first_day",
    "latest_start",
    "least",
    "most",
    "series_range",
]

Path = tuple[PathPart, ...]
#: A value and how it was found ("constant", "pert min", "parameters.x = 2" ...).
Traced = tuple[float, str]
_DEPTH = 8
#: How deep :func:`most` and :func:`least` look into a formula (the loader allows 40).
_WALK_DEPTH = 64


def dist_min(dist: DistributionBase) -> float:
    """The smallest value ``dist`` can take (its support, cut by ``truncate``)."""
    if isinstance(dist, Choice):
        return float(min(dist.values))
    low = float(dist.frozen().support()[0])
    if dist.truncate is not None:
        low = max(low, dist.truncate[0])
    return low


def dist_max(dist: DistributionBase) -> float:
    """The largest value ``dist`` can take (its support, cut by ``truncate``; ``inf`` for
    an unbounded law)."""
    if isinstance(dist, Choice):
        return float(max(dist.values))
    high = float(dist.frozen().support()[1])
    if dist.truncate is not None:
        high = min(high, dist.truncate[1])
    return high


def _number(text: str) -> float | None:
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1.0, node.operand
    value = node.value if isinstance(node, ast.Constant) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return sign * float(value)
    return None


def least(
    value: object, spec: ScenarioSpec, *, exact: bool = False, depth: int = 0
) -> Traced | None:
    """The smallest value of a number, formula or distribution, with how it was found.

    With ``exact``, which asks for a constant: a plain number, a formula that is a number,
    or the name of a parameter that is fixed or derived from such a name. Otherwise also a
    distribution (the bottom of its support), a parameter drawn from one, and a formula
    over these, bounded as :func:`most` says (with the sides swapped). ``None`` when there
    is no such value (or no finite bound).
    """
    if not exact:
        return _bound(value, spec, upper=False, depth=depth)
    if depth > _DEPTH or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value), "constant"
    if not isinstance(value, str):
        return None
    number = _number(value)
    if number is not None:
        return number, "constant"
    name = value.strip()
    param = spec.parameters.get(name)
    if isinstance(param, int | float):
        return float(param), f"parameters.{name} = {float(param):g}"
    if isinstance(param, FixedParam):
        return param.value, f"parameters.{name} = {param.value:g}"
    if isinstance(param, DerivedParam):
        inner = least(param.expr, spec, exact=True, depth=depth + 1)
        return None if inner is None else (inner[0], f"parameters.{name}: {inner[1]}")
    return None


def most(value: object, spec: ScenarioSpec, *, depth: int = 0) -> Traced | None:
    """The largest value of a number, formula or distribution, with how it was found.

    A number; a distribution (the top of its support, cut by ``truncate``); a parameter
    that is fixed, drawn from a distribution or derived; and a formula made of these with
    ``a if c else b`` (the larger branch, whatever ``c``), ``min``/``max``, ``+``, ``-``
    (``a - b`` is at most ``most(a) - least(b)``), unary minus (``-least``) and ``*`` of
    factors that are never negative. ``None`` for anything else (a series, ``t``, a
    division, ...) and for a bound that is not finite: a bound must hold in every
    replication, since a stage refused on a wrong one would be possible evidence refused.
    """
    return _bound(value, spec, upper=True, depth=depth)


def _bound(value: object, spec: ScenarioSpec, *, upper: bool, depth: int) -> Traced | None:
    """:func:`most` (``upper``) or :func:`least` (not ``exact``) of ``value``."""
    if depth > _DEPTH or isinstance(value, bool):
        return None
    side = "max" if upper else "min"
    found: Traced | None
    if isinstance(value, int | float):
        found = float(value), "constant"
    elif isinstance(value, DistributionBase):
        found = (dist_max(value) if upper else dist_min(value)), f"{value.dist} {side}"  # type: ignore[attr-defined]
    elif not isinstance(value, str):
        return None
    elif (number := _number(value)) is not None:
        found = number, "constant"
    elif value.strip() in spec.parameters:
        found = _param(value.strip(), spec, upper=upper, depth=depth)
    else:
        try:
            node = ast.parse(value.strip(), mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        x, notes = _walk(node, spec, upper=upper, depth=depth)
        where = "; ".join(dict.fromkeys(notes))
        found = x, value.strip() + (f", where {where}" if where else "")
    if found is None or not math.isfinite(found[0]):
        return None
    return found


def _param(name: str, spec: ScenarioSpec, *, upper: bool, depth: int) -> Traced | None:
    param = spec.parameters[name]
    if isinstance(param, int | float):
        return float(param), f"parameters.{name} = {float(param):g}"
    if isinstance(param, FixedParam):
        return param.value, f"parameters.{name} = {param.value:g}"
    if isinstance(param, DerivedParam):
        inner = _bound(param.expr, spec, upper=upper, depth=depth + 1)
        return None if inner is None else (inner[0], f"parameters.{name}: {inner[1]}")
    x = dist_max(param) if upper else dist_min(param)
    return x, f"parameters.{name}, {param.dist} {'max' if upper else 'min'}"


def _note(name: str, param: object, x: float, *, upper: bool) -> str:
    """``parameters.shock_pace is at most 0.8, uniform max``, for a formula's bound."""
    if isinstance(param, int | float | FixedParam):
        return f"parameters.{name} = {x:g}"
    word = "most" if upper else "least"
    if isinstance(param, DerivedParam):
        return f"parameters.{name} ({param.expr}) is at {word} {x:g}"
    side = "max" if upper else "min"
    return f"parameters.{name} is at {word} {x:g}, {param.dist} {side}"  # type: ignore[attr-defined]


def _walk(
    node: ast.expr, spec: ScenarioSpec, *, upper: bool, depth: int, level: int = 0
) -> tuple[float, list[str]]:
    """A bound on ``node`` (``inf`` above, ``-inf`` below when there is none) and notes on
    the parameters it rests on; ``depth`` counts derived parameters, ``level`` nodes."""
    unknown: tuple[float, list[str]] = (math.inf if upper else -math.inf), []
    if level > _WALK_DEPTH:
        return unknown

    def walk(n: ast.expr, up: bool = upper) -> tuple[float, list[str]]:
        return _walk(n, spec, upper=up, depth=depth, level=level + 1)

    if isinstance(node, ast.Constant):
        value = node.value
        return (float(value), []) if isinstance(value, int | float) else unknown
    if isinstance(node, ast.Name):
        if node.id not in spec.parameters:
            return unknown  # a series, t, ...
        found = _param(node.id, spec, upper=upper, depth=depth)
        if found is None or math.isnan(found[0]):
            return unknown
        note = _note(node.id, spec.parameters[node.id], found[0], upper=upper)
        return found[0], [note]
    if isinstance(node, ast.IfExp):  # whichever branch the test picks
        (a, na), (b, nb) = (walk(n) for n in (node.body, node.orelse))
        return (max(a, b) if upper else min(a, b)), na + nb
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        if node.func.id not in ("min", "max") or len(node.args) < 2:
            return unknown
        found_args = [walk(arg) for arg in node.args]
        pick = min if node.func.id == "min" else max
        return pick(x for x, _ in found_args), [
            n for x, ns in found_args for n in ns if math.isfinite(x)
        ]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        flip = isinstance(node.op, ast.USub)
        x, notes = walk(node.operand, upper != flip)
        return (-x if flip else x), notes
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        a, na = walk(node.left)
        minus = isinstance(node.op, ast.Sub)
        b, nb = walk(node.right, upper != minus)
        return (a - b if minus else a + b), na + nb
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        lows = [walk(n, False) for n in (node.left, node.right)]
        if not all(x >= 0.0 for x, _ in lows):
            return unknown  # a factor that may be negative
        (a, na), (b, nb) = lows if not upper else (walk(n, True) for n in (node.left, node.right))
        return (0.0 if 0.0 in (a, b) else a * b), na + nb
    return unknown


def cannot_occur(name: str, spec: ScenarioSpec) -> str | None:
    """Why event ``name`` can never occur during a run (``"it has no hazard (only a
    history)"``, ``"its hazard is 0 (parameters.x = 0)"``), or ``None`` when it may.

    Its history is not looked at: an occurrence before the start is not one during the run.
    """
    event = spec.events[name]
    if event.hazard is None:
        return "it has no hazard (only a history)"
    h = least(event.hazard, spec, exact=True)
    if h is not None and h[0] == 0.0:
        how = "" if h[1] == "constant" else f" ({h[1]})"
        return f"its hazard is 0{how}"
    return None


def check_event_can_occur(name: str, spec: ScenarioSpec, what: str, path: Path) -> None:
    """Refuse an occurrence of event ``name`` (described by ``what``) that its hazard
    makes impossible."""
    why = cannot_occur(name, spec)
    if why is None:
        return
    advice = "; give it a hazard" if spec.events[name].hazard is None else ""
    raise ScenarioError(
        f"events.{name} cannot occur: {why}, but the evidence says it {what}{advice}",
        path=path,
    )


def first_day(tl: Timeline, t: float) -> dt.date:
    """The first day at whose beginning model time ``t`` has been reached."""
    return tl.start + dt.timedelta(days=math.ceil(t * DAYS_PER_YEAR - 1e-9))


@dataclass(frozen=True)
class Earliest:
    """The earliest time a project's stage can begin, and why (or, from
    :func:`latest_start`, the latest time by which it has begun).

    Attributes
    ----------
    time
        In model years since the start.
    parts
        What each stage before it takes at least (``"preparation takes at least 1.5
        years (pert min)"``).
    pace
        The largest pace, in words (``", at pace at most 1 (...)"``; ``""`` for the
        constant 1).
    stages
        The index of the stage each of ``parts`` is about (its ``stages[i].duration``).
    """

    time: float
    parts: tuple[str, ...]
    pace: str
    stages: tuple[int, ...] = ()


def _max_pace(project: ProjectSpec, spec: ScenarioSpec) -> tuple[float, str] | None:
    """The largest pace of ``project`` and how it was found, for the message."""
    exact = least(project.pace, spec, exact=True)
    if exact is not None:
        return exact[0], "" if exact[0] == 1.0 else f", at pace {exact[0]:g} ({exact[1]})"
    bound = most(project.pace, spec)
    if bound is None:
        return None
    return bound[0], f", at pace at most {bound[0]:g} ({bound[1]})"


def earliest_start(project: ProjectSpec, stage: int, spec: ScenarioSpec) -> Earliest | None:
    """When stage ``stage`` (``len(stages)``: completion) can begin at the earliest.

    The sum of the smallest durations (:func:`least`) of the stages from
    ``completed_stages`` to ``stage``, divided by the largest pace (:func:`most`). ``None``
    when nothing bounds it: no stage before it with a duration bounded above 0, or a
    largest pace that is not known, not finite or not above 0.
    """
    pace = _max_pace(project, spec)
    if pace is None or not 0.0 < pace[0] < math.inf:
        return None
    total = 0.0
    parts: list[str] = []
    used: list[int] = []
    for j in range(project.completed_stages, stage):
        st = project.stages[j]
        found = least(st.duration, spec)
        if found is None or found[0] <= 0.0:
            continue
        total += found[0]
        parts.append(f"{st.name} takes at least {found[0]:g} years ({found[1]})")
        used.append(j)
    if not parts:
        return None
    return Earliest(total / pace[0], tuple(parts), pace[1], tuple(used))


def latest_start(project: ProjectSpec, stage: int, spec: ScenarioSpec) -> Earliest | None:
    """When stage ``stage`` (``len(stages)``: completion) has begun at the latest, in every
    replication.

    The sum of the largest durations (:func:`most`) of the stages from
    ``completed_stages`` to ``stage``, divided by the smallest pace (:func:`least`), for a
    project that cannot be cancelled (its ``cancel_hazard`` is the constant 0). ``None``
    when the project may be cancelled or waits for a ``starts_when`` condition, a duration
    has no finite largest value, the pace no smallest value above 0, or the stage had begun
    at the start.
    """
    cancel = least(project.cancel_hazard, spec, exact=True)
    if cancel is None or cancel[0] != 0.0 or stage <= project.completed_stages:
        return None
    if project.starts_when is not None:  # it may never start
        return None
    exact = least(project.pace, spec, exact=True)
    if exact is not None:
        low, said = exact[0], "" if exact[0] == 1.0 else f", at pace {exact[0]:g} ({exact[1]})"
    else:
        bound = least(project.pace, spec)
        if bound is None:
            return None
        low, said = bound[0], f", at pace at least {bound[0]:g} ({bound[1]})"
    if not 0.0 < low < math.inf:
        return None
    total = 0.0
    parts: list[str] = []
    for j in range(project.completed_stages, stage):
        st = project.stages[j]
        found = most(st.duration, spec)
        if found is None:
            return None
        total += max(found[0], 0.0)
        parts.append(f"{st.name} takes at most {found[0]:g} years ({found[1]})")
    said += f", and the project cannot be cancelled (cancel_hazard is {cancel[0]:g})"
    return Earliest(total / low, tuple(parts), said, tuple(range(project.completed_stages, stage)))


def check_stage(
    name: str,
    project: ProjectSpec,
    stage: int,
    stage_name: str,
    by: dt.date,
    reached: bool,
    spec: ScenarioSpec,
    path: Path,
) -> None:
    """Refuse a stage observation the project's durations and pace make impossible."""
    tl = Timeline(spec.start, spec.horizon)
    done = project.completed_stages
    what = "completion" if stage == len(project.stages) else f"stage {stage_name!r}"
    if not reached:
        if stage <= done:
            raise ScenarioError(
                f"projects.{name}: {what} had begun at the start ({spec.start}: "
                f"completed_stages is {done}), so it cannot not have begun by {by}",
                path=path,
            )
        return
    if stage <= done:
        return
    pace = least(project.pace, spec, exact=True)
    if pace is not None and pace[0] <= 0.0:
        raise ScenarioError(
            f"projects.{name}: {what} can never begin: the pace is {pace[0]:g} "
            f"({pace[1]}), but the evidence says it had begun by {by}",
            path=path,
        )
    found = earliest_start(project, stage, spec)
    if found is None or found.time <= tl.years(by) + 1e-12:
        return
    since = "the start" if done == 0 else f"the start, with {done} stages completed"
    raise ScenarioError(
        f"projects.{name}: {what} cannot begin before {first_day(tl, found.time)}: "
        + "; ".join(found.parts)
        + f"{found.pace}, from {since}; the evidence says it had begun by {by}",
        path=path,
    )


def check_series_bounds(
    name: str,
    item: SeriesAtSpec | SeriesTotalSpec,
    spec: ScenarioSpec,
    path: Path,
) -> None:
    """Refuse an upper bound on series ``name`` below what it can be.

    Only a series without jumps is traced: a linear series is at or above its ``floor`` at
    every tick (``docs/engine.md`` section 4), and from the start if its initial value is; a
    log series stays above 0.
    """
    series = spec.series[name]
    if item.at_most is None or series.jumps:
        return
    tl = Timeline(spec.start, spec.horizon)
    span = 1.0
    what = "its level"
    if isinstance(item, SeriesAtSpec):
        first = item.at
    else:
        first = item.total[0]
        span = tl.years(item.total[1]) - tl.years(first)
        what = f"its total over {span:g} years"
    if series.process == "log":
        if item.at_most <= 0.0:
            raise ScenarioError(
                f"series.{name} is a log series, always above 0, but the evidence says "
                f"{what} is at most {item.at_most:g}",
                path=path,
            )
        return
    if series.floor is None:
        return
    initial = least(series.initial, spec)
    floored = initial is not None and initial[0] >= series.floor
    if not floored and tl.years(first) < STEPS[spec.step] - 1e-12:
        return  # before the first tick the series is its initial value, maybe below floor
    if item.at_most < series.floor * span:
        raise ScenarioError(
            f"series.{name} cannot be below its floor {series.floor:g} (series.{name}.floor),"
            f" so {what} is at least {series.floor * span:g}; the evidence says at most "
            f"{item.at_most:g}",
            path=path,
        )


#: Relative slack on a series bound computed with ``exp``, which may round either way.
_SLACK = 1e-9


def series_range(name: str, spec: ScenarioSpec, t: float) -> tuple[Traced | None, Traced | None]:
    """Bounds on the values series ``name`` can take at any time from the start to model
    time ``t``: ``(lowest, highest)``, each with how it was found, ``None`` where there is
    none.

    Only what holds in every replication whatever the draws: a log series is above 0; a
    linear series with a ``floor`` is at least the smaller of the floor and its smallest
    ``initial``. A series that moves by its drift alone (``volatility`` the constant 0, no
    jumps) is bounded by its ``initial`` moved at its smallest or largest drift
    (:func:`least` and :func:`most` of the ``drift`` formula) for every tick up to ``t``.
    A volatility above 0 moves the series by normal draws, which can take it anywhere with
    some probability: then nothing but the sign and the floor is bounded; nor is more
    bounded for a mean-reverting series (``reverts_to``), which moves toward its level.
    """
    series = spec.series[name]
    n = math.floor(t / STEPS[spec.step] + 1e-9)
    years = n * STEPS[spec.step]  # the drift of n ticks
    vol = least(series.volatility, spec, exact=True)
    # a mean-reverting series moves toward its level: not bounded here (conservative)
    still = vol is not None and vol[0] == 0.0 and not series.jumps and series.reverts_to is None
    low: Traced | None = None
    high: Traced | None = None
    log = series.process == "log"
    if log:
        low = 0.0, f"series.{name} is a log series, always above 0"
    elif series.floor is not None:
        first = least(series.initial, spec)
        if first is not None:
            low = (
                min(first[0], series.floor),
                f"series.{name} starts at least at {first[0]:g} ({first[1]}) and its floor is "
                f"{series.floor:g}",
            )
    if not still:
        return low, high
    ticks = f"{n} ticks of {spec.step}" if n != 1 else f"1 tick of {spec.step}"
    still_said = f"series.{name} has volatility 0 and no jumps: over {ticks}"
    top, rise = most(series.initial, spec), most(series.drift, spec)
    if top is not None and rise is not None:
        step = max(rise[0], 0.0) * years
        x = top[0] * math.exp(step) if log else top[0] + step
        x += _SLACK * max(1.0, abs(x))
        if not log and series.floor is not None:
            x = max(x, series.floor)
        if math.isfinite(x):
            grows = "log growth" if log else "growth"
            high = (
                x,
                (
                    f"{still_said} it rises to at most {x:.6g} from at most {top[0]:g} "
                    f"({top[1]}) at a {grows} of at most {rise[0]:g} a year ({rise[1]})"
                ),
            )
    bottom, fall = least(series.initial, spec), least(series.drift, spec)
    if bottom is not None and fall is not None:
        step = min(fall[0], 0.0) * years
        x = bottom[0] * math.exp(step) if log else bottom[0] + step
        x -= _SLACK * max(1.0, abs(x))
        if not log and series.floor is not None:
            x = max(x, min(bottom[0], series.floor))
        if math.isfinite(x) and (low is None or x > low[0]):
            falls = "log growth" if log else "growth"
            low = (
                x,
                (
                    f"{still_said} it falls to at least {x:.6g} from at least {bottom[0]:g} "
                    f"({bottom[1]}) at a {falls} of at least {fall[0]:g} a year ({fall[1]})"
                ),
            )
    return low, high
