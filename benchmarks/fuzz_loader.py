"""Fuzz the scenario loader with mutated scenario files, through ``steppe validate``.

Mutants are made from the shipped scenarios (``scenarios/*.yaml``) and the test fixtures
(``tests/data/*.yaml``) by 1-3 mutations each, drawn from three families:

* bytes: flip a bit, insert, delete or repeat bytes, insert a control character or a byte
  that is not UTF-8, truncate;
* YAML structure: swap, repeat or delete lines and keys, change a value's type, nest deeply,
  add anchors, aliases and merge keys, add tags (``!!python/object/apply``, ``!!binary``,
  ...), point ``extends:`` at ``/dev/zero``, ``/dev/urandom``, a named pipe, a folder, itself;
* expressions: change a token of a ``hazard``/``pace``/``expr``/... formula into an unknown
  name, a date, another operator, a huge number, ``__import__``, an attribute access, a
  lambda, unbalanced brackets, ...

Each mutant is written to a file and checked with ``steppe validate FILE`` (in process, with
click's test runner) in a worker process, and classed as

``loaded``
    exit status 0;
``located``
    exit status 2 and an error that starts with the file's name (steppe's own
    ``ScenarioError``, located);
``unlocated``
    exit status 2 but the message does not start with the file's name;
``traceback``
    any other exception (the traceback is kept);
``hang``
    no answer within ``--timeout`` seconds (default 10): the worker is killed and replaced;
``memory``
    the worker needed more than ``--memory`` bytes (default 1 GiB) above what it used before
    the mutant: each worker's address space is capped (``RLIMIT_AS``), so this shows as a
    ``MemoryError`` or a dead worker, and the peak resident size is measured.

Usage (from the repository root)::

    python benchmarks/fuzz_loader.py                  # 10,000 mutants, seed 0
    python benchmarks/fuzz_loader.py -n 500 --seed 3  # a quick run
    python benchmarks/fuzz_loader.py --save /tmp/bad  # keep the mutants that fail
    python benchmarks/fuzz_loader.py --json           # counts as JSON (used by the tests)

The mutants depend only on ``--seed`` and their index, never on timing or the number of
workers. ``tests/test_fuzz.py`` runs a few hundred of them. This module reports counts; it
asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import multiprocessing as mp
import os
import random
import re
import resource
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (
    *sorted((ROOT / "scenarios").glob("*.yaml")),
    *sorted((ROOT / "tests/data").glob("*.yaml")),
)
CLASSES = ("loaded", "located", "unlocated", "traceback", "hang", "memory")
GIB = 1 << 30

#: Keys whose values are expressions.
EXPR_KEYS = frozenset(
    {"hazard", "pace", "cancel_hazard", "expr", "probability", "value", "combine", "time_to",
     "drift", "volatility", "initial", "factor", "add", "duration"}
)  # fmt: skip

# ---------------------------------------------------------------------------------------
# Mutations
# ---------------------------------------------------------------------------------------

Mutation = Callable[[random.Random, bytes], bytes]

_CONTROL = [bytes([c]) for c in (*range(0, 9), 11, 12, *range(14, 32), 127)] + [
    "\x85".encode(),
    "\x9b".encode(),
    "\ufffe".encode(),
    "\u2028".encode(),
    "\ufeff".encode(),
]


def _pos(rng: random.Random, data: bytes) -> int:
    return rng.randrange(len(data) + 1)


def flip_bit(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]


def insert_bytes(rng: random.Random, data: bytes) -> bytes:
    i = _pos(rng, data)
    chunk = rng.choice(
        [
            bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))),
            rng.choice([b":", b"-", b"[", b"]", b"{", b"}", b"'", b'"', b"#", b"&", b"*", b"!",
                        b"|", b">", b"%", b"@", b"`", b",", b"?", b"\t", b"\n", b"\r", b" "]),
            b"\n" + b" " * rng.randint(0, 12),
        ]
    )  # fmt: skip
    return data[:i] + chunk + data[i:]


def delete_bytes(rng: random.Random, data: bytes) -> bytes:
    i = _pos(rng, data)
    return data[:i] + data[i + rng.randint(1, 64) :]


def repeat_bytes(rng: random.Random, data: bytes) -> bytes:
    i = _pos(rng, data)
    chunk = data[i : i + rng.randint(1, 200)]
    return data[:i] + chunk * rng.randint(2, 5) + data[i:]


def insert_control(rng: random.Random, data: bytes) -> bytes:
    i = _pos(rng, data)
    return data[:i] + rng.choice(_CONTROL) + data[i:]


def insert_non_utf8(rng: random.Random, data: bytes) -> bytes:
    i = _pos(rng, data)
    bad = rng.choice([b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"])
    return data[:i] + bad + data[i:]


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: _pos(rng, data)]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def swap_lines(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def repeat_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    lines.insert(rng.randrange(len(lines) + 1), lines[i])
    return b"\n".join(lines)


def delete_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    del lines[rng.randrange(len(lines))]
    return b"\n".join(lines)


def reindent_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    lines[i] = b" " * rng.randint(0, 9) + lines[i].lstrip(b" ")
    return b"\n".join(lines)


_ODD_VALUES: list[str] = [
    "null", "~", "true", "no", "On", "[]", "{}", "[1, 2, 3]", "{a: 1}", "''", '"x"', "0",
    "-1", "1e400", "1.0e400", ".nan", "-.inf", "0x1F", "0o17", "0b101", "1_000", "1:30",
    "2024-13-45", "2024-02-30", "2024-01-01T25:61:61", "1900-01-01", "9999-12-31",
    "0001-01-01", "1" * 5000, "-" + "9" * 400, "0." + "0" * 400 + "1", "1e-400",
    "!!python/object/apply:os.system ['echo pwned']", "!!python/name:os.system",
    "!!python/object/new:builtins.dict {}", "!!binary aGVsbG8=", "!!set {a, b}",
    "!!omap [a: 1, b: 2]", "!!pairs [a: 1]", "!!timestamp 2024-01-01", "!!float 'abc'",
    "!!int '12x'", "!!int 99999999999999999999999999", "!!bool maybe", "!!str", "!!null x",
    "!!timestamp 2024-99-99", "!!float", "!custom 1", "!<tag:evil.com,2000:x> 1",
    "&anchor 1", "*undefined", "<<: *x", "? complex\n: key", "|\n  block", ">-\n  folded",
    "'unterminated", '"\\x00\\u0000\\uD800"', '"\\U0010FFFF"', "'" + "x" * 70_000 + "'",
    "[" * 70 + "]" * 70, "[" * 5000, "{a: " * 70 + "1" + "}" * 70,
    "&a [&b [&c [*a]]]",
]  # fmt: skip


def odd_value(rng: random.Random, data: bytes) -> bytes:
    """Replace the value after some ``key:`` by an odd YAML value."""
    spots = [m.end() for m in re.finditer(rb"^[ \-]*[A-Za-z_][\w]*:[ ]", data, flags=re.M)]
    if not spots:
        return data
    i = rng.choice(spots)
    end = data.find(b"\n", i)
    end = len(data) if end < 0 else end
    return data[:i] + rng.choice(_ODD_VALUES).encode() + data[end:]


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when there: much faster
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _load(data: bytes) -> Any:
    try:
        return yaml.load(data, Loader=_Loader)  # a safe loader, C or Python
    except Exception:  # not YAML any more: this mutation does nothing
        return None


def _dump(doc: Any) -> bytes:
    text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000)
    return str(text).encode()


def _containers(doc: Any) -> list[Any]:
    """Every mapping and list in ``doc``, each once (aliases share them), at most 20,000.

    Visiting each container once keeps an alias bomb added by an earlier mutation (a
    billion values once expanded, a few dozen objects in memory) cheap to walk.
    """
    out: list[Any] = []
    seen: set[int] = set()
    stack = [doc]
    while stack and len(out) < 20_000:
        node = stack.pop()
        if not isinstance(node, dict | list) or id(node) in seen:
            continue
        seen.add(id(node))
        out.append(node)
        stack.extend(node.values() if isinstance(node, dict) else node)
    out.reverse()
    return out


_TYPED: list[Callable[[random.Random], Any]] = [
    lambda r: None,
    lambda r: r.choice([True, False]),
    lambda r: r.choice([0, -1, 1, 7, 10**30, -(10**20), 2**63]),
    lambda r: r.choice([0.0, -0.5, 1e300, float("inf"), float("-inf"), float("nan"), 1e-320]),
    lambda r: r.choice(["", "x", "2024-01-01", "base * 2", "occurred(", "é" * 3, "a" * 3000]),
    lambda r: [],
    lambda r: {},
    lambda r: [r.random(), "x", None],
    lambda r: {"dist": r.choice(["normal", "uniform", "pert", "lognormal", "nope"]), "x": 1},
    lambda r: __import__("datetime").date(r.randint(1, 9999), r.randint(1, 12), r.randint(1, 28)),
]


def retype_value(rng: random.Random, data: bytes) -> bytes:
    """Give some value in the document another type (structure-aware)."""
    doc = _load(data)
    spots = _containers(doc)
    if not spots:
        return data
    node = rng.choice(spots)
    if not node:
        return data
    value = rng.choice(_TYPED)(rng)
    if isinstance(node, dict):
        node[rng.choice(list(node))] = value
    else:
        node[rng.randrange(len(node))] = value
    return _dump(doc)


def shuffle_keys(rng: random.Random, data: bytes) -> bytes:
    """Delete a key, move a value to another key, or rename a key (structure-aware)."""
    doc = _load(data)
    maps = [n for n in _containers(doc) if isinstance(n, dict) and n]
    if not maps:
        return data
    node = rng.choice(maps)
    keys = list(node)
    key = rng.choice(keys)
    action = rng.randrange(4)
    if action == 0:
        del node[key]
    elif action == 1:
        other = rng.choice(keys)
        node[key], node[other] = node[other], node[key]
    elif action == 2:
        node[rng.choice(["name", "x", "", "uz_by_:027:", "a.b", "é", "NO", "__class__", "1"])] = (
            node.pop(key)
        )
    else:  # a key of another mapping moves here
        donor = rng.choice(maps)
        k = rng.choice(list(donor))
        node[k] = copy.deepcopy(donor[k])  # a copy: the donor may hold ``node``
    return _dump(doc)


def deep_nesting(rng: random.Random, data: bytes) -> bytes:
    depth = rng.choice([10, 60, 63, 64, 65, 200, 3000])
    flow = rng.random() < 0.5
    if flow:
        value = "[" * depth + "1" + "]" * depth
    else:
        value = "\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(min(depth, 400)))
        value += "  " * (min(depth, 400) + 1) + "1"
    return odd_value_with(rng, data, value)


def odd_value_with(rng: random.Random, data: bytes, value: str) -> bytes:
    spots = [m.end() for m in re.finditer(rb"^[ \-]*[A-Za-z_]\w*:[ ]", data, flags=re.M)]
    if not spots:
        return data + b"\nx: " + value.encode() + b"\n"
    i = rng.choice(spots)
    end = data.find(b"\n", i)
    end = len(data) if end < 0 else end
    return data[:i] + value.encode() + data[end:]


def aliases(rng: random.Random, data: bytes) -> bytes:
    """Anchors, aliases, merge keys and alias bombs."""
    snippets = [
        "x_a: &a [1, 2, 3]\nx_b: *a\n",
        "x_a: &a {hazard: 0.1}\nx_b: {<<: *a, title: t}\n",
        "x_r: &r [*r]\n",
        "x_u: *nowhere\n",
        "events: &ev\n  e1: {hazard: 0.1}\nx_ev: *ev\n",
        "x_m: {<<: [1, 2]}\n",
        "x_m: {<<: *undefined}\n",
        "\n".join(
            [
                "x_a: &a [" + ",".join(["1"] * 10) + "]",
                *(f"x_{i}: &a{i} [" + ",".join([f"*{'a' if i == 0 else f'a{i - 1}'}"] * 10) + "]"
                  for i in range(rng.randint(2, 8))),
            ]
        ) + "\n",
    ]  # fmt: skip
    snippet = rng.choice(snippets).encode()
    if rng.random() < 0.5:
        return data.rstrip(b"\n") + b"\n" + snippet
    return snippet + data


def tags(rng: random.Random, data: bytes) -> bytes:
    tag = rng.choice(
        [
            "!!python/object/apply:os.system ['echo pwned']",
            "!!python/object:builtins.object {}",
            "!!python/tuple [1, 2]",
            "!!python/module:os",
            "!!map {a: 1}",
            "!!seq [1]",
            "!!str 1",
            "!!int x",
            "!!float 1e999",
            "!!binary '****'",
            "!!merge x",
            "!!value =",
            "!!yaml x",
            "!local x",
        ]
    )
    return odd_value_with(rng, data, tag)


def extends_target(rng: random.Random, data: bytes) -> bytes:
    """Point ``extends:`` at a device, a pipe, a folder, the mutant itself, nothing, ..."""
    target = rng.choice(
        [
            "/dev/zero", "/dev/urandom", "/dev/null", "/dev/stdin", "/dev/tty", "/proc/self/mem",
            "/proc/self/environ", "pipe.yaml", "folder.yaml", "zero.yaml", "big.yaml",
            "{self}", "missing.yaml", "baseline.yaml", "smoke.yaml", "/", ".", "..", "''",
            '"a\\0b"', "'" + "x" * 5000 + "'", "[baseline.yaml]", "~", "1", "!!binary eA==",
        ]
    )  # fmt: skip
    lines = [ln for ln in _lines(data) if not ln.startswith(b"extends:")]
    return b"\n".join([b"extends: " + target.encode(), *lines])


_TOKENS = re.compile(r"[A-Za-z_][\w.]*|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\*\*|[<>=!]=|\S")
_NEW_TOKENS = [
    "zz_unknown", "contagon", "2027-01-01", "2027-12-31", "t", "True", "None", "'s'", '"s"',
    "+", "-", "*", "/", "**", "//", "%", "@", "<<", "^", "~", "&", "|", "==", "<", "not",
    "and", "or", "if", "else", "(", ")", "[", "]", ",", ":", ".", "1e999", "9**9**9",
    "10**10**10", "1" * 400, "1" * 5000, "0x10", "0o7", "1_0", "1j", "__import__('os')",
    "__builtins__", "a.__class__", "().__class__.__bases__[0]", "lambda: 1",
    "(lambda x: x)(1)", "[x for x in (1,)]", "(x := 1)", "f'{1}'", "yield 1", "await x",
    "exec('1')", "eval", "open('/etc/passwd')", "UZ.__dict__", "UZ.nope", "occurred(1)",
    "occurred()", "min(1)", "max(a=1)", "log(*a)", "stage(zz)", "exp(1e308)", "\\", "#",
    "\n", "\t", "\x00", "\u200b", "é",
]  # fmt: skip


def _mutate_expression(rng: random.Random, text: str) -> str:
    tokens = _TOKENS.findall(text) or [text]
    action = rng.randrange(4)
    i = rng.randrange(len(tokens))
    new = rng.choice(_NEW_TOKENS)
    if action == 0:
        tokens[i] = new
    elif action == 1:
        tokens.insert(i, new)
    elif action == 2 and len(tokens) > 1:
        del tokens[i]
    else:
        tokens = ["("] * rng.choice([1, 39, 41, 300]) + tokens + [")"] * rng.randint(0, 300)
    return " ".join(tokens)


def _expressions(doc: Any) -> list[tuple[dict[Any, Any], Any]]:
    """The (mapping, key) of every expression in ``doc``."""
    return [
        (node, key)
        for node in _containers(doc)
        if isinstance(node, dict)
        for key, value in node.items()
        if key in EXPR_KEYS and isinstance(value, str | int | float)
    ]


def mutate_expression(rng: random.Random, data: bytes) -> bytes:
    """Change a token of some expression (``hazard``, ``pace``, ``expr``, ...)."""
    doc = _load(data)
    spots = _expressions(doc)
    if not spots:
        return data
    node, key = rng.choice(spots)
    node[key] = _mutate_expression(rng, str(node[key]))
    return _dump(doc)


#: Mutation families and their weights.
MUTATIONS: dict[str, tuple[float, Mutation]] = {
    "flip_bit": (1, flip_bit),
    "insert_bytes": (1, insert_bytes),
    "delete_bytes": (1, delete_bytes),
    "repeat_bytes": (0.5, repeat_bytes),
    "insert_control": (1, insert_control),
    "insert_non_utf8": (0.3, insert_non_utf8),
    "truncate": (0.5, truncate),
    "swap_lines": (0.7, swap_lines),
    "repeat_line": (0.7, repeat_line),
    "delete_line": (0.7, delete_line),
    "reindent_line": (0.5, reindent_line),
    "odd_value": (1.5, odd_value),
    "retype_value": (1.5, retype_value),
    "shuffle_keys": (1.5, shuffle_keys),
    "deep_nesting": (0.5, deep_nesting),
    "aliases": (0.7, aliases),
    "tags": (0.7, tags),
    "extends_target": (0.5, extends_target),
    "mutate_expression": (3, mutate_expression),
}


@dataclass(frozen=True)
class Mutant:
    """One mutated file: which seed file it came from, the mutations applied, its bytes."""

    index: int
    seed_file: str
    mutations: tuple[str, ...]
    data: bytes

    @property
    def name(self) -> str:
        """The file name the mutant is written under."""
        return f"mutant_{self.index:05d}.yaml"


def _seed_texts() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in SEEDS]


def make_mutant(seed: int, index: int, seeds: list[tuple[str, bytes]] | None = None) -> Mutant:
    """The mutant number ``index`` of the run with ``seed`` (a pure function of the two)."""
    seeds = _seed_texts() if seeds is None else seeds
    rng = random.Random(f"{seed}:{index}")
    name, data = rng.choice(seeds)
    names = list(MUTATIONS)
    weights = [MUTATIONS[n][0] for n in names]
    applied = tuple(rng.choices(names, weights, k=rng.choice([1, 1, 1, 2, 2, 3])))
    mutant = Mutant(index, name, applied, data)
    for op in applied:
        # A structure-aware mutation may meet a document it cannot handle (one made
        # recursive by an earlier alias mutation, say): the mutant then stays as it is.
        with contextlib.suppress(Exception):
            data = MUTATIONS[op][1](rng, data)
    if b"{self}" in data:
        data = data.replace(b"{self}", mutant.name.encode())
    return Mutant(index, name, applied, data)


def mutants(seed: int, n: int) -> Iterator[Mutant]:
    """The first ``n`` mutants of the run with ``seed``."""
    seeds = _seed_texts()
    for i in range(n):
        yield make_mutant(seed, i, seeds)


# ---------------------------------------------------------------------------------------
# Running mutants in worker processes
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What ``steppe validate`` did with one mutant."""

    index: int
    kind: str  # one of CLASSES
    detail: str = ""
    rss_growth: int = 0  # bytes of peak resident size above the worker's size before
    seconds: float = 0.0  # making and checking the mutant, in the worker


def prepare_folder(folder: Path) -> None:
    """Copies of the seed files (so ``extends: baseline.yaml`` resolves) and odd files."""
    for p in SEEDS:
        shutil.copyfile(p, folder / p.name)
    os.mkfifo(folder / "pipe.yaml")
    (folder / "folder.yaml").mkdir()
    (folder / "zero.yaml").symlink_to("/dev/zero")
    with open(folder / "big.yaml", "wb") as fh:
        fh.truncate(3 * GIB)  # sparse: no disk used


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _vm_size() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def check_one(folder: Path, mutant: Mutant) -> tuple[str, str]:
    """Write the mutant and run ``steppe validate`` on it; its class and a detail."""
    from click.testing import CliRunner

    from steppe.cli import main

    path = folder / mutant.name
    path.write_bytes(mutant.data)
    try:
        result = CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=True)
    finally:
        path.unlink()
    exc = result.exception
    if isinstance(exc, MemoryError):
        return "memory", "MemoryError"
    if exc is not None and not isinstance(exc, SystemExit):
        assert result.exc_info is not None
        return "traceback", "".join(traceback.format_exception(*result.exc_info))
    if result.exit_code == 0:
        return "loaded", ""
    message = result.stderr
    first = message.splitlines()[0] if message else ""
    where = _WHERE.match(first)
    if result.exit_code == 2 and where is not None and _ours(where["file"], path, mutant):
        return "located", first
    return "unlocated", f"exit status {result.exit_code}: {message}{result.stdout}"


#: ``FILE[:LINE:COL]: error: ``, the start of every error steppe prints.
_WHERE = re.compile(r"(?P<file>.+?)(?::\d+:\d+)?: error: ")


def _ours(file: str, path: Path, mutant: Mutant) -> bool:
    """Whether an error names the mutant's file or a file it extends (a seed, a device)."""
    return file == str(path) or Path(file).parent == path.parent or file.encode() in mutant.data


def _worker(conn: Connection, folder: str, seed: int, memory: int) -> None:
    """Make and check the mutants whose indices arrive on ``conn``; send back outcomes."""
    import steppe.cli  # noqa: F401  (imported before the cap and the first mutant)

    seeds = _seed_texts()
    base_rss = _peak_rss()
    with contextlib.suppress(ValueError, OSError):  # no cap where the platform has none
        cap = _vm_size() + memory
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    while True:
        try:
            index = conn.recv()
        except EOFError:
            return
        if index is None:
            return
        began = time.monotonic()
        try:
            kind, detail = check_one(Path(folder), make_mutant(seed, index, seeds))
        except MemoryError:
            kind, detail = "memory", "MemoryError"
        growth = _peak_rss() - base_rss
        if growth > memory:
            kind, detail = "memory", f"peak resident size grew by {growth:,} bytes"
        conn.send(Outcome(index, kind, detail, growth, time.monotonic() - began))


class _Worker:
    def __init__(self, ctx: Any, folder: Path, seed: int, memory: int) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_worker, args=(child, str(folder), seed, memory), daemon=True
        )
        self.proc.start()
        child.close()
        self.job = -1
        self.deadline = 0.0
        self.fresh = True  # its first job includes importing steppe

    def give(self, index: int, timeout: float, startup: float) -> None:
        self.job = index
        self.deadline = time.monotonic() + (startup if self.fresh else timeout)
        self.fresh = False
        self.conn.send(index)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join()
        self.conn.close()


def run(
    n: int,
    *,
    seed: int = 0,
    workers: int | None = None,
    timeout: float = 10.0,
    memory: int = GIB,
    startup: float = 120.0,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Check the first ``n`` mutants of ``seed``; one outcome per mutant, by index.

    Each worker process makes and checks one mutant at a time; one that does not answer
    within ``timeout`` seconds (``startup`` for its first, which imports steppe) is killed,
    the mutant classed ``hang``, and a new worker takes its place.
    """
    workers = workers or os.cpu_count() or 1
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    todo = iter(range(n))
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="steppe-fuzz-") as tmp:
        folder = Path(tmp)
        prepare_folder(folder)
        busy: list[_Worker] = []

        def feed(w: _Worker) -> None:
            index = next(todo, None)
            if index is None:
                with contextlib.suppress(OSError):
                    w.conn.send(None)
                return
            w.give(index, timeout, startup)
            busy.append(w)

        def done(outcome: Outcome) -> None:
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)

        def replace(w: _Worker, outcome: Outcome) -> None:
            busy.remove(w)
            w.kill()
            done(outcome)
            feed(_Worker(ctx, folder, seed, memory))

        for _ in range(min(workers, n)):
            feed(_Worker(ctx, folder, seed, memory))
        while busy:
            ready = wait([w.conn for w in busy], timeout=0.2)
            now = time.monotonic()
            for w in list(busy):
                if w.conn in ready:
                    try:
                        outcome = w.conn.recv()
                    except EOFError:  # the worker died (e.g. killed for memory)
                        died = f"the worker died (exit status {w.proc.exitcode})"
                        replace(w, Outcome(w.job, "memory", died))
                        continue
                    busy.remove(w)
                    done(outcome)
                    feed(w)
                elif now > w.deadline:
                    replace(w, Outcome(w.job, "hang", f"no answer in {timeout} s"))
    return sorted(outcomes, key=lambda o: o.index)


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzer from the command line; print counts per class."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="number of mutants (10,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="default: all cores")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per mutant (10)")
    parser.add_argument("--memory", type=float, default=1.0, help="GiB per mutant (1)")
    parser.add_argument("--save", type=Path, default=None, help="keep failing mutants here")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    parser.add_argument("--show", type=int, default=3, help="examples shown per failing class")
    args = parser.parse_args(argv)

    started = time.monotonic()
    bad: dict[str, list[tuple[Mutant, Outcome]]] = {}

    def keep(outcome: Outcome) -> None:
        if outcome.kind in ("loaded", "located"):
            return
        mutant = make_mutant(args.seed, outcome.index)
        bad.setdefault(outcome.kind, []).append((mutant, outcome))
        if args.save is not None:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / mutant.name).write_bytes(mutant.data)

    outcomes = run(
        args.n,
        seed=args.seed,
        workers=args.workers,
        timeout=args.timeout,
        memory=int(args.memory * GIB),
        on_outcome=keep,
    )
    seconds = time.monotonic() - started
    counts = Counter(o.kind for o in outcomes)
    peak = max((o.rss_growth for o in outcomes), default=0)
    slowest = max(outcomes, key=lambda o: o.seconds, default=None)
    report = {
        "n": args.n,
        "seed": args.seed,
        "seconds": round(seconds, 1),
        "counts": {c: counts.get(c, 0) for c in CLASSES},
        "peak_rss_growth_bytes": peak,
        "slowest": None if slowest is None else {
            "index": slowest.index, "seconds": round(slowest.seconds, 2), "kind": slowest.kind
        },
        "failures": [
            {"index": m.index, "seed_file": m.seed_file, "mutations": list(m.mutations),
             "kind": o.kind, "detail": o.detail[-3000:]}
            for kind in CLASSES for m, o in bad.get(kind, [])[: args.show]
        ],
    }  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{args.n:,} mutants (seed {args.seed}) in {seconds:.1f} s")
        for c in CLASSES:
            print(f"  {c:<10} {counts.get(c, 0):>6,}")
        print(f"  largest growth of a worker's peak resident size: {peak / 2**20:,.1f} MiB")
        if slowest is not None:
            print(
                f"  slowest mutant: {slowest.index} ({slowest.kind}), {slowest.seconds:.2f} s"
                " (CPU contention included)"
            )
        for f in report["failures"]:
            print(f"\n--- {f['kind']}: mutant {f['index']} of {f['seed_file']} {f['mutations']}")
            print(f["detail"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
