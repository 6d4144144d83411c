"""A small, safe parser for answer-sized LaTeX, and an evaluator for numeric identity tests.

Only a whitelist of tokens is accepted (numbers, single letters, a fixed set of commands and
operators); anything else raises ParseError, and nothing is ever handed to eval or sympify.
Values are exact Fractions while the arithmetic stays rational, complex floats otherwise; sizes
are capped so a huge power ends in EvalError instead of a hang. The tree's node kinds are the
classes under "Answer trees" below, all in one place; `Node` is their union.
"""

from __future__ import annotations

import cmath
import math
import re
from collections.abc import Callable, Iterator
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

import mpmath

Value = Fraction | complex

MAX_BITS = 4096
MAX_DEPTH = 60
MAX_TOKENS = 600
INF = 1e200  # infinity evaluates to a sentinel far beyond any finite answer
MAX_MAGNITUDE = 1e250  # a float value beyond this is treated as no value (overflow ahead)


# ---------------------------------------------------------------------------------------------
# Answer trees
#
# Every node kind, with the LaTeX it comes from: leaves (Num, Var, Const, Mixed), arithmetic
# (Neg, Pm, Add, Mul, Inv, Pow, Root, Abs, Fact, Binom, Func), structure (Rel, Union, List, Set,
# Seq, Matrix) and Branch, which only the equivalence checks make. Nodes are immutable
# NamedTuples, so trees are hashable; they compare as plain tuples (`Neg(x) == Pm(x)`), so readers
# tell kinds apart with `match` or `isinstance`, never with `==` between nodes.


class Num(NamedTuple):
    """A number literal (`3`, `0.5`, `1011_2`, `0.1\\overline{6}`); `decimal` when written with a point."""

    value: Fraction
    decimal: bool = False


class Var(NamedTuple):
    """A variable: a letter, a Greek letter, or a subscripted letter such as `x_1`."""

    name: str


class Const(NamedTuple):
    """A named constant: `pi`, `e`, `i` (the imaginary unit) or `inf`."""

    name: str


class Neg(NamedTuple):
    """`-arg`."""

    arg: Node


class Pm(NamedTuple):
    """`\\pm arg` (or `\\mp arg`): stands for both signs."""

    arg: Node


class Add(NamedTuple):
    """A sum of two or more terms; subtraction is a `Neg` term."""

    terms: tuple[Node, ...]


class Mul(NamedTuple):
    """A product of two or more factors; division is an `Inv` factor (`\\frac{a}{b}` is `Mul((a, Inv(b)))`)."""

    factors: tuple[Node, ...]


class Inv(NamedTuple):
    """`1 / arg`, only ever a factor of a `Mul`."""

    arg: Node


class Pow(NamedTuple):
    """`base^{exp}`."""

    base: Node
    exp: Node


class Root(NamedTuple):
    """`\\sqrt[index]{radicand}`; the index of a square root is `Num(2)`."""

    radicand: Node
    index: Node


class Mixed(NamedTuple):
    """A mixed number `2\\frac{1}{2}` (whole numbers only)."""

    whole: Fraction
    num: Fraction
    den: Fraction


class Abs(NamedTuple):
    """`|arg|`."""

    arg: Node


class Fact(NamedTuple):
    """`arg!`."""

    arg: Node


class Binom(NamedTuple):
    """`\\binom{n}{k}`."""

    n: Node
    k: Node


class Func(NamedTuple):
    """A named function applied to `arg` (`\\sin x`, `\\log_{base} x`); `base` only for logarithms."""

    name: str
    arg: Node
    base: Node | None = None


class Rel(NamedTuple):
    """A chain of relations `parts[0] ops[0] parts[1] ...`; ops are `=`, `<`, `<=`, `>`, `>=`, `!=`, `in`."""

    parts: tuple[Node, ...]
    ops: tuple[str, ...]


class Union(NamedTuple):
    """`a \\cup b \\cup ...`."""

    parts: tuple[Node, ...]


class List(NamedTuple):
    """Comma-separated answers without brackets (`1, 2`): an unordered list of solutions."""

    items: tuple[Node, ...]


class Set(NamedTuple):
    """`\\{a, b\\}` (and `\\emptyset`): unordered, duplicates ignored."""

    items: tuple[Node, ...]


class Seq(NamedTuple):
    """A bracketed sequence: a tuple `(a, b)`, an interval `[a, b)`, a vector or `\\langle a, b \\rangle`."""

    open: str
    close: str
    items: tuple[Node, ...]


class Matrix(NamedTuple):
    """A matrix of two or more rows and columns (a single row or column is a `Seq`)."""

    rows: tuple[tuple[Node, ...], ...]


class Branch(NamedTuple):
    """One sign's value of a `\\pm` expression (`sign` is 1 or -1); made by the equivalence
    checks when a `\\pm` answer is compared with a list, never by the parser."""

    expr: Node
    sign: int


Node = (Num | Var | Const | Neg | Pm | Add | Mul | Inv | Pow | Root | Mixed | Abs | Fact | Binom | Func
        | Rel | Union | List | Set | Seq | Matrix | Branch)


# Identity tests: two expressions in variables are taken as identical when they agree at each
# of these rounds of rational points (variables take them in sorted-name order, at most eight).
IDENTITY_POINTS = (
    tuple(Fraction(p, q) for p, q in ((37, 13), (-11, 7), (23, 19), (5, 3), (-29, 17), (41, 31), (7, 11), (-3, 23))),
    tuple(Fraction(p, q) for p, q in ((-19, 11), (31, 7), (13, 29), (-43, 37), (17, 5), (-7, 13), (53, 19), (3, 41))),
    tuple(Fraction(p, q) for p, q in ((59, 23), (2, 17), (-47, 13), (29, 31), (-5, 43), (61, 11), (-37, 3), (11, 47))),
)
MAX_VARS = len(IDENTITY_POINTS[0])
# A further round, every variable positive, for expressions whose real domain is the positive values
# (`\\sqrt{4/n}` and `\\frac{2}{\\sqrt{n}}`): used when some of the rounds above left it.
DOMAIN_POINTS = tuple(abs(x) for x in IDENTITY_POINTS[1])


def identity_envs(names: frozenset[str], rounds: tuple[tuple[Fraction, ...], ...] = IDENTITY_POINTS) -> list[dict[str, Fraction]]:
    """The variable assignments of an identity test over `names` (one empty one when there are none)."""
    ordered = sorted(names)
    return [dict(zip(ordered, points)) for points in rounds] if ordered else [{}]


class ParseError(ValueError):
    """The text is not an answer this parser understands."""


class EvalError(ArithmeticError):
    """The expression has no finite value at this point (or it is too large to compute)."""


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<cmd>\\[a-zA-Z]+|\\[{}|])|(?P<letter>[a-zA-Z])|"
    r"(?P<op>[-+*/^_()\[\]{},=<>!|:']))"
)
_UNICODE = str.maketrans({"−": "-", "×": "*", "·": "*", "÷": "/", "π": "\\pi ", "∞": "\\infty ",
                          "≤": "\\le ", "≥": "\\ge ", "≠": "\\ne ", "√": "\\sqrt "})
_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta",
    "iota", "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi",
    "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega",
}
_FUNCS = {
    "sin", "cos", "tan", "sec", "csc", "cot", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
    "log", "ln", "exp", "lg",
}
_RELATIONS = {"=": "=", "<": "<", ">": ">", "\\le": "<=", "\\ge": ">=", "\\ne": "!=", "\\lt": "<",
              "\\gt": ">", "\\approx": "="}
_MATRIX_ENVS = {"pmatrix", "bmatrix", "matrix", "vmatrix", "array", "smallmatrix"}
_ATOM_CMDS = {"frac", "sqrt", "pi", "infty", "binom", "emptyset", "overline"} | _GREEK | _FUNCS


def _tokenize(text: str) -> list[tuple[str, str]]:
    """(kind, text) tokens; kinds: num, cmd, letter, op, matrix (pre-split cells), end."""
    text = text.translate(_UNICODE)
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text.startswith("\\begin{", pos):
            env_end = text.find("}", pos)
            env = text[pos + 7 : env_end]
            close = text.find("\\end{" + env + "}", env_end)
            if env not in _MATRIX_ENVS or close < 0:
                raise ParseError(env)
            body = text[env_end + 1 : close]
            if env == "array":
                body = re.sub(r"^\s*\{[^{}]*\}", "", body)
            out.append(("matrix", body))
            pos = close + len(env) + 6
            continue
        m = _TOKEN.match(text, pos)
        if not m:
            if text[pos:].strip() == "":
                break
            raise ParseError(text[pos : pos + 10])
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
        if len(out) > MAX_TOKENS:
            raise ParseError("too long")
    out.append(("end", ""))
    return out


class _Parser:
    """Recursive descent over the token list; builds a tree of the node classes above.

    One method per precedence level, loosest first: items (`,`), relation (`=`, `<`, `\\in`, ...),
    union (`\\cup`), additive (`+`, `-`, `\\pm`), term (`*`, `\\cdot`, `/`, juxtaposition),
    power (unary sign, `^`), postfix (`!`), atom (numbers, letters, groups, commands).
    """

    def __init__(self, text: str) -> None:
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self, k: int = 0) -> tuple[str, str]:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self) -> tuple[str, str]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        if self.take()[1] != value:
            raise ParseError(f"expected {value}")

    def at(self, *values: str) -> bool:
        return self.peek()[1] in values and self.peek()[0] != "end"

    def top(self) -> Node:
        items = self.items(("",))
        if self.peek()[0] != "end":
            raise ParseError("trailing input")
        return items[0] if len(items) == 1 else List(tuple(items))

    def items(self, closers: tuple[str, ...]) -> list[Node]:
        """Comma-separated relations up to (not including) one of `closers`."""
        out = [self.relation()]
        while self.at(","):
            self.take()
            if self.peek()[1] in closers or self.peek()[0] == "end":
                break
            out.append(self.relation())
        return out

    def relation(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError("too deep")
        parts = [self.union()]
        ops: list[str] = []
        while self.peek()[1] in _RELATIONS or self.at("\\in"):
            op = self.take()[1]
            ops.append("in" if op == "\\in" else _RELATIONS[op])
            parts.append(self.union())
        self.depth -= 1
        return parts[0] if not ops else Rel(tuple(parts), tuple(ops))

    def union(self) -> Node:
        parts = [self.additive()]
        while self.at("\\cup"):
            self.take()
            parts.append(self.additive())
        return parts[0] if len(parts) == 1 else Union(tuple(parts))

    def additive(self) -> Node:
        terms: list[Node] = []
        sign = "+"
        if self.at("+", "-", "\\pm", "\\mp"):
            sign = self.take()[1]
        while True:
            term = self.term()
            terms.append(_signed(sign, term))
            if not self.at("+", "-", "\\pm", "\\mp"):
                break
            sign = self.take()[1]
        return terms[0] if len(terms) == 1 else Add(tuple(terms))

    def term(self) -> Node:
        factors = [self.power()]
        first = factors[0]
        if isinstance(first, Num) and not first.decimal and self.at("\\frac"):
            mixed = self._mixed(first)
            if mixed is not None:
                factors = [mixed]
        while True:
            if self.at("*", "\\cdot", "\\times"):
                self.take()
                factors.append(self.power())
            elif self.at("/", "\\div"):
                self.take()
                factors.append(Inv(self.power()))
            elif self._starts_atom():
                factors.append(self.power())
            else:
                break
        return factors[0] if len(factors) == 1 else Mul(tuple(factors))

    def _mixed(self, whole: Num) -> Mixed | None:
        """`2\\frac{1}{2}` right after an integer is the mixed number 2 1/2 (MATH convention)."""
        save = self.i
        self.take()
        match self.group(), self.group():
            case Num(num, False), Num(den, False):
                return Mixed(whole.value, num, den)
        self.i = save
        return None

    def _starts_atom(self) -> bool:
        kind, val = self.peek()
        if kind in ("num", "letter", "matrix"):
            return True
        if kind == "cmd":
            return val[1:] in _ATOM_CMDS or val == "\\{"
        return val in ("(", "[", "{") if kind == "op" else False

    def power(self) -> Node:
        if self.at("-", "+"):
            sign = self.take()[1]
            return _signed(sign, self.power())
        base = self.postfix()
        if self.at("^"):
            self.take()
            return Pow(base, self.exponent())
        return base

    def exponent(self) -> Node:
        if self.at("-", "+"):
            sign = self.take()[1]
            return _signed(sign, self.exponent())
        return self.group()

    def postfix(self) -> Node:
        node = self.atom()
        while self.at("!", "'"):
            if self.take()[1] == "'":
                raise ParseError("prime")
            node = Fact(node)
        return node

    def group(self) -> Node:
        """A `{...}` group or a single token (as in `\\frac12` or `x^2`)."""
        kind, val = self.peek()
        if val == "{":
            self.take()
            node = self.relation()
            self.expect("}")
            return node
        if kind == "num":
            if len(val) > 1 and val.isdigit():
                # `x^23` is x^2 followed by 3: a bare group is one character long
                self.toks[self.i] = ("num", val[1:])
                return _number(val[0])
            self.take()
            return _number(val)
        if kind == "letter":
            self.take()
            return _letter(val)
        return self.atom()

    def atom(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError("too deep")
        node = self._atom()
        self.depth -= 1
        return node

    def _atom(self) -> Node:
        kind, val = self.take()
        if kind == "num":
            if self.at("_"):
                return self._based(val)
            if self.at("\\overline"):
                self.take()
                rep = self.group()
                if not isinstance(rep, Num) or "." not in val:
                    raise ParseError("overline")
                return Num(_repeating(val, rep.value))
            return _number(val)
        if kind == "letter":
            if self.at("_"):
                self.take()
                sub = self.group()
                return Var(val + "_" + repr(sub))
            return _letter(val)
        if kind == "matrix":
            return _matrix(val)
        if kind == "op":
            if val in ("(", "["):
                return self._bracketed(val)
            if val == "{":
                items = self.items(("}",))
                self.expect("}")
                return items[0] if len(items) == 1 else List(tuple(items))
            if val == "|":
                inner = self.additive()
                self.expect("|")
                return Abs(inner)
            raise ParseError(val)
        name = val[1:]
        if val == "\\{":
            items = [] if self.at("\\}") else self.items(("\\}",))
            self.expect("\\}")
            return Set(tuple(items))
        if name == "langle":
            items = self.items(("\\rangle",))
            self.expect("\\rangle")
            return Seq("(", ")", tuple(items))
        if name == "frac":
            return Mul((self.group(), Inv(self.group())))
        if name == "binom":
            return Binom(self.group(), self.group())
        if name == "sqrt":
            index: Node = Num(Fraction(2))
            if self.at("["):
                self.take()
                index = self.additive()
                self.expect("]")
            return Root(self.group(), index)
        if name == "pi":
            return Const("pi")
        if name == "infty":
            return Const("inf")
        if name == "emptyset":
            return Set(())
        if name in _GREEK:
            return Var(name)
        if name in _FUNCS:
            return self._function(name)
        raise ParseError(val)

    def _function(self, name: str) -> Node:
        base: Node | None = None
        power: Node | None = None
        if self.at("_"):
            self.take()
            base = self.group()
        if self.at("^"):
            self.take()
            power = self.exponent()
        if self.at("(", "{"):
            arg = self.atom()
        else:
            factors = [self.power()]
            while self.peek()[0] in ("num", "letter") or self.at("\\pi"):
                factors.append(self.power())
            arg = factors[0] if len(factors) == 1 else Mul(tuple(factors))
        match power:
            case None:
                return Func(name, arg, base)
            case Neg(Num(1, False)):
                if name not in ("sin", "cos", "tan"):
                    raise ParseError("inverse function")
                return Func("arc" + name, arg, base)  # `\\tan^{-1} x` is arctan x, not 1/tan x
        return Pow(Func(name, arg, base), power)

    def _bracketed(self, opener: str) -> Node:
        items = self.items((")", "]"))
        closer = self.take()[1]
        if closer not in (")", "]"):
            raise ParseError("unclosed")
        if len(items) == 1 and opener + closer in ("()", "[]"):
            return items[0]
        return Seq(opener, closer, tuple(items))

    def _based(self, digits: str) -> Num:
        """`1011_2`: a numeral in base b."""
        self.take()
        base = self.group()
        if not isinstance(base, Num) or base.decimal:
            raise ParseError("base")
        b = int(base.value)
        try:
            value = int(digits, b) if 2 <= b <= 36 else None
        except ValueError:
            value = None
        if value is None:
            raise ParseError("digits")
        return Num(Fraction(value))


def _signed(sign: str, node: Node) -> Node:
    if sign == "-":
        return Neg(node)
    if sign in ("\\pm", "\\mp"):
        return Pm(node)
    return node


def _number(text: str) -> Num:
    return Num(Fraction(text), "." in text)


def _letter(ch: str) -> Const | Var:
    """`i` is the imaginary unit and `e` Euler's number; other letters are variables."""
    if ch in "ie":
        return Const(ch)
    return Var(ch)


def _repeating(prefix: str, rep: Fraction) -> Fraction:
    """`0.1\\overline{6}`: the decimal `prefix` followed by the digits of `rep` repeated."""
    digits = str(rep.numerator)
    whole, _, frac = prefix.partition(".")
    k, r = len(frac), len(digits)
    fixed = Fraction(int(whole + frac or "0"), 10**k)
    return fixed + Fraction(int(digits), 10**k * (10**r - 1))


def _matrix(body: str) -> Seq | Matrix:
    rows = [r for r in re.split(r"\\\\", body) if r.strip() and not r.strip().startswith("\\hline")]
    cells = tuple(tuple(parse(c) for c in row.split("&")) for row in rows)
    if not cells or len({len(r) for r in cells}) != 1:
        raise ParseError("ragged matrix")
    if len(cells[0]) == 1:
        return Seq("(", ")", tuple(r[0] for r in cells))
    if len(cells) == 1:
        return Seq("(", ")", cells[0])
    return Matrix(cells)


@lru_cache(maxsize=16384)
def parse(text: str) -> Node:
    """Parse a canonical answer string into a node tree; ParseError when it is not understood."""
    if not text.strip():
        raise ParseError("empty")
    try:
        return _Parser(text).top()
    except (IndexError, RecursionError, ValueError, ZeroDivisionError) as exc:
        raise ParseError(str(exc)[:40]) from None


# ---------------------------------------------------------------------------------------------
# Evaluation


class Floats(NamedTuple):
    """How values that leave the rationals are computed: machine complex floats (`MACHINE`), or
    mpmath complex numbers at `PRECISE_DIGITS` significant digits (`PRECISE`), which tell apart
    values the machine's round-off cannot (`\\sqrt{1 + 10^{-40}}` and 1)."""

    convert: Callable[[Fraction], complex]
    constants: dict[str, complex]
    functions: dict[str, Callable[[complex], complex]]
    log: Callable[[complex], complex]
    finite: Callable[[complex], bool]


PRECISE_DIGITS = 60
_MP = mpmath.MPContext()
_MP.dps = PRECISE_DIGITS  # set once and never changed, so threads can share the context

MACHINE = Floats(
    convert=lambda v: complex(float(v)),
    constants={"pi": complex(math.pi), "e": complex(math.e), "i": 1j, "inf": complex(INF)},
    functions={
        "sin": cmath.sin, "cos": cmath.cos, "tan": cmath.tan, "sinh": cmath.sinh, "cosh": cmath.cosh,
        "tanh": cmath.tanh, "arcsin": cmath.asin, "arccos": cmath.acos, "arctan": cmath.atan,
        "exp": cmath.exp, "ln": cmath.log,
        "sec": lambda z: 1 / cmath.cos(z), "csc": lambda z: 1 / cmath.sin(z), "cot": lambda z: 1 / cmath.tan(z),
    },
    log=cmath.log,
    finite=cmath.isfinite,
)  # fmt: skip
PRECISE = Floats(
    convert=lambda v: _MP.mpc(_MP.mpf(v.numerator) / v.denominator),
    constants={"pi": _MP.mpc(_MP.pi), "e": _MP.mpc(_MP.e), "i": _MP.mpc(0, 1), "inf": _MP.mpc(INF)},
    functions={
        "sin": _MP.sin, "cos": _MP.cos, "tan": _MP.tan, "sinh": _MP.sinh, "cosh": _MP.cosh,
        "tanh": _MP.tanh, "arcsin": _MP.asin, "arccos": _MP.acos, "arctan": _MP.atan,
        "exp": _MP.exp, "ln": _MP.log, "sec": _MP.sec, "csc": _MP.csc, "cot": _MP.cot,
    },
    log=_MP.log,
    finite=_MP.isfinite,
)  # fmt: skip


def _to_complex(v: Value, floats: Floats) -> complex:
    if isinstance(v, Fraction):
        try:
            return floats.convert(v)
        except OverflowError:
            raise EvalError("overflow") from None
    return v


def _checked(v: Value, floats: Floats) -> Value:
    if isinstance(v, Fraction):
        if v.numerator.bit_length() > MAX_BITS or v.denominator.bit_length() > MAX_BITS:
            return _checked(_to_complex(v, floats), floats)
        return v
    if not floats.finite(v) or abs(v) > MAX_MAGNITUDE:
        raise EvalError("not finite")
    return v


def _real_root(x: Fraction, n: int) -> Fraction | None:
    """The exact rational n-th root of x, if there is one."""
    if x < 0 and n % 2 == 0:
        return None
    sign = -1 if x < 0 else 1
    num, den = abs(x.numerator), x.denominator
    a, b = round(num ** (1 / n)), round(den ** (1 / n))
    for ra in (a - 1, a, a + 1):
        for rb in (b - 1, b, b + 1):
            if ra >= 0 and rb > 0 and ra**n == num and rb**n == den:
                return sign * Fraction(ra, rb)
    return None


def _power(b: Value, e: Value, floats: Floats) -> Value:
    if isinstance(b, Fraction) and isinstance(e, Fraction):
        if e.denominator == 1:
            n = e.numerator
            size = max(b.numerator.bit_length(), b.denominator.bit_length())
            if b == 0 and n < 0:
                raise EvalError("zero division")
            if abs(n) * size <= MAX_BITS or abs(b) == 1 or b == 0:
                return b**n if n >= 0 else 1 / b ** (-n)
        elif e.denominator <= 12 and b.numerator.bit_length() < 200:
            root = _real_root(b, e.denominator)
            if root is not None:
                return _power(root, Fraction(e.numerator), floats)
    cb, ce = _to_complex(b, floats), _to_complex(e, floats)
    if cb == 0:
        if ce.real > 0:
            return cb
        raise EvalError("zero power")
    if abs(ce) * max(abs(math.log(abs(cb))), 1.0) > 500:
        raise EvalError("overflow")
    if isinstance(e, Fraction) and e.denominator % 2 == 1 and isinstance(b, Fraction) and b < 0:
        sign = -1 if e.numerator % 2 else 1  # odd roots of negatives are real: (-8)^(2/3) = 4
        return sign * (_to_complex(-b, floats) ** ce)
    try:
        return cb**ce
    except (OverflowError, ZeroDivisionError):
        raise EvalError("power") from None


def evaluate(node: Node, env: dict[str, Fraction], sign: int = 1, floats: Floats = MACHINE) -> Value:
    """The value of a scalar node with variables from `env`; `sign` picks the branch of ±, and
    `floats` how values outside the rationals are computed.
    (Kinds are matched by class alone, the most frequent first: this runs on every check.)"""
    match node:
        case Num():
            return node.value
        case Mul():
            prod: Value = Fraction(1)
            for f in node.factors:
                prod = _checked(prod * evaluate(f, env, sign, floats), floats)
            return prod
        case Inv():
            v = evaluate(node.arg, env, sign, floats)
            if v == 0:
                raise EvalError("division by zero")
            return _checked(1 / v, floats)
        case Add():
            total: Value = Fraction(0)
            for t in node.terms:
                total = _checked(total + evaluate(t, env, sign, floats), floats)
            return total
        case Neg():
            return _checked(-evaluate(node.arg, env, sign, floats), floats)
        case Var():
            if node.name not in env:
                raise EvalError("unbound")
            return env[node.name]
        case Pow():
            base, exp = evaluate(node.base, env, sign, floats), evaluate(node.exp, env, sign, floats)
            return _checked(_power(base, exp, floats), floats)
        case Const():
            return floats.constants[node.name]
        case Root():
            idx = evaluate(node.index, env, sign, floats)
            if idx == 0:
                raise EvalError("root")
            return _checked(_power(evaluate(node.radicand, env, sign, floats), 1 / idx, floats), floats)
        case Func():
            return _function(node, env, sign, floats)
        case Pm():
            return _checked(sign * evaluate(node.arg, env, sign, floats), floats)
        case Mixed():
            if node.den == 0:
                raise EvalError("division by zero")
            return node.whole + node.num / node.den
        case Abs():
            v = evaluate(node.arg, env, sign, floats)
            return abs(v) if isinstance(v, Fraction) else _to_complex(Fraction(0), floats) + abs(v)
        case Fact():
            v = evaluate(node.arg, env, sign, floats)
            if not isinstance(v, Fraction) or v.denominator != 1 or not 0 <= v <= 300:
                raise EvalError("factorial")
            return _checked(Fraction(math.factorial(int(v))), floats)
        case Binom():
            n, k = evaluate(node.n, env, sign, floats), evaluate(node.k, env, sign, floats)
            if not all(isinstance(x, Fraction) and x.denominator == 1 for x in (n, k)) or not 0 <= n <= 10000:
                raise EvalError("binom")
            return Fraction(math.comb(int(n), int(k))) if k >= 0 else Fraction(0)
    raise EvalError(type(node).__name__)  # not a scalar: a list, set, tuple, relation, ...


def _function(node: Func, env: dict[str, Fraction], sign: int, floats: Floats) -> Value:
    name, base = node.name, node.base
    x = _to_complex(evaluate(node.arg, env, sign, floats), floats)
    try:
        if name in ("log", "lg"):
            if x == 0:
                raise EvalError("log 0")
            if base is not None:
                b = _to_complex(evaluate(base, env, sign, floats), floats)
            else:
                b = floats.convert(Fraction(10)) if name == "lg" else floats.constants["e"]
            if b == 0 or b == 1:
                raise EvalError("log base")
            return _checked(floats.log(x) / floats.log(b), floats)
        if base is not None:
            raise EvalError("subscript")
        return _checked(floats.functions[name](x), floats)
    except (ValueError, ZeroDivisionError, OverflowError):
        raise EvalError(name) from None


# ---------------------------------------------------------------------------------------------
# Tree queries


def lone_var(node: Node) -> bool:
    """A single variable."""
    return isinstance(node, Var)


def _names_only(node: Node) -> bool:
    """A name for the value: a variable, `f(x)`, or a tuple of variables such as `(b, c)`."""
    match node:
        case Mul(factors) if len(factors) == 2:
            return all(map(lone_var, factors))
        case Seq(_, _, items):
            return all(map(lone_var, items))
    return lone_var(node)


def _monomial(node: Node) -> bool:
    """A product of powers of variables, such as `x^3` or `ab^2`."""
    match node:
        case Mul(factors):
            return all(map(_monomial, factors))
        case Pow(base, exp):
            return lone_var(base) and not variables(exp)
    return lone_var(node)


def stated_value(node: Node) -> Node:
    """`x = 3`, `(b,c) = (6,5)`, `x \\in [2,5]` and `28/4 = 7` state a value: keep that value."""
    if not isinstance(node, Rel) or any(op not in ("=", "in") for op in node.ops):
        return node
    parts = node.parts
    if len(parts) == 2:
        lhs, rhs = parts
        if _names_only(lhs):
            return rhs
        if _monomial(lhs) and not variables(rhs):
            return rhs  # `x^3 = 12` states the value of x^3
        if lone_var(rhs) and not variables(lhs):
            return lhs
    if all(op == "=" for op in node.ops) and not any(variables(x) for x in parts):
        return parts[-1]
    return node


# The nodes directly below each kind, found by a lookup on its class (`walk` runs on every check).
_CHILDREN = {
    Num: lambda n: (), Var: lambda n: (), Const: lambda n: (), Mixed: lambda n: (),
    Neg: lambda n: (n.arg,), Pm: lambda n: (n.arg,), Inv: lambda n: (n.arg,), Abs: lambda n: (n.arg,),
    Fact: lambda n: (n.arg,), Branch: lambda n: (n.expr,),
    Add: lambda n: n.terms, Mul: lambda n: n.factors, Union: lambda n: n.parts, Rel: lambda n: n.parts,
    List: lambda n: n.items, Set: lambda n: n.items, Seq: lambda n: n.items,
    Pow: lambda n: (n.base, n.exp), Root: lambda n: (n.radicand, n.index), Binom: lambda n: (n.n, n.k),
    Func: lambda n: (n.arg,) if n.base is None else (n.arg, n.base),
    Matrix: lambda n: tuple(cell for row in n.rows for cell in row),
}


def walk(node: Node) -> Iterator[Node]:
    """Every node of a tree, the root first (then in no particular order)."""
    stack = [node]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(_CHILDREN[type(node)](node))


def variables(node: Node) -> frozenset[str]:
    """Names of the free variables in a node tree."""
    return frozenset(n.name for n in walk(node) if isinstance(n, Var))


def has_kind(node: Node, kind: type) -> bool:
    """Whether a node of this kind (a node class) occurs anywhere in the tree."""
    return any(isinstance(n, kind) for n in walk(node))


def has_decimal(node: Node) -> bool:
    """Whether a decimal literal occurs anywhere in the tree."""
    return any(isinstance(n, Num) and n.decimal for n in walk(node))
