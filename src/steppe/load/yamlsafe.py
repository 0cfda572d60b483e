"""Read YAML safely and remember where every value stands.

Only PyYAML's ``SafeLoader`` is used (or ``CSafeLoader``, the same loader with libyaml's
parser and composer, for a document libyaml has read whole), so tags such as
``!!python/object`` are refused. The document is first *composed* into nodes (no Python
objects are built), checked against size limits (file size, number of nodes after alias
expansion, nesting depth), then constructed with the safe constructor. Duplicate keys,
which YAML forbids but PyYAML accepts silently, are refused. Every value's 1-based line
and column is recorded by its YAML path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from steppe.errors import LimitError, PathPart, ScenarioError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "Located", "parse_yaml"]

MAX_BYTES = 2_000_000
MAX_NODES = 200_000
MAX_DEPTH = 64

Path = tuple[PathPart, ...]


@dataclass(frozen=True)
class Located:
    """Plain data from a YAML document, with the position of every value and key.

    ``marks[path]`` is the (line, column) of the value at ``path``; ``key_marks[path]`` is
    that of the mapping key naming it. ``notes[path]``, for a value a template generated
    (:mod:`steppe.load.templates`), says which instance: errors located there carry it.
    """

    data: Any
    file: str
    marks: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path, tuple[int, int]] = field(default_factory=dict)
    files: dict[Path, str] = field(default_factory=dict)
    notes: dict[Path, str] = field(default_factory=dict)

    def where(self, path: Path, *, key: bool = False) -> tuple[str, int | None, int | None]:
        """The file, line and column of ``path``, or of its closest ancestor that has one."""
        table = self.key_marks if key else self.marks
        p = tuple(path)
        while True:
            if p in table:
                return self.files.get(p, self.file), *table[p]
            if key and p in self.marks:
                return self.files.get(p, self.file), *self.marks[p]
            if not p:
                return self.file, None, None
            p = p[:-1]

    def note(self, path: Path, *, key: bool = False) -> str:
        """The note of the value :meth:`where` locates ``path`` at (``""``: none), e.g.
        ``"in the instance for UZ of templates[0]"``."""
        table = self.key_marks if key else self.marks
        p = tuple(path)
        while True:
            if p in table or (key and p in self.marks):
                return self.notes.get(p, "")
            if not p:
                return ""
            p = p[:-1]

    def error(self, message: str, path: Path, *, key: bool = False) -> ScenarioError:
        """A :class:`ScenarioError` located at ``path`` in this document."""
        file, line, col = self.where(path, key=key)
        note = self.note(path, key=key)
        message = f"{message} ({note})" if note else message
        return ScenarioError(message, path=path, file=file, line=line, column=col)

    def relocate(self, exc: ScenarioError) -> ScenarioError:
        """``exc`` (raised with a YAML path only) located in this document, with its note."""
        file, line, col = self.where(exc.path)
        note = self.note(exc.path)
        if note:
            exc = exc.with_message(f"{exc.message} ({note})")
        return exc.located(file=file, line=line, column=col)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _limit(file: str, node: yaml.Node | None, message: str) -> LimitError:
    line, col = _mark(node) if node is not None else (None, None)
    return LimitError(message, file=file, line=line, column=col)


def _check_size(root: yaml.Node, file: str) -> None:
    """Refuse alias bombs and deep nesting before anything is constructed.

    The expanded size of every node is computed once (memoised by identity), so a
    "billion laughs" document is measured in linear time and refused.
    """
    sizes: dict[int, int] = {}
    on_stack: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if depth > MAX_DEPTH:
            raise _limit(file, node, _too_deep())
        if key in on_stack:
            raise _limit(file, node, "the document contains a recursive alias")
        on_stack.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child, depth + 1)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
        on_stack.discard(key)
        if total > MAX_NODES:
            raise _limit(file, node, _too_many())
        sizes[key] = total
        return total

    size(root, 0)


def _too_deep() -> str:
    return f"the document is nested more than {MAX_DEPTH} levels deep"


def _too_many() -> str:
    return (
        f"the document expands to more than {MAX_NODES:,} values (aliases included); "
        "refusing to read it"
    )


def _limit_at(file: str, mark: Any, message: str) -> LimitError:
    return LimitError(message, file=file, line=mark.line + 1, column=mark.column + 1)


def _prescan(text: str | bytes, file: str) -> bool:
    """Refuse deep or huge documents from libyaml's fast event stream, before composing.

    PyYAML's pure-Python composer needs tens of microseconds per value: a 2 MB file of tiny
    values would take most of a minute before :func:`_check_size` could refuse it. Syntax
    errors are left to the pure-Python parser, whose messages are clearer.

    Returns whether libyaml read the whole document without error (so it may compose it).
    """
    if not getattr(yaml, "__with_libyaml__", False):
        return False
    depth = nodes = 0
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if isinstance(event, yaml.ScalarEvent | yaml.CollectionStartEvent):
                nodes += 1
                if depth > MAX_DEPTH:
                    raise _limit_at(file, event.start_mark, _too_deep())
                if nodes > MAX_NODES:
                    raise _limit_at(file, event.start_mark, _too_many())
                if isinstance(event, yaml.CollectionStartEvent):
                    depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except (yaml.YAMLError, UnicodeEncodeError):  # libyaml cannot encode a lone surrogate
        return False
    return True


class _DepthLimitedLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses deep nesting and too many values while composing.

    PyYAML's composer recurses once per nesting level, so ten thousand ``[`` would exhaust
    Python's stack (``RecursionError``) before :func:`_check_size` sees the tree. (Without
    libyaml, :func:`_prescan` cannot run and these checks are the only early ones.)
    """

    def __init__(self, stream: str | bytes, file: str) -> None:
        super().__init__(stream)
        self._file = file
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if not self.check_event(yaml.AliasEvent):
            self._nodes += 1
            problem = _too_deep() if self._depth > MAX_DEPTH else None
            if problem is None and self._nodes > MAX_NODES:
                problem = _too_many()
            if problem is not None:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise _limit_at(self._file, event.start_mark, problem)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


if getattr(yaml, "__with_libyaml__", False):

    class _FastLoader(yaml.CSafeLoader):
        """libyaml's composer (same nodes and marks, several times faster), for documents
        :func:`_prescan` has read whole, so their size and depth are within the limits."""

    _LOADERS: tuple[type[Any], ...] = (_DepthLimitedLoader, _FastLoader)
else:  # pragma: no cover - PyYAML is built with libyaml wherever steppe is tested
    _LOADERS = (_DepthLimitedLoader,)

# YAML 1.1 (PyYAML) reads ``1e7`` and ``2e-3`` as strings; analysts mean numbers, as in
# YAML 1.2. Registered on these subclasses only (PyYAML copies the table per class).
for _loader in _LOADERS:
    _loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"),
    )


def _walk(node: yaml.Node, path: Path, out: Located) -> None:
    """Record marks by path, and refuse duplicate keys."""
    out.marks[path] = _mark(node)
    if isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _walk(child, (*path, i), out)
    elif isinstance(node, yaml.MappingNode):
        seen: dict[Any, tuple[int, int]] = {}
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                line, col = _mark(k)
                raise ScenarioError(
                    "mapping keys must be plain names, found a complex key",
                    path=path,
                    file=out.file,
                    line=line,
                    column=col,
                )
            name = k.value
            if k.tag == "tag:yaml.org,2002:merge":
                continue
            if name in seen:
                line, col = _mark(k)
                raise ScenarioError(
                    f"duplicate key {name!r} (first at line {seen[name][0]})",
                    path=(*path, name),
                    file=out.file,
                    line=line,
                    column=col,
                )
            seen[name] = _mark(k)
            out.key_marks[(*path, name)] = _mark(k)
            _walk(v, (*path, name), out)


#: What PyYAML's safe constructor raises on a scalar it cannot build, besides its own
#: ``ConstructorError``: ``!!timestamp 2024-99-99`` (ValueError, or AttributeError when the
#: text does not match), ``!!bool maybe`` (KeyError), ``!!float ''`` (IndexError), ...
_BUILD_ERRORS = (
    ValueError,
    TypeError,
    OverflowError,
    KeyError,
    AttributeError,
    IndexError,
    RecursionError,
)


def _bad_scalar(
    constructor: yaml.constructor.SafeConstructor, node: yaml.Node, path: Path
) -> tuple[Path, yaml.Node] | None:
    """The first scalar (with its path) that the safe constructor cannot build."""
    if isinstance(node, yaml.ScalarNode):
        try:
            constructor.construct_object(node)
        except _BUILD_ERRORS:
            return path, node
        return None
    if isinstance(node, yaml.SequenceNode):
        items = [((*path, i), child) for i, child in enumerate(node.value)]
    else:
        items = [((*path, str(k.value)), v) for k, v in node.value]
    for sub, child in items:
        found = _bad_scalar(constructor, child, sub)
        if found:
            return found
    return None


def _malformed(exc: yaml.YAMLError, text: str | bytes, file: str) -> ScenarioError:
    """A located :class:`ScenarioError` for an error of PyYAML's reader, scanner or parser."""
    if isinstance(exc, yaml.reader.ReaderError):
        if exc.encoding != "unicode":  # bytes that do not decode
            return ScenarioError(
                f"the file is not {exc.encoding.upper()} text ({exc.reason})", file=file
            )
        decoded = text if isinstance(text, str) else text.decode("utf-8", "replace")
        before = decoded[: exc.position]
        line = before.count("\n") + 1
        column = exc.position - (before.rfind("\n") + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return ScenarioError(
            f"malformed YAML: character U+{code:04X} ({_char_kind(code)}) is not allowed; "
            "YAML text may hold tabs, line breaks and printable characters only",
            file=file,
            line=line,
            column=column,
        )
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        if mark is None:
            return ScenarioError(f"malformed YAML: {what}", file=file)
        return ScenarioError(
            f"malformed YAML: {what}", file=file, line=mark.line + 1, column=mark.column + 1
        )
    return ScenarioError(f"malformed YAML: {exc}", file=file)


def _char_kind(code: int) -> str:
    if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
        return "a control character"
    if 0xD800 <= code < 0xE000:
        return "a lone surrogate"
    return "not a character"


def parse_yaml(text: str | bytes, *, file: str = "<string>") -> Located:
    """Parse one YAML document safely.

    Parameters
    ----------
    text
        The document.
    file
        Shown in error messages.

    Raises
    ------
    ScenarioError
        Malformed YAML, a forbidden tag, duplicate keys, non-string keys.
    LimitError
        A document over :data:`MAX_BYTES`, :data:`MAX_NODES` expanded values or
        :data:`MAX_DEPTH` levels.
    """
    if len(text) > MAX_BYTES:
        raise LimitError(
            f"the file is {len(text):,} bytes; scenario files are limited to {MAX_BYTES:,}",
            file=file,
        )
    read_whole = _prescan(text, file)
    try:
        # The reader checks a str for unacceptable characters at once, here.
        loader = _LOADERS[-1](text) if read_whole else _DepthLimitedLoader(text, file)
    except yaml.YAMLError as exc:
        raise _malformed(exc, text, file) from None
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise _malformed(exc, text, file) from None
        except RecursionError:  # not expected: nesting is limited while composing
            raise LimitError(_too_deep(), file=file) from None
        if root is None:
            raise ScenarioError("the file is empty; expected a scenario mapping", file=file)
        _check_size(root, file)
        out = Located(data=None, file=file)
        _walk(root, (), out)
        try:
            data = loader.construct_document(root)
        except yaml.constructor.ConstructorError as exc:
            mark = exc.problem_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
            raise ScenarioError(
                f"refused: {exc.problem} (only plain YAML data is allowed)",
                file=file,
                line=line,
                column=col,
            ) from None
        except _BUILD_ERRORS as exc:
            # e.g. a timestamp such as 2024-13-01; find the scalar to point at it.
            found = _bad_scalar(yaml.constructor.SafeConstructor(), root, ())
            path, (line, col) = (found[0], _mark(found[1])) if found else ((), (None, None))
            message = str(exc) if isinstance(exc, ValueError | OverflowError) else ""
            if not message and found:  # e.g. ``!!bool maybe`` (a KeyError in PyYAML)
                kind = str(found[1].tag).rsplit(":", 1)[-1]
                message = f"{str(found[1].value)[:60]!r} is not a valid {kind}"
            raise ScenarioError(
                f"malformed YAML value: {message or type(exc).__name__}",
                path=path,
                file=file,
                line=line,
                column=col,
            ) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ScenarioError(
            f"expected a mapping at the top of the file, found {type(data).__name__}",
            file=file,
            line=1,
            column=1,
        )
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise out.error(f"keys must be names, found {bad[0]!r}", ())
    return Located(data=data, file=file, marks=out.marks, key_marks=out.key_marks)
