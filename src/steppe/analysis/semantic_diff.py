"""What differs between two resolved scenarios: a semantic diff of their specs.

Two scenarios are compared as the validated, merged specs they resolve to (``extends``
applied), not as YAML text: reordering keys, comments, or moving a value from a parent into a
variant changes nothing here. For each of ``actors``, ``parameters``, ``events``,
``projects``, ``series`` and ``outcomes`` an entry is *added*, *removed* or *changed*; a
change lists every field that differs (a dotted path such as ``duration.ci90`` or
``stages[1].duration``) with its value before and after. Parameters are described as one
line (``lognormal(ci90=[0.4, 1.5])``); free-text fields (``title``, ``source``, ``why``, ...)
are reported when they differ, shortened. The window (``start``, ``horizon``, ``step``,
``as_of``) is compared too; ``name``, ``title``, ``description``, ``sources``, ``seed`` and
``replications`` are not (a comparison sets its own seed and replications).

The rank correlations (``correlations:``) are compared pair by pair, whichever form gives
them (a list of pairs, a matrix, or both): a pair ``a ~ b`` whose rank correlation is not 0
in one scenario only is added or removed, one whose correlation differs is changed; so is
``repair``. The precision rule (``precision:``, a number or a mapping) is added, removed or
changed as one entry, with its target ``se``, its ``outcomes`` (every probability outcome
when not named) and its first stage ``first``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from steppe.model.precision import DEFAULT_FIRST
from steppe.model.schema import ScenarioSpec

__all__ = ["Change", "describe_parameter", "diff_specs", "plain"]

SECTIONS = ("actors", "parameters", "events", "projects", "series", "outcomes")
WINDOW = ("start", "horizon", "step", "as_of")
TEXT_FIELDS = frozenset({"title", "description", "source", "why", "citation", "url", "name"})
_SHORT = 70


@dataclass(frozen=True)
class Change:
    """One difference between scenario A (the first) and B.

    Attributes
    ----------
    section
        ``"window"``, ``"actors"``, ``"parameters"``, ``"events"``, ``"projects"``,
        ``"series"``, ``"outcomes"``, ``"correlations"`` or ``"precision"``.
    name
        The entry (``""`` for the window and the precision rule; ``"a ~ b"`` for a pair of
        correlated parameters, ``"repair"`` for the repair of the correlation matrix).
    kind
        ``"added"`` (only in B), ``"removed"`` (only in A) or ``"changed"``.
    fields
        ``(field, value in A, value in B)`` for every differing field, as display text
        (``None`` where the field is absent).
    """

    section: str
    name: str
    kind: Literal["added", "removed", "changed"]
    fields: tuple[tuple[str, str | None, str | None], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A plain-JSON form."""
        return {
            "section": self.section,
            "name": self.name,
            "kind": self.kind,
            "fields": [{"field": f, "a": a, "b": b} for f, a, b in self.fields],
        }


def plain(obj: Any) -> Any:
    """A spec (or part of one) as plain JSON-like data, by alias, without ``None`` fields.

    (Walks the models directly: pydantic's serializer warns on the spec's callable
    discriminators.)
    """
    if isinstance(obj, BaseModel):
        out = {}
        for name, info in type(obj).model_fields.items():
            value = getattr(obj, name)
            if value is not None:
                out[info.alias or name] = plain(value)
        return out
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj


def describe_parameter(p: Any) -> str:
    """A parameter in plain form as one line: ``lognormal(ci90=[0.4, 1.5])``, ``0.3``, ``= a``."""
    if isinstance(p, int | float):
        return f"{p:g}"
    if "dist" in p:
        args = {k: v for k, v in p.items() if k not in ("dist", "source", "why")}
        return f"{p['dist']}(" + ", ".join(f"{k}={_show(v)}" for k, v in args.items()) + ")"
    if "expr" in p:
        return f"= {p['expr']}"
    return f"{p['value']:g}"


def _show(value: Any, *, text: bool = False) -> str:
    if isinstance(value, str):
        s = " ".join(value.split())
        return s if not text or len(s) <= _SHORT else s[: _SHORT - 3] + "..."
    if isinstance(value, float):
        return f"{value:g}"
    return json.dumps(value, separators=(", ", ": "))


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [{"d": 2}]}`` -> ``{"a.b": 1, "c[0].d": 2}``."""
    out: dict[str, Any] = {}
    if isinstance(value, dict) and value:
        for k, v in value.items():
            out |= _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            out |= _flatten(v, f"{prefix}[{i}]")
    else:
        out[prefix] = value
    return out


def _field_changes(a: Any, b: Any) -> tuple[tuple[str, str | None, str | None], ...]:
    fa, fb = _flatten(a), _flatten(b)
    out = []
    for key in sorted(set(fa) | set(fb), key=lambda k: (k not in fa, k)):
        va, vb = fa.get(key), fb.get(key)
        if va != vb:
            text = key.rsplit(".", 1)[-1] in TEXT_FIELDS
            out.append(
                (
                    key,
                    None if key not in fa else _show(va, text=text),
                    None if key not in fb else _show(vb, text=text),
                )
            )
    return tuple(out)


def diff_specs(a: ScenarioSpec | dict[str, Any], b: ScenarioSpec | dict[str, Any]) -> list[Change]:
    """The semantic differences from scenario ``a`` to scenario ``b`` (see the module doc)."""
    pa = plain(a) if isinstance(a, BaseModel) else a
    pb = plain(b) if isinstance(b, BaseModel) else b
    changes: list[Change] = []
    window = _field_changes({k: pa.get(k) for k in WINDOW}, {k: pb.get(k) for k in WINDOW})
    if window:
        changes.append(Change("window", "", "changed", window))
    for section in SECTIONS:
        sa, sb = pa.get(section) or {}, pb.get(section) or {}
        for name in [*sa, *(k for k in sb if k not in sa)]:
            if name not in sb:
                changes.append(Change(section, name, "removed"))
            elif name not in sa:
                changes.append(Change(section, name, "added"))
            elif sa[name] != sb[name]:
                fields = _field_changes(sa[name], sb[name])
                if section == "parameters":
                    da, db = describe_parameter(sa[name]), describe_parameter(sb[name])
                    if da != db:
                        fields = (
                            ("distribution", da, db),
                            *tuple(f for f in fields if f[0] in ("source", "why")),
                        )
                changes.append(Change(section, name, "changed", fields))
    changes += _correlation_changes(pa.get("correlations"), pb.get("correlations"))
    changes += _precision_changes(pa.get("precision"), pb.get("precision"))
    return changes


def _pairs(corr: Any) -> tuple[dict[str, float], str]:
    """A ``correlations:`` in plain form as ``{"a ~ b": rank}`` (non-zero ranks, each pair
    once, its names in order) and its ``repair``."""
    if not corr:
        return {}, "none"
    items: list[tuple[str, str, float]] = []
    entries = corr if isinstance(corr, list) else corr.get("pairs", [])
    for e in entries:
        items.append((e["between"][0], e["between"][1], float(e["rank"])))
    if isinstance(corr, dict) and corr.get("parameters") and corr.get("matrix"):
        names, matrix = corr["parameters"], corr["matrix"]
        for i, a in enumerate(names):
            for j in range(i + 1, min(len(names), len(matrix[i]))):
                items.append((a, names[j], float(matrix[i][j])))
    out = {" ~ ".join(sorted((a, b))): rank for a, b, rank in items if rank != 0.0}
    repair = corr.get("repair", "none") if isinstance(corr, dict) else "none"
    return out, str(repair)


def _correlation_changes(a: Any, b: Any) -> list[Change]:
    (pa, ra), (pb, rb) = _pairs(a), _pairs(b)
    out = []
    for pair in [*pa, *(k for k in pb if k not in pa)]:
        va, vb = pa.get(pair), pb.get(pair)
        if va == vb:
            continue
        kind: Literal["added", "removed", "changed"] = (
            "added" if va is None else "removed" if vb is None else "changed"
        )
        shown = (None if va is None else _show(va), None if vb is None else _show(vb))
        out.append(Change("correlations", pair, kind, (("rank", *shown),)))
    if ra != rb:
        out.append(Change("correlations", "repair", "changed", (("repair", ra, rb),)))
    return out


def _precision_rule(p: Any) -> dict[str, Any] | None:
    """A ``precision:`` in plain form with its defaults (``docs/scenario-format.md`` §16)."""
    if p is None:
        return None
    if isinstance(p, int | float):
        p = {"se": p}
    watched = p.get("outcomes")
    return {
        "se": float(p["se"]),
        "outcomes": ", ".join(watched) if watched else "every probability outcome",
        "first": int(p.get("first", DEFAULT_FIRST)),
    }


def _precision_changes(a: Any, b: Any) -> list[Change]:
    ra, rb = _precision_rule(a), _precision_rule(b)
    if ra == rb:
        return []
    kind: Literal["added", "removed", "changed"] = (
        "added" if ra is None else "removed" if rb is None else "changed"
    )
    keys = ("se", "outcomes", "first")
    fields = tuple(
        (k, None if ra is None else _show(ra[k]), None if rb is None else _show(rb[k]))
        for k in keys
        if ra is None or rb is None or ra[k] != rb[k]
    )
    return [Change("precision", "", kind, fields)]
