"""Math-reasoning tasks for lm-evaluation-harness: MATH-500, GSM8K and MATH-validation."""

from lm_eval_math500.grader.equivalence import Verdict, grade_answer, is_equivalent
from lm_eval_math500.grader.extraction import check_format, extract_answer
from lm_eval_math500.grader.grading import grade

__all__ = ["Verdict", "check_format", "extract_answer", "grade", "grade_answer", "is_equivalent"]
