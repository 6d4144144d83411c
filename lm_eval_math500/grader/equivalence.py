"""Decide whether an extracted answer equals the gold answer.

Order of work: decoration-free string equality; then the in-process parser with exact rational
arithmetic and numeric identity tests (structure-aware: tuples, intervals, solution lists,
equations); only answers that parser rejects go to Math-Verify in a killable child process.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from fractions import Fraction

from lm_eval_math500.grader.parser import (
    EvalError,
    ParseError,
    Value,
    evaluate,
    has_kind,
    lone_var,
    parse,
    stated_value,
    variables,
)
from lm_eval_math500.grader.forms import form_ok
from lm_eval_math500.grader.latex import canonical
from lm_eval_math500.grader.worker import POOL

_MAX_ITEMS = 64
_MAX_VARS = 8
_MAX_SYMBOLIC = 300
_REL_TOL = 1e-11
# Three rounds of rational points for identity tests; variables take them in sorted-name order.
_POINTS = (
    tuple(Fraction(p, q) for p, q in ((37, 13), (-11, 7), (23, 19), (5, 3), (-29, 17), (41, 31), (7, 11), (-3, 23))),
    tuple(Fraction(p, q) for p, q in ((-19, 11), (31, 7), (13, 29), (-43, 37), (17, 5), (-7, 13), (53, 19), (3, 41))),
    tuple(Fraction(p, q) for p, q in ((59, 23), (2, 17), (-47, 13), (29, 31), (-5, 43), (61, 11), (-37, 3), (11, 47))),
)
_WORD = re.compile(r"[A-Za-z]{2,}")
_CHOICE = re.compile(r"\(?([A-Z])(?:\)|$)")
# A numeral with a base subscript is compared digit by digit; either side may omit the base.
_BASE = re.compile(r"([0-9A-Za-z]+)_\{?(\d+)\}?")


@dataclass(frozen=True)
class Outcome:
    """A comparison result; `timed_out` marks a symbolic check stopped at the time limit."""

    equal: bool
    timed_out: bool = False


def _close(a: Value, b: Value) -> bool:
    """Exact equality for rationals; float round-off only when an irrational value is involved."""
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a == b
    try:
        a, b = complex(a), complex(b)
    except OverflowError:
        return False  # an exact value beyond float range cannot match a float-sized one
    return abs(a - b) <= _REL_TOL * max(abs(a), abs(b)) or abs(a - b) < 1e-13


def _envs(names: frozenset[str]) -> list[dict[str, Fraction]]:
    ordered = sorted(names)
    return [dict(zip(ordered, points)) for points in _POINTS] if ordered else [{}]


def _value_equal(p: tuple, g: tuple, sign_p: int = 1, sign_g: int = 1) -> bool | None:
    """Numeric identity test of two scalar expressions; None when no point could be evaluated."""
    names = variables(p) | variables(g)
    if len(names) > _MAX_VARS:
        return None
    decided = False
    for env in _envs(names):
        try:
            a, b = evaluate(p, env, sign_p), evaluate(g, env, sign_g)
        except (EvalError, OverflowError, ZeroDivisionError):
            continue
        if not _close(a, b):
            return False
        decided = True
    return True if decided else None


_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _as_interval(node: tuple) -> tuple:
    """A one-variable inequality (`x > 3`, `1 < x \\le 2`) as the interval it describes."""
    if node[0] != "rel" or any(op not in _FLIP for op in node[2]):
        return node
    parts, ops = list(node[1]), list(node[2])
    if len(parts) == 2 and not lone_var(parts[0]) and lone_var(parts[1]):
        parts, ops = parts[::-1], [_FLIP[ops[0]]]
    if len(parts) == 2 and lone_var(parts[0]) and not variables(parts[1]):
        bound, op = parts[1], ops[0]
        if op in ("<", "<="):
            return ("tuple", "(", ")" if op == "<" else "]", (("neg", ("const", "inf")), bound))
        return ("tuple", "(" if op == ">" else "[", ")", (bound, ("const", "inf")))
    if len(parts) == 3 and lone_var(parts[1]) and not variables(parts[0]) and not variables(parts[2]):
        if all(op in ("<", "<=") for op in ops):
            lo, hi = parts[0], parts[2]
        elif all(op in (">", ">=") for op in ops):
            lo, hi, ops = parts[2], parts[0], [_FLIP[o] for o in ops[::-1]]
        else:
            return node
        return ("tuple", "(" if ops[0] == "<" else "[", ")" if ops[1] == "<" else "]", (lo, hi))
    return node


def _items(node: tuple) -> list[tuple]:
    """The members of a list or set; a ± expression stands for its two values."""
    members = list(node[1]) if node[0] in ("list", "set") else [node]
    out: list[tuple] = []
    for m in members:
        m = stated_value(m)
        if _has_pm(m) and m[0] not in ("tuple", "list", "set", "rel"):
            out += [("branch", m, 1), ("branch", m, -1)]
        else:
            out.append(m)
    return out


def _distinct(items: list[tuple]) -> list[tuple] | None:
    kept: list[tuple] = []
    for it in items:
        seen = [_same(it, k) for k in kept]
        if any(s is None for s in seen):
            return None
        if not any(seen):
            kept.append(it)
    return kept


def _same_collection(p_items: list[tuple], g_items: list[tuple]) -> bool | None:
    """Unordered comparison: every gold member matched once, nothing missing, nothing extra."""
    if len(p_items) > _MAX_ITEMS or len(g_items) > _MAX_ITEMS:
        return None
    p_set, g_set = _distinct(p_items), _distinct(g_items)
    if p_set is None or g_set is None:
        return None
    if len(p_set) != len(g_set):
        return False
    unused = list(p_set)
    for g in g_set:
        for k, p in enumerate(unused):
            if _same(p, g):
                del unused[k]
                break
        else:
            return False
    return True


def _same_equation(p: tuple, g: tuple) -> bool | None:
    """Equations are equal when (lhs - rhs) of one is a nonzero constant multiple of the other's."""
    (pl, pr), (gl, gr) = p[1], g[1]
    dp, dg = ("add", (pl, ("neg", pr))), ("add", (gl, ("neg", gr)))
    names = variables(dp) | variables(dg)
    if not names:
        return False  # a relation between constants says nothing: equal only as written
    ratio: Value | None = None
    for env in _envs(names):
        try:
            a, b = evaluate(dp, env), evaluate(dg, env)
        except (EvalError, OverflowError, ZeroDivisionError):
            continue
        if b == 0 or a == 0:
            if not (a == 0 and b == 0):
                return False
            continue
        r = a / b
        if ratio is None:
            ratio = r
        elif not _close(r, ratio):
            return False
    return None if ratio is None else True


def _same_relation(p: tuple, g: tuple) -> bool | None:
    if p[2] == ("=",) and g[2] == ("=",):
        return _same_equation(p, g)
    if p[2] == g[2]:
        return all(_same(a, b) for a, b in zip(p[1], g[1]))
    if p[2] == tuple(_FLIP.get(o, "") for o in g[2][::-1]):
        return all(_same(a, b) for a, b in zip(p[1], g[1][::-1]))
    return False


def _has_pm(node: tuple) -> bool:
    return node[0] != "branch" and has_kind(node, "pm")


def _same(p: tuple, g: tuple) -> bool | None:
    """Structure-aware equality of two parsed answers; None when it cannot be decided here."""
    if p[0] == "rel" and g[0] == "rel":
        ap, ag = stated_value(p), stated_value(g)
        if ap[0] == "rel" or ag[0] == "rel" or variables(ap) or variables(ag):
            ap, ag = p, g  # two equations with unknowns: compare them as equations
    else:
        ap, ag = stated_value(p), stated_value(g)
    p, g = _as_interval(ap), _as_interval(ag)
    kp, kg = p[0], g[0]
    if kp == "list" and kg == "tuple" and g[1:3] == ("(", ")"):
        p = ("tuple", "(", ")", p[1])  # a bare `a, b` for the point `(a, b)`: same order required
        kp = "tuple"
    if kp in ("list", "set") or kg in ("list", "set") or (
        (_has_pm(p) or _has_pm(g)) and "tuple" not in (kp, kg)
    ):
        return _same_collection(_items(p), _items(g))
    if kp == "tuple" or kg == "tuple":
        if kp != kg or p[1:3] != g[1:3] or len(p[3]) != len(g[3]):
            return False
        return _all_same(p[3], g[3])
    if kp == "matrix" or kg == "matrix":
        if kp != kg or len(p[1]) != len(g[1]) or any(len(a) != len(b) for a, b in zip(p[1], g[1])):
            return False
        return _all_same([c for row in p[1] for c in row], [c for row in g[1] for c in row])
    if kp == "union" or kg == "union":
        return kp == kg and _same_collection(list(p[1]), list(g[1]))
    if kp == "rel" or kg == "rel":
        return kp == kg and _same_relation(p, g)
    if kp == "branch" or kg == "branch":
        sp, sg = (p[2] if kp == "branch" else 1), (g[2] if kg == "branch" else 1)
        return _value_equal(p[1] if kp == "branch" else p, g[1] if kg == "branch" else g, sp, sg)
    return _value_equal(p, g)


def _all_same(ps: tuple | list, gs: tuple | list) -> bool | None:
    result: bool | None = True
    for a, b in zip(ps, gs):
        r = _same(a, b)
        if r is False:
            return False
        if r is None:
            result = None
    return result


def _is_word(text: str) -> bool:
    """A name, a word or a string of point labels: letters only, at least two of them."""
    return bool(_WORD.fullmatch(text))


def _symbolic_candidate(text: str) -> bool:
    """Worth a symbolic check: short printable LaTeX with balanced braces (else it is not math)."""
    if len(text) > _MAX_SYMBOLIC or not text.isascii() or not text.isprintable():
        return False
    depth = 0
    for c in text:
        depth += (c == "{") - (c == "}")
        if depth < 0:
            return False
    return depth == 0


def _choice(text: str) -> str | None:
    """The letter of a multiple-choice answer: `(D)`, or `(D) a line` when it starts with one."""
    m = _CHOICE.match(text)
    return m.group(1) if m else None


def _same_ratio(p: str, g: str) -> bool:
    """`a:b` is a ratio (equal to `2a:2b`, not to the number a/b); `h:m:s` is compared part by part."""
    ps, gs = p.split(":"), g.split(":")
    if len(ps) != len(gs) or len(gs) < 2:
        return False
    try:
        pn, gn = [parse(x) for x in ps], [parse(x) for x in gs]
    except ParseError:
        return False
    if len(gs) == 2:
        cross = (("mul", (pn[0], gn[1])), ("mul", (pn[1], gn[0])))
        return bool(_value_equal(*cross)) and not _value_equal(pn[1], ("num", Fraction(0), False))
    return all(_value_equal(a, b) for a, b in zip(pn, gn))


def _decide(p: str, g: str, deadline: float) -> Outcome:
    """Value equality of two canonical strings; symbolic work gets what is left until `deadline`."""
    if p == g:
        return Outcome(True)
    if _is_word(p) or _is_word(g):
        return Outcome(p.lower() == g.lower())
    if _choice(g) and re.fullmatch(r"\([A-Z]\)|[A-Z]", g):
        return Outcome(_choice(p) == _choice(g))
    based_p, based_g = _BASE.fullmatch(p), _BASE.fullmatch(g)
    if based_p or based_g:
        digits_p = based_p.group(1) if based_p else p
        digits_g = based_g.group(1) if based_g else g
        same_base = not (based_p and based_g) or based_p.group(2) == based_g.group(2)
        return Outcome(same_base and digits_p.upper() == digits_g.upper())
    if ":" in p or ":" in g:
        return Outcome(_same_ratio(p, g))
    try:
        verdict = _same(parse(p), parse(g))
    except ParseError:
        if not (_symbolic_candidate(p) and _symbolic_candidate(g)):
            return Outcome(False)
        reply = POOL.run({"pred": p, "gold": g}, deadline - time.monotonic())
        if reply is None:
            return Outcome(False, timed_out=True)
        return Outcome(bool(reply["equal"]))
    return Outcome(bool(verdict))


def same_in_process(a: str, b: str) -> bool:
    """Cheap equality without the child process (used to spot repeated final answers)."""
    ca, cb = canonical(a), canonical(b)
    if ca == cb:
        return True
    try:
        return bool(_same(parse(ca), parse(cb)))
    except ParseError:
        return False


def compare(pred: str, gold: str, *, problem: str | None = None, timeout: float = 1.0) -> Outcome:
    """Equality of answers, then the form `problem` asks for (when given)."""
    deadline = time.monotonic() + timeout
    if not pred or not pred.strip() or not gold or not gold.strip():
        return Outcome(False)
    p, g = canonical(pred), canonical(gold)
    try:
        outcome = _decide(p, g, deadline)
    except (ArithmeticError, RecursionError, ValueError):
        return Outcome(False)  # an answer the checks cannot handle is wrong, never an exception
    if outcome.equal and problem and not form_ok(pred, gold, problem):
        return Outcome(False)
    return outcome


def is_equivalent(pred: str, gold: str, *, problem: str | None = None, timeout: float = 1.0) -> bool:
    """True when `pred` states the same answer as `gold` (in the form `problem` asks for, if given).
    Returns within `timeout` seconds; a symbolic check that would take longer counts as not equal."""
    return compare(pred, gold, problem=problem, timeout=timeout).equal
