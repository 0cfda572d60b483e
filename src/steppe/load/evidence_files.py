"""Evidence files: ``steppe run SCENARIO --evidence FILE`` (``steppe.load(path, evidence=...)``).

An evidence file is a YAML mapping with an ``evidence:`` list of the same items as a
scenario's ``evidence:`` section, and optionally ``as_of:``. It is read with the same safe
reader as scenario files and checked on its own first (errors are located in it); its items
are then appended after the scenario's (and those of earlier evidence files), and the later
of the ``as_of`` dates wins. Every appended value keeps the file, line and column it came
from, so later errors (an unknown event, a date after ``as_of`` ...) point into the
evidence file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from steppe.errors import PathPart
from steppe.load.files import read_scenario_file
from steppe.load.yamlsafe import Located, parse_yaml
from steppe.model.evidence_spec import EvidenceFileSpec

__all__ = ["add_evidence_files", "restore_on_keys"]

YPath = tuple[PathPart, ...]


def add_evidence_files(located: Located, files: Sequence[str | Path]) -> tuple[Located, bytes]:
    """``located`` (a merged scenario document) with the items of ``files`` appended.

    Returns
    -------
    (Located, bytes)
        The document and the raw bytes of the evidence files, in order, for the checksum.

    Raises
    ------
    ScenarioError
        A file that cannot be read, is not YAML, or is not an evidence file; located in it.
    """
    raw = b""
    for path in files:
        text, data = read_scenario_file(path, what="the evidence file")
        raw += data
        doc = parse_yaml(text, file=str(path))
        restore_on_keys(doc.data)
        _check(doc)
        located = _append(located, doc)
    return located, raw


def restore_on_keys(data: dict[str, Any]) -> None:
    """Give back the key ``on`` of evidence items, in place.

    YAML 1.1 reads a plain ``on`` as the boolean true, also as a key; in an evidence item
    (``on: [DAYS]``) it can only mean the key ``on``. Positions are recorded by the key's
    text, so they need no change.
    """
    items = data.get("evidence")
    if not isinstance(items, list):
        return
    for i, item in enumerate(items):
        if isinstance(item, dict) and True in item and "on" not in item:
            items[i] = {("on" if k is True else k): v for k, v in item.items()}


def _check(doc: Located) -> None:
    # Deferred import: the loader imports this module.
    from steppe.load.loader import from_pydantic

    try:
        EvidenceFileSpec.model_validate(doc.data)
    except ValidationError as exc:
        raise from_pydantic(exc, doc) from None


def _append(located: Located, doc: Located) -> Located:
    data = dict(located.data)
    before = data.get("evidence")
    items: list[Any] = list(before) if isinstance(before, list) else []
    offset = len(items)
    data["evidence"] = items + list(doc.data["evidence"])
    marks, key_marks, files = dict(located.marks), dict(located.key_marks), dict(located.files)

    def take(path: YPath, new: YPath) -> None:
        if path in doc.marks:
            marks[new], files[new] = doc.marks[path], doc.file
        if path in doc.key_marks:
            key_marks[new] = doc.key_marks[path]

    for path in list(doc.marks) + list(doc.key_marks):
        if len(path) >= 2 and path[0] == "evidence" and isinstance(path[1], int):
            take(path, ("evidence", offset + path[1], *path[2:]))
    if not isinstance(before, list):  # the scenario has no evidence: point at the file's
        take(("evidence",), ("evidence",))
    as_of = doc.data.get("as_of")
    current = data.get("as_of")
    if isinstance(as_of, dt.date) and (not isinstance(current, dt.date) or as_of > current):
        data["as_of"] = as_of
        take(("as_of",), ("as_of",))
    return Located(data=data, file=located.file, marks=marks, key_marks=key_marks, files=files)
