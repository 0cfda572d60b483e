"""Numbers without a source: the check behind ``steppe validate --provenance``.

The format asks that every number of a scenario carry its provenance, a ``source:`` quoting
the document it comes from or a ``why:`` with the judgement (``docs/scenario-format.md``,
§17); the loader does not insist, so that a scenario can be sketched first. This check
finds the gaps in a scenario that loads, each located in the file that supplied it:

* a **parameter** without ``source`` or ``why`` (a bare number has neither);
* an **actor** with attributes but without ``source`` or ``why``;
* a **number written elsewhere** — in an expression (a hazard, a drift, an outcome's
  condition ...), a duration or its distribution, a floor — other than 0 and 1, with no
  ``source`` or ``why`` on the mapping that holds it or on any mapping around it up to
  its entry (an event, project, series or outcome);
* a **correlation** (``correlations:``): each pairwise entry, or the matrix, without
  ``source`` or ``why`` (on the entry, or on the mapping that holds the matrix and pairs);
* in a **variant**, an entry whose values the variant changes while its ``source`` and
  ``why`` all come from the file it extends: they describe the old values.

Expressions are read with :func:`ast.parse`, which parses and never evaluates; the loader
has already checked them against the expression language.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steppe.errors import PathPart, format_path
from steppe.load.extends import resolve_extends
from steppe.load.loader import load, read_file
from steppe.load.yamlsafe import Located, parse_yaml

__all__ = ["ProvenanceGap", "provenance_gaps"]

#: Sections whose entries are checked for numbers, in document order.
_ENTRY_SECTIONS = ("events", "projects", "series", "outcomes")
#: Keys that hold provenance.
_PROVENANCE = ("source", "why")
#: Keys whose values are not numbers of the model: text, names, dates, structure.
_NOT_NUMBERS = frozenset(
    {"title", "unit", "description", "actor", "actors", "name", "process", "recurring",
     "history", "completed_stages", "by", "at", "event", "dist"}
)  # fmt: skip
#: Keys whose values are words: a variant that changes only these changes no value.
_TEXT = frozenset({"title", "unit", "description", "name"})
_PLAIN = (0.0, 1.0)

YPath = tuple[PathPart, ...]


@dataclass(frozen=True)
class ProvenanceGap:
    """A number, or an entry's numbers, without a source.

    Attributes
    ----------
    path
        YAML path of the value (in the merged scenario, for a variant).
    message
        What lacks a source, and how to give one.
    file, line, column
        Where the value stands: the file that supplied it (1-based line and column).
    """

    path: YPath
    message: str
    file: str
    line: int | None
    column: int | None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}:{self.column}"
        return f"{where}: error: {format_path(self.path)}: {self.message}"


def provenance_gaps(
    path: str | Path, *, evidence: Sequence[str | Path] = ()
) -> list[ProvenanceGap]:
    """The numbers of the scenario file ``path`` (and the files it extends) that carry no
    source, in document order.

    Evidence items (the scenario's and those of the ``evidence`` files, which are loaded
    with it) need no check here: the loader requires a ``source`` on each.

    Raises
    ------
    ScenarioError
        If the file is not a valid scenario (it is loaded first, as :func:`steppe.load`
        does, so only a valid document is checked).
    """
    load(path, evidence=evidence)
    text, _ = read_file(path)
    located, _ = resolve_extends(parse_yaml(text, file=str(path)))
    gaps = _Checker(located).run()
    # this file's first, then those of the files it extends; in each, in text order
    return sorted(gaps, key=lambda g: (g.file != located.file, g.file, g.line or 0, g.column or 0))


def _has_provenance(node: Any) -> bool:
    return isinstance(node, dict) and any(node.get(k) for k in _PROVENANCE)


def _literals(value: Any) -> Iterator[float]:
    """The numbers written in an expression (a YAML number or expression text)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
        return
    if not isinstance(value, str):
        return
    try:
        tree = ast.parse(value.strip(), mode="eval")
    except (SyntaxError, ValueError):  # the loader reports these
        return
    for node in ast.walk(tree):
        const = node.value if isinstance(node, ast.Constant) else None
        if isinstance(const, int | float) and not isinstance(const, bool):
            yield float(const)


class _Checker:
    def __init__(self, located: Located) -> None:
        self.doc = located
        self.gaps: list[ProvenanceGap] = []

    def gap(self, path: YPath, message: str) -> None:
        file, line, col = self.doc.where(path)
        note = self.doc.note(path)  # a template's instance
        message = f"{message} ({note})" if note else message
        self.gaps.append(ProvenanceGap(path, message, file, line, col))

    def run(self) -> list[ProvenanceGap]:
        data = self.doc.data
        for name, param in (data.get("parameters") or {}).items():
            path: YPath = ("parameters", name)
            if not _has_provenance(param):
                what = "a bare number" if not isinstance(param, dict) else "a parameter"
                self.gap(path, f"{what} without a source or why: add `source:` or `why:`")
            else:
                self.stale(path, param)
        for name, actor in (data.get("actors") or {}).items():
            path = ("actors", name)
            if isinstance(actor, dict) and actor.get("attributes"):
                if not _has_provenance(actor):
                    self.gap(path, "attributes without a source or why: add `source:` or `why:`")
                else:
                    self.stale(path, actor)
        self.correlations(data.get("correlations"))
        for section in _ENTRY_SECTIONS:
            for name, entry in (data.get(section) or {}).items():
                path = (section, name)
                self.numbers(entry, path, covered=False)
                if _has_provenance(entry):
                    self.stale(path, entry)
        return self.gaps

    def correlations(self, node: Any) -> None:
        """Each correlation carries a source or why: a pair, or the matrix's mapping."""
        root: YPath = ("correlations",)
        what = "without a source or why: add `source:` or `why:`"
        if isinstance(node, list):
            for i, pair in enumerate(node):
                if not _has_provenance(pair):
                    self.gap((*root, i), f"a correlation {what}")
            return
        if not isinstance(node, dict) or _has_provenance(node):
            return
        if "matrix" in node:
            self.gap((*root, "matrix"), f"a correlation matrix {what} (to its mapping)")
        for i, pair in enumerate(node.get("pairs") or []):
            if not _has_provenance(pair):
                self.gap((*root, "pairs", i), f"a correlation {what}")

    def numbers(self, node: Any, path: YPath, *, covered: bool) -> None:
        """Report the numbers under ``node`` that no enclosing mapping gives a source for."""
        covered = covered or _has_provenance(node)
        if isinstance(node, dict) and "dist" in node:
            # a distribution: every number in it is an assumption (0 and 1 included)
            if not covered:
                skip = _NOT_NUMBERS | set(_PROVENANCE)
                found = [x for _, v in _leaves(node, path, skip) for x in _literals(v)]
                self.report(path, sorted(set(found)), "of this distribution ")
            return
        if isinstance(node, dict):
            for key, value in node.items():
                if key not in _NOT_NUMBERS and key not in _PROVENANCE:
                    self.numbers(value, (*path, key), covered=covered)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                self.numbers(value, (*path, i), covered=covered)
        elif not covered:
            self.report(path, sorted({x for x in _literals(node) if x not in _PLAIN}))

    def report(self, path: YPath, found: list[float], what: str = "") -> None:
        if found:
            shown = ", ".join(f"{x:g}" for x in found)
            self.gap(
                path,
                f"the number{'s' if len(found) > 1 else ''} {what}{shown} without a source "
                "or why: add `source:` or `why:` here or to the entry, or make it a parameter",
            )

    def stale(self, path: YPath, entry: Any) -> None:
        """In a variant: the entry's values come from this file, its provenance from another."""
        top = self.doc.file
        values: set[str] = set()
        notes: set[str] = set()
        for leaf, _ in _leaves(entry, path, _TEXT):
            owner = self.doc.files.get(leaf, top)
            (notes if leaf[-1] in _PROVENANCE else values).add(owner)
        if top in values and notes and top not in notes:
            parents = ", ".join(sorted(notes))
            self.gap(
                path,
                f"the values are changed here but the source or why still comes from "
                f"{parents}: restate it for the new values",
            )


def _leaves(node: Any, path: YPath, skip: frozenset[str]) -> Iterator[tuple[YPath, Any]]:
    """The scalar values under ``node`` with their paths, not descending into keys ``skip``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in skip:
                yield from _leaves(value, (*path, key), skip)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, i), skip)
    else:
        yield path, node
