"""Form requirements: a value-equal answer in a form the problem explicitly rules out.

Called only when a problem text is given and the prediction already has the gold's value. Each
rule is triggered by a phrase in the problem, is checked on the prediction's parse tree, and
applies only when the gold itself obeys it. Unprompted conventions (reduced fractions, no mixed
numbers, evaluated arithmetic) are not enforced: human graders accept those answers.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from lm_eval_math500._expr import ParseError, evaluate, has_decimal, has_kind, parse, variables, walk
from lm_eval_math500._latex import canonical

# A fraction asked for: no decimals anywhere in the answer.
_FRACTION_ASKED = re.compile(r"common fraction|as a fraction|improper fraction", re.IGNORECASE)
# A fully reduced form asked for: literal fractions in lowest terms, no mixed numbers.
_REDUCED_ASKED = re.compile(
    r"common fraction|improper fraction|lowest terms|simplest form|reduced fraction|simplified",
    re.IGNORECASE,
)
_RADICAL_ASKED = re.compile(r"simplest radical form|simplest form", re.IGNORECASE)
_RATIONALIZE_ASKED = re.compile(r"rationali[sz]e", re.IGNORECASE)
_COEFF_CONDITION = re.compile(r"[A-Z]\s*>\s*0|\\gcd|greatest common divisor", re.IGNORECASE)
_EQUATION_ASKED = re.compile(
    r"(?:enter|find|give|write|what is) the equation|equation of (?:the|a|this)|in the form\W*[a-z]\s*=",
    re.IGNORECASE,
)
_COMMA_LIST_ASKED = re.compile(r"separated by commas", re.IGNORECASE)
_SINGLE_FRACTION_ASKED = re.compile(r"single fraction", re.IGNORECASE)
_SIMPLIFY_ASKED = re.compile(r"\bsimplify\b", re.IGNORECASE)
_INTERVAL_ASKED = re.compile(r"interval notation", re.IGNORECASE)
_DECIMAL_ASKED = re.compile(r"as a decimal|to the nearest|decimal places?|rounded to", re.IGNORECASE)


def _integer_fractions(node: tuple) -> list[tuple[Fraction, Fraction]]:
    """(numerator, denominator) of every literal fraction `a/b` or `\\frac{a}{b}` in the tree."""
    out = []
    for n in walk(node):
        if n[0] == "mul" and len(n[1]) == 2 and n[1][1][0] == "inv":
            num, den = n[1][0], n[1][1][1]
            if num[0] == "num" and den[0] == "num":
                out.append((num[1], den[1]))
    return out


def _reduced(node: tuple) -> bool:
    """Every literal fraction has whole numbers in lowest terms."""
    return all(
        a.denominator == 1 and b.denominator == 1 and math.gcd(a.numerator, b.numerator) == 1
        for a, b in _integer_fractions(node)
    )


def _squarefree_radicals(node: tuple) -> bool:
    """No `\\sqrt{n}` of a whole number with a square factor (`\\sqrt{117}` = 3\\sqrt{13})."""
    for n in walk(node):
        if n[0] == "root" and n[1][0] == "num" and n[2] == ("num", Fraction(2), False):
            value = n[1][1]
            if value.denominator == 1 and any(value.numerator % (k * k) == 0
                                              for k in range(2, math.isqrt(value.numerator) + 1)):
                return False
    return True


def _radical_in_denominator(node: tuple) -> bool:
    return any(n[0] == "inv" and has_kind(n[1], "root") for n in walk(node))


def _plain_number(node: tuple) -> bool:
    """An integer or decimal literal with an optional sign: what a rounding request produces."""
    return (node[1] if node[0] == "neg" else node)[0] == "num"


def _terms(node: tuple) -> int:
    if node[0] == "rel":
        return sum(_terms(p) for p in node[1])
    return len(node[1]) if node[0] == "add" else 1


def _difference(node: tuple) -> tuple:
    lhs, rhs = node[1]
    return ("add", (lhs, ("neg", rhs)))


def _same_difference(p: tuple, g: tuple) -> bool:
    """lhs - rhs is the same polynomial (same sign and scale) in both equations."""
    dp, dg = _difference(p), _difference(g)
    names = sorted(variables(dp) | variables(dg))
    for k in range(3):
        env = {v: Fraction(7 * i + 3 * k + 2, 5 + k) for i, v in enumerate(names)}
        try:
            if evaluate(dp, env) != evaluate(dg, env):
                return False
        except ArithmeticError:
            return True
    return True


def _is_equation(node: tuple) -> bool:
    return node[0] == "rel" and node[2] == ("=",)


def form_ok(pred: str, gold: str, problem: str) -> bool:
    """Whether `pred` has the form `problem` asks for (its value is already known to be right)."""
    try:
        p, g = parse(canonical(pred)), parse(canonical(gold))
    except ParseError:
        return True
    checks = [
        (bool(_REDUCED_ASKED.search(problem)), _reduced),
        (bool(_REDUCED_ASKED.search(problem)), lambda n: not has_kind(n, "mixed")),
        (bool(_RADICAL_ASKED.search(problem)), _squarefree_radicals),
        (bool(_FRACTION_ASKED.search(problem)), lambda n: not has_decimal(n)),
        (bool(_RADICAL_ASKED.search(problem) or _RATIONALIZE_ASKED.search(problem)),
         lambda n: not _radical_in_denominator(n)),
        (bool(_COMMA_LIST_ASKED.search(problem)), lambda n: not has_kind(n, "pm")),
        (bool(_EQUATION_ASKED.search(problem)), _is_equation),
        (bool(_SINGLE_FRACTION_ASKED.search(problem)), lambda n: _terms(n) == 1),
        (bool(_SIMPLIFY_ASKED.search(problem)), lambda n: _terms(n) <= _terms(g)),
        (bool(_DECIMAL_ASKED.search(problem)), _plain_number),
        (bool(_INTERVAL_ASKED.search(problem)), lambda n: n[0] != "rel"),
    ]
    for applies, rule in checks:
        if applies and rule(g) and not rule(p):
            return False
    if _COEFF_CONDITION.search(problem) and _is_equation(p) and _is_equation(g):
        return _same_difference(p, g)
    return True
