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
from functools import lru_cache

from lm_eval_math500.grader.parser import (
    ParseError,
    evaluate,
    has_decimal,
    has_kind,
    parse,
    stated_value,
    variables,
    walk,
)
from lm_eval_math500.grader.latex import canonical

_I = re.IGNORECASE
# Each requirement and the phrases that ask for it.
_PHRASES = {
    "fraction": re.compile(r"common fraction|as a fraction|improper fraction", _I),  # no decimals
    "reduced": re.compile(  # literal fractions in lowest terms, no mixed numbers
        r"common fraction|improper fraction|lowest terms|simplest form|reduced fraction|simplified", _I),
    "radical": re.compile(r"simplest radical form|simplest form", _I),
    "rationalized": re.compile(r"simplest radical form|simplest form|rationali[sz]e", _I),
    "coefficients": re.compile(r"\b[A-Z]\s*>\s*0|\\gcd|greatest common divisor"),
    "equation": re.compile(
        r"(?:enter|find|give|write|what is) the equation|equation of (?:the|a|this)|in the form\W*[a-z]\s*=", _I),
    "comma_list": re.compile(r"separated by commas", _I),
    "single_fraction": re.compile(r"single fraction", _I),
    "simplify": re.compile(r"\bsimplify\b", _I),
    "decimal": re.compile(r"as a decimal|to the nearest|decimal places?|rounded to", _I),
    "interval": re.compile(r"interval notation", _I),
}


@lru_cache(maxsize=4096)
def requirements(problem: str) -> frozenset[str]:
    """The form requirements a problem states (cached: a problem is graded many times)."""
    return frozenset(name for name, phrase in _PHRASES.items() if phrase.search(problem))


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
    asked = requirements(problem)
    if not asked:
        return True
    try:
        p, g = parse(canonical(pred)), parse(canonical(gold))
    except ParseError:
        return True
    rules = {
        "reduced": lambda n: _reduced(n) and not has_kind(n, "mixed"),
        "radical": _squarefree_radicals,
        "fraction": lambda n: not has_decimal(n),
        "rationalized": lambda n: not _radical_in_denominator(n),
        "comma_list": lambda n: not has_kind(n, "pm"),
        "equation": _is_equation,
        "single_fraction": lambda n: _terms(n) == 1,
        "simplify": lambda n: _terms(n) <= _terms(g),
        "decimal": _plain_number,
        "interval": lambda n: n[0] != "rel",
    }
    for name in asked & rules.keys():
        # The form of the stated value counts: in `3/24 = 1/8` that is `1/8`.
        pv, gv = (p, g) if name == "equation" else (stated_value(p), stated_value(g))
        if rules[name](gv) and not rules[name](pv):
            return False
    if "coefficients" in asked and _is_equation(p) and _is_equation(g):
        return _same_difference(p, g)
    return True
