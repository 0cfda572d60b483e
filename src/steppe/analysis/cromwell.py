"""Cromwell's rule: the lint of a scenario file, and outcomes a run found 0 or 1.

:func:`lint` is ``steppe.lint``: the structural findings of
:func:`steppe.model.lint.lint_scenario`, located in the file that wrote each value (a
variant's inherited outcomes in the file it extends), and, given a run, the outcomes that
are 0 or 1 in every replication for no reason traced to the scenario
(:func:`empirical_findings`). :func:`cromwell_lines` is what ``steppe run`` prints after its
table. See ``docs/scoring.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steppe.load import load
from steppe.load.extends import resolve_extends
from steppe.load.loader import read_file
from steppe.load.yamlsafe import parse_yaml
from steppe.model.lint import Finding, Locator, lint_scenario, scenario_locator
from steppe.model.scenario import Scenario

if TYPE_CHECKING:
    from steppe.api import RunResult  # not imported at run time: pandas (issue 18)

__all__ = ["cromwell_lines", "empirical_findings", "exact_bound", "lint"]

#: Codes of the findings that explain an outcome's 0 or 1 (its whole forecast).
STRUCTURAL = frozenset({"structural-zero", "structural-one"})
_ALPHA = 0.05


def lint(
    source: Scenario | str | Path,
    *,
    result: RunResult | Mapping[str, Any] | None = None,
    evidence: Sequence[str | Path] = (),
) -> list[Finding]:
    """Cromwell's rule for a scenario: outcomes that are 0 or 1, and late questions.

    Parameters
    ----------
    source
        A scenario file (loaded with the ``evidence`` files) or a loaded scenario.
    result
        A run of it (a :class:`~steppe.RunResult`, or the content of its ``summary.json``):
        also report the probabilities that are 0 or 1 in it for no structural reason.

    Returns
    -------
    list of Finding
        The structural findings in the order of the outcomes, the late-questions finding,
        then the empirical ones. Findings are warnings: the scenario is valid.

    Raises
    ------
    ScenarioError
        If the file is not a valid scenario.
    """
    if isinstance(source, Scenario):
        sc, where = source, scenario_locator(source)
    else:
        sc = load(source, evidence=evidence)
        where = _file_locator(source)
    found = lint_scenario(sc, locate=where)
    if result is not None:
        summary = result if isinstance(result, Mapping) else result.summary
        found += empirical_findings(summary, found, locate=where, scenario=sc)
    return found


def _file_locator(path: str | Path) -> Locator:
    """Locate YAML paths in the file that supplied each value (the scenario, or a file it
    extends), as ``steppe validate --provenance`` does."""
    text, _ = read_file(path)
    located, _ = resolve_extends(parse_yaml(text, file=str(path)))
    return lambda p: located.where(p)


def exact_bound(n: float, *, zero: bool = True) -> float:
    """The exact (Clopper-Pearson) 95% bound on a probability seen 0 (or 1) times out of
    ``n``: the upper bound ``1 - 0.025 ** (1 / n)`` after 0 successes (about ``3.7 / n``;
    the rule of three, ``3 / n``, is the one-sided version), or the lower bound
    ``0.025 ** (1 / n)`` after ``n`` successes.

    References
    ----------
    .. [1] C. J. Clopper and E. S. Pearson, "The use of confidence or fiducial limits
       illustrated in the case of the binomial", Biometrika 26 (1934), 404-413.
    .. [2] J. A. Hanley and A. Lippman-Hand, "If nothing goes wrong, is everything all
       right?", JAMA 249 (1983), 1743-1745 (the rule of three).
    """
    tail = float((_ALPHA / 2) ** (1 / n))
    return 1 - tail if zero else tail


def _shown(x: float) -> str:
    """A bound near 0 with two significant digits, one near 1 with its distance from 1."""
    if x < 0.01:
        return f"{x:.2g}"
    return f"{x:.3f}" if x <= 0.99 else f"1 - {1 - x:.2g}"


def empirical_findings(
    summary: Mapping[str, Any],
    structural: Sequence[Finding] = (),
    *,
    locate: Locator | None = None,
    scenario: Scenario | None = None,
) -> list[Finding]:
    """The outcomes that are 0 or 1 in every replication of a run (``summary``: the
    content of ``summary.json``) and that no finding in ``structural`` explains.

    A ``probability`` (or ``combine``) outcome whose ``p`` is 0 or 1, and a
    ``time_to`` outcome whose ``p_ever`` is, each with the exact 95% bound
    (:func:`exact_bound`) over the replications (over the effective sample size of a run
    conditioned on evidence): ``empirical-zero`` or ``empirical-one``. In a run conditioned
    on evidence, one whose expression reads an event, project or series the evidence of
    ``scenario`` observes is ``settled-by-evidence``, with those observations.
    """
    explained = {f.outcome for f in structural if f.code in STRUCTURAL}
    found = []
    for name, o in summary["outcomes"].items():
        if name in explained or o["kind"] == "distribution":
            continue
        p = o["p"] if o["kind"] == "probability" else o.get("p_ever")
        if p not in (0.0, 1.0):
            continue
        n = o["n"] if "n" in o else summary["replications"]
        ess = o.get("ess")
        size = ess if ess is not None else n
        value = int(p)
        counted = f"all {n:,} replications" + (
            f" (effective sample size {ess:,.0f})" if ess is not None else ""
        )
        what = f"is {value} in {counted}" if o["kind"] == "probability" else (
            f"{'happens' if value else 'never happens'} by the horizon in {counted}"
        )  # fmt: skip
        seen = _observed(scenario, name) if "evidence" in summary else []
        if seen:
            code = "settled-by-evidence"
            message = (
                f"{name} {what} of this run conditioned on evidence, which observes "
                + "; ".join(seen)
                + ": settled by what was seen, it is no longer a forecast; drop it or ask "
                "about what is still open"
            )
        else:
            code = f"empirical-{'one' if value else 'zero'}"
            bound = exact_bound(size, zero=not value)
            side = "upper" if not value else "lower"
            message = (
                f"{name} {what}; not traced to the scenario's structure, so it may be merely "
                f"{_MERELY[value]}: the exact 95% {side} bound on its probability is "
                f"{_shown(bound)} (Clopper-Pearson; the rule of three gives "
                f"{_shown(3 / size if not value else 1 - 3 / size)}); more replications may "
                f"show it {'happen' if not value else 'fail'}"
            )
        key = "probability" if o["kind"] == "probability" else "time_to"
        path = ("outcomes", name, key)
        file, line, col = locate(path) if locate is not None else (None, None, None)
        found.append(Finding(code, name, message, path, file, line, col))
    return found


_MERELY = {0: "rare", 1: "almost certain"}


def _observed(sc: Scenario | None, name: str) -> list[str]:
    """The evidence of ``sc`` about what outcome ``name`` reads (through the outcomes a
    combination reads), each as ``events.x occurred on ... (FILE:LINE:COL)``."""
    if sc is None or not sc.evidence:
        return []
    by_name = {o.name: o for o in sc.outcomes}
    todo, names = [name], set[str]()
    while todo:
        o = by_name.get(todo.pop())
        if o is None:
            continue
        if o.form == "combine":
            todo.extend(n for n in o.expr.names if n in by_name and n != o.name)
        names |= o.expr.names
    out = []
    for obs in sc.evidence:
        subject = next(
            (getattr(obs, k) for k in ("event", "project", "series") if hasattr(obs, k)), None
        )
        if subject in names:
            place = sc.evidence_places.get(obs.item)
            out.append(obs.describe() + (f" ({place})" if place else ""))
    return out


def cromwell_lines(findings: Sequence[Finding], summary: Mapping[str, Any]) -> list[str]:
    """What ``steppe run`` prints after its table: one short line per outcome that is 0 or
    1 (by structure or in this run), or one line saying there is none."""
    lines = []
    for f in findings:
        if f.outcome is None:
            continue
        o = summary["outcomes"].get(f.outcome, {})
        if f.code.startswith("structural-zero-before"):
            lines.append(
                f"Cromwell: {f.outcome} is 0 at its early dates by the scenario's structure "
                "(steppe validate --lint says why)"
            )
        elif f.code in STRUCTURAL:
            digit = "1" if f.code == "structural-one" else "0"
            lines.append(
                f"Cromwell: {f.outcome} is {digit} by the scenario's structure "
                "(steppe validate --lint says why)"
            )
        elif f.code == "settled-by-evidence":
            lines.append(f"Cromwell: {f.outcome} is settled by the evidence (no longer a forecast)")
        elif f.code.startswith("empirical-"):
            value = 0 if f.code.endswith("zero") else 1
            size = o.get("ess") or o.get("n") or summary["replications"]
            bound = exact_bound(size, zero=not value)
            lines.append(
                f"Cromwell: {f.outcome} is {value} in every replication; may be merely "
                f"{_MERELY[value]} (95% "
                f"{'upper' if not value else 'lower'} bound {_shown(bound)})"
            )
    return lines or ["Cromwell: no outcome is 0 or 1"]
