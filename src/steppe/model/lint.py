"""Cromwell's rule for a scenario: forecasts of 0 or 1 by its structure, and late questions.

A forecast of exactly 0 or 1 can never be corrected by evidence, and scores infinitely
badly when it is wrong. :func:`lint_scenario` reports, without simulating:

* ``structural-zero`` / ``structural-one``: a ``probability`` or ``combine`` outcome that is
  0 (or 1) in every replication, a ``time_to`` outcome that never happens by the horizon
  (or holds at the start), with the reason traced to the scenario's keys
  (:mod:`steppe.model.structural`);
* ``structural-zero-before``: a ``time_to`` outcome that may happen by the horizon but not
  by some of the year-ends its summary reports (its ``P(by date)`` is 0 there);
* ``late-questions``: a scenario whose questions all resolve late, so that its forecast
  cannot be checked for years.

Outcomes that are 0 or 1 in a run for no structural reason are found from the run's summary
by :func:`steppe.analysis.cromwell.empirical_findings`. Findings are warnings: the scenario
is valid. See ``docs/scoring.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from steppe.errors import PathPart, format_path
from steppe.model.scenario import Scenario
from steppe.model.structural import Verdict, structural_verdicts

__all__ = ["Finding", "Locator", "late_questions", "lint_scenario", "scenario_locator"]

Path = tuple[PathPart, ...]
#: YAML path -> (file, line, column) where the value stands (line and column 1-based).
Locator = Callable[[Path], tuple[str, int | None, int | None]]

#: A question resolving within this many years of ``as_of`` (or the start) is never late.
SOON = 1.0
#: ... one resolving more than this many years after it always is.
LATE = 2.0
#: ... in between, one in the last part of the window (this share of it) is late.
LAST_SHARE = 0.4


@dataclass(frozen=True)
class Finding:
    """A lint finding: a warning about a valid scenario.

    Attributes
    ----------
    code
        ``structural-zero``, ``structural-one``, ``structural-zero-before``,
        ``late-questions``; from a run: ``empirical-zero``, ``empirical-one`` or
        ``settled-by-evidence``.
    outcome
        The outcome it is about (``None`` for ``late-questions``).
    message
        What was found, why, and what to do.
    path
        YAML path of the value it is about (an outcome's expression; for late questions,
        the earliest question's ``by``/``at`` date, or the question without one).
    file, line, column
        Where that value stands (``line``/``column`` 1-based, ``None`` when not known).
        A late-questions finding stands at the earliest question's date (or the question).
    causes
        YAML paths of the keys the finding is traced to (empty for an empirical one).
    """

    code: str
    outcome: str | None
    message: str
    path: Path
    file: str | None = None
    line: int | None = None
    column: int | None = None
    causes: tuple[Path, ...] = ()

    def __str__(self) -> str:
        where = self.file or "<scenario>"
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return f"{where}: {self.code}: {format_path(self.path)}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """The finding as JSON-ready data (``path`` and ``causes`` as dotted paths)."""
        return {
            "code": self.code,
            "outcome": self.outcome,
            "message": self.message,
            "path": format_path(self.path),
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "causes": [format_path(c) for c in self.causes],
        }


def scenario_locator(sc: Scenario) -> Locator:
    """Locate YAML paths with the positions the loader gave ``sc`` (its own file only)."""

    def where(path: Path) -> tuple[str, int | None, int | None]:
        p = tuple(path)
        while p and p not in sc.positions:
            p = p[:-1]
        line, col = sc.positions.get(p, (None, None))
        return sc.file or "<scenario>", line, col

    return where


def lint_scenario(sc: Scenario, *, locate: Locator | None = None) -> list[Finding]:
    """The structural 0/1 outcomes of ``sc`` in the order of its outcomes, then the
    late-questions finding if any. ``locate`` finds the file, line and column of a YAML
    path (default: :func:`scenario_locator`)."""
    where = locate or scenario_locator(sc)
    found = [_structural(sc, v, where) for v in structural_verdicts(sc).values()]
    late = late_questions(sc, locate=where)
    return found + ([late] if late is not None else [])


def _causes(causes: tuple[Path, ...], where: Locator) -> str:
    shown = []
    for c in causes:
        _, line, _ = where(c)
        shown.append(format_path(c) + ("" if line is None else f" (line {line})"))
    return f" [see {', '.join(shown)}]" if shown else ""


_ADVICE = {
    0: "no evidence can ever raise a forecast of 0; if it is possible at all, widen the "
    "assumption that rules it out",
    1: "no evidence can ever lower a forecast of 1; if it is settled, drop the question, "
    "otherwise widen the assumption that makes it certain",
}


def _structural(sc: Scenario, v: Verdict, where: Locator) -> Finding:
    o = next(o for o in sc.outcomes if o.name == v.outcome)
    path: Path = ("outcomes", o.name, o.form)
    reason = "; ".join(v.why) or "from its expression alone"
    cause = _causes(v.causes, where)
    asks = f"{o.form}: {o.expr.source}"
    if v.dates and not v.value:
        shown = ", ".join(d.isoformat() for d in v.dates)
        code = "structural-zero-before"
        message = (
            f"{o.name} cannot happen by {v.dates[-1]}: its P(by date) is 0 in every "
            f"replication at {shown} ({asks}): {reason}{cause}; {_ADVICE[0]}, or ask "
            "about later dates only"
        )
    elif o.form == "time_to":
        code = f"structural-{'one' if v.value else 'zero'}"
        if not v.value:
            what = f"never happens by the horizon ({sc.spec.horizon}) in any replication"
        elif v.dates == (sc.spec.start,):
            what = "holds at the start in every replication (time 0)"
        else:
            what = f"happens by the horizon ({sc.spec.horizon}) in every replication"
        message = f"{o.name} {what} ({asks}): {reason}{cause}; {_ADVICE[v.value]}"
    else:
        code = f"structural-{'one' if v.value else 'zero'}"
        message = (
            f"{o.name} is {v.value} in every replication ({asks}, by {o.date}): "
            f"{reason}{cause}; {_ADVICE[v.value]}"
        )
    file, line, col = where(path)
    return Finding(code, o.name, message, path, file, line, col, v.causes)


def _suggested(ref: dt.date, horizon: dt.date) -> list[dt.date]:
    """The next two year-ends at least about a quarter after ``ref``, within the window."""
    year = ref.year if (dt.date(ref.year, 12, 31) - ref).days >= 90 else ref.year + 1
    return [d for d in (dt.date(year, 12, 31), dt.date(year + 1, 12, 31)) if d <= horizon]


def late_questions(sc: Scenario, *, locate: Locator | None = None) -> Finding | None:
    """One ``late-questions`` finding if every question of ``sc`` resolves late, else None.

    A question's date is its ``by`` or ``at`` date (a ``time_to`` outcome's is the horizon).
    It is late when it is more than :data:`LATE` (2) years after ``as_of`` (or the start
    without one), or in the last :data:`LAST_SHARE` (40%) of the window and more than
    :data:`SOON` (1) year after it: a question that resolves within a year can be checked
    soon, however short the window.
    """
    where = locate or scenario_locator(sc)
    tl = sc.timeline
    ref = sc.spec.as_of or sc.spec.start
    r = tl.years(ref)
    last = tl.t_horizon * (1 - LAST_SHARE)

    def late(day: dt.date) -> bool:
        t = tl.years(day)
        return t - r > LATE or (t >= last and t - r > SOON)

    dated = [(o.date or sc.spec.horizon, o) for o in sc.outcomes]
    day, first = min(dated, key=lambda x: x[0])
    if not late(day):
        return None
    since = f"as_of {ref}" if sc.spec.as_of else f"the start {ref}"
    years = (day - ref).days / 365.25
    try_dates = " and ".join(f"`by: {d}`" for d in _suggested(ref, sc.spec.horizon))
    hint = f" (e.g. {try_dates})" if try_dates else ""
    said = {
        "time_to": "the horizon, as for any time_to outcome",
        "value": "its at: date",
        "total": "the end of its over: period",
    }
    message = (
        f"every question resolves late: the earliest is outcomes.{first.name} on {day} "
        f"({said.get(first.form, 'its by: date')}), {years:.1f} years after {since} (the "
        f"window ends {sc.spec.horizon}); a "
        "forecast that cannot be checked for years teaches its author nothing: add "
        f"outcomes dated in the first year or two{hint}"
    )
    key = {"probability": "by", "combine": "by", "value": "at", "total": "over"}.get(first.form)
    written = key is not None and key in sc.spec.outcomes[first.name].model_fields_set
    path: Path = ("outcomes", first.name, key) if written and key else ("outcomes", first.name)
    file, line, col = where(path)
    return Finding("late-questions", None, message, path, file, line, col)
