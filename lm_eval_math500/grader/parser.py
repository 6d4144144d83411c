"""A small, safe parser for answer-sized LaTeX, and an evaluator for numeric identity tests.

Only a whitelist of tokens is accepted (numbers, single letters, a fixed set of commands and
operators); anything else raises ParseError, and nothing is ever handed to eval or sympify.
Values are exact Fractions while the arithmetic stays rational, complex floats otherwise; sizes
are capped so a huge power ends in EvalError instead of a hang.
"""

from __future__ import annotations

import cmath
import math
import re
from collections.abc import Iterator
from fractions import Fraction
from functools import lru_cache

Value = Fraction | complex

MAX_BITS = 4096
MAX_DEPTH = 60
MAX_TOKENS = 600
INF = 1e200  # infinity evaluates to a sentinel far beyond any finite answer


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
    """Recursive descent over the token list; builds nested tuples.

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

    def top(self) -> tuple:
        items = self.items(("",))
        if self.peek()[0] != "end":
            raise ParseError("trailing input")
        return items[0] if len(items) == 1 else ("list", tuple(items))

    def items(self, closers: tuple[str, ...]) -> list[tuple]:
        """Comma-separated relations up to (not including) one of `closers`."""
        out = [self.relation()]
        while self.at(","):
            self.take()
            if self.peek()[1] in closers or self.peek()[0] == "end":
                break
            out.append(self.relation())
        return out

    def relation(self) -> tuple:
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
        return parts[0] if not ops else ("rel", tuple(parts), tuple(ops))

    def union(self) -> tuple:
        parts = [self.additive()]
        while self.at("\\cup"):
            self.take()
            parts.append(self.additive())
        return parts[0] if len(parts) == 1 else ("union", tuple(parts))

    def additive(self) -> tuple:
        terms: list[tuple] = []
        sign = "+"
        if self.at("+", "-", "\\pm", "\\mp"):
            sign = self.take()[1]
        while True:
            term = self.term()
            terms.append(_signed(sign, term))
            if not self.at("+", "-", "\\pm", "\\mp"):
                break
            sign = self.take()[1]
        return terms[0] if len(terms) == 1 else ("add", tuple(terms))

    def term(self) -> tuple:
        factors = [self.power()]
        if factors[0][0] == "num" and not factors[0][2] and self.at("\\frac"):
            mixed = self._mixed(factors[0])
            if mixed is not None:
                factors = [mixed]
        while True:
            if self.at("*", "\\cdot", "\\times"):
                self.take()
                factors.append(self.power())
            elif self.at("/", "\\div"):
                self.take()
                factors.append(("inv", self.power()))
            elif self._starts_atom():
                factors.append(self.power())
            else:
                break
        return factors[0] if len(factors) == 1 else ("mul", tuple(factors))

    def _mixed(self, whole: tuple) -> tuple | None:
        """`2\\frac{1}{2}` right after an integer is the mixed number 2 1/2 (MATH convention)."""
        save = self.i
        self.take()
        num, den = self.group(), self.group()
        if num[0] == "num" and den[0] == "num" and not num[2] and not den[2]:
            return ("mixed", whole, num, den)
        self.i = save
        return None

    def _starts_atom(self) -> bool:
        kind, val = self.peek()
        if kind in ("num", "letter", "matrix"):
            return True
        if kind == "cmd":
            return val[1:] in _ATOM_CMDS or val == "\\{"
        return val in ("(", "[", "{") if kind == "op" else False

    def power(self) -> tuple:
        if self.at("-", "+"):
            sign = self.take()[1]
            return _signed(sign, self.power())
        base = self.postfix()
        if self.at("^"):
            self.take()
            exp = self.exponent()
            return ("pow", base, exp)
        return base

    def exponent(self) -> tuple:
        if self.at("-", "+"):
            sign = self.take()[1]
            return _signed(sign, self.exponent())
        return self.group()

    def postfix(self) -> tuple:
        node = self.atom()
        while self.at("!", "'"):
            if self.take()[1] == "'":
                raise ParseError("prime")
            node = ("fact", node)
        return node

    def group(self) -> tuple:
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

    def atom(self) -> tuple:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError("too deep")
        node = self._atom()
        self.depth -= 1
        return node

    def _atom(self) -> tuple:
        kind, val = self.take()
        if kind == "num":
            if self.at("_"):
                return self._based(val)
            if self.at("\\overline"):
                self.take()
                rep = self.group()
                if rep[0] != "num" or "." not in val:
                    raise ParseError("overline")
                return ("num", _repeating(val, rep[1]), False)
            return _number(val)
        if kind == "letter":
            if self.at("_"):
                self.take()
                sub = self.group()
                return ("var", val + "_" + repr(sub))
            return _letter(val)
        if kind == "matrix":
            return _matrix(val)
        if kind == "op":
            if val in ("(", "["):
                return self._bracketed(val)
            if val == "{":
                items = self.items(("}",))
                self.expect("}")
                return items[0] if len(items) == 1 else ("list", tuple(items))
            if val == "|":
                inner = self.additive()
                self.expect("|")
                return ("abs", inner)
            raise ParseError(val)
        name = val[1:]
        if val == "\\{":
            items = [] if self.at("\\}") else self.items(("\\}",))
            self.expect("\\}")
            return ("set", tuple(items))
        if name == "langle":
            items = self.items(("\\rangle",))
            self.expect("\\rangle")
            return ("tuple", "(", ")", tuple(items))
        if name == "frac":
            return ("mul", (self.group(), ("inv", self.group())))
        if name == "binom":
            return ("binom", self.group(), self.group())
        if name == "sqrt":
            index: tuple = ("num", Fraction(2), False)
            if self.at("["):
                self.take()
                index = self.additive()
                self.expect("]")
            return ("root", self.group(), index)
        if name == "pi":
            return ("const", "pi")
        if name == "infty":
            return ("const", "inf")
        if name == "emptyset":
            return ("set", ())
        if name in _GREEK:
            return ("var", name)
        if name in _FUNCS:
            return self._function(name)
        raise ParseError(val)

    def _function(self, name: str) -> tuple:
        base: tuple | None = None
        power: tuple | None = None
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
            arg = factors[0] if len(factors) == 1 else ("mul", tuple(factors))
        if power == ("neg", ("num", Fraction(1), False)):
            if name not in ("sin", "cos", "tan"):
                raise ParseError("inverse function")
            return ("func", "arc" + name, arg, base)  # `\\tan^{-1} x` is arctan x, not 1/tan x
        node = ("func", name, arg, base)
        return node if power is None else ("pow", node, power)

    def _bracketed(self, opener: str) -> tuple:
        items = self.items((")", "]"))
        closer = self.take()[1]
        if closer not in (")", "]"):
            raise ParseError("unclosed")
        if len(items) == 1 and opener + closer in ("()", "[]"):
            return items[0]
        return ("tuple", opener, closer, tuple(items))

    def _based(self, digits: str) -> tuple:
        """`1011_2`: a numeral in base b."""
        self.take()
        base = self.group()
        if base[0] != "num" or base[2]:
            raise ParseError("base")
        b = int(base[1])
        try:
            value = int(digits, b) if 2 <= b <= 36 else None
        except ValueError:
            value = None
        if value is None:
            raise ParseError("digits")
        return ("num", Fraction(value), False)


def _signed(sign: str, node: tuple) -> tuple:
    if sign == "-":
        return ("neg", node)
    if sign in ("\\pm", "\\mp"):
        return ("pm", node)
    return node


def _number(text: str) -> tuple:
    return ("num", Fraction(text), "." in text)


def _letter(ch: str) -> tuple:
    """`i` is the imaginary unit and `e` Euler's number; other letters are variables."""
    if ch in "ie":
        return ("const", ch)
    return ("var", ch)


def _repeating(prefix: str, rep: Fraction) -> Fraction:
    """`0.1\\overline{6}`: the decimal `prefix` followed by the digits of `rep` repeated."""
    digits = str(rep.numerator)
    whole, _, frac = prefix.partition(".")
    k, r = len(frac), len(digits)
    fixed = Fraction(int(whole + frac or "0"), 10**k)
    return fixed + Fraction(int(digits), 10**k * (10**r - 1))


def _matrix(body: str) -> tuple:
    rows = [r for r in re.split(r"\\\\", body) if r.strip() and not r.strip().startswith("\\hline")]
    cells = tuple(tuple(parse(c) for c in row.split("&")) for row in rows)
    if not cells or len({len(r) for r in cells}) != 1:
        raise ParseError("ragged matrix")
    if len(cells[0]) == 1:
        return ("tuple", "(", ")", tuple(r[0] for r in cells))
    if len(cells) == 1:
        return ("tuple", "(", ")", cells[0])
    return ("matrix", cells)


@lru_cache(maxsize=16384)
def parse(text: str) -> tuple:
    """Parse a canonical answer string into a node tree; ParseError when it is not understood."""
    if not text.strip():
        raise ParseError("empty")
    try:
        return _Parser(text).top()
    except (IndexError, RecursionError, ValueError, ZeroDivisionError) as exc:
        raise ParseError(str(exc)[:40]) from None


# ---------------------------------------------------------------------------------------------
# Evaluation


def _to_complex(v: Value) -> complex:
    if isinstance(v, Fraction):
        try:
            return complex(float(v))
        except OverflowError:
            raise EvalError("overflow") from None
    return v


def _checked(v: Value) -> Value:
    if isinstance(v, Fraction):
        if v.numerator.bit_length() > MAX_BITS or v.denominator.bit_length() > MAX_BITS:
            return _checked(_to_complex(v))
        return v
    if not (cmath.isfinite(v)) or abs(v) > 1e250:
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


def _power(b: Value, e: Value) -> Value:
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
                return _power(root, Fraction(e.numerator))
    cb, ce = _to_complex(b), _to_complex(e)
    if cb == 0:
        if ce.real > 0:
            return complex(0)
        raise EvalError("zero power")
    if abs(ce) * max(abs(math.log(abs(cb))), 1.0) > 500:
        raise EvalError("overflow")
    if isinstance(e, Fraction) and e.denominator % 2 == 1 and isinstance(b, Fraction) and b < 0:
        return -(complex(-float(b)) ** ce)  # odd roots of negatives are real
    try:
        return cb**ce
    except (OverflowError, ZeroDivisionError):
        raise EvalError("power") from None


_FUNC_IMPL = {
    "sin": cmath.sin, "cos": cmath.cos, "tan": cmath.tan, "sinh": cmath.sinh, "cosh": cmath.cosh,
    "tanh": cmath.tanh, "arcsin": cmath.asin, "arccos": cmath.acos, "arctan": cmath.atan,
    "exp": cmath.exp, "ln": cmath.log,
    "sec": lambda z: 1 / cmath.cos(z), "csc": lambda z: 1 / cmath.sin(z), "cot": lambda z: 1 / cmath.tan(z),
}


def evaluate(node: tuple, env: dict[str, Fraction], sign: int = 1) -> Value:
    """The value of a scalar node with variables from `env`; `sign` picks the branch of ±."""
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "var":
        if node[1] not in env:
            raise EvalError("unbound")
        return env[node[1]]
    if kind == "const":
        return {"pi": complex(math.pi), "e": complex(math.e), "i": 1j, "inf": complex(INF)}[node[1]]
    if kind == "neg":
        return _checked(-evaluate(node[1], env, sign))
    if kind == "pm":
        return _checked(sign * evaluate(node[1], env, sign))
    if kind == "add":
        total: Value = Fraction(0)
        for t in node[1]:
            total = _checked(total + evaluate(t, env, sign))
        return total
    if kind == "mul":
        prod: Value = Fraction(1)
        for f in node[1]:
            prod = _checked(prod * evaluate(f, env, sign))
        return prod
    if kind == "inv":
        v = evaluate(node[1], env, sign)
        if v == 0:
            raise EvalError("division by zero")
        return _checked(1 / v)
    if kind == "pow":
        return _checked(_power(evaluate(node[1], env, sign), evaluate(node[2], env, sign)))
    if kind == "root":
        idx = evaluate(node[2], env, sign)
        if idx == 0:
            raise EvalError("root")
        return _checked(_power(evaluate(node[1], env, sign), 1 / idx))
    if kind == "mixed":
        whole, num, den = node[1][1], node[2][1], node[3][1]
        if den == 0:
            raise EvalError("division by zero")
        return whole + num / den
    if kind == "abs":
        v = evaluate(node[1], env, sign)
        return abs(v) if isinstance(v, Fraction) else complex(abs(v))
    if kind == "fact":
        v = evaluate(node[1], env, sign)
        if not isinstance(v, Fraction) or v.denominator != 1 or not 0 <= v <= 300:
            raise EvalError("factorial")
        return _checked(Fraction(math.factorial(int(v))))
    if kind == "binom":
        n, k = evaluate(node[1], env, sign), evaluate(node[2], env, sign)
        if not all(isinstance(x, Fraction) and x.denominator == 1 for x in (n, k)) or not 0 <= n <= 10000:
            raise EvalError("binom")
        return Fraction(math.comb(int(n), int(k))) if k >= 0 else Fraction(0)
    if kind == "func":
        return _function(node, env, sign)
    raise EvalError(kind)


def _function(node: tuple, env: dict[str, Fraction], sign: int) -> Value:
    _, name, arg, base = node
    x = _to_complex(evaluate(arg, env, sign))
    try:
        if name in ("log", "lg"):
            if x == 0:
                raise EvalError("log 0")
            b = _to_complex(evaluate(base, env, sign)) if base is not None else complex(10 if name == "lg" else math.e)
            if b in (0, 1):
                raise EvalError("log base")
            return _checked(cmath.log(x) / cmath.log(b))
        if base is not None:
            raise EvalError("subscript")
        return _checked(_FUNC_IMPL[name](x))
    except (ValueError, ZeroDivisionError, OverflowError):
        raise EvalError(name) from None


# ---------------------------------------------------------------------------------------------
# Tree queries


def lone_var(node: tuple) -> bool:
    """A single variable."""
    return node[0] == "var"


def _names_only(node: tuple) -> bool:
    """A name for the value: a variable, `f(x)`, or a tuple of variables such as `(b, c)`."""
    if node[0] == "mul" and len(node[1]) == 2:
        return all(lone_var(x) for x in node[1])
    return lone_var(node) or (node[0] == "tuple" and all(lone_var(x) for x in node[3]))


def _monomial(node: tuple) -> bool:
    """A product of powers of variables, such as `x^3` or `ab^2`."""
    if node[0] == "mul":
        return all(_monomial(f) for f in node[1])
    if node[0] == "pow":
        return lone_var(node[1]) and not variables(node[2])
    return lone_var(node)


def stated_value(node: tuple) -> tuple:
    """`x = 3`, `(b,c) = (6,5)`, `x \\in [2,5]` and `28/4 = 7` state a value: keep that value."""
    if node[0] != "rel" or any(op not in ("=", "in") for op in node[2]):
        return node
    parts = node[1]
    if len(parts) == 2 and _names_only(parts[0]):
        return parts[1]
    if len(parts) == 2 and _monomial(parts[0]) and not variables(parts[1]):
        return parts[1]  # `x^3 = 12` states the value of x^3
    if len(parts) == 2 and lone_var(parts[1]) and not variables(parts[0]):
        return parts[0]
    if all(op == "=" for op in node[2]) and not any(variables(x) for x in parts):
        return parts[-1]
    return node


def walk(node: tuple) -> Iterator[tuple]:
    """Every node of a tree, the root first (matrix rows and item tuples are descended into)."""
    yield node
    for part in node[1:]:
        if isinstance(part, tuple):
            if part and isinstance(part[0], str):
                yield from walk(part)
            else:
                for sub in part:
                    if isinstance(sub, tuple) and sub:
                        yield from (walk(sub) if isinstance(sub[0], str) else
                                    (n for cell in sub for n in walk(cell)))


def variables(node: tuple) -> frozenset[str]:
    """Names of the free variables in a node tree."""
    return frozenset(n[1] for n in walk(node) if n[0] == "var")


def has_kind(node: tuple, kind: str) -> bool:
    """Whether a node of this kind occurs anywhere in the tree."""
    return any(n[0] == kind for n in walk(node))


def has_decimal(node: tuple) -> bool:
    """Whether a decimal literal occurs anywhere in the tree."""
    return any(n[0] == "num" and n[2] for n in walk(node))
