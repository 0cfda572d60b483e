"""Scenario variants: a file with ``extends: parent.yaml`` is merged onto its parent.

The rules (documented for analysts in ``docs/scenario-format.md``, "Variants: extends"):

* the parent is read (recursively, at most :data:`MAX_EXTENDS` levels, no cycles) and the
  child is deep-merged onto it: mappings merge key by key, anything else (numbers, text,
  lists) replaces; a distribution (a mapping with ``dist``) and a parameter that gives
  ``value`` or ``expr`` replace the parent's value as a whole; ``null`` deletes a key;
* under ``parameters``, ``events``, ``series``, ``projects`` and ``actors`` the child may
  only change entries the parent has; new entries go under ``add:`` (``outcomes`` may be
  added freely);
* the child gives its own ``name`` (different from the parent's), ``title`` and
  ``description``;
* the child's ``evidence:`` items are appended after the parent's (``evidence: null``
  drops the parent's);
* each file's ``templates:`` are expanded before the merge (:mod:`steppe.load.templates`):
  the parent's generated entries are the parent's entries, which the child may change by
  their generated names; the child's are new entries of the child.

The merged document keeps, for every path, the file, line and column of whichever file
supplied the value, so later errors point into the right file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from steppe.errors import PathPart, ScenarioError
from steppe.load.files import read_scenario_file
from steppe.load.templates import expand_templates
from steppe.load.yamlsafe import Located, parse_yaml
from steppe.model.base import suggest

__all__ = ["MAX_EXTENDS", "SECTIONS", "resolve_extends"]

#: How many ``extends`` steps a chain may have.
MAX_EXTENDS = 8
#: Sections whose entries a variant may change but not add (new ones go under ``add:``).
SECTIONS = ("parameters", "events", "series", "projects", "actors")
_OWN = ("name", "title", "description")

YPath = tuple[PathPart, ...]


def resolve_extends(located: Located, *, chain: tuple[Path, ...] = ()) -> tuple[Located, bytes]:
    """Merge ``located`` onto the scenarios it extends, if any.

    Parameters
    ----------
    located
        The parsed child file.
    chain
        Resolved paths of the files already being read (the child first); used to refuse
        cycles and over-long chains.

    Returns
    -------
    (Located, bytes)
        The merged document (``located`` itself when it has no ``extends``) and the raw
        bytes of every ancestor, parent first, for the scenario's checksum.

    Raises
    ------
    ScenarioError
        A missing or unreadable parent, a cycle, a chain over :data:`MAX_EXTENDS`, or a
        variant that breaks the rules above; located in the file at fault.
    """
    data = located.data
    if "extends" not in data:
        return expand_templates(located), b""
    ref = data["extends"]
    if not isinstance(ref, str) or not ref.strip():
        raise located.error(
            f"expected the path of a scenario file (relative to this file's folder); found {ref!r}",
            ("extends",),
        )
    if "\x00" in ref:
        raise located.error(
            f"expected the path of a scenario file; found {ref!r}, which holds a NUL character",
            ("extends",),
        )
    here = Path(located.file)
    chain = chain or (here.resolve(),)
    parent_path = here.parent / ref
    resolved = parent_path.resolve()
    names = " -> ".join(p.name for p in (*chain, resolved))
    if resolved in chain:
        raise located.error(f"extends cycle: {names}", ("extends",))
    if len(chain) > MAX_EXTENDS:
        raise located.error(
            f"extends chain is longer than {MAX_EXTENDS} files: {names}", ("extends",)
        )
    try:
        text, raw = read_scenario_file(parent_path, what=f"{ref!r} ({parent_path})")
    except ScenarioError as exc:  # LimitError included: located at this file's extends
        file, line, column = located.where(("extends",))
        raise type(exc)(
            exc.message, path=("extends",), file=file, line=line, column=column
        ) from None
    parent, grand = resolve_extends(
        parse_yaml(text, file=str(parent_path)), chain=(*chain, resolved)
    )
    located = expand_templates(located, parent=parent)
    _check_variant(located, parent, ref)
    return _merge_located(parent, located), raw + grand


def _check_variant(child: Located, parent: Located, ref: str) -> None:
    """Refuse a variant that reuses its parent's name or changes entries that do not exist."""
    data, pdata = child.data, parent.data
    for key in _OWN:
        if key not in data:
            raise child.error(
                f"missing required key {key!r}: a variant gives its own name, title and "
                "description",
                (),
            )
    if data["name"] == pdata.get("name"):
        raise child.error(
            f"name {data['name']!r} is the name of the scenario it extends ({ref}); "
            "a variant needs its own name",
            ("name",),
        )
    for section in SECTIONS:
        entries, known = data.get(section), pdata.get(section) or {}
        if not isinstance(entries, dict) or not isinstance(known, dict):
            continue  # wrong types are reported by the schema after merging
        for name in entries:
            if name not in known:
                raise child.error(
                    f"{name!r} is not in {ref}{suggest(str(name), list(known))}; "
                    "to add a new entry use add:",
                    (section, name),
                    key=True,
                )
    add = data.get("add")
    if add is None:
        return
    if not isinstance(add, dict):
        raise child.error(f"expected a mapping of sections; found {add!r}", ("add",))
    for section, entries in add.items():
        if section not in SECTIONS:
            raise child.error(
                f"unknown section {section!r}{suggest(str(section), SECTIONS)}; "
                f"add: accepts {', '.join(SECTIONS)}",
                ("add", section),
                key=True,
            )
        if not isinstance(entries, dict):
            raise child.error(f"expected a mapping of entries; found {entries!r}", ("add", section))
        known = pdata.get(section) or {}
        for name in entries:
            if name in known:
                raise child.error(
                    f"{name!r} is already in {ref}; to change it, give it under {section}:",
                    ("add", section, name),
                    key=True,
                )


def _replaces(child: dict[str, Any], path: YPath) -> bool:
    """A child mapping that replaces the parent's value instead of merging into it."""
    if "dist" in child or path in (("correlations",), ("precision",)):
        return True
    is_param = len(path) == 2 and path[0] == "parameters"
    return is_param and ("value" in child or "expr" in child)


def _merge(parent: Any, child: Any, path: YPath) -> Any:
    if isinstance(parent, dict) and isinstance(child, dict) and not _replaces(child, path):
        out = dict(parent)
        for key, value in child.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = _merge(out[key], value, (*path, key))
            else:
                out[key] = value
        return out
    return child


def _child_path(path: YPath, shift: int = 0) -> YPath | None:
    """Where a path of the child file lands in the merged document (None: nowhere);
    the child's evidence items come after the parent's ``shift`` items."""
    if path[:1] == ("extends",):
        return None
    if path[:1] == ("add",):
        return path[1:] if len(path) >= 2 else None
    if shift and len(path) >= 2 and path[0] == "evidence" and isinstance(path[1], int):
        return ("evidence", path[1] + shift, *path[2:])
    return path


def _merge_located(parent: Located, child: Located) -> Located:
    body = {k: v for k, v in child.data.items() if k not in ("extends", "add")}
    data = _merge(parent.data, body, ())
    for section, entries in (child.data.get("add") or {}).items():
        data[section] = {**(data.get(section) or {}), **entries}
    # Evidence accumulates: the child's items follow the parent's.
    shift = 0
    before, own = parent.data.get("evidence"), child.data.get("evidence")
    if isinstance(before, list) and isinstance(own, list):
        data["evidence"] = [*before, *own]
        shift = len(before)

    def remap(table: dict[YPath, tuple[int, int]]) -> dict[YPath, tuple[int, int]]:
        out: dict[YPath, tuple[int, int]] = {}
        for path, mark in table.items():
            new = _child_path(path, shift)
            if new is not None:
                out.setdefault(new, mark)
        return out

    cmarks, ckeys = remap(child.marks), remap(child.key_marks)
    cfiles = {p: f for p, f in ((_child_path(p, shift), f) for p, f in child.files.items()) if p}
    cnotes = {p: n for p, n in ((_child_path(p, shift), n) for p, n in child.notes.items()) if p}
    marks: dict[YPath, tuple[int, int]] = {}
    key_marks: dict[YPath, tuple[int, int]] = {}
    files: dict[YPath, str] = {}
    notes: dict[YPath, str] = {}

    def walk(node: Any, path: YPath) -> None:
        if path in cmarks:
            marks[path], files[path] = cmarks[path], cfiles.get(path, child.file)
            if path in ckeys:
                key_marks[path] = ckeys[path]
            if path in cnotes:
                notes[path] = cnotes[path]
        elif path in parent.marks:
            marks[path], files[path] = parent.marks[path], parent.files.get(path, parent.file)
            if path in parent.key_marks:
                key_marks[path] = parent.key_marks[path]
            if path in parent.notes:
                notes[path] = parent.notes[path]
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, (*path, i))

    walk(data, ())
    return Located(
        data=data, file=child.file, marks=marks, key_marks=key_marks, files=files, notes=notes
    )
