"""Form requirements: a value-equal answer in a form the problem explicitly rules out.

Called only when a problem text is given and the prediction already has the gold's value. Each
rule in `RULES` is triggered by a phrase in the problem, is checked on the prediction's parse
tree, and applies only when the gold itself obeys it. Unprompted conventions (reduced fractions,
no mixed numbers, evaluated arithmetic) are not enforced: human graders accept those answers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from lm_eval_math500.grader.latex import canonical
from lm_eval_math500.grader.parser import (
    Add,
    Inv,
    Mixed,
    Mul,
    Neg,
    Node,
    Num,
    ParseError,
    Pow,
    Rel,
    Root,
    Var,
    evaluate,
    has_decimal,
    has_kind,
    identity_envs,
    parse,
    stated_value,
    variables,
    walk,
)


@dataclass(frozen=True)
class FormRule:
    """One form a problem can ask for.

    Attributes:
        name: short name of the requirement.
        phrase: what in the problem text asks for it.
        holds: whether an answer tree has the form; the second argument is the whole gold tree.
        violation: what a prediction that breaks it did, for the verdict's reason.
        on_stated_value: check the value an answer states (`1/8` in `3/24 = 1/8`), not the whole answer.
    """

    name: str
    phrase: re.Pattern[str]
    holds: Callable[[Node, Node], bool]
    violation: str
    on_stated_value: bool = True


def _integer_fractions(node: Node) -> list[tuple[Num, Num]]:
    """(numerator, denominator) of every literal fraction `a/b` or `\\frac{a}{b}` in the tree."""
    out = []
    for n in walk(node):
        match n:
            case Mul((Num() as num, Inv(Num() as den))):
                out.append((num, den))
    return out


def _reduced(node: Node) -> bool:
    """Every literal fraction has whole numbers in lowest terms, and there is no mixed number."""
    return not has_kind(node, Mixed) and all(
        a.value.denominator == 1 and b.value.denominator == 1 and math.gcd(a.value.numerator, b.value.numerator) == 1
        for a, b in _integer_fractions(node)
    )


def _squarefree_radicals(node: Node) -> bool:
    """No `\\sqrt{n}` of a whole number with a square factor (`\\sqrt{117}` = 3\\sqrt{13})."""
    for n in walk(node):
        match n:
            case Root(Num(value), Num(2, False)) if value.denominator == 1:
                if any(value.numerator % (k * k) == 0 for k in range(2, math.isqrt(value.numerator) + 1)):
                    return False
    return True


def _rationalized(node: Node) -> bool:
    """No radical in a denominator."""
    return not any(isinstance(n, Inv) and has_kind(n.arg, Root) for n in walk(node))


def _plain_number(node: Node) -> bool:
    """An integer or decimal literal with an optional sign: what a rounding request produces."""
    match node:
        case Num() | Neg(Num()):
            return True
    return False


def _terms(node: Node) -> int:
    match node:
        case Rel(parts):
            return sum(map(_terms, parts))
        case Add(terms):
            return len(terms)
    return 1


def _is_equation(node: Node) -> bool:
    return isinstance(node, Rel) and node.ops == ("=",)


def _difference(node: Rel) -> Add:
    lhs, rhs = node.parts
    return Add((lhs, Neg(rhs)))


def _same_difference(p: Node, g: Node) -> bool:
    """For two equations: lhs - rhs is the same polynomial (same sign and scale) in both."""
    if not (_is_equation(p) and _is_equation(g)):
        return True
    dp, dg = _difference(p), _difference(g)
    for env in identity_envs(variables(dp) | variables(dg)):
        try:
            if evaluate(dp, env) != evaluate(dg, env):
                return False
        except ArithmeticError:
            return True
    return True


def _solved_for_a_variable(node: Node) -> bool:
    """`y = 2x + 3`: an equation whose left side is a lone variable."""
    return _is_equation(node) and isinstance(node.parts[0], Var)


def _expanded(node: Node) -> bool:
    """No product with a sum among its factors and no whole power of a sum."""
    for n in walk(node):
        match n:
            case Mul(factors) if any(isinstance(f, Add) for f in factors):
                return False
            case Pow(Add(), Num(exp)) if exp.denominator == 1 and exp > 1:
                return False
    return True


def _product(node: Node) -> bool:
    """A product (or power) of factors, possibly negated: not a sum."""
    while isinstance(node, Neg):
        node = node.arg
    return not isinstance(node, Add)


_I = re.IGNORECASE
# The whole form policy: a row per requirement, with the phrase that asks for it and its check.
RULES = (
    FormRule("fraction", re.compile(r"common fraction|as a fraction|improper fraction", _I),
             lambda n, g: not has_decimal(n), "decimal for a fraction"),
    FormRule("reduced", re.compile(
        r"common fraction|improper fraction|lowest terms|simplest form|reduced fraction|simplified", _I),
             lambda n, g: _reduced(n), "fraction not in lowest terms or a mixed number"),
    FormRule("radical", re.compile(r"simplest radical form|simplest form", _I),
             lambda n, g: _squarefree_radicals(n), "radical with a square factor"),
    FormRule("rationalized", re.compile(r"simplest radical form|simplest form|rationali[sz]e", _I),
             lambda n, g: _rationalized(n), "radical in a denominator"),
    FormRule("coefficients", re.compile(r"\b[A-Z]\s*>\s*0|\\gcd|greatest common divisor"),
             _same_difference, "equation with other sign or scale of coefficients", on_stated_value=False),
    FormRule("equation", re.compile(
        r"(?:enter|find|give|write|what is) the equation|equation of (?:the|a|this)|in the form\W*[a-z]\s*=", _I),
             lambda n, g: _is_equation(n), "not an equation", on_stated_value=False),
    FormRule("solved_for", re.compile(r"in the form\W*[a-z]\s*=", _I),
             lambda n, g: _solved_for_a_variable(n), "equation not solved for its variable", on_stated_value=False),
    FormRule("expanded", re.compile(r"\bexpand\b", _I),
             lambda n, g: _expanded(n), "product or power of sums left unexpanded"),
    FormRule("factored", re.compile(r"(?:^|[.?!]\s+)factor\b|\bfactor (?:completely|fully|the expression)", _I),
             lambda n, g: _product(n), "not written as a product"),
    FormRule("single_fraction", re.compile(r"single fraction", _I),
             lambda n, g: _terms(n) == 1, "a sum for a single fraction"),
    FormRule("simplify", re.compile(r"\bsimplify\b", _I),
             lambda n, g: _terms(n) <= _terms(g), "more terms than the simplified gold"),
    FormRule("decimal", re.compile(r"as a decimal|to the nearest|decimal places?|rounded to", _I),
             lambda n, g: _plain_number(n), "not a plain decimal number"),
    FormRule("interval", re.compile(r"interval notation", _I),
             lambda n, g: not isinstance(n, Rel), "inequality for interval notation"),
)


# Every phrase in `RULES` contains one of these (lower-cased): a problem without any asks for no form,
# which a few substring tests tell faster than the phrases themselves.
PHRASE_WORDS = (
    "fraction", "lowest terms", "simplest", "simplified", "rationali", ">", "gcd", "greatest common divisor",
    "equation", "in the form", "expand", "factor", "simplify", "decimal", "nearest", "rounded to", "interval notation",
)  # fmt: skip


@lru_cache(maxsize=4096)
def asked_rules(problem: str) -> tuple[FormRule, ...]:
    """The form rules a problem's text triggers (cached: a problem is graded many times)."""
    lowered = problem.lower()
    if not any(word in lowered for word in PHRASE_WORDS):
        return ()
    return tuple(rule for rule in RULES if rule.phrase.search(problem))


def broken_rule(pred: str, gold: str, problem: str) -> FormRule | None:
    """The first rule `problem` asks for that the gold obeys and `pred` breaks, or None.
    `pred`'s value is already known to equal the gold's."""
    rules = asked_rules(problem)
    if not rules:
        return None
    try:
        p, g = parse(canonical(pred)), parse(canonical(gold))
    except ParseError:
        return None
    p_value, g_value = stated_value(p), stated_value(g)
    for rule in rules:
        pv, gv = (p_value, g_value) if rule.on_stated_value else (p, g)
        if rule.holds(gv, g) and not rule.holds(pv, g):
            return rule
    return None
