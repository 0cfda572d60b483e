"""Templates: entries written once and generated for each actor of a list.

The rules (documented for analysts in ``docs/scenario-format.md``, "Templates"):

* ``templates:`` is a list; each template has ``for_each: {actor: [UZ, TJ, ...]}`` (keys of
  ``actors:``) and entries under ``parameters``, ``events``, ``series`` and ``outcomes``;
* in the entries' names and in every text value, ``{actor}`` is the instance's actor key,
  ``{actor.lower}`` the key in lower case, ``{actor.name}`` the actor's ``name``;
  ``{{`` and ``}}`` are literal braces;
* ``{others}`` (and ``{others.lower}``, ``{others.name}``) stands for the *other* actors of
  the list: the word it stands in (letters, digits, ``_``, ``.`` and placeholders) is
  repeated once per other actor, comma-separated, so ``n_occurred({others.lower}_delists)``
  becomes ``n_occurred(tj_delists, tm_delists, kg_delists)`` in the instance for UZ;
* ``overrides: {ACTOR: {SECTION: {GENERATED_NAME: change}}}`` changes one instance's
  entries as a variant changes its parent's (mappings merge key by key, ``null`` deletes a
  key; ``null`` for a whole entry leaves it out of that instance);
* a template's ``source`` and ``why`` are given to each generated entry that has neither
  (an outcome, which has no ``source``, is given the ``why``);
* generated entries come first in their sections, template by template and actor by actor,
  before the entries the file writes out; a generated name that is also written out, or
  generated twice, is an error naming both places. In a variant they are new entries,
  as if written under ``add:`` (outcomes: under ``outcomes:``), expanded against the
  merged actors, and placed after the parent's entries.

Every generated value keeps the line and column of the template text it came from and a
note naming its instance (``in the instance for UZ of templates[0]``), so that errors found
later (by the schema, in an expression) point at the template and say which instance.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from steppe.errors import LimitError, PathPart
from steppe.load.yamlsafe import MAX_NODES, Located
from steppe.model.base import suggest
from steppe.model.schema import MAX_ITEMS
from steppe.model.template_spec import PLACEHOLDERS, TEMPLATE_SECTIONS, TemplatesSpec

__all__ = ["expand_templates"]

YPath = tuple[PathPart, ...]

#: The longest text a placeholder may expand to (a ``{others}`` repeats its word).
MAX_TEXT = 100_000
#: How many characters of text with placeholders all the instances may expand to.
MAX_TOTAL_TEXT = 20_000_000

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.")
#: Sections a variant may only add to under ``add:`` (outcomes are added directly).
_ADDED = ("parameters", "events", "series")


@dataclass(frozen=True)
class _Slot:
    """A placeholder: ``who`` is ``actor`` or ``others``, ``form`` is ``""``, ``lower`` or
    ``name``."""

    who: str
    form: str


_Piece = str | _Slot


def _tokens(text: str, doc: Located, path: YPath) -> list[_Piece]:
    """``text`` as characters and placeholders; a located error for an unknown one."""
    out: list[_Piece] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        out.extend(text[pos : m.start()])
        pos = m.end()
        token = m.group(0)
        if token in ("{{", "}}"):
            out.append(token[0])
        elif token in ("{", "}"):
            raise doc.error(
                f"a lone {token!r} in {text!r}; placeholders are written "
                f"{{actor}}, {{others.lower}}, ...; write {token * 2!r} for a brace",
                path,
            )
        else:
            inner = (m.group(1) or "").strip()
            if inner not in PLACEHOLDERS:
                known = [f"{{{p}}}" for p in PLACEHOLDERS]
                hint = suggest(f"{{{inner}}}", known)
                raise doc.error(
                    f"unknown placeholder '{{{inner}}}'{hint}; a template knows "
                    + ", ".join(known),
                    path,
                )
            who, _, form = inner.partition(".")
            out.append(_Slot(who, form))
    out.extend(text[pos:])
    return out


def _has_slot(text: str) -> bool:
    return any(m.group(1) is not None for m in _TOKEN.finditer(text))


@dataclass(frozen=True)
class _Instance:
    """One actor of a template's ``for_each``, with the others."""

    actor: str
    others: tuple[str, ...]
    names: dict[str, str]  # actor key -> its name
    budget: list[int]  # characters the expansion may still write, shared by its instances

    def value(self, slot: _Slot, who: str) -> str:
        if slot.form == "lower":
            return who.lower()
        if slot.form == "name":
            return self.names.get(who, who)
        return who

    def render(self, text: str, doc: Located, path: YPath) -> str:
        """``text`` with its placeholders replaced for this instance."""
        if "{" not in text and "}" not in text:
            return text
        pieces = _tokens(text, doc, path)
        out: list[str] = []
        word: list[_Piece] = []
        size = 0

        def flush() -> None:
            nonlocal size
            if any(isinstance(p, _Slot) and p.who == "others" for p in word):
                copies = [self._word(word, other) for other in self.others]
                out.append(", ".join(copies))
            else:
                out.append(self._word(word, None))
            size += len(out[-1])
            if size > MAX_TEXT:
                raise _limit(
                    doc, path, f"a placeholder expands to more than {MAX_TEXT:,} characters"
                )
            word.clear()

        for piece in pieces:
            if isinstance(piece, _Slot) or piece in _WORD:
                word.append(piece)
            else:
                flush()
                out.append(piece)
                size += 1
        flush()
        self.budget[0] -= size
        if self.budget[0] < 0:
            raise _limit(
                doc,
                path,
                f"the templates expand to more than {MAX_TOTAL_TEXT:,} characters of text; "
                "refusing to expand them",
            )
        return "".join(out)

    def _word(self, word: list[_Piece], other: str | None) -> str:
        parts = []
        for p in word:
            if isinstance(p, str):
                parts.append(p)
            else:
                parts.append(self.value(p, self.actor if p.who == "actor" else str(other)))
        return "".join(parts)

    def fill(self, node: Any, doc: Located, path: YPath) -> Any:
        """A copy of ``node`` with every text rendered (keys of nested mappings kept)."""
        if isinstance(node, str):
            return self.render(node, doc, path)
        if isinstance(node, dict):
            return {k: self.fill(v, doc, (*path, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [self.fill(v, doc, (*path, i)) for i, v in enumerate(node)]
        return node


def _limit(doc: Located, path: YPath, message: str, *, key: bool = False) -> LimitError:
    file, line, column = doc.where(path, key=key)
    return LimitError(message, path=path, file=file, line=line, column=column)


def _paths(node: Any, path: YPath) -> Iterator[tuple[YPath, YPath]]:
    """Every path under ``node`` as (path relative to ``node``, full path)."""
    rel: YPath = ()
    stack: list[tuple[YPath, Any]] = [(rel, node)]
    while stack:
        rel, value = stack.pop()
        yield rel, (*path, *rel)
        if isinstance(value, dict):
            stack.extend(((*rel, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*rel, i), v) for i, v in enumerate(value))


def _merge(entry: Any, change: Any, *, parameter: bool = False) -> Any:
    """A variant's merge (mappings key by key, ``null`` deletes, anything else replaces; a
    distribution, and a parameter's ``value`` or ``expr``, replace as a whole)."""
    whole = isinstance(change, dict) and (
        "dist" in change or (parameter and ("value" in change or "expr" in change))
    )
    if isinstance(entry, dict) and isinstance(change, dict) and not whole:
        out = dict(entry)
        for key, value in change.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = _merge(out[key], value) if key in out else value
        return out
    return change


class _Expansion:
    """The entries generated by a document's templates, with their marks and notes."""

    def __init__(self, doc: Located, actors: dict[str, Any]) -> None:
        self.doc = doc
        self.actors = actors
        self.names = {
            k: str(v["name"]) if isinstance(v, dict) and "name" in v else k
            for k, v in actors.items()
        }
        self.budget = [MAX_TOTAL_TEXT]
        self.entries: dict[str, dict[str, Any]] = {s: {} for s in TEMPLATE_SECTIONS}
        #: generated (section, name) -> (template path of the name, instance note)
        self.origin: dict[YPath, tuple[YPath, str]] = {}
        self.marks: dict[YPath, tuple[int, int]] = {}
        self.key_marks: dict[YPath, tuple[int, int]] = {}
        self.files: dict[YPath, str] = {}
        self.notes: dict[YPath, str] = {}

    def run(self, templates: list[dict[str, Any]]) -> None:
        counts = dict.fromkeys(TEMPLATE_SECTIONS, 0)
        nodes = 0
        for i, template in enumerate(templates):
            n = len(template["for_each"]["actor"])
            for section in TEMPLATE_SECTIONS:
                entries = template.get(section) or {}
                counts[section] += n * len(entries)
                nodes += n * sum(1 for _ in _paths(entries, ()))
                if counts[section] > MAX_ITEMS:
                    raise _limit(
                        self.doc,
                        ("templates", i, section),
                        f"the templates generate more than {MAX_ITEMS:,} entries of {section}",
                        key=True,
                    )
            if nodes > MAX_NODES:
                raise _limit(
                    self.doc,
                    ("templates", i),
                    f"the templates generate more than {MAX_NODES:,} values; refusing to "
                    "expand them",
                )
        for i, template in enumerate(templates):
            self.check_actors(template, i)
            for actor in template["for_each"]["actor"]:
                self.instance(template, i, actor)

    def check_actors(self, template: dict[str, Any], i: int) -> None:
        listed = template["for_each"]["actor"]
        for j, actor in enumerate(listed):
            if actor not in self.actors:
                raise self.doc.error(
                    f"unknown actor {actor!r}{suggest(actor, list(self.actors))}; "
                    "for_each lists keys of actors:",
                    ("templates", i, "for_each", "actor", j),
                )
        for actor in template.get("overrides") or {}:
            if actor not in listed:
                raise self.doc.error(
                    f"{actor!r} is not in this template's for_each{suggest(actor, listed)}; "
                    "overrides are given by actor of for_each",
                    ("templates", i, "overrides", actor),
                    key=True,
                )

    def instance(self, template: dict[str, Any], i: int, actor: str) -> None:
        listed = template["for_each"]["actor"]
        inst = _Instance(actor, tuple(a for a in listed if a != actor), self.names, self.budget)
        note = f"in the instance for {actor} of templates[{i}]"
        changes = (template.get("overrides") or {}).get(actor) or {}
        made: dict[str, set[str]] = {}
        for section in TEMPLATE_SECTIONS:
            made[section] = set()
            for key, entry in (template.get(section) or {}).items():
                tpath: YPath = ("templates", i, section, key)
                name = inst.render(str(key), self.doc, tpath)
                if len(listed) > 1 and not _has_slot(str(key)):
                    raise self.doc.error(
                        f"the name {key!r} would be the same in every instance; put "
                        "{actor} or {actor.lower} in it",
                        tpath,
                        key=True,
                    )
                value = inst.fill(entry, self.doc, tpath)
                cpath: YPath = ("templates", i, "overrides", actor, section, name)
                own = changes.get(section) or {}
                if name in own:
                    if own[name] is None:
                        made[section].add(name)
                        continue
                    change = inst.fill(own[name], self.doc, cpath)
                    value = _merge(value, change, parameter=section == "parameters")
                value = self.inherit(template, section, value)
                self.add(section, name, value, tpath, cpath, note)
                made[section].add(name)
        for section, own in changes.items():
            for name in own or {}:
                if name not in made.get(section, set()):
                    names = sorted(made.get(section, set()))
                    raise self.doc.error(
                        f"{name!r} is not an entry this template generates in {section} for "
                        f"{actor}{suggest(str(name), names)}; it generates "
                        + (", ".join(names) or "none"),
                        ("templates", i, "overrides", actor, section, name),
                        key=True,
                    )

    @staticmethod
    def inherit(template: dict[str, Any], section: str, value: Any) -> Any:
        keys = ("why",) if section == "outcomes" else ("source", "why")  # outcomes: why only
        given = {k: template[k] for k in keys if template.get(k)}
        if given and isinstance(value, dict) and not (value.get("source") or value.get("why")):
            return {**value, **given}
        return value

    def add(
        self, section: str, name: str, value: Any, tpath: YPath, cpath: YPath, note: str
    ) -> None:
        where = (section, name)
        if name in self.entries[section]:
            first, first_note = self.origin[where]
            raise self.doc.error(
                f"{section}.{name} is generated twice: also at {self.place(first)} ({first_note})",
                tpath,
                key=True,
            )
        self.entries[section][name] = value
        self.origin[where] = (tpath, note)
        doc = self.doc
        for rel, full in _paths(value, where):
            src = (*cpath, *rel) if (*cpath, *rel) in doc.marks else (*tpath, *rel)
            if src not in doc.marks and len(rel) == 1 and rel[0] in ("source", "why"):
                src = (*tpath[:2], *rel)  # inherited from the template
            if src in doc.marks:
                self.marks[full] = doc.marks[src]
                self.files[full] = doc.files.get(src, doc.file)
                self.notes[full] = note
            if src in doc.key_marks:
                self.key_marks[full] = doc.key_marks[src]

    def place(self, path: YPath, other: Located | None = None) -> str:
        doc = other or self.doc
        file, line, col = doc.where(path, key=True)
        return file if line is None else f"{file}:{line}:{col}"


def expand_templates(located: Located, *, parent: Located | None = None) -> Located:
    """``located`` with its ``templates:`` expanded into entries (itself if it has none).

    Parameters
    ----------
    located
        A parsed scenario file.
    parent
        For a variant, the (merged, expanded) scenario it extends: its actors are known to
        the templates, and the generated entries become new entries of the variant.

    Raises
    ------
    ScenarioError
        A malformed template, an unknown actor or placeholder, a generated name that clashes,
        located at the template (with the instance named, where one is at fault).
    """
    data = located.data
    if "templates" not in data:
        return located
    try:
        TemplatesSpec.model_validate({"templates": data["templates"]})
    except ValidationError as exc:
        from steppe.load.loader import from_pydantic  # the loader imports this module

        raise from_pydantic(exc, located) from None
    actors = _actors(located, parent)
    expansion = _Expansion(located, actors)
    expansion.run(data["templates"])
    out = {k: v for k, v in data.items() if k != "templates"}
    prefix: dict[str, YPath] = {}
    for section in TEMPLATE_SECTIONS:
        made = expansion.entries[section]
        if not made:
            continue
        own = out.get(section) if isinstance(out.get(section), dict) else {}
        homes: list[tuple[Located, YPath, dict[str, Any]]] = [(located, (section,), own or {})]
        if parent is not None:
            added = (out.get("add") or {}).get(section) if isinstance(out.get("add"), dict) else {}
            homes.append((located, ("add", section), added if isinstance(added, dict) else {}))
            homes.append((parent, (section,), parent.data.get(section) or {}))
        for name in made:
            for doc, base, entries in homes:
                if name in entries:
                    tpath, note = expansion.origin[(section, name)]
                    also = expansion.place((*base, name), doc)
                    raise located.error(
                        f"{section}.{name} is generated here ({note}) and also given at "
                        f"{also}; rename one, or change the generated entry under the "
                        "template's overrides",
                        tpath,
                        key=True,
                    )
        if parent is not None and section in _ADDED:
            add = dict(out.get("add") or {})
            add[section] = {**made, **(add.get(section) or {})}
            out["add"] = add
            prefix[section] = ("add", section)
        else:
            out[section] = {**made, **(own or {})}
            prefix[section] = (section,)

    def moved(table: dict[YPath, Any]) -> dict[YPath, Any]:
        return {(*prefix[str(p[0])], *p[1:]): v for p, v in table.items()}

    return Located(
        data=out,
        file=located.file,
        marks={**located.marks, **moved(expansion.marks)},
        key_marks={**located.key_marks, **moved(expansion.key_marks)},
        files={**located.files, **moved(expansion.files)},
        notes={**located.notes, **moved(expansion.notes)},
    )


def _actors(located: Located, parent: Located | None) -> dict[str, Any]:
    """The actors the templates may name: the file's, and in a variant its parent's."""
    out: dict[str, Any] = {}
    sources = [located.data.get("actors")]
    if parent is not None:
        add = located.data.get("add")
        sources = [parent.data.get("actors"), *sources]
        sources.append(add.get("actors") if isinstance(add, dict) else None)
    for table in sources:
        if isinstance(table, dict):
            for key, value in table.items():
                base = out.get(key)
                out[key] = (
                    {**base, **value}
                    if isinstance(base, dict) and isinstance(value, dict)
                    else value
                )
    return out
