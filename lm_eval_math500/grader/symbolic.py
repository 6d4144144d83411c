"""Math-Verify's verdict on two LaTeX answers, run only inside the worker processes.

Importing this module loads Math-Verify and sympy and compares one pair of each kind below, which
pulls in the grammar and sympy's lazily imported simplification code (about half a second on first
use). The workers' helper process imports it once (see :mod:`worker`), so every worker forked
from it answers its first call fast.
"""

from __future__ import annotations

import logging

from math_verify import LatexExtractionConfig, parse, verify

# Math-Verify warns on every call that runs without its own limits; here the worker's are the limit.
logging.getLogger("math_verify").setLevel(logging.ERROR)
# LaTeX grammar only: Math-Verify's ExprExtractionConfig would hand text to sympy's parse_expr.
_CONFIG = [LatexExtractionConfig(boxed_match_priority=0)]
# One comparison of each kind the workers meet: polynomials, sums, integrals, trigonometry, sets
# and intervals, equations, matrices, logarithms and complex exponentials.
_WARM_UP = (
    ("x^2+1", "1+x^2"),
    ("3", "\\sum_{k=1}^{2} k^2"),
    ("4", "\\int_0^{2} 2x\\,dx"),
    ("\\frac{\\sqrt{2}}{2}", "\\sin(\\pi/4)"),
    ("\\{1, 2\\}", "(1, 3]"),
    ("y = 2x", "2x - y = 1"),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\log_2 8 + e^{i\\pi}"),
)


def latex_equal(pred: str, gold: str) -> bool:
    """Whether Math-Verify finds the two LaTeX answers equal; anything it cannot read is unequal.
    It runs without its own time limits: the worker process is killed at the limits `worker` sets."""
    try:
        parsed_gold = parse(f"${gold}$", _CONFIG, parsing_timeout=None)
        parsed_pred = parse(f"${pred}$", _CONFIG, parsing_timeout=None)
        return bool(parsed_gold and parsed_pred and verify(parsed_gold, parsed_pred, timeout_seconds=None))
    except Exception:
        return False


for _gold, _pred in _WARM_UP:
    latex_equal(_pred, _gold)
