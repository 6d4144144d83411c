"""Grade answers from Python with the same grader the tasks use.

Answers the grader's own parser cannot read are compared by Math-Verify in worker processes the
grader starts by itself; a script needs nothing for that.
"""

from lm_eval_math500 import extract_answer, grade, is_equivalent

if __name__ == "__main__":
    response = "<think>3 inches of 24 inches is 3/24.</think> <answer>\\boxed{\\frac{1}{8}}</answer>"
    print(extract_answer(response, "r1_zero"))  # \frac{1}{8}
    print(grade(response, "\\frac{1}{8}", variant="r1_zero"))
    print(is_equivalent("0.5", "\\frac12"))  # True
    print(is_equivalent("\\sum_{k=1}^{3} k", "6"))  # False: a sum left undone, like 1 + 2 + 3
    # The problem asks for a form: an unsimplified fraction is wrong.
    print(is_equivalent("\\frac{3}{24}", "\\frac18", problem="Express your answer as a common fraction in lowest terms."))
