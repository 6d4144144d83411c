"""Decide whether an extracted answer equals the gold answer, and say which rule decided.

Order of work: decoration-free string equality; then the in-process parser with exact rational
arithmetic and numeric identity tests (structure-aware: tuples, intervals, solution lists,
equations); only answers that parser rejects go to Math-Verify in a worker process that is killed
at its CPU-time limit. The whole order is stated in `is_equivalent`'s docstring; the policy numbers
are named here (`REL_TOL`, `ABS_TOL`), in `parser` (`IDENTITY_POINTS`) and in `worker`
(`TIME_LIMIT`, whose module states what the limit counts).
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache

from lm_eval_math500.grader.forms import broken_rule
from lm_eval_math500.grader.inputs import answer_text, problem_text
from lm_eval_math500.grader.latex import canonical
from lm_eval_math500.grader.parser import (
    MAX_VARS,
    Add,
    Branch,
    Const,
    EvalError,
    Func,
    Inv,
    List,
    Matrix,
    Mixed,
    Mul,
    Neg,
    Node,
    Num,
    ParseError,
    Pm,
    Pow,
    Rel,
    Root,
    Seq,
    Set,
    Union,
    DOMAIN_POINTS,
    PRECISE,
    PRECISE_DIGITS,
    Value,
    Var,
    evaluate,
    has_kind,
    identity_envs,
    lone_var,
    parse,
    stated_value,
    variables,
    walk,
)
from lm_eval_math500.grader.worker import POOL, TIME_LIMIT

REL_TOL = 1e-11  # float round-off allowed between irrational values, relative ...
ABS_TOL = 1e-13  # ... or absolute, for values near zero
_MAX_ITEMS = 64
_MAX_SYMBOLIC = 300
_MAX_PRODUCT_LETTERS = 4
_COMMAND = re.compile(r"\\[a-zA-Z]+")
# The name of a ratio before its value: `m:n`, `V_1:V_2`, `AB:BC`.
_RATIO_LABEL = re.compile(r"(?:[A-Za-z]{1,3}(?:_\{?\w{1,3}\}?)?)(?::[A-Za-z]{1,3}(?:_\{?\w{1,3}\}?)?)+")
# Calculus not carried out: an integral, sum, product, limit or derivative.
_CALCULUS = re.compile(
    r"\\(?:int|iint|oint|sum|prod|lim)(?![a-zA-Z])|\\frac\{d(?:\^\{?\d\}?)?[a-zA-Z]?\}\{d[a-zA-Z]"
)
# A number with a unit written right after it (canonical forms keep such units).
_GLUED_UNIT = re.compile(
    r"(-?\d+(?:\.\d+)?)\s*(?:km|cm|mm|m|kg|mg|g|h|hr|hrs|min|s|sec|ft|mi|yd|in|mph|lb|lbs|oz|L|l|mL|ml)"
    r"(?:\^\{?[23]\}?|²|³)?(?:/(?:h|hr|s|sec|min))?"
)
_WORD = re.compile(r"[A-Za-z]{2,}")
# Prose in a canonical answer (spaces are gone there, so its words run together): eight or more
# letters in a row that are not a LaTeX command's name.
_PROSE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{8,}")
_CHOICE = re.compile(r"\(?([A-Z])(?:\)|$)")
# A numeral with a base subscript is compared digit by digit; either side may omit the base.
_BASE = re.compile(r"([0-9A-Za-z]+)_\{?(\d+)\}?")


@dataclass(frozen=True)
class Verdict:
    """Whether a prediction is right, and the rule that decided.

    Attributes:
        correct: the answer counts as right (a timeout counts as wrong).
        reason: the rule that decided, e.g. ``same string`` or
            ``numeric value equal; rejected: decimal for a fraction``.
        pred: the answer that was graded (None when the response had no final answer).
        format_ok: whether the response followed its output format; None when only an
            extracted answer was graded.
        timed_out: a symbolic check was stopped at the time limit.
    """

    correct: bool
    reason: str
    pred: str | None = None
    format_ok: bool | None = None
    timed_out: bool = False


def _close(a: Value, b: Value) -> bool:
    """Exact equality for rationals; float round-off only when an irrational value is involved."""
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a == b
    try:
        a, b = complex(a), complex(b)
    except OverflowError:
        return False  # an exact value beyond float range cannot match a float-sized one
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b)) or abs(a - b) < ABS_TOL


def _value_equal(p: Node, g: Node, sign_p: int = 1, sign_g: int = 1) -> bool | None:
    """Numeric identity test of two scalar expressions; None when no point could be evaluated."""
    return _values_agree(p, g, variables(p) | variables(g), sign_p, sign_g)


# Set by `same_in_process(approximate=True)` for the comparisons it makes (each thread its own).
_ROUND_OFF_IS_EQUAL: ContextVar[bool] = ContextVar("round_off_is_equal", default=False)


def _non_real(v: Value) -> bool:
    return not isinstance(v, Fraction) and abs(v.imag) > ABS_TOL * max(1.0, abs(v))


def _precisely_equal(p: Node, g: Node, env: dict[str, Fraction], sign_p: int, sign_g: int) -> bool:
    """Whether two values the machine's round-off cannot tell apart still agree to `PRECISE_DIGITS`
    less a margin for cancellation (`\\pi + 10^{-12}` is not `\\pi`, nor `1.41421356237` \\sqrt{2})."""
    try:
        a, b = evaluate(p, env, sign_p, PRECISE), evaluate(g, env, sign_g, PRECISE)
    except (EvalError, OverflowError, ZeroDivisionError, ValueError):
        return True  # the machine values agreed and nothing finer can be said
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a == b
    tolerance = 10.0 ** (15 - PRECISE_DIGITS)
    return abs(a - b) <= tolerance * max(float(abs(a)), float(abs(b)), 1.0)


def _values_agree(p: Node, g: Node, names: frozenset[str], sign_p: int = 1, sign_g: int = 1) -> bool | None:
    """`_value_equal` with the variables of both sides already known. Identities hold on the
    obvious domain: a test point where a side leaves the real numbers (`\\sqrt{n}` at n < 0) is
    passed over when neither side has the imaginary unit, and then a round of positive points is
    added and two points must decide."""
    if len(names) > MAX_VARS:
        return None
    real_only = bool(names) and not any(n == Const("i") and isinstance(n, Const) for x in (p, g) for n in walk(x))
    decided = skipped = 0
    confirmed = False
    rounds = identity_envs(names)
    while rounds:
        env = rounds.pop(0)
        try:
            a, b = evaluate(p, env, sign_p), evaluate(g, env, sign_g)
        except (EvalError, OverflowError, ZeroDivisionError):
            continue
        if real_only and (_non_real(a) or _non_real(b)):
            skipped += 1
            if skipped == 1:
                rounds += identity_envs(names, (DOMAIN_POINTS,))
            continue
        if not _close(a, b):
            return False
        if not confirmed and not (isinstance(a, Fraction) and isinstance(b, Fraction)) and not _ROUND_OFF_IS_EQUAL.get():
            if not _precisely_equal(p, g, env, sign_p, sign_g):
                return False
            confirmed = True
        decided += 1
    return True if decided >= (2 if skipped else 1) else None


_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}
_INF = Const("inf")


def _named(node: Node) -> bool:
    """A variable or a function value such as `g(t)`: what an inequality bounds."""
    return lone_var(node) or (isinstance(node, Mul) and len(node.factors) == 2 and all(map(lone_var, node.factors)))


def _linear(node: Node) -> tuple[Fraction, Fraction] | None:
    """(a, b) when `node` is a x + b in its one variable x with rational a != 0, else None."""
    names = variables(node)
    if len(names) != 1:
        return None
    (name,) = names
    try:
        at = [evaluate(node, {name: Fraction(x)}) for x in (0, 1, 7)]
    except (EvalError, OverflowError, ZeroDivisionError):
        return None
    if not all(isinstance(v, Fraction) for v in at):
        return None
    b, a = at[0], at[1] - at[0]
    return (a, b) if a != 0 and at[2] == 7 * a + b else None


def _solved(node: Rel) -> Rel:
    """A one-variable linear inequality solved for its variable: `-2x > -4` is `x < 2`, and
    `1 < 2x + 1 < 5` is `0 < x < 2` (dividing by a negative number turns the relations round)."""
    parts, ops = node.parts, node.ops
    middle = 1 if len(parts) == 3 else next((k for k, part in enumerate(parts) if variables(part)), 0)
    line = _linear(parts[middle])
    if line is None or any(variables(part) for k, part in enumerate(parts) if k != middle):
        return node
    a, b = line
    (name,) = variables(parts[middle])
    bounds = [Mul((Add((part, Neg(Num(b)))), Inv(Num(a)))) for part in parts]
    bounds[middle] = Var(name)
    if a < 0:
        ops = tuple(_FLIP[o] for o in ops)
    return Rel(tuple(bounds), ops)


def _as_interval(node: Node) -> Node:
    """A one-variable inequality (`x > 3`, `1 < x \\le 2`, `0 < g(t) < 1`, `-2x > -4`) as the interval
    it describes."""
    if not isinstance(node, Rel) or any(op not in _FLIP for op in node.ops):
        return node
    if not any(_named(part) for part in node.parts):
        node = _solved(node)
    parts, ops = list(node.parts), list(node.ops)
    if len(parts) == 2 and not _named(parts[0]) and _named(parts[1]):
        parts, ops = parts[::-1], [_FLIP[ops[0]]]
    if len(parts) == 2 and _named(parts[0]) and not variables(parts[1]):
        bound, op = parts[1], ops[0]
        if op in ("<", "<="):
            return Seq("(", ")" if op == "<" else "]", (Neg(_INF), bound))
        return Seq("(" if op == ">" else "[", ")", (bound, _INF))
    if len(parts) == 3 and _named(parts[1]) and not variables(parts[0]) and not variables(parts[2]):
        if all(op in ("<", "<=") for op in ops):
            lo, hi = parts[0], parts[2]
        elif all(op in (">", ">=") for op in ops):
            lo, hi, ops = parts[2], parts[0], [_FLIP[o] for o in ops[::-1]]
        else:
            return node
        return Seq("(" if ops[0] == "<" else "[", ")" if ops[1] == "<" else "]", (lo, hi))
    return node


def _items(node: Node) -> list[Node]:
    """The members of a list or set; a ± expression stands for its two values."""
    members = list(node.items) if isinstance(node, (List, Set)) else [node]
    out: list[Node] = []
    for m in members:
        m = stated_value(m)
        if _has_pm(m) and not isinstance(m, (Seq, List, Set, Rel)):
            out += [Branch(m, 1), Branch(m, -1)]
        else:
            out.append(m)
    return out


def _distinct(items: list[Node]) -> list[Node] | None:
    kept: list[Node] = []
    for it in items:
        seen = [_same(it, k) for k in kept]
        if any(s is None for s in seen):
            return None
        if not any(seen):
            kept.append(it)
    return kept


def _same_collection(p_items: list[Node], g_items: list[Node]) -> bool | None:
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


def _same_equation(p: Rel, g: Rel) -> bool | None:
    """Equations are equal when (lhs - rhs) of one is a nonzero constant multiple of the other's."""
    (pl, pr), (gl, gr) = p.parts, g.parts
    dp, dg = Add((pl, Neg(pr))), Add((gl, Neg(gr)))
    names = variables(dp) | variables(dg)
    if not names:
        return False  # a relation between constants says nothing: equal only as written
    ratio: Value | None = None
    for env in identity_envs(names):
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


def _same_relation(p: Rel, g: Rel) -> bool | None:
    if p.ops == ("=",) and g.ops == ("=",):
        return _same_equation(p, g)
    if p.ops == g.ops:
        return all(_same(a, b) for a, b in zip(p.parts, g.parts))
    if p.ops == tuple(_FLIP.get(o, "") for o in g.ops[::-1]):
        return all(_same(a, b) for a, b in zip(p.parts, g.parts[::-1]))
    return False


def _has_pm(node: Node) -> bool:
    return not isinstance(node, Branch) and has_kind(node, Pm)


def _value_stated(node: Node, other: Node, gold: bool = False) -> Node:
    """`\\tan A = 2`, `|PQ| = 5`, `\\sin^2 t + \\cos^2 t = 1`: an equation whose last side is
    free of variables states that value, and so does a chain of equal forms (`3x + 2x - 7 = 5x - 7`),
    when the other answer is a value and not an equation. A gold equation states a value only when
    its other sides name one quantity (a term, not a sum of terms in variables: `x - 2y = 0` is a
    line asked for, not the value 0) or the chain is an identity."""
    if isinstance(other, Rel) or not isinstance(node, Rel) or any(op != "=" for op in node.ops):
        return node
    last = node.parts[-1]
    if all(_value_equal(part, last) for part in node.parts[:-1]):
        return last
    named = not gold or not any(isinstance(part, Add) and variables(part) for part in node.parts[:-1])
    return last if named and not variables(last) else node


def _labelled(node: Node) -> dict[str, Node] | None:
    """`a = 2, b = 5`: a list whose members each name a different variable, by name."""
    if not isinstance(node, List):
        return None
    named = {}
    for item in node.items:
        if not (isinstance(item, Rel) and item.ops == ("=",) and lone_var(item.parts[0])):
            return None
        named[item.parts[0].name] = item.parts[1]
    return named if len(named) == len(node.items) else None


def _compared(p: Node, g: Node) -> tuple[Node, Node]:
    """The two trees as compared: stated values, inequalities as intervals, and a bare `a, b`
    as the point `(a, b)` when the gold is one (same order required)."""
    if isinstance(p, Rel) and isinstance(g, Rel):
        ap, ag = _as_interval(stated_value(p)), _as_interval(stated_value(g))
        both_intervals = isinstance(ap, Seq) and isinstance(ag, Seq)
        both_named = ap is not p and ag is not g and not isinstance(ap, (Rel, Seq)) and not isinstance(ag, (Rel, Seq))
        if both_named and _value_equal(ap, ag):
            pass  # `g(t) = t^2 - 1` and `y = t^2 - 1`: the same value under two names
        elif not both_intervals and (isinstance(ap, Rel) or isinstance(ag, Rel) or variables(ap) or variables(ag)):
            ap, ag = p, g  # two equations with unknowns: compare them as equations
    else:
        ap, ag = stated_value(p), stated_value(g)
        ap, ag = _value_stated(ap, ag), _value_stated(ag, ap, gold=True)
    p, g = _finite_set(_as_interval(ap)), _finite_set(_as_interval(ag))
    if isinstance(p, List) and isinstance(g, (Seq, Union)):
        p = _joined_conditions(p, g)
    if isinstance(p, List) and isinstance(g, Seq) and (g.open, g.close) == ("(", ")"):
        p = Seq("(", ")", p.items)
    return p, g


def _finite_set(node: Node) -> Node:
    """A union of finite sets (`\\{1, 2\\} \\cup \\{3\\}`) as the one set it is."""
    if isinstance(node, Union) and all(isinstance(part, Set) for part in node.parts):
        return Set(tuple(item for part in node.parts for item in part.items))
    return node


def _joined_conditions(p: List, g: Seq | Union) -> Node:
    """`x > -1 and x < 1` against an interval is the interval both describe, and `x < -1 or x > 1`
    against a union is that union (a list has lost the word that joined its parts, so the gold's
    shape tells which was meant); `p` unchanged when its parts are not intervals of one variable."""
    names = {frozenset(variables(item)) for item in p.items}
    parts = [_as_interval(item) for item in p.items]
    if len(names) != 1 or len(next(iter(names))) != 1 or not all(isinstance(x, Seq) and len(x.items) == 2 for x in parts):
        return p
    if isinstance(g, Union):
        return Union(tuple(parts))
    try:
        lows = [(evaluate(x.items[0], {}).real, x.open == "(", x.items[0]) for x in parts]
        highs = [(evaluate(x.items[1], {}).real, x.close == ")", x.items[1]) for x in parts]
    except (EvalError, OverflowError, ZeroDivisionError, TypeError):
        return p
    low, high = max(lows, key=lambda b: (b[0], b[1])), min(highs, key=lambda b: (b[0], not b[1]))
    return Seq("(" if low[1] else "[", ")" if high[1] else "]", (low[2], high[2]))


_STRUCTURED = (Seq, Matrix, Union, Rel, Branch)


def _same(p: Node, g: Node) -> bool | None:
    """Structure-aware equality of two parsed answers; None when it cannot be decided here."""
    return _judge(*_compared(p, g))[0]


def _judge(p: Node, g: Node) -> tuple[bool | None, str]:
    """`_same` of two compared trees, and the kind of comparison made (for a verdict's reason)."""
    named_p, named_g = _labelled(p), _labelled(g)
    if named_p and named_g:  # labelled parts match by name
        same = named_p.keys() == named_g.keys() and _all_same([named_p[k] for k in named_g], list(named_g.values()))
        return same, "labelled parts"
    if isinstance(p, (List, Set)) or isinstance(g, (List, Set)) or (
        (_has_pm(p) or _has_pm(g)) and not (isinstance(p, Seq) or isinstance(g, Seq))
    ):
        kind = "set" if (isinstance(p, Set) or isinstance(g, Set)) and not isinstance(p, List) else "list"
        return _same_collection(_items(p), _items(g)), kind
    if not isinstance(p, _STRUCTURED) and not isinstance(g, _STRUCTURED):
        names = variables(p) | variables(g)
        return _values_agree(p, g, names), "symbolic identity" if names else "numeric value"
    match p, g:
        case Seq(), Seq():
            if (p.open, p.close) != (g.open, g.close) or len(p.items) != len(g.items):
                return False, "tuple or interval"
            return _all_same(p.items, g.items), "tuple or interval"
        case Matrix(), Matrix():
            if len(p.rows) != len(g.rows) or any(len(a) != len(b) for a, b in zip(p.rows, g.rows)):
                return False, "matrix"
            return _all_same([c for row in p.rows for c in row], [c for row in g.rows for c in row]), "matrix"
        case (Seq(), _) | (_, Seq()):
            return False, "tuple or interval"
        case (Matrix(), _) | (_, Matrix()):
            return False, "matrix"
        case Union(), Union():
            return _same_collection(list(p.parts), list(g.parts)), "union"
        case (Union(), _) | (_, Union()):
            return False, "union"
        case Rel(), Rel():
            return _same_relation(p, g), "equation"
        case (Rel(), _) | (_, Rel()):
            return False, "equation"
    # What is left: one side or both is one sign's value of a ± expression.
    pe, sp = (p.expr, p.sign) if isinstance(p, Branch) else (p, 1)
    ge, sg = (g.expr, g.sign) if isinstance(g, Branch) else (g, 1)
    return _value_equal(pe, ge, sp, sg), "list"


def _all_same(ps: tuple[Node, ...] | list[Node], gs: tuple[Node, ...] | list[Node]) -> bool | None:
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


def _letter_product(text: str) -> bool:
    """A few different lower-case letters, which may as well be a product of variables (`xy`)."""
    return text.islower() and len(text) <= _MAX_PRODUCT_LETTERS and len(set(text)) == len(text)


def _words_decide(p: str, g: str) -> bool:
    """Whether two answers are compared as words: one is a word, and they are not a product of
    variables written two ways (`yx` and `xy`, `abc` and `c \\cdot b \\cdot a`)."""
    if _is_word(p) and _is_word(g):
        return p.lower() == g.lower() or not (_letter_product(p) and _letter_product(g) and sorted(p) == sorted(g))
    word, other = (p, g) if _is_word(p) else (g, p)
    letters = set(re.findall("[a-z]", _COMMAND.sub(" ", other)))  # the other side's variables
    return _is_word(word) and not (_letter_product(word) and letters & set(word))


def _symbolic_candidate(text: str) -> bool:
    """Worth a symbolic check: short printable LaTeX with balanced braces and no prose in it (else
    it is not math: a sentence the parser could not read is no answer Math-Verify can compare)."""
    if len(text) > _MAX_SYMBOLIC or not text.isascii() or not text.isprintable():
        return False
    if _PROSE.search(text):
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
        cross_equal = _value_equal(Mul((pn[0], gn[1])), Mul((pn[1], gn[0])))
        return bool(cross_equal) and not _value_equal(pn[1], Num(Fraction(0)))
    return all(_value_equal(a, b) for a, b in zip(pn, gn))


_OUTCOME = {True: "equal", False: "differs", None: "undecided"}


def _plain_number(node: Node) -> bool:
    """A number as one writes a result: an integer, decimal, fraction or mixed number, signed, or
    in scientific notation (`1.5 \\times 10^{5}`)."""
    match node:
        case Num() | Mixed():
            return True
        case Neg(arg):
            return _plain_number(arg)
        case Mul((Num() | Neg(Num()), Inv(Num() | Neg(Num())))):
            return True
        case Mul((Num(), Pow(Num(ten), exp))) if ten == 10:
            return _plain_number(exp)
        case Pow(Num(ten), exp) if ten == 10:
            return _plain_number(exp)
    return False


def _without_ratio_label(text: str) -> str:
    """`AB:BC = 3:4` as `3:4`; any other text unchanged."""
    label, _, value = text.rpartition("=")
    return value if label and _RATIO_LABEL.fullmatch(label) else text


def _reads_as_number(text: str) -> bool:
    """Whether a canonical answer parses to a plain number."""
    try:
        return _plain_number(parse(text))
    except ParseError:
        return False


def _unfinished(p: Node, g: Node) -> str | None:
    """Why `p` is not yet an answer to the number `g` (both as compared), or None: it still has
    free variables (an echo of the expression asked about), or it is arithmetic on numbers left
    undone, roots and functions of numbers included (`\\sqrt{16}`, `\\log_2 8`, `\\ln e`); an
    answer with a constant and no function (`i^2`, `e^{i\\pi}`) is compared."""
    if not _plain_number(g):
        return None
    if variables(p):
        return "an expression, not a value"
    if _plain_number(p) or isinstance(p, (List, Set, Seq, Matrix, Union, Rel)):
        return None
    kinds = {type(n) for n in walk(p)}
    if Const not in kinds or Func in kinds:
        return "arithmetic left undone"
    return None


class _Allowance:
    """The CPU seconds a verdict's symbolic checks have left (the limit's rules are in `worker`)."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds


def _decide(p: str, g: str, allowance: _Allowance) -> Verdict:
    """Value equality of two canonical strings; a symbolic check may use what `allowance` has left."""
    if p == g:
        return Verdict(True, "same string")
    if _words_decide(p, g):
        same = p.lower() == g.lower()
        return Verdict(same, "same word" if same else "different words")
    if _CALCULUS.search(p) and not _CALCULUS.search(g):
        return Verdict(False, "calculus left undone")
    if _choice(g) and re.fullmatch(r"\([A-Z]\)|[A-Z]", g):
        same = _choice(p) == _choice(g)
        return Verdict(same, "same choice letter" if same else "different choice letters")
    based_p, based_g = _BASE.fullmatch(p), _BASE.fullmatch(g)
    if based_p or based_g:
        digits_p = based_p.group(1) if based_p else p
        digits_g = based_g.group(1) if based_g else g
        same_base = not (based_p and based_g) or based_p.group(2) == based_g.group(2)
        same = same_base and digits_p.upper() == digits_g.upper()
        return Verdict(same, "same digits in the same base" if same else "different digits or base")
    ratio_side = p if ":" in p else g
    label, _, value = ratio_side.rpartition("=")
    if (":" in p) != (":" in g) and (p + g).count(":") == 1 and (not label or _RATIO_LABEL.fullmatch(label)):
        # `3:4` for 3/4: the ratio's value; `m:n = 2` states the value 2
        if ":" in value:
            first, second = value.split(":")
            value = f"\\frac{{{first}}}{{{second}}}"
        decided = _decide(value, g, allowance) if ":" in p else _decide(p, value, allowance)
        return replace(decided, reason=f"ratio as a number: {decided.reason}")
    if ":" in p or ":" in g:
        p = _without_ratio_label(p) if "=" not in g else p  # `AB:BC = 3:4`
        g = _without_ratio_label(g) if "=" not in p else g
        same = _same_ratio(p, g)
        return Verdict(same, "same ratio or time" if same else "different ratio or time")
    unit = _GLUED_UNIT.fullmatch(p)
    if unit and _reads_as_number(g):
        p = unit.group(1)  # `25km`, `4h`: a number with its unit, against a number
    try:
        pt, gt = parse(p), parse(g)
    except ParseError:
        if not (_symbolic_candidate(p) and _symbolic_candidate(g)):
            return Verdict(False, "not a readable answer")
        reply = POOL.run({"pred": p, "gold": g}, allowance.left)
        if reply is None:
            allowance.left = 0.0
            return Verdict(False, "timed out in the symbolic check", timed_out=True)
        allowance.left -= reply["cpu"]
        same = bool(reply["equal"])
        return Verdict(same, "symbolic check (Math-Verify): " + ("equal" if same else "not equal"))
    compared = _compared(pt, gt)
    unfinished = _unfinished(*compared)
    if unfinished:
        return Verdict(False, unfinished)
    same, kind = _judge(*compared)
    return Verdict(bool(same), f"{kind} {_OUTCOME[same]}")


def same_in_process(a: str, b: str, *, approximate: bool = False) -> bool:
    """Cheap equality without the worker processes (used to spot repeated final answers). With
    `approximate`, values within float round-off are one too: a 16-digit printout and the exact
    value it approximates, boxed side by side, state one answer, not a hedge."""
    ca, cb = canonical(a), canonical(b)
    if ca == cb:
        return True
    token = _ROUND_OFF_IS_EQUAL.set(approximate)
    try:
        return bool(_same(parse(ca), parse(cb)))
    except ParseError:
        return False
    finally:
        _ROUND_OFF_IS_EQUAL.reset(token)


_PERCENT = re.compile(r"\\?%|\bper\s?cent\b", re.IGNORECASE)
_ASKS_RATIO = re.compile(r"\bratio\b|\$?\b[a-z]\s*:\s*[a-z]\b\$?", re.IGNORECASE)
# The options of a multiple-choice problem: `(C) Plane`, `\textbf{(C) }Plane`.
_OPTION = re.compile(r"\(([A-Z])\)\s*\}?\s*([^\n()$]{1,60}?)\s*(?=\\qquad|\([A-Z]\)|\\textbf|\n|$)")
# A clock time asked for on the 12-hour dial without a.m./p.m.: a digits-only template ("HH:MM:SS",
# "AB:CD") or the words "without am/pm".
_DIAL_TIME = re.compile(
    r"(?i:\bform(?:at)?\b)\W{0,3}[A-Z]{2}:[A-Z]{2}(?::[A-Z]{2})?\b|(?i:\bwithout\b[^.]{0,40}\b[ap]\.?m\b)(?!\w)"
)
_CLOCK = re.compile(r"(\d{1,2})(:\d{2}(?::\d{2})?)")
_HALF_DAY = re.compile(r"\d\W*(?:\\text\{\s*)?[ap]\.?\s*m\b", re.IGNORECASE)


def _read_with_problem(pred: str, gold: str, problem: str) -> tuple[str, str]:
    """What the problem settles about how the answers are written: the content of an option
    stands for its letter, and a time asked for without a.m./p.m. is read on the 12-hour dial on
    both sides (`16:30`, `4:30 p.m.` and `4:30` are one time there; `4:30 a.m.` and `4:30 p.m.`
    still differ)."""
    letters, dial = _problem_settles(problem)
    if letters:
        for side in ("pred", "gold"):
            text = canonical(pred if side == "pred" else gold).lower()
            if text in letters:
                pred, gold = (f"({letters[text]})", gold) if side == "pred" else (pred, f"({letters[text]})")
    if dial and not (_HALF_DAY.search(pred) and _HALF_DAY.search(gold)):
        pred, gold = _on_the_dial(pred), _on_the_dial(gold)
    return pred, gold


@lru_cache(maxsize=4096)
def _problem_settles(problem: str) -> tuple[dict[str, str], bool]:
    """(the letter of each option's text when the problem lists two or more options, whether a time
    is asked for on the 12-hour dial), read once per problem."""
    options = {letter: canonical(text).lower() for letter, text in _OPTION.findall(problem)} if "(" in problem else {}
    letters = {text: letter for letter, text in options.items()} if len(options) >= 2 else {}
    dial = (":" in problem or "without" in problem.lower()) and bool(_DIAL_TIME.search(problem))
    return letters, dial


def _on_the_dial(text: str) -> str:
    """A clock time as the 12-hour dial shows it, without a.m./p.m.; other answers unchanged."""
    time = canonical(text)
    m = _CLOCK.fullmatch(time)
    return f"{(int(m.group(1)) - 1) % 12 + 1}{m.group(2)}" if m else text


def _hundredths(text: str) -> str:
    """A canonical percentage's value: `12.5` is 1/8; a number is divided out, anything else is
    written over 100."""
    try:
        tree = parse(text)
        value = evaluate(tree, {}) if _plain_number(tree) else None
    except (ParseError, EvalError):
        value = None
    if not isinstance(value, Fraction):
        return f"\\frac{{{text}}}{{100}}"
    value /= 100
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def grade_answer(pred: str | None, gold: str, *, problem: str | None = None,
                 timeout: float = TIME_LIMIT) -> Verdict:
    """The verdict on an extracted answer, with the rule that decided: `is_equivalent` states the
    order. A `pred` of None is a response without an answer; numbers are read as their text and
    other types raise TypeError (:mod:`inputs`)."""
    pred = answer_text(pred, "pred", none_allowed=True)
    gold = answer_text(gold, "gold", none_allowed=False)
    problem = problem_text(problem)
    allowance = _Allowance(timeout)
    if pred is None:
        return Verdict(False, "no final answer")
    if not pred.strip() or not gold or not gold.strip():
        return Verdict(False, "empty answer", pred)
    graded = pred
    if problem:
        pred, gold = _read_with_problem(pred, gold, problem)
    p, g = canonical(pred), canonical(gold)
    try:
        decided = _decide(p, g, allowance)
        if not decided.correct and _PERCENT.search(pred) and not _PERCENT.search(gold):
            as_fraction = _decide(_hundredths(p), g, allowance)  # `40\%` for 2/5
            decided = replace(as_fraction, reason=f"percentage: {as_fraction.reason}") if as_fraction.correct else decided
    except (ArithmeticError, RecursionError, ValueError):
        # an answer the checks cannot handle is wrong, never an exception
        return Verdict(False, "not computable", graded)
    pred = graded
    if decided.correct and problem and ":" in g and ":" not in p and _ASKS_RATIO.search(problem):
        return Verdict(False, f"{decided.reason}; rejected: a number for the ratio asked", pred)
    if decided.correct and problem:
        try:
            rule = broken_rule(pred, gold, problem)
        except (ArithmeticError, RecursionError, ValueError):
            return Verdict(False, "not computable", pred)
        if rule is not None:
            return Verdict(False, f"{decided.reason}; rejected: {rule.violation}", pred)
    return Verdict(decided.correct, decided.reason, pred, timed_out=decided.timed_out)


def is_equivalent(pred: str, gold: str, *, problem: str | None = None, timeout: float = TIME_LIMIT) -> bool:
    r"""Whether `pred` states the same answer as `gold`, in the form `problem` asks for (if given).

    The decision order (the first step that applies decides):

    1. An empty prediction or gold is wrong.
    2. Both answers are brought to a decoration-free string (no ``$``, outer ``\boxed``, ``\text``,
       trailing units and nouns, ordinals, degrees, ``%``, spacing, ``\left``/``\right``,
       thousands separators, which inside a bracket are list commas); an exact value followed by
       ``\approx`` and its decimal is the exact value; answers in words have one spelling
       (``no solution`` is ``\emptyset``, ``all real numbers`` is ``(-\infty,\infty)``, ``Wed`` is
       Wednesday); plain-text notation is LaTeX (``sqrt(2)``, ``3**(1/3)``, ``exp(2)``, ``2 1/3``
       a mixed number, ``12.5 percent``); degrees inside a trigonometric function are an angle
       (``\cos(90^\circ - x)``); equal strings are equal (``same string``).
    3. Words (two or more letters only) compare ignoring case, unless both sides may be one
       product of a few lower-case variables (``yx`` is ``xy``; ``QXLS`` is not ``LQSX``); a
       multiple-choice gold such as
       ``(C)`` compares the letter, and with `problem` the content of an option stands for its
       letter; a numeral with a base subscript (``4210_5``) compares digits and base; ``a:b`` is a
       ratio (``2:4`` equals ``1:2``) worth its value (``1/2``); ``h:m:s`` is a time, and a time
       with a.m./p.m. is its 24-hour time (``4:30`` is not ``4:30 p.m.`` unless the problem asks
       for the time without a.m. or p.m.: a digits template such as ``HH:MM`` or the words
       "without am/pm" put both sides on the 12-hour dial). A ratio labelled on either side
       (``V_1:V_2 = 3:5``, ``m:n = 2``) is its value.
    4. Calculus not carried out (``\int``, ``\sum``, ``\prod``, ``\lim``, ``\frac{d}{dx}``) is
       wrong against a gold without it. Against a numeric gold, a number with its unit glued on
       (``25km``, ``4h``) is that number, and an answer that still has free variables (an echo of
       the expression asked about) or arithmetic left undone on numbers (``3 + 4\cdot 25``,
       ``\binom{8}{2}``, ``6!``) is wrong; fractions, mixed numbers, decimals and scientific
       notation are numbers.
    5. Answers the in-process parser reads compare by structure: a stated value counts as its
       value (``x = 3`` is 3, ``\tan A = 2`` is 2, a chain of equal forms ``3x + 2x = 5x`` is its
       last side), but a gold equation between a sum of variable terms and a value is an equation
       asked for (``x - 2y = 0`` is not 0); two values named differently are equal
       (``g(t) = t^2 - 1`` and ``y = t^2 - 1``); labelled parts match by name (``a = 2, b = 5``);
       a one-variable inequality (``0 < g(t) < 1``, ``-2x > -4`` solved for x) and
       ``x \in [a, b]`` are intervals; comma
       lists and sets are unordered (each member once, nothing missing, nothing extra; ``\pm``
       stands for both signs); tuples and intervals are ordered and keep their brackets; matrices
       compare entry by entry; equations are equal up to a nonzero scale factor. Numbers compare
       exactly as rationals (``0.333`` is not ``1/3``); irrational values that agree within float
       round-off (relative ``REL_TOL``) must also agree to ``parser.PRECISE_DIGITS`` digits less a
       margin (``\pi + 10^{-12}`` is not ``\pi``, a decimal is never ``\sqrt{2}``); odd roots of
       negative numbers are real; expressions in variables must agree at three sets of rational
       test points (``symbolic identity``), passing over points where a side leaves the real
       numbers (``\sqrt{4/n}`` is ``\frac{2}{\sqrt{n}}``). A percentage also counts as its value
       over 100 (``40\%`` for 2/5).
    6. Answers the parser cannot read go to Math-Verify in a worker process that is killed when
       the check has used `timeout` seconds of its own CPU time, so machine load and other checks
       never change the verdict; a cut-off check is wrong (``timed out``).
    7. The form policy. A form is enforced only when the problem states it and the gold has it
       (the table ``forms.RULES``): "common fraction" means p/q in lowest terms (not a decimal, a
       mixed number or an unreduced fraction); "simplest radical form"; "rationalize the
       denominator"; "expand"; "factor"; "in the form y = mx + b"; A > 0 and gcd 1 for plane and
       line equations; "interval notation"; "a:b"; "in base b". Without such a statement any
       exact value-equal form is right: a decimal for a terminating fraction, a mixed number, an
       unreduced fraction, a factored form, a percentage, a ratio. A list asked "separated by
       commas" may use ``\pm`` shorthand.
    8. An answer none of the checks can handle is wrong; nothing raises.

    Args:
        pred: the extracted answer (LaTeX or plain text); a number is read as its text, and None
            (no answer) is wrong.
        gold: the reference answer; a number is read as its text, and None raises TypeError.
        problem: the problem text; when given, the forms it asks for are enforced.
        timeout: the most CPU seconds the symbolic checks (step 6) may use; how the limit is
            counted is stated in :mod:`lm_eval_math500.grader.worker`.

    Returns:
        True when the answers are equal; `grade_answer` gives the same verdict with its reason.

    Raises:
        TypeError: for an argument that is neither text nor a number (None as `gold`), naming it.

    Examples:
        >>> is_equivalent("0.5", r"\frac{1}{2}")
        True
        >>> is_equivalent("0.333", r"\frac{1}{3}")
        False
        >>> is_equivalent(r"x = 3 \text{ or } x = -1", "-1, 3")
        True
        >>> is_equivalent("[1, 2)", "(1, 2)")
        False
        >>> is_equivalent("0.5", r"\frac{1}{2}", problem="Express your answer as a common fraction.")
        False
        >>> grade_answer("0.5", r"\frac{1}{2}", problem="Express your answer as a common fraction.").reason
        'numeric value equal; rejected: decimal for a fraction'
    """
    return grade_answer(pred, gold, problem=problem, timeout=timeout).correct
