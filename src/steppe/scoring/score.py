"""``steppe.score``: score result folders against a resolutions file.

For every resolved question and every result that can answer it, the forecast
(:func:`steppe.scoring.questions.forecast`) is scored: probability questions by the Brier
and the log score (the probability clipped to ``[1/(2n), 1 - 1/(2n)]``, ``n`` the sample
size behind it), value questions by the CRPS of the sample, the randomised PIT and whether
the central 50% and 90% intervals cover the resolution. Then, per result: the means with
their standard errors over questions, Murphy's decomposition of the Brier score, the
coverage rates, and skill scores against the references (a constant probability, base
rates per question, another result folder). The definitions are in ``docs/scoring.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steppe.errors import ScenarioError
from steppe.scoring import rules
from steppe.scoring.inputs import ResultInput, read_input
from steppe.scoring.questions import (
    Forecast,
    QuestionSpec,
    Resolutions,
    Skip,
    check_questions,
    describe,
    forecast,
    load_resolutions,
    question_kind,
)
from steppe.streams import pit_uniform

__all__ = ["FORMAT", "Reference", "ScoreResult", "score"]

FORMAT = "steppe-score/1"
#: Central interval levels whose coverage is reported.
LEVELS = (0.5, 0.9)
#: Below this many scored questions the report warns that the means are very uncertain.
FEW = 30


@dataclass(frozen=True)
class Reference:
    """A reference forecaster for skill scores.

    Exactly one of ``constant`` (the same probability for every probability question),
    ``base_rates`` (a probability per question id; ``"*"`` for every other question) or
    ``result`` (another result folder, scored like the others).
    """

    name: str
    constant: float | None = None
    base_rates: Mapping[str, float] | None = None
    result: ResultInput | None = None

    def probability(self, q: QuestionSpec) -> tuple[float, float] | None:
        """The reference's probability for ``q`` and the sample size behind it (``inf`` for
        a stated number), or ``None`` if it has none."""
        if self.constant is not None:
            return self.constant, math.inf
        if self.base_rates is not None:
            p = self.base_rates.get(q.id, self.base_rates.get("*"))
            return None if p is None else (p, math.inf)
        assert self.result is not None
        f = forecast(q, self.result)
        if isinstance(f, Skip) or f.p is None:
            return None
        return f.p, f.n

    def samples(self, q: QuestionSpec) -> np.ndarray | None:
        """The reference's value sample for ``q`` (a result reference only)."""
        if self.result is None:
            return None
        f = forecast(q, self.result)
        return None if isinstance(f, Skip) else f.samples


def _mean_se(x: Sequence[float]) -> dict[str, Any]:
    arr = np.asarray(x, dtype=np.float64)
    if arr.size == 0:
        return {"mean": None, "se": None, "n": 0}
    se = float(np.std(arr, ddof=1) / math.sqrt(arr.size)) if arr.size > 1 else None
    return {"mean": float(arr.mean()), "se": se, "n": int(arr.size)}


@dataclass(frozen=True)
class ScoreResult:
    """Scores of one or more result folders against a resolutions file.

    Attributes
    ----------
    frame
        One row per (question, result) scored (pandas DataFrame): the forecast, the
        resolution, each score and the share of the result's total each question
        contributes.
    summary
        ``score.json`` as a dict: per result, the mean scores with standard errors over
        questions, Murphy's decomposition, coverage, PIT values, skill scores, the questions
        skipped (and why); the pending questions; notes.
    """

    frame: pd.DataFrame
    summary: dict[str, Any]
    resolutions: Resolutions = field(repr=False)

    @property
    def results(self) -> list[str]:
        """The names of the scored results, in order."""
        return [r["name"] for r in self.summary["results"]]

    def write(self, out: Path | str | None = None, *, report: bool = True) -> Path:
        """Write the score folder (``score.json``, ``report.html``, ``report.md``,
        ``figures/``) atomically; default ``results/score-<names>/``. Returns its path."""
        from steppe.scoring.report import default_out, write_score

        return write_score(self, Path(out) if out is not None else default_out(self), report=report)


def _unique_names(inputs: list[ResultInput]) -> list[ResultInput]:
    seen: dict[str, int] = {}
    out = []
    for r in inputs:
        name = r.name
        if name in seen:
            seen[name] += 1
            name = f"{name}#{seen[name]}"
        else:
            seen[name] = 1
        out.append(ResultInput(**{**r.__dict__, "name": name}))
    return out


def score(
    results: Path | str | Sequence[Path | str],
    resolutions: Path | str,
    *,
    reference: float | None = None,
    base_rates: Mapping[str, float] | None = None,
    reference_result: Path | str | None = None,
    seed: int = 0,
) -> ScoreResult:
    """Score result folders against a resolutions file.

    Parameters
    ----------
    results
        One result folder or several (written by ``steppe run``), scored side by side.
    resolutions
        A resolutions file (``docs/scoring.md``).
    reference
        A constant probability (e.g. 0.5) as a reference forecaster for skill scores.
    base_rates
        Base rates per question id (``"*"``: every other question) as a reference.
    reference_result
        Another result folder as a reference (Brier, log and CRPS skill).
    seed
        Seed of the uniforms of the randomised PIT (one per question, the same for every
        result).

    Returns
    -------
    ScoreResult

    Raises
    ------
    ScenarioError
        The resolutions file is invalid, or names something no result has (located in the
        file); a reference probability outside (0, 1).
    ResultError
        A result folder cannot be read.
    """
    folders = [results] if isinstance(results, str | Path) else list(results)
    if not folders:
        raise ScenarioError("no result folder to score", file="RESULT")
    res = load_resolutions(resolutions)
    inputs = _unique_names([read_input(Path(f)) for f in folders])
    refs: list[Reference] = []
    if reference is not None:
        _check_probability(reference, "--reference")
        refs.append(Reference(f"constant {reference:g}", constant=reference))
    if base_rates:
        ids = {q.id for q in res.questions}
        for key, p in base_rates.items():
            _check_probability(p, f"--base-rate {key}")
            if key != "*" and key not in ids:
                from steppe.model.base import suggest

                raise ScenarioError(
                    f"--base-rate {key}: no question with that id{suggest(key, list(ids))}",
                    file="--base-rate",
                )
        refs.append(Reference("base rates", base_rates=dict(base_rates)))
    ref_input = None
    if reference_result is not None:
        ref_input = read_input(Path(reference_result))
        refs.append(Reference(f"result {ref_input.name}", result=ref_input))
    check_questions(res, inputs + ([ref_input] if ref_input else []))
    return _score(res, inputs, refs, seed)


def _check_probability(p: float, what: str) -> None:
    if not 0.0 < p < 1.0:
        raise ScenarioError(
            f"{what}: a reference probability must lie strictly between 0 and 1, found {p!r}",
            file=what.split()[0],
        )


def _score(
    res: Resolutions, inputs: list[ResultInput], refs: list[Reference], seed: int
) -> ScoreResult:
    questions = res.questions
    uniforms = [pit_uniform(seed, q.id) for q in questions]
    rows: list[dict[str, Any]] = []
    per_result: list[dict[str, Any]] = []
    for r in inputs:
        skipped: list[dict[str, str]] = []
        for i, q in enumerate(questions):
            if q.resolved is None:
                continue
            f = forecast(q, r)
            if isinstance(f, Skip):
                skipped.append({"id": q.id, "reason": f.reason})
                continue
            rows.append(_row(q, r, f, uniforms[i], refs))
        per_result.append(_result_block(r, rows, skipped, refs))
    extra = sorted({k for row in rows for k in row if k.startswith("ref:")})
    frame = pd.DataFrame(rows, columns=_COLUMNS + extra)
    for block in per_result:
        _add_contributions(frame, block)
    pending = [
        {"id": q.id, "question": describe(q), "title": q.title, "source": q.source}
        for q in questions
        if q.resolved is None
    ]
    summary = {
        "format": FORMAT,
        "resolutions": res.path,
        "title": res.spec.title,
        "as_of": res.spec.as_of.isoformat() if res.spec.as_of else None,
        "questions": len(questions),
        "resolved": sum(q.resolved is not None for q in questions),
        "pending": pending,
        "references": [r.name for r in refs],
        "results": per_result,
        "scores": _json_rows(frame),
        "notes": _notes(per_result),
    }
    return ScoreResult(frame, summary, res)


_COLUMNS = [
    "result", "id", "question", "title", "kind", "resolved", "date", "forecast", "ci_low",
    "ci_high", "n", "p_used", "clipped", "cromwell", "brier", "log", "crps", "pit", "in50",
    "in90", "median", "q05", "q95", "brier_share", "log_share", "crps_share", "basis",
    "source",
]  # fmt: skip


def _row(
    q: QuestionSpec, r: ResultInput, f: Forecast, u: float, refs: list[Reference]
) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(_COLUMNS)
    row.update(
        result=r.name, id=q.id, question=describe(q), title=q.title or "", kind=f.kind,
        date=q.date.isoformat() if q.date else None, n=f.n, basis=f.basis, source=q.source,
    )  # fmt: skip
    if f.kind == "probability":
        assert f.p is not None and f.ci95 is not None
        y = 1.0 if q.resolved else 0.0
        p_used = float(rules.clip_probability(f.p, f.n))
        row.update(
            resolved=y, forecast=f.p, ci_low=f.ci95[0], ci_high=f.ci95[1], p_used=p_used,
            clipped=p_used != f.p, cromwell=(f.p == 0.0 and y == 1) or (f.p == 1.0 and y == 0),
            brier=float(rules.brier(f.p, y)), log=float(rules.log_score(p_used, y)),
        )  # fmt: skip
        for ref in refs:
            got = ref.probability(q)
            if got is not None:
                p_ref = float(rules.clip_probability(got[0], got[1]))
                row[f"ref:{ref.name}:brier"] = float(rules.brier(got[0], y))
                row[f"ref:{ref.name}:log"] = float(rules.log_score(p_ref, y))
    else:
        assert f.samples is not None and q.resolved is not None
        y = float(q.resolved)
        x = f.samples
        row.update(
            resolved=y, forecast=float(np.mean(x)), median=float(np.median(x)),
            q05=float(np.quantile(x, 0.05)), q95=float(np.quantile(x, 0.95)),
            crps=rules.crps_ensemble(x, y), pit=rules.pit(x, y, u),
            in50=rules.coverage(x, y, 0.5), in90=rules.coverage(x, y, 0.9),
        )  # fmt: skip
        for ref in refs:
            xs = ref.samples(q)
            if xs is not None and xs.size:
                row[f"ref:{ref.name}:crps"] = rules.crps_ensemble(xs, y)
    return row


def _result_block(
    r: ResultInput, rows: list[dict[str, Any]], skipped: list[dict[str, str]], refs: list[Reference]
) -> dict[str, Any]:
    mine = [row for row in rows if row["result"] == r.name]
    prob = [row for row in mine if row["kind"] == "probability"]
    value = [row for row in mine if row["kind"] == "value"]
    block: dict[str, Any] = {
        "name": r.name,
        "folder": str(r.folder),
        "scenario": r.summary["scenario"],
        "rows": r.rows,
        "ess": r.ess,
        "sample_size": r.sample_size,
        "skipped": skipped,
    }
    if prob:
        p = [row["forecast"] for row in prob]
        y = [row["resolved"] for row in prob]
        m = rules.murphy(p, y)
        block["probability"] = {
            "n": len(prob),
            "brier": _mean_se([row["brier"] for row in prob]),
            "murphy": {
                "reliability": m.reliability,
                "resolution": m.resolution,
                "uncertainty": m.uncertainty,
                "base_rate": m.base_rate,
                "bins": [{"forecast": f, "n": c, "observed": o} for f, c, o in m.bins],
            },
            "log": _mean_se([row["log"] for row in prob]),
            "clipped": [row["id"] for row in prob if row["clipped"]],
            "cromwell": [row["id"] for row in prob if row["cromwell"]],
            "reliability_diagram": _reliability(p, y),
        }
    if value:
        block["value"] = {
            "n": len(value),
            "crps": _mean_se([row["crps"] for row in value]),
            "pit": [row["pit"] for row in value],
            "coverage": {
                str(level): {
                    "covered": sum(bool(row[f"in{round(level * 100)}"]) for row in value),
                    "n": len(value),
                    "rate": sum(bool(row[f"in{round(level * 100)}"]) for row in value) / len(value),
                }
                for level in LEVELS
            },
        }
    block["skill"] = [_skill(ref, mine) for ref in refs]
    return block


def _skill(ref: Reference, rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"reference": ref.name}
    for score_name in ("brier", "log", "crps"):
        key = f"ref:{ref.name}:{score_name}"
        both = [row for row in rows if row.get(key) is not None and row[score_name] is not None]
        if not both:
            continue
        own = float(np.mean([row[score_name] for row in both]))
        other = float(np.mean([row[key] for row in both]))
        value = rules.skill(own, other)
        out[score_name] = {
            "n": len(both),
            "score": own,
            "reference": other,
            "skill": value if math.isfinite(value) else None,  # a reference that scored 0
        }
    return out


def _reliability(p: list[float], y: list[float], bins: int = 10) -> list[dict[str, Any]]:
    """Equal-width bins of the forecasts, each with its mean forecast, observed frequency and
    the 90% consistency band of a reliable forecaster (Bröcker & Smith 2007)."""
    pa, ya = np.asarray(p), np.asarray(y)
    idx = np.minimum((pa * bins).astype(int), bins - 1)
    out = []
    for k in range(bins):
        sel = idx == k
        n = int(sel.sum())
        if n == 0:
            continue
        mean_f = float(pa[sel].mean())
        lo, hi = rules.consistency_band(mean_f, n)
        out.append(
            {
                "bin": [k / bins, (k + 1) / bins],
                "n": n,
                "forecast": mean_f,
                "observed": float(ya[sel].mean()),
                "band90": [lo, hi],
            }
        )
    return out


def _add_contributions(frame: pd.DataFrame, block: dict[str, Any]) -> None:
    mine = frame["result"] == block["name"]
    for name in ("brier", "log", "crps"):
        sel = mine & frame[name].notna()
        total = float(frame.loc[sel, name].sum())
        if total > 0:
            frame.loc[sel, f"{name}_share"] = frame.loc[sel, name] / total
    prob = frame[mine & frame["brier"].notna()].sort_values("brier", ascending=False)
    block["costliest"] = list(prob["id"][:5])


def _json_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    def clean(v: Any) -> Any:
        if isinstance(v, float | np.floating) and not math.isfinite(float(v)):
            return None
        if isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, np.floating):
            return float(v)
        return v

    keep = [c for c in frame.columns if not c.startswith("ref:")]
    return [
        {str(k): clean(v) for k, v in row.items() if v is not None}
        for row in frame[keep].to_dict("records")
    ]


def _notes(blocks: list[dict[str, Any]]) -> list[str]:
    notes = []
    for b in blocks:
        prob = b.get("probability")
        if prob and prob["n"] < FEW:
            se = prob["brier"]["se"]
            se_text = f" (standard error {se:.3f} over questions)" if se is not None else ""
            notes.append(
                f"{b['name']}: the Brier score is a mean over only {prob['n']} questions"
                f"{se_text}; with fewer than {FEW} questions it says little about skill, and "
                "differences between forecasters are rarely beyond noise."
            )
        if prob and prob["clipped"]:
            notes.append(
                f"{b['name']}: probabilities of 0 or 1 were clipped to [1/(2n), 1 - 1/(2n)] "
                f"(n = {b['sample_size']:,.0f}) for the log score: "
                + ", ".join(prob["clipped"])
                + "."
            )
        if prob and prob["cromwell"]:
            notes.append(
                f"{b['name']}: forecast 0 (or 1) and resolved otherwise (Cromwell's rule: "
                "never give a possible outcome probability 0): " + ", ".join(prob["cromwell"]) + "."
            )
        if b["ess"] is not None:
            notes.append(
                f"{b['name']}: conditioned on evidence; shares of its {b['rows']:,} resampled "
                f"rows are estimates from about {b['ess']:,.0f} effective replications "
                "(evidence.ess), which the intervals and clipping use."
            )
        if b["skipped"]:
            notes.append(
                f"{b['name']}: skipped {len(b['skipped'])} question(s) it cannot answer: "
                + "; ".join(f"{s['id']} ({s['reason']})" for s in b["skipped"])
                + "."
            )
    return notes


def question_kinds(res: Resolutions, inputs: list[ResultInput]) -> dict[str, str | None]:
    """The kind of each question (probability / value), by id."""
    return {q.id: question_kind(q, inputs) for q in res.questions}
