"""Generate the source of a scenario's compiled kernel from its checked expressions.

The compiled engine runs each replication's next-event loop in machine code (Numba). The
loop itself is fixed (``loop.py.in``); what differs between scenarios is a handful of small
functions — all hazards, all paces, the series' drifts and volatilities, jumps, durations,
``time_to`` checks, observations — generated here from the intermediate representation of
:mod:`steppe.model.expr`, which the loader has already checked against its allow-list.

What reaches the generated source
---------------------------------
Only text written in this module: fixed templates, Python keywords and operators, names of
the kernel's own helpers, and **integers** (offsets into the state, counts, branch numbers).
Numbers of the scenario (constants, distribution parameters, floors) are passed in the array
``K``, copied into the last block of ``w`` and read from there; names, titles and expression
text never appear. So a scenario
cannot put code into the kernel, and scenarios that differ only in their numbers share one
compiled kernel (the source, hence its cache key, is the same).

State layout
------------
A replication's whole state lives in one float array ``w`` (parameters, hoisted values,
series, event counts, active durations, stages, completed and cancelled flags, intensities,
new paces and which were re-evaluated, the value that failed a check, the projects'
bookkeeping, the total intensity, the time of the next deterministic change, the
replication's outcomes and the scenario's constants). Generated functions take ``w`` and a
few scalars: Numba passes each array as seven machine words, so a call with one array is
cheap enough to make at every tick.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from pathlib import Path

from steppe.engines.common import (
    REJECTION_MIN_MASS,
    Sources,
    pace_reads,
    race_reads,
    sources,
    total_outcomes,
    truncated_mass,
)
from steppe.model.deps import state_reads
from steppe.model.distributions import Choice, DistributionBase
from steppe.model.expr import Node
from steppe.model.scenario import CompiledModel, Scenario

__all__ = [
    "EVIDENCE_FIELDS",
    "FIELDS",
    "KernelSource",
    "expression_module",
    "generate",
    "key",
    "layout",
    "n_keys",
    "noise_rows",
    "observation_groups",
    "stage_codes",
    "unsupported",
]

_TEMPLATE = Path(__file__).with_name("loop.py.in")
#: The loop of the kernel that conditions on evidence (``docs/engine.md`` section 10).
_EVIDENCE_TEMPLATE = Path(__file__).with_name("loop_evidence.py.in")
#: The blocks of the state array ``w``, in order (see the module docstring).
FIELDS = (
    *("p", "h", "s", "n", "a", "g", "dn", "c", "hz", "left", "sync", "fire", "when", "pick"),
    *("np", "upd", "err", "work", "pace", "booked", "done_at", "ends_min", "nxt", "res", "dk"),
    "k",
)
#: The blocks the evidence kernel adds before the constants: per race slot, how many
#: windows hold its clock off now; the log-weight.
EVIDENCE_FIELDS = ("blk", "lw")
_METHODS = {
    "normal": 2,
    "lognormal": 2,
    "uniform": 2,
    "triangular": 3,
    "beta": 2,
    "gamma": 2,
    "weibull": 1,
    "exponential": 1,
}
_HEADER = "@njit(_nrt=False, **_OPTS)"
_IN3 = " " * 12  # three levels of indentation


@dataclass
class KernelSource:
    """The generated module source and the constants it reads."""

    text: str
    constants: list[float] = field(default_factory=list)


def layout(sc: Scenario, n_hoisted: int, *, evidence: bool = False) -> dict[str, int]:
    """Offsets of the blocks of ``w`` (and ``"size"``, its length without the constants);
    with ``evidence``, those of :data:`EVIDENCE_FIELDS` too (before the constants)."""
    n_slots = sum(e.hazard is not None for e in sc.events) + len(sc.projects)
    sizes = {
        "p": len(sc.params),
        "h": n_hoisted,
        "s": len(sc.series),
        "n": len(sc.events),
        "a": len(sc.events),
        "g": len(sc.projects),
        "dn": len(sc.projects),
        "c": len(sc.projects),
        "hz": n_slots,
        "left": n_slots,
        "sync": n_slots,
        "fire": n_slots,
        "when": 1,
        "pick": 1,
        "np": len(sc.projects),
        "upd": len(sc.projects),
        "err": 1,
        "work": len(sc.projects),
        "pace": len(sc.projects),
        "booked": len(sc.projects),
        "done_at": len(sc.projects),
        "ends_min": len(sc.events),
        "nxt": 1,
        "res": len(sc.outcomes),
        "dk": n_keys(sc) + 1,  # a flag per part of the state, and "everything"
        "k": 0,  # the constants: their number is known once the kernel is generated
        "blk": n_slots,
        "lw": 1,
    }
    order = (*FIELDS[:-1], *EVIDENCE_FIELDS, FIELDS[-1]) if evidence else FIELDS
    out, at = {}, 0
    for name in order:
        out[name] = at
        at += sizes[name]
    out["size"] = at
    return out


def n_keys(sc: Scenario) -> int:
    """The number of parts of the state whose changes ``refresh`` tracks (see :func:`key`)."""
    return 2 * len(sc.events) + 3 * len(sc.projects) + len(sc.series)


def key(sc: Scenario, fld: str, index: int) -> int:
    """The flag of a part of the state, keyed as :func:`steppe.model.deps.state_reads` keys
    it, in the block ``dk`` of ``w``: counts ``n``, active durations ``a``, stages ``g``,
    completed ``done`` and cancelled ``c`` flags, series ``s``. The flag after these
    (``n_keys``) stands for everything (set before a replication's first refresh)."""
    ne, npr = len(sc.events), len(sc.projects)
    base = {"n": 0, "a": ne, "g": 2 * ne, "done": 2 * ne + npr, "c": 2 * ne + 2 * npr}
    return base.get(fld, 2 * ne + 3 * npr) + index


class _Gen:
    """Emits expressions over ``w``; collects the constants they read (``w[k + i]``)."""

    def __init__(self, offsets: dict[str, int]) -> None:
        self.off = offsets
        self.K: list[float] = []

    def w(self, fld: str, i: int) -> str:
        return f"w[{self.off[fld] + i}]"

    def const(self, value: float) -> str:
        self.K.append(float(value))
        return self.w("k", len(self.K) - 1)

    def expr(self, ir: Node) -> str:
        tag = ir[0]
        if tag == "const":
            return self.const(ir[1])
        if tag == "slot":
            fld, idx = ir[1], int(ir[2])
            if fld == "t":
                return "t"
            if fld not in ("p", "s", "h"):
                raise ValueError(f"slot {fld!r} is not available in the kernel")
            return self.w(fld, idx)
        if tag == "unary":
            x = self.expr(ir[2])
            if ir[1] == "not":
                return f"(1.0 if {x} == 0.0 else 0.0)"
            return f"({'-' if ir[1] == '-' else '+'}{x})"
        if tag == "bin":
            a, b = self.expr(ir[2]), self.expr(ir[3])
            if ir[1] == "**":
                return f"fpow({a}, {b})"
            op = {"+": "+", "-": "-", "*": "*", "/": "/"}[ir[1]]
            return f"({a} {op} {b})"
        if tag == "cmp":
            xs = [self.expr(x) for x in ir[2]]
            tests = []
            for i, name in enumerate(ir[1]):
                op = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}[name]
                tests.append(f"{xs[i]} {op} {xs[i + 1]}")
            return f"(1.0 if ({' and '.join(tests)}) else 0.0)"
        if tag == "bool":
            xs = [f"{self.expr(x)} != 0.0" for x in ir[2]]
            joiner = " and " if ir[1] == "and" else " or "
            return f"(1.0 if ({joiner.join(xs)}) else 0.0)"
        if tag == "if":
            c, a, b = (self.expr(x) for x in ir[1:])
            return f"({a} if {c} != 0.0 else {b})"
        if tag == "call":
            return self.call(ir[1], [self.expr(x) for x in ir[2]])
        if tag == "state":
            return self.state(ir[1], [int(i) for i in ir[2]])
        raise ValueError(f"unknown IR node {tag!r}")

    @staticmethod
    def call(fname: str, xs: list[str]) -> str:
        if fname in ("min", "max"):
            out = xs[0]
            for x in xs[1:]:
                out = f"f{fname}2({out}, {x})"
            return out
        if fname == "clip":
            return f"fmin2(fmax2({xs[0]}, {xs[1]}), {xs[2]})"
        helper = {
            "exp": "fexp",
            "log": "flog",
            "sqrt": "fsqrt",
            "abs": "abs",
            "floor": "np.floor",
            "ceil": "np.ceil",
        }[fname]
        return f"{helper}({xs[0]})"

    def state(self, fname: str, idxs: list[int]) -> str:
        w = self.w
        i0 = idxs[0]
        single = {
            "count": w("n", i0),
            "occurred": f"(1.0 if {w('n', i0)} > 0.0 else 0.0)",
            "active": f"(1.0 if {w('a', i0)} > 0.0 else 0.0)",
            "stage": w("g", i0),
            "completed": w("dn", i0),
            "cancelled": w("c", i0),
        }
        if fname in single:
            return single[fname]
        total = " + ".join(f"(1.0 if {w('n', i)} > 0.0 else 0.0)" for i in idxs)
        if fname == "n_occurred":
            return f"({total})"
        if fname == "any_occurred":
            return f"(1.0 if ({total}) > 0.0 else 0.0)"
        return f"(1.0 if ({total}) - {len(idxs) - 1}.0 > 0.0 else 0.0)"  # all_occurred

    def draw(self, dist: DistributionBase, src: int) -> list[str]:
        """Lines returning one draw of ``dist`` from stream ``src`` (as the reference
        engine draws it: :func:`steppe.engines.common.draw_duration`)."""
        if isinstance(dist, Choice):
            cdf = dist.probabilities().cumsum()
            cdf[-1] = 1.0
            values = self.off["k"] + len(self.K)
            self.K += [float(v) for v in dist.values]
            cuts = self.off["k"] + len(self.K)
            self.K += [float(x) for x in cdf]
            return [f"return choice(st, {src}, rep, w, {values}, {cuts}, {len(dist.values)})"]
        sm = dist.sampler()
        if sm.method not in _METHODS or len(sm.args) != _METHODS[sm.method]:
            raise ValueError(f"no kernel sampler for {sm.method!r}")
        args = ", ".join(self.const(x) for x in sm.args)
        loc, scale = self.const(sm.loc), self.const(sm.scale)
        draw = f"{loc} + {scale} * {sm.method}(st, {src}, rep, {args})"
        if dist.truncate is None:
            return [f"return {draw}"]
        lo, hi = (self.const(x) for x in dist.truncate)
        # Rejection keeps exactly the law of the draw restricted to [lo, hi].
        return [
            "while True:",
            f"    x = {draw}",
            f"    if x >= {lo} and x <= {hi}:",
            "        return x",
        ]

    def check(self, value: str, ok: str, code: int, indent: str) -> list[str]:
        """Store ``value`` in ``v``; if ``ok`` fails, record it and return ``code``."""
        return [
            f"{indent}v = {value}",
            f"{indent}if not ({ok}):",
            f"{indent}    {self.w('err', 0)} = v",
            f"{indent}    return {code}",
        ]


_NONNEG = "v >= 0.0 and v < np.inf"
_FINITE = "v - v == 0.0"
_POSITIVE = "v > 0.0 and v < np.inf"


def unsupported(sc: Scenario) -> str | None:
    """Why the compiled engine cannot run ``sc`` (``None`` if it can)."""
    dists: list[DistributionBase] = [
        e.duration.dist for e in sc.events if e.duration is not None and e.duration.dist
    ]
    dists += [d.dist for p in sc.projects for d in p.durations if d.dist is not None]
    for d in dists:
        if not truncated_mass(d) >= REJECTION_MIN_MASS:
            return (
                "a truncated duration keeps too little probability mass to draw by rejection "
                "(the reference engine draws it by inversion: --engine simpy)"
            )
    return None


def _dispatch(name: str, args: str, cases: list[tuple[int, list[str]]], tail: str) -> list[str]:
    """A function whose body branches on its first argument ``i``."""
    out = [_HEADER, f"def {name}(i, {args}):"]
    for i, body in cases:
        out.append(f"    if i == {i}:")
        out += ["        " + b for b in body]
    out.append(f"    {tail}")
    return out


def _changed(sc: Scenario, gen: _Gen, reads: Set[tuple[str, int]]) -> str:
    """A condition: has any part of the state in ``reads`` changed since the last refresh
    (or is this the replication's first)? The tick time is not tracked: what reads it is
    re-evaluated at every tick."""
    flags = [key(sc, f, i) for f, i in sorted(reads) if f != "t"] + [n_keys(sc)]
    return " or ".join(f"{gen.w('dk', x)} != 0.0" for x in flags)


def _race_lines(
    sc: Scenario, cm: CompiledModel, gen: _Gen, *, every: bool, selective: bool = False
) -> list[str]:
    """Lines taking every competitor's new intensity (error: the slot), then the earliest
    firing time into ``w[when]`` and its slot into ``w[pick]``.

    With ``every`` all of them (with ``selective``, only those reading a part of the state
    that changed); otherwise, when the variable ``tick`` is true, only those that read the
    clock. A competitor whose intensity changed books the part of its threshold used at the
    old one and moves its firing time; one whose intensity becomes positive for the first
    time draws its threshold from its clock's stream: the modified next reaction method,
    with the reference engine's arithmetic (``engines/des.py``, ``plan_race``). Ties go to
    the first slot.

    In the evidence kernel (``gen`` lays out the blocks ``blk`` and ``lw``), a competitor
    held off by a window books its hazard's integral into the log-weight instead, and keeps
    no threshold (``_Replication.plan_race``).
    """
    w = gen.w
    src = sources(sc)
    evidence = "blk" in gen.off
    competitors: list[tuple[bool, str, Node]] = []
    for ev, fn in zip(sc.events, cm.hazards, strict=True):
        if fn is not None:
            live = "True" if ev.recurring else f"{w('n', ev.index)} == 0.0"
            competitors.append((cm.hazard_ticks[ev.index], live, fn.ir))
    for pr in sc.projects:
        live = f"{w('dn', pr.index)} == 0.0 and {w('c', pr.index)} == 0.0"
        competitors.append((cm.cancel_ticks[pr.index], live, cm.cancel[pr.index].ir))
    reads = race_reads(sc)
    body: list[str] = []
    for j, (ticks, live, ir) in enumerate(competitors):
        when = "True" if ticks or every else "not tick"
        if every and selective:
            when = _changed(sc, gen, reads[j])
        hz, left, sync, fire = (w(f, j) for f in ("hz", "left", "sync", "fire"))
        body += [f"    if {when}:", f"        if {live}:"]
        body += gen.check(gen.expr(ir), _NONNEG, j, "            ")
        body += ["        else:", "            v = 0.0", f"        if v != {hz}:"]
        pad = "            "
        if evidence:
            body += [
                f"            if {w('blk', j)} != 0.0:",
                f"                {w('lw', 0)} -= {hz} * (now - {sync})",
                f"                {sync} = now",
                f"                {hz} = v",
                "            else:",
            ]
            pad += "    "
        body += [
            pad + x
            for x in (
                f"if {hz} > 0.0:",
                f"    {left} -= {hz} * (now - {sync})",
                f"{sync} = now",
                f"{hz} = v",
                "if v > 0.0:",
                f"    if {left} != {left}:",
                f"        {left} = std_exponential(st, {src.clock[j]}, rep)",
                f"    {fire} = now + {left} / v",
                "else:",
                f"    {fire} = np.inf",
            )
        ]
    body += ["    x = np.inf", "    p = -1.0"]
    for j in range(len(competitors)):
        body += [f"    if {w('fire', j)} < x:", f"        x = {w('fire', j)}", f"        p = {j}.0"]
    body += [f"    {w('when', 0)} = x", f"    {w('pick', 0)} = p"]
    return body


def _race(sc: Scenario, cm: CompiledModel, gen: _Gen) -> list[str]:
    """``hazards(w, t, tick, now, st, rep)``: every competitor's new intensity (at a tick
    only those reading the clock) and the next firing (see :func:`_race_lines`)."""
    lines = _race_lines(sc, cm, gen, every=False)
    return [_HEADER, "def hazards(w, t, tick, now, st, rep):", *lines, "    return -1"]


def _first_time(cm: CompiledModel, gen: _Gen, i: int) -> list[str]:
    """Lines recording ``now`` as the time of ``time_to`` outcome ``i`` the first time its
    condition holds (used after a change of state and after a tick)."""
    res = gen.w("res", i)
    return [
        f"    if {res} != {res}:",
        f"        if {gen.expr(cm.outcomes[i].ir)} != 0.0:",
        f"            {res} = now",
    ]


def _refresh(sc: Scenario, cm: CompiledModel, gen: _Gen, *, selective: bool) -> list[str]:
    """``refresh(w, t, now, st, rep)``: everything after a change of state, in one call.

    Every intensity and the next firing (as ``hazards``), every pace with the project rebooked
    and rescheduled where its pace changed (as ``replan``), the next duration end or stage
    completion (``w[nxt]``), then the ``time_to`` conditions. Error
    codes: a slot ``j`` for an intensity, ``n_slots + k`` for project ``k``'s pace.

    With ``selective``, an intensity, pace or condition is re-evaluated only if a part of
    the state it reads changed since the last refresh (the loop raises the flags of the
    block ``dk`` where it changes the state; refresh lowers them): the others would
    evaluate to the values they hold, so the results are the same,
    bit for bit (``tests/test_kernel.py`` compares both kernels).
    """
    w = gen.w
    body = [
        _HEADER,
        "def refresh(w, t, now, st, rep):",
        *_race_lines(sc, cm, gen, every=True, selective=selective),
    ]
    n_slots = sum(e.hazard is not None for e in sc.events) + len(sc.projects)
    sym = sc.symbols
    paces = pace_reads(sc)
    for pr in sc.projects:
        k = pr.index
        work, pace, booked, done_at = (w(f, k) for f in ("work", "pace", "booked", "done_at"))
        reads = paces[k]
        lines = [f"if {w('dn', k)} == 0.0 and {w('c', k)} == 0.0:"]
        lines += gen.check(gen.expr(cm.pace[k].ir), _NONNEG, n_slots + k, "    ")
        lines += [
            "else:",
            "    v = 0.0",
            f"if v != {pace}:",
            f"    x = {work} - {pace} * (now - {booked})",
            f"    {work} = x if x > 0.0 else 0.0",
            f"    {booked} = now",
            f"    {pace} = v",
            f"    {done_at} = now + {work} / v if v > 0.0 else np.inf",
        ]
        if selective:
            body += [f"    if {_changed(sc, gen, reads)}:", *("        " + x for x in lines)]
        else:
            body += ["    " + x for x in lines]
    ends = [w("ends_min", e.index) for e in sc.events if e.duration is not None]
    ends += [w("done_at", p.index) for p in sc.projects]
    body.append("    x = np.inf")
    for item in ends:
        body += [f"    if {item} < x:", f"        x = {item}"]
    body.append(f"    {w('nxt', 0)} = x")
    for o in sc.outcomes:
        if o.form == "time_to":
            lines = _first_time(cm, gen, o.index)
            if selective:  # not yet recorded, and a part of the state it reads changed
                cond = _changed(sc, gen, state_reads(o.expr, sym))
                lines = [lines[0], f"        if {cond}:", *("    " + x for x in lines[1:])]
            body += lines
    flags = gen.off["dk"]
    body += [f"    for i in range({flags}, {flags + n_keys(sc) + 1}):", "        w[i] = 0.0"]
    body.append("    return -1")
    return body


def _paces(sc: Scenario, cm: CompiledModel, gen: _Gen) -> list[str]:
    """``paces``: new paces (0 unless running) and which were re-evaluated."""
    w = gen.w
    body = [_HEADER, "def paces(w, t, tick):"]
    for pr in sc.projects:
        k = pr.index
        body += [
            f"    {w('upd', k)} = {'1.0' if cm.pace_ticks[k] else '0.0 if tick else 1.0'}",
            f"    if {w('upd', k)} != 0.0:",
            f"        if {w('dn', k)} == 0.0 and {w('c', k)} == 0.0:",
        ]
        body += gen.check(gen.expr(cm.pace[k].ir), _NONNEG, k, "            ")
        body += [
            f"            {w('np', k)} = v",
            "        else:",
            f"            {w('np', k)} = 0.0",
        ]
    body.append("    return -1")
    return body


def _tick(sc: Scenario, cm: CompiledModel, gen: _Gen, src: Sources) -> list[list[str]]:
    """``at_tick`` and ``initial``.

    ``at_tick(w, t, t_new, Z, k, dt, root, now)`` does all of a tick that concerns
    the series, in one call (a tick comes every step: it is the kernel's hot path): the
    drifts and volatilities on the state before the tick, the steps (a series with a
    positive volatility adds its normal of tick ``k``, ``Z[row, k]``, drawn at the start of
    the replication), then the ``time_to`` conditions that read the clock.
    Error codes: ``2 i`` (drift), ``2 i + 1`` (volatility), ``2 n_series + i`` (overflow),
    ``3 n_series + i`` (the level of a mean-reverting series), ``4 n_series + i`` (its
    half-life).
    ``TICK_RACE`` says whether any hazard or pace reads the clock (then the loop
    re-evaluates them after the tick).
    """
    w = gen.w
    n_series = len(sc.series)
    tick = [_HEADER, "def at_tick(w, t, t_new, Z, k, dt, root, now):"]
    initial = [_HEADER, "def initial(w, t):"]
    for se in sc.series:
        i = se.index
        level, half_life = cm.level[i], cm.half_life[i]
        if level is not None and half_life is not None:
            # mean reversion: the reference's ``reversion``, operation for operation
            x = w("s", i)
            ok = _FINITE if se.process == "linear" else f"{_FINITE} and v > 0.0"
            tick += gen.check(gen.expr(level.ir), ok, 3 * n_series + i, "    ")
            gap = f"math.log(v) - math.log({x})" if se.process == "log" else f"v - {x}"
            tick.append(f"    gap{i} = {gap}")
            tick += gen.check(gen.expr(half_life.ir), _POSITIVE, 4 * n_series + i, "    ")
            tick += [
                f"    rev{i} = math.log(2.0) / v",
                f"    mu{i} = gap{i} * -math.expm1(-rev{i} * dt)",
                f"    root{i} = math.sqrt(-math.expm1(-2.0 * rev{i} * dt) / (2.0 * rev{i}))",
            ]
        else:
            tick += gen.check(gen.expr(cm.drift[i].ir), _FINITE, 2 * i, "    ")
            tick.append(f"    mu{i} = v * dt")
            tick.append(f"    root{i} = root")
        tick += gen.check(gen.expr(cm.volatility[i].ir), _NONNEG, 2 * i + 1, "    ")
        tick.append(f"    sig{i} = v")
        ok = "v > 0.0 and v < np.inf" if se.process == "log" else _FINITE
        initial += gen.check(gen.expr(cm.initial[i].ir), ok, i, "    ")
        initial.append(f"    {w('s', i)} = v")
    rows = noise_rows(src)
    for se in sc.series:
        i = se.index
        tick.append(f"    inc{i} = mu{i}")
        if rows[i] >= 0:  # else the volatility is the constant 0
            noise = f"inc{i} += sig{i} * (root{i} * Z[{rows[i]}, k])"
            tick += [f"    if sig{i} > 0.0:", f"        {noise}"]
    for se in sc.series:
        i, x = se.index, w("s", se.index)
        if se.process == "log":
            tick.append(f"    {x} *= fexp(inc{i})")
        else:
            tick.append(f"    {x} += inc{i}")
            if se.floor is not None:
                floor = gen.const(se.floor)
                tick += [f"    if {x} < {floor}:", f"        {x} = {floor}"]
        tick += [
            f"    if {x} - {x} != 0.0:",
            f"        {w('err', 0)} = {x}",
            f"        return {2 * n_series + i}",
        ]
    tick.append("    t = t_new")
    for o in sc.outcomes:
        if o.form == "time_to" and cm.outcome_ticks[o.index]:
            tick += _first_time(cm, gen, o.index)
    tick.append("    return -1")
    initial.append("    return -1")
    race = any(cm.hazard_ticks[e.index] for e in sc.events if e.hazard is not None) or any(
        cm.cancel_ticks[p.index] or cm.pace_ticks[p.index] for p in sc.projects
    )
    return [tick, initial, [f"TICK_RACE = {race}"]]


def _jumps(sc: Scenario, cm: CompiledModel, gen: _Gen) -> list[str]:
    """``jump``: event i's jumps, amounts first, then applied in order. Error codes: 2 *
    series for a bad amount, 2 * series + 1 for an overflow."""
    w = gen.w
    cases = []
    for ev in sc.events:
        jumps = cm.jumps[ev.index]
        if not jumps:
            continue
        lines = [f"amt{q} = {gen.expr(fn.ir)}" for q, (_, _, fn) in enumerate(jumps)]
        for q, (si, mult, _) in enumerate(jumps):
            x, a = w("s", si), f"amt{q}"
            bad = f"not ({a} > 0.0 and {a} < np.inf)" if mult else f"{a} - {a} != 0.0"
            lines += [f"if {bad}:", f"    {w('err', 0)} = {a}", f"    return {2 * si}"]
            lines.append(f"{x} {'*' if mult else '+'}= {a}")
            floor = sc.series[si].floor
            if not mult and floor is not None:
                lines.append(f"{x} = max({x}, {gen.const(floor)})")
            lines += [f"if not ({x} - {x} == 0.0):", f"    {w('err', 0)} = {x}"]
            lines.append(f"    return {2 * si + 1}")
            lines.append(f"{w('dk', key(sc, 's', si))} = 1.0")
        lines.append("return -1")
        cases.append((ev.index, lines))
    return _dispatch("jump", "w, t", cases, "return -1")


def _durations(sc: Scenario, cm: CompiledModel, gen: _Gen, src: Sources) -> list[str]:
    """``duration``: event i's duration, or stage j of project k as ``stage_codes[k] + j``."""
    cases = []
    for ev in sc.events:
        if ev.duration is None:
            continue
        if ev.duration.dist is not None:
            cases.append((ev.index, gen.draw(ev.duration.dist, src.duration[ev.index])))
        else:
            cases.append((ev.index, [f"return {gen.expr(cm.event_durations[ev.index].ir)}"]))
    bases = stage_codes(sc)
    for pr in sc.projects:
        for j, d in enumerate(pr.durations):
            if d.dist is not None:
                cases.append((bases[pr.index] + j, gen.draw(d.dist, src.stage[(pr.index, j)])))
            else:
                fn = cm.stage_durations[(pr.index, j)]
                cases.append((bases[pr.index] + j, [f"return {gen.expr(fn.ir)}"]))
    return _dispatch("duration", "st, rep, w, t", cases, "return np.nan")


def _observe(sc: Scenario, cm: CompiledModel, gen: _Gen) -> list[str]:
    """``observe``: the outcomes read at observation date ``i``, those before ``limit`` in
    the scenario's order (``time_to`` conditions are checked by ``refresh`` and
    ``at_tick``)."""
    cases = []
    for gi, (_, members) in enumerate(observation_groups(sc)):
        lines: list[str] = []
        for oi in members:
            body = gen.check(gen.expr(cm.outcomes[oi].ir), _FINITE, oi, "    ")
            prob = sc.outcomes[oi].kind == "probability"
            res = gen.w("res", oi)
            body.append(f"    {res} = 1.0 if v != 0.0 else 0.0" if prob else f"    {res} = v")
            lines += [f"if {oi} < limit:", *body]
        lines.append("return -1")
        cases.append((gi, lines))
    return _dispatch("observe", "w, t, limit", cases, "return -1")


def _flows(sc: Scenario, cm: CompiledModel, gen: _Gen) -> list[list[str]]:
    """``flows_start``, ``flows`` and ``FLOWS``: the ``total`` outcomes' sums.

    ``flows_start(w)`` sets each sum to 0; ``flows(i, w, since, now)`` adds to each the
    area of its series over the part of its period within ``[since, now]`` and returns
    ``now``, the time booked up to: at a tick (``i = -1``, before the series step), before
    the jumps of event ``i`` if it has any, and at the horizon (for other events it returns
    ``since``). The series hold their values between these, so the sums are the exact
    integrals, with the reference's arithmetic (``engines/des.py``, ``book_flows``).
    ``FLOWS`` says whether there are any: the loops call these only then, so a scenario
    without totals runs the loop it ran before they existed.
    """
    w = gen.w
    totals = total_outcomes(sc)
    start = [_HEADER, "def flows_start(w):"]
    start += [f"    {w('res', i)} = 0.0" for i, *_ in totals]
    start.append("    return 0")
    book = [_HEADER, "def flows(i, w, since, now):"]
    jumping = [ev.index for ev in sc.events if cm.jumps[ev.index]]
    skip = "i >= 0"
    if jumping:
        skip += f" and not ({' or '.join(f'i == {e}' for e in jumping)})"
    book += [f"    if {skip}:", "        return since"]
    for i, series, lo, hi in totals:
        a, b = gen.const(lo), gen.const(hi)
        book += [
            f"    a = since if since > {a} else {a}",
            f"    b = now if now < {b} else {b}",
            "    if b > a:",
            f"        {w('res', i)} += {w('s', series)} * (b - a)",
        ]
    book.append("    return now")
    return [start, book, [f"FLOWS = {bool(totals)}"]]


def generate(sc: Scenario, *, selective: bool = True, evidence: bool = False) -> KernelSource:
    """The kernel module source for ``sc`` (see the module docstring for what it contains;
    ``selective``: see :func:`_refresh`); with ``evidence``, the kernel that conditions on
    evidence (``loop_evidence.py.in``: the same generated functions, whose race also
    handles the clocks held off by windows)."""
    cm: CompiledModel = sc.compiled("vector")
    src = sources(sc)
    offsets = layout(sc, len(cm.hoisted), evidence=evidence)
    gen = _Gen(offsets)
    parts = [
        _race(sc, cm, gen),
        _paces(sc, cm, gen),
        _refresh(sc, cm, gen, selective=selective),
        *_tick(sc, cm, gen, src),
        _jumps(sc, cm, gen),
        _durations(sc, cm, gen, src),
        _observe(sc, cm, gen),
        *_flows(sc, cm, gen),
    ]
    # where each block of w starts (read by run_chunk): integers only
    size = offsets["size"] + len(gen.K)
    fields = (*FIELDS, *EVIDENCE_FIELDS) if evidence else FIELDS
    parts.insert(
        0,
        [f"O_{f.upper()} = {offsets[f]}" for f in fields]
        + [f"W_SIZE = {size}"]
        + [f"K_{k.upper()} = {key(sc, k, 0)}" for k in ("a", "g", "done", "c")],
    )
    generated = "\n\n\n".join("\n".join(p) for p in parts)
    template = (_EVIDENCE_TEMPLATE if evidence else _TEMPLATE).read_text(encoding="utf-8")
    return KernelSource(text=template.replace("# @GENERATED@", generated), constants=gen.K)


def expression_module(irs: list[Node], offsets: dict[str, int]) -> KernelSource:
    """A module whose ``evaluate(w, t, out)`` stores expression ``i`` in ``out[i]``.

    It is generated exactly as the kernels' expressions are (same helpers, same layout of
    ``w``, constants from ``offsets["k"]`` on), so tests can check the generator's
    arithmetic against the scalar mode.
    """
    gen = _Gen(offsets)
    body = [_HEADER, "def evaluate(w, t, out):"]
    body += [f"    out[{i}] = {gen.expr(ir)}" for i, ir in enumerate(irs)]
    template = _TEMPLATE.read_text(encoding="utf-8")
    head = template[: template.index("# @GENERATED@")]
    return KernelSource(text=head + "\n".join(body) + "\n", constants=gen.K)


def observation_groups(sc: Scenario) -> list[tuple[float, list[int]]]:
    """The observation dates (model years) and the outcomes read at each, in time order."""
    observe: dict[float, list[int]] = {}
    for o in sc.outcomes:
        if o.form in ("probability", "value"):
            assert o.t is not None
            observe.setdefault(o.t, []).append(o.index)
    return sorted(observe.items())


def noise_rows(src: Sources) -> list[int]:
    """Each series' row in the kernel's array of normals ``Z`` (``-1``: it draws none)."""
    rows, row = [], 0
    for x in src.noise:
        rows.append(row if x >= 0 else -1)
        row += x >= 0
    return rows


def stage_codes(sc: Scenario) -> list[int]:
    """The ``duration`` branch of each project's first stage (stage ``j`` is ``base + j``)."""
    bases, code = [], len(sc.events)
    for pr in sc.projects:
        bases.append(code)
        code += len(pr.durations)
    return bases
