"""Grade answers from Python with the same grader the tasks use."""

from lm_eval_math500 import extract_answer, grade, is_equivalent

response = "<think>3 inches of 24 inches is 3/24.</think> <answer>\\boxed{\\frac{1}{8}}</answer>"
print(extract_answer(response, "r1_zero"))  # \frac{1}{8}
print(grade(response, "\\frac{1}{8}", style="r1_zero"))
print(is_equivalent("0.5", "\\frac12"))  # True
# The problem asks for a form: an unsimplified fraction is wrong.
print(is_equivalent("\\frac{3}{24}", "\\frac18", problem="Express your answer as a common fraction in lowest terms."))
