"""Decide whether an extracted answer equals the gold answer."""

from __future__ import annotations

from dataclasses import dataclass

from lm_eval_math500._latex import canonical
from lm_eval_math500._worker import POOL


@dataclass(frozen=True)
class Outcome:
    """A comparison result; `timed_out` marks a symbolic check stopped at the time limit."""

    equal: bool
    timed_out: bool = False


def compare(pred: str, gold: str, *, problem: str | None = None, timeout: float = 1.0) -> Outcome:
    """Compare cheaply in-process first, then symbolically in a killable child process."""
    if not pred or not pred.strip():
        return Outcome(False)
    if canonical(pred) == canonical(gold):
        return Outcome(True)
    reply = POOL.run({"pred": canonical(pred), "gold": canonical(gold)}, timeout)
    if reply is None:
        return Outcome(False, timed_out=True)
    return Outcome(bool(reply["equal"]))


def is_equivalent(pred: str, gold: str, *, problem: str | None = None, timeout: float = 1.0) -> bool:
    """True when `pred` states the same answer as `gold` (in the form `problem` asks for, if given)."""
    return compare(pred, gold, problem=problem, timeout=timeout).equal
