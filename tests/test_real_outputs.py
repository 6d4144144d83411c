"""The failure classes real model outputs showed, one table per class, through the public API."""

from __future__ import annotations

import pytest

from lm_eval_math500 import extract_answer, grade

TRAIN = (
    "A train leaves at 9 and travels 60 miles per hour for 3 hours, then stops for 20 minutes. "
    "How many miles does it travel?"
)
SHOP = "Ann buys 4 pens at 3 dollars each and pays with a 20 dollar bill. How much change does she get?"
ROSTER = "Priya, Omar and Jun ran a race. Priya ran 5 km, Omar ran 7 km and Jun ran 6 km. Who ran the farthest?"
SHAPES = "Which solid has a circular base and one apex?\n(A) Prism\n(B) Cone\n(C) Cube\n(D) Sphere"


@pytest.mark.parametrize(
    "response,problem,expected",
    [
        ("It travels 180 miles in the 3 hours before it stops.", TRAIN, "180"),
        ("After 3 hours at 60 miles per hour it has gone 180 miles.", TRAIN, "180"),
        ("She gets 8 dollars back from her 20 dollar bill.", SHOP, "8"),
        ("6 guests came in the first 10 minutes.",
         "Some guests came in the first 10 minutes and 6 guests left early. 12 came in all. "
         "How many came in the first 10 minutes?", "6"),
        # the only number of the sentence stays the answer even when the problem has it too
        ("So she pays 12 dollars.", SHOP, "12"),
    ],
)
def test_numbers_copied_from_the_problem_are_passed_over(response, problem, expected):
    assert extract_answer(response, "question_only", problem=problem) == expected


@pytest.mark.parametrize(
    "response,expected",
    [
        ("Eighteen students stayed after class.", "18"),
        ("So there are twenty-seven cubes left.", "27"),
        ("The answer is one hundred and four.", "104"),
        ("Each of them gets one third of the cake, so the answer is two thirds.", "2/3"),
        ("There is exactly one such number.", "1"),
    ],
)
def test_number_words_are_read(response, expected):
    assert extract_answer(response, "question_only") == expected


@pytest.mark.parametrize(
    "response,gold,expected",
    [
        ("Hence the chance is 3/8.", "8", False),
        ("Hence the chance is 3/8.", "\\frac38", True),
        ("we end with \\frac{14}{5}", "5", False),
        ("so the midpoint is $(4, 9)$", "9", False),
        ("so the midpoint is $(4, 9)$", "(4,9)", True),
        ("the solution set is $t >= 7$", "7", False),
        ("the volume is 12\\pi", "12\\pi", True),
        ("the focus is at (1,-5).", "(1,-5)", True),
        ("It is the line y = -4x", "y=-4x", True),
    ],
)
def test_a_fragment_of_a_value_is_never_the_answer(response, gold, expected):
    assert grade(response, gold, variant="question_only").correct is expected


@pytest.mark.parametrize(
    "response,expected",
    [
        ("Final Answer: The smallest $k$ is 12.", "12"),
        ("Final Answer: the number of handshakes is $45$.", "45"),
        ("So the answer is clearly 31.", "31"),
        ("The answer is indeed $\\frac{2}{9}$.", "\\frac{2}{9}"),
        ("The answer is $x=4$ because $2x=8$.", "x=4"),
    ],
)
def test_the_value_after_a_label_or_an_adverb_is_the_answer(response, expected):
    assert extract_answer(response, "question_only") == expected


@pytest.mark.parametrize(
    "response,expected",
    [
        ("The left part is $\\boxed{6}$. Adding the right part, the final answer is 11.", "11"),
        ("So $a=\\boxed{3}$ and therefore the answer is $a+b = 10$.", "a+b = 10"),
        # a statement that only talks about the boxed answer does not replace it
        ("Thus \\boxed{14}. I am sure the answer is right.", "14"),
        ("The answer is $\\boxed{14}$.", "14"),
    ],
)
def test_a_final_statement_after_an_intermediate_box_wins(response, expected):
    assert extract_answer(response, "question_only") == expected


@pytest.mark.parametrize(
    "response,problem,expected",
    [
        ("So Ben has 13 marbles. Check: 13 + 9 = 22, the total we were given.", "Ben and Ada have 22 marbles; Ada has 9.", "13"),
        ("The pool holds 250 liters.\n\nVerify: 250 / 50 = 5 minutes per ... fine.", None, "250"),
        ("If $x = 4$ then $y = 9$. So, $x = 4$ and $y = 9$ is not a solution.\n\nSo $y = 6$.\n\n"
         "Trying $y = 7$ gives 8, which is still not equal to 12.", None, "y = 6"),
    ],
)
def test_checks_and_rejected_tries_after_the_answer_are_not_the_answer(response, problem, expected):
    assert extract_answer(response, "question_only", problem=problem) == expected


@pytest.mark.parametrize(
    "response",
    [
        "Let me try the next case. With $k = 3$ we get 24, so the total is",
        "Adding these gives \\( 5 + 7 = 12 \\). Now the other factor \\( \\sqrt{12",
        "The sum is 40, but I should double-check with \\(n =",
        "Alternatively, we could think about the 12 cases once more, but again, that",
    ],
)
def test_a_response_cut_off_mid_work_states_no_answer(response):
    assert extract_answer(response, "question_only") is None
    assert not grade(response, "12", variant="question_only").correct


@pytest.mark.parametrize(
    "response,problem,gold,expected",
    [
        ("So Priya runs the farthest of the three.", ROSTER, "\\text{Priya}", True),
        ("Therefore Omar ran 7 km, less than Priya.", ROSTER, "\\text{Jun}", False),
        ("The answer is (B) Cone", SHAPES, "\\text{(B)}", True),
        ("Only a cone has that, so it is option (B).", SHAPES, "\\text{(B)}", True),
    ],
)
def test_names_and_option_letters_in_prose(response, problem, gold, expected):
    assert grade(response, gold, variant="question_only", problem=problem).correct is expected
