"""How the public grading functions read their arguments: the one place that policy is decided.

Answers are text. A number given as a gold or as a response (GSM8K golds often arrive as ints) is
read as its text: ``7`` as ``"7"``, ``Fraction(1, 2)`` as ``"1/2"``, ``2.5`` as ``"2.5"``.
``None`` as a gold raises ``TypeError``, since there is nothing to grade against; ``None`` as a
response or an extracted answer is a response without an answer, so it is graded wrong (``no
final answer``). Anything else (a bool, bytes, a list, ...) raises ``TypeError`` naming the
argument.
"""

from __future__ import annotations

import decimal
import numbers


def answer_text(value: object, name: str, *, none_allowed: bool) -> str | None:
    """`value` as answer text under the policy above; `name` is the argument's name for the error."""
    if isinstance(value, str):
        return value
    if value is None and none_allowed:
        return None
    if isinstance(value, (numbers.Real, decimal.Decimal)) and not isinstance(value, bool):
        return str(value)
    expected = "a string, a number" + (" or None" if none_allowed else "")
    raise TypeError(f"{name} must be {expected}, not {type(value).__name__}: {value!r:.60}")


def problem_text(value: object) -> str | None:
    """The optional problem text: a string or None; anything else raises TypeError."""
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"problem must be a string or None, not {type(value).__name__}: {value!r:.60}")
