"""Evidence the model gives probability zero, found without simulating.

A run conditioned on evidence that cannot happen under the model would end with every
replication at weight 0 (``docs/engine.md`` section 10). The cases that can be traced to
the scenario statically are refused when the scenario is built, each with the reason:

* an event observed to occur whose hazard is the constant 0, or that has no hazard (only a
  history);
* a project stage observed to have begun before the durations of the stages before it
  allow (durations and pace that are constants, distributions or parameters drawn from
  distributions: the sum of the smallest durations, divided by a constant pace), or
  observed not to have begun although it had begun at the start;
* a series observed below what it can be: ``at_most`` below a linear series' ``floor``
  (for a total, the floor times the period), or not above 0 for a log series.

Anything not traced here (a hazard that is 0 only for some parameter values ...) is left to
the run, which reports an evidence no replication survives.
"""

from __future__ import annotations

import ast
import datetime as dt
import math

from steppe.errors import PathPart, ScenarioError
from steppe.model.distributions import Choice, DistributionBase
from steppe.model.evidence_spec import SeriesAtSpec, SeriesTotalSpec
from steppe.model.schema import STEPS, DerivedParam, FixedParam, ProjectSpec, ScenarioSpec
from steppe.model.timeline import DAYS_PER_YEAR, Timeline

__all__ = ["check_event_can_occur", "check_series_bounds", "check_stage", "least"]

Path = tuple[PathPart, ...]
#: A value and how it was found ("constant", "pert min", "parameters.x = 2" ...).
Traced = tuple[float, str]
_DEPTH = 8


def dist_min(dist: DistributionBase) -> float:
    """The smallest value ``dist`` can take (its support, cut by ``truncate``)."""
    if isinstance(dist, Choice):
        return float(min(dist.values))
    low = float(dist.frozen().support()[0])
    if dist.truncate is not None:
        low = max(low, dist.truncate[0])
    return low


def _number(text: str) -> float | None:
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
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

    A plain number, a formula that is a number, or the name of a parameter that is fixed,
    derived from such a name, or (unless ``exact``, which asks for a constant) drawn from a
    distribution; ``None`` for anything else.
    """
    if depth > _DEPTH or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value), "constant"
    if isinstance(value, DistributionBase):
        return None if exact else (dist_min(value), f"{value.dist} min")  # type: ignore[attr-defined]
    if not isinstance(value, str):
        return None
    number = _number(value)
    if number is not None:
        return number, "constant"
    name = value.strip()
    param = spec.parameters.get(name)
    if param is None:
        return None
    if isinstance(param, int | float):
        return float(param), f"parameters.{name} = {float(param):g}"
    if isinstance(param, FixedParam):
        return param.value, f"parameters.{name} = {param.value:g}"
    if isinstance(param, DerivedParam):
        inner = least(param.expr, spec, exact=exact, depth=depth + 1)
        return None if inner is None else (inner[0], f"parameters.{name}: {inner[1]}")
    if exact:
        return None
    return dist_min(param), f"parameters.{name}, {param.dist} min"


def check_event_can_occur(name: str, spec: ScenarioSpec, what: str, path: Path) -> None:
    """Refuse an occurrence of event ``name`` (described by ``what``) that its hazard
    makes impossible."""
    event = spec.events[name]
    if event.hazard is None:
        raise ScenarioError(
            f"events.{name} cannot occur: it has no hazard (only a history), but the evidence "
            f"says it {what}; give it a hazard",
            path=path,
        )
    h = least(event.hazard, spec, exact=True)
    if h is not None and h[0] == 0.0:
        how = "" if h[1] == "constant" else f" ({h[1]})"
        raise ScenarioError(
            f"events.{name} cannot occur: its hazard is 0{how}, but the evidence says it {what}",
            path=path,
        )


def _first_day(tl: Timeline, t: float) -> dt.date:
    """The first day at whose beginning model time ``t`` has been reached."""
    return tl.start + dt.timedelta(days=math.ceil(t * DAYS_PER_YEAR - 1e-9))


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
    if pace is None:
        return
    if pace[0] <= 0.0:
        raise ScenarioError(
            f"projects.{name}: {what} can never begin: the pace is {pace[0]:g} "
            f"({pace[1]}), but the evidence says it had begun by {by}",
            path=path,
        )
    total = 0.0
    parts: list[str] = []
    for j in range(done, stage):
        st = project.stages[j]
        found = least(st.duration, spec)
        if found is None or found[0] <= 0.0:
            continue
        total += found[0]
        parts.append(f"{st.name} takes at least {found[0]:g} years ({found[1]})")
    t_min = total / pace[0]
    if not parts or t_min <= tl.years(by) + 1e-12:
        return
    at_pace = "" if pace[0] == 1.0 else f", at pace {pace[0]:g} ({pace[1]})"
    since = "the start" if done == 0 else f"the start, with {done} stages completed"
    raise ScenarioError(
        f"projects.{name}: {what} cannot begin before {_first_day(tl, t_min)}: "
        + "; ".join(parts)
        + f"{at_pace}, from {since}; the evidence says it had begun by {by}",
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
