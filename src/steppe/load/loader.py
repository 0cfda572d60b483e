"""YAML file → :class:`~steppe.model.scenario.Scenario`, with every error located.

Errors from any stage — YAML syntax, the schema (pydantic), name resolution and expression
checks — become one :class:`~steppe.errors.ScenarioError` that names the file, line, column
and YAML path.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from steppe.errors import LimitError, PathPart, ScenarioError, ScenarioWarning, format_path
from steppe.load.evidence_files import add_evidence_files, restore_on_keys
from steppe.load.extends import resolve_extends
from steppe.load.files import read_scenario_file
from steppe.load.yamlsafe import Located, parse_yaml
from steppe.model.base import suggest
from steppe.model.scenario import Scenario
from steppe.model.schema import ScenarioSpec

__all__ = ["expanded_text", "load", "loads", "validate_files"]


def load(path: str | Path, *, evidence: Sequence[str | Path] = ()) -> Scenario:
    """Load, validate and compile a scenario file.

    Parameters
    ----------
    path
        A YAML scenario file.
    evidence
        Evidence files (a YAML mapping with an ``evidence:`` list and optionally
        ``as_of:``, see ``docs/files.md``): their items are appended after the scenario's,
        in order, and the latest ``as_of`` wins.

    Raises
    ------
    ScenarioError
        With file, line, column and YAML path, for anything wrong in the file.
    """
    text, raw = read_file(path)
    return _load_text(text, file=str(path), raw=raw, evidence=evidence)


def read_file(path: str | Path) -> tuple[str, bytes]:
    """The text of a scenario file and its bytes; a :class:`ScenarioError` if unreadable.

    Only a regular file of at most :data:`~steppe.load.yamlsafe.MAX_BYTES` bytes is read
    (see :func:`~steppe.load.files.read_scenario_file`).
    """
    return read_scenario_file(path)


def loads(
    text: str,
    *,
    file: str = "<string>",
    sha256: str | None = None,
    evidence: Sequence[str | Path] = (),
) -> Scenario:
    """Like :func:`load`, from a string.

    A relative ``extends:`` is resolved against the folder of ``file``. ``sha256``, when
    given, is used as is; otherwise it is computed as in :func:`load`.
    """
    # surrogatepass: a lone surrogate is then refused, located, by the YAML reader
    raw = text.encode("utf-8", "surrogatepass")
    return _load_text(text, file=file, raw=raw, sha256=sha256, evidence=evidence)


def _load_text(
    text: str,
    *,
    file: str,
    raw: bytes,
    sha256: str | None = None,
    evidence: Sequence[str | Path] = (),
) -> Scenario:
    """Parse, merge onto any parents, add evidence files, validate and compile.

    The checksum covers the file and all the files it extends: the SHA-256 of their bytes
    concatenated, the file itself first, then its parent, grandparent, ..., then the
    evidence files in order (none: the checksum of the scenario alone).
    """
    located, ancestors = resolve_extends(parse_yaml(text, file=file))
    restore_on_keys(located.data)
    located, extra = add_evidence_files(located, evidence)
    if sha256 is None:
        sha256 = hashlib.sha256(raw + ancestors + extra).hexdigest()
    try:
        spec = ScenarioSpec.model_validate(located.data)
    except ValidationError as exc:
        raise from_pydantic(exc, located) from None
    # Scenario positions carry a single file: keep those of values this file supplied.
    own = {p: m for p, m in located.marks.items() if located.files.get(p, file) == file}
    try:
        sc = Scenario.from_spec(spec, file=file, sha256=sha256, positions=own)
    except ScenarioError as exc:
        raise located.relocate(exc) from None
    if sc.correlation is not None and sc.correlation.repaired:
        _warn_repaired(sc, located)
    return _with_places(sc, located)


def _warn_repaired(sc: Scenario, located: Located) -> None:
    """Say that ``correlations:`` was replaced by the nearest correlation matrix."""
    assert sc.correlation is not None  # the caller checked
    path: tuple[PathPart, ...] = ("correlations",)
    where, line, col = located.where(path)
    at = where if line is None else f"{where}:{line}:{col}"
    corr = sc.correlation
    pairs = ", ".join(
        f"{a}~{b} {corr.target[i][j]:.3f}"
        for i, a in enumerate(corr.names)
        for j, b in enumerate(corr.names)
        if j > i
    )
    warnings.warn(
        ScenarioWarning(
            f"{at}: warning: {format_path(path)}: the rank correlation matrix is not positive "
            f"semi-definite (smallest eigenvalue {corr.given_eigenvalue:.6g}); using the "
            f"nearest correlation matrix (repair: nearest): {pairs}"
        ),
        stacklevel=3,
    )


def expanded_text(path: str | Path) -> str:
    """The scenario file ``path`` as YAML with its templates expanded (and, for a variant,
    merged onto the scenarios it extends): what the loader validates.

    Raises
    ------
    ScenarioError
        If the file is not a valid scenario (it is loaded first).
    """
    load(path)
    text, _ = read_file(path)
    located, _ = resolve_extends(parse_yaml(text, file=str(path)))
    restore_on_keys(located.data)
    return yaml.safe_dump(located.data, sort_keys=False, allow_unicode=True, width=92)


def _with_places(sc: Scenario, located: Located) -> Scenario:
    """``sc`` with the ``FILE:LINE:COL`` of each evidence item (which may be another file
    than the scenario's: an evidence file, or a file it extends)."""
    if not sc.evidence:
        return sc
    places = {}
    for o in sc.evidence:
        where, line, col = located.where(("evidence", o.item))
        places[o.item] = where if line is None else f"{where}:{line}:{col}"
    return replace(sc, evidence_places=places, _compiled=sc._compiled)


def validate_files(
    paths: Iterable[str | Path], *, evidence: Sequence[str | Path] = ()
) -> list[ScenarioError]:
    """Check files (each with the ``evidence`` files) without running them; return the
    errors (empty when all are valid)."""
    errors = []
    for path in paths:
        try:
            load(path, evidence=evidence)
        except ScenarioError as exc:
            errors.append(exc)
    return errors


def _yaml_path(loc: tuple[Any, ...], data: Any) -> tuple[PathPart, ...]:
    """Map a pydantic error location onto the YAML path, skipping union tags."""
    out: list[PathPart] = []
    node = data
    for part in loc:
        if part == "[key]":
            continue
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            out.append(part)
            node = node[part]
        # else: a union tag or a function-validator marker: not part of the document.
    return tuple(out)


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        keys = [str(k) for k in value]
        shown = ", ".join(keys[:6]) + (", ..." if len(keys) > 6 else "")
        return f"a mapping with keys {shown}" if keys else "an empty mapping"
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def from_pydantic(exc: ValidationError, located: Located) -> ScenarioError:
    """One located error per schema problem, in document order; the first carries the rest."""
    found: list[ScenarioError] = []
    seen: set[tuple[Any, ...]] = set()
    for err in exc.errors(include_url=False):
        one = _one(err, located)
        key = (one.path, one.message)
        if key not in seen:
            seen.add(key)
            found.append(one)
    found.sort(key=lambda e: (e.line or 0, e.column or 0))
    first = found[0]
    first.also = tuple(found[1:])
    return first


def _one(err: Any, located: Located) -> ScenarioError:
    path = _yaml_path(err["loc"], located.data)
    etype, ctx = err["type"], err.get("ctx") or {}
    key_pos = "[key]" in err["loc"]  # a bad mapping key (e.g. a reserved name): point at it
    if etype == "unknown_key":
        path = (*path, ctx["key"])
        message = err["msg"]
        key_pos = True
    elif etype == "bool_not_number":
        path = (*path, ctx["key"])
        message = err["msg"]
    elif etype == "too_long":
        value = err.get("input")
        found = len(value) if isinstance(value, dict | list) else ctx.get("actual_length")
        message = f"too many entries: found {found}, the limit is {ctx.get('max_length')}"
        limited = located.error(message, path)
        return LimitError(
            message, path=path, file=limited.file, line=limited.line, column=limited.column
        )
    elif etype == "missing":
        message = f"missing required key {err['loc'][-1]!r}"
    elif etype == "union_tag_invalid":
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        found = str(ctx.get("tag"))
        path = (*path, "dist")
        message = (
            f"unknown distribution {found!r}{suggest(found, tags)}; expected one of "
            + ", ".join(tags)
        )
    elif etype.startswith(("date_", "datetime_")):
        value = err.get("input")
        message = f"expected a date written YYYY-MM-DD (e.g. 2030-12-31), found {_describe(value)}"
        if isinstance(value, str):  # pydantic says what in the text is wrong
            message += (
                f": {err['msg'].lower().removeprefix('input should be a valid date or datetime, ')}"
            )
    else:
        message = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        if etype != "value_error":
            message += f"; found {_describe(value)}"
    return located.error(message, path, key=key_pos)
