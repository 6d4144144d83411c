"""Answer equivalence: one test per rule a careful grader states, with hand-written cases."""

from __future__ import annotations

import json

import pytest

from lm_eval_math500 import grade_answer, is_equivalent
from lm_eval_math500.grader import forms


def same(pred: str, gold: str, problem: str | None = None) -> bool:
    return is_equivalent(pred, gold, problem=problem)


# Intervals, tuples and solution lists.
@pytest.mark.parametrize("pred,gold,expected", [
    ("(1, \\infty)", "(1,\\infty)", True),
    ("[1, \\infty)", "(1,\\infty)", False),
    ("(1,2)", "[1,2]", False),
    ("(-\\infty, 2) \\cup (3, \\infty)", "(3,\\infty)\\cup(-\\infty,2)", True),
])
def test_open_and_closed_intervals_differ(pred, gold, expected):
    assert same(pred, gold) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("x > 1", "(1,\\infty)", True),
    ("-2 \\le x < 3", "[-2,3)", True),
    ("x \\ge 1", "(1,\\infty)", False),
])
def test_inequality_matches_its_interval(pred, gold, expected):
    assert same(pred, gold) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})", True),
    ("(\\frac{\\pi}{2}, 3)", "(3,\\frac{\\pi}{2})", False),
    ("(2,1)", "\\{1,2\\}", False),
    ("3, \\frac{\\pi}{2}", "(3,\\frac{\\pi}{2})", True),
])
def test_ordered_pair_is_ordered_and_not_a_set(pred, gold, expected):
    assert same(pred, gold) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("3, -1", "-1, 3", True),
    ("\\{3, -1\\}", "-1, 3", True),
    ("x = 3 \\text{ or } x = -1", "-1, 3", True),
])
def test_solution_list_is_unordered(pred, gold, expected):
    assert same(pred, gold) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("(1, 2)", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", True),
    ("\\begin{pmatrix} 1/2 & 0 \\\\ 0 & 1 \\end{pmatrix}",
     "\\begin{pmatrix} \\frac{1}{2} & 0 \\\\ 0 & 1 \\end{pmatrix}", True),
    ("\\begin{pmatrix} 0 & 1 \\\\ 1 & 0 \\end{pmatrix}", "\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}", False),
])
def test_column_vector_equals_tuple_and_matrix_entries_compare_by_value(pred, gold, expected):
    assert same(pred, gold) is expected


# Multi-solution answers.
@pytest.mark.parametrize("pred,gold,expected", [
    ("2", "2, -2", False),
    ("2, -2, 0", "2, -2", False),
    ("-2, 2, 2", "2, -2", True),
])
def test_missing_or_extra_root_fails(pred, gold, expected):
    assert same(pred, gold) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("\\pm 2", "2, -2", True),
    ("1 + \\sqrt{19}, 1 - \\sqrt{19}", "1 \\pm \\sqrt{19}", True),
    ("\\pm 8, \\pm 1", "8, 1, -1, -8", True),
    ("1 + \\sqrt{19}", "1 \\pm \\sqrt{19}", False),
])
def test_plus_minus_equals_the_explicit_list(pred, gold, expected):
    assert same(pred, gold) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("3 \\text{ or } 4", "3", False),
    ("1, 2, 3, 4, 5, 6", "4", False),
])
def test_hedged_alternatives_in_one_answer_fail(pred, gold, expected):
    assert same(pred, gold) is expected


# Numbers.
@pytest.mark.parametrize("pred,gold,expected", [
    ("0.5", "50\\%", False),
    ("5000", "50", False),
    ("50\\%", "50", True),
])
def test_no_percent_times_100_trick(pred, gold, expected):
    assert same(pred, gold) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("0.333", "\\frac{1}{3}", False),
    ("0.866", "\\frac{\\sqrt{3}}{2}", False),
    ("1000.05", "1000", False),
    ("0.5", "\\frac{1}{2}", True),
    ("0.\\overline{3}", "\\frac{1}{3}", True),
    ("18.00", "18", True),
])
def test_no_tolerance_on_exact_answers(pred, gold, expected):
    assert same(pred, gold) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("1,000", "1000", True),
    ("10,\\!080", "10080", True),
    ("1{,}000{,}000", "1000000", True),
    ("1,2", "12", False),
    ("1,2", "2, 1", True),
])
def test_thousands_separator_versus_list(pred, gold, expected):
    assert same(pred, gold) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("4210", "4210_{5}", True),
    ("4210_5", "4210_{5}", True),
    ("555", "4210_{5}", False),
])
def test_base_subscripts_compare_digits(pred, gold, expected):
    assert same(pred, gold) is expected


# Decorations.
@pytest.mark.parametrize("pred", [
    "5 \\text{ cm}", "5\\text{ inches}^2", "5^\\circ", "5^{\\circ}", "\\$5", "$5$", "\\textbf{5}",
    "**5**", "\\boxed{5}", "\\left( 5 \\right)", "5\\!", "5.", "\\text{5}", "5 \\mbox{ dollars}",
])
def test_decorations_are_ignored(pred):
    assert same(pred, "5")


@pytest.mark.parametrize("pred,gold,expected", [
    ("10", "10\\%", True),
    ("C", "\\text{(C)}", True),
    ("\\textbf{(C)} 12", "\\text{(C)}", True),
    ("(D)", "\\text{(C)}", False),
])
def test_percent_and_dollar_and_multiple_choice(pred, gold, expected):
    assert same(pred, gold) is expected


# Equations.
@pytest.mark.parametrize("pred,gold,expected", [
    ("x = 3", "3", True),
    ("3", "x=3", True),
    ("k = 3", "x = 3", True),
    ("(b, c) = (6, 5)", "(6,5)", True),
    ("\\frac{28}{4} = 7", "7", True),
    ("x^3 = 12", "12", True),
])
def test_variable_assignment_equals_its_value(pred, gold, expected):
    assert same(pred, gold) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("y = 1 + 2x", "y = 2x + 1", True),
    ("2x + 1 = y", "y = 2x + 1", True),
    ("x^2 + y^2 = 13", "y^2 + x^2 = 13", True),
])
def test_equations_with_swapped_sides_or_reordered_terms_are_equal(pred, gold, expected):
    assert same(pred, gold) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("x + y = 1", "x - y = 1", False),
    ("-3x + 5y - 9z - 4 = 0", "5x - 7y + 11z + 4 = 0", False),
    ("2 = 2", "3 = 3", False),
])
def test_different_equations_are_not_equal_and_do_not_collapse_to_zero(pred, gold, expected):
    assert same(pred, gold) is expected


# Parsing traps.
@pytest.mark.parametrize("pred,gold,expected", [
    ("QXLS", "LQSX", False),
    ("Devon", "\\text{Devon}", True),
    ("odd", "even", False),
])
def test_letters_are_not_a_commutative_product(pred, gold, expected):
    assert same(pred, gold) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("2\\frac12", "\\frac{5}{2}", True),
    ("2\\frac{1}{2}", "2.5", True),
    ("2\\frac{\\pi}{3}", "\\frac{2\\pi}{3}", True),
    ("i^2", "-1", True),
    ("3 - 4i", "3-4i", True),
    ("3 + 4i", "3-4i", False),
    ("\\sqrt{-4}", "2i", True),
])
def test_mixed_numbers_and_imaginary_unit(pred, gold, expected):
    assert same(pred, gold) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("1-1/e", "1+1/e", False),
    ("1 - \\frac{1}{e}", "1-1/e", True),
])
def test_fallback_on_a_failed_parse_does_not_grab_a_number(pred, gold, expected):
    assert same(pred, gold) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}", True),
    ("\\sin^2 x + \\cos^2 x", "1", False),  # an expression in x is not the number it simplifies to
    ("(x+1)^2", "x^2 + 2x + 1", True),
    ("(x+1)^2", "x^2 + 1", False),
    ("\\frac{8-7x}{6}", "\\frac{4}{3} - \\frac{7x}{6}", True),
])
def test_symbolic_identities(pred, gold, expected):
    assert same(pred, gold) is expected


# Form requirements stated in the problem.
@pytest.mark.parametrize("pred,gold,problem,expected", [
    ("\\frac{24}{125}", "\\frac{24}{125}", "What is $x$? Express your answer as a common fraction.", True),
    ("\\frac{72}{375}", "\\frac{24}{125}", "What is $x$? Express your answer as a common fraction.", False),
    ("0.192", "\\frac{24}{125}", "What is $x$? Express your answer as a common fraction.", False),
    ("\\frac{10.5}{2}", "\\frac{21}{4}", "What is $x$? Express your answer as a common fraction.", False),
    ("\\frac{72}{375}", "\\frac{24}{125}", None, True),  # without the problem, the value is graded
])
def test_common_fraction_must_be_reduced_without_decimals(pred, gold, problem, expected):
    assert same(pred, gold, problem) is expected


@pytest.mark.parametrize("pred,gold,problem,expected", [
    ("\\frac{411}{333}", "\\frac{137}{111}", "Express $1.\\overline{234}$ as an improper fraction.", False),
    ("3\\frac{6}{11}", "\\frac{39}{11}", "Write it in lowest terms.", False),
    ("\\frac{39}{11}", "\\frac{39}{11}", "Write it in lowest terms.", True),
])
def test_lowest_terms_and_improper_fraction(pred, gold, problem, expected):
    assert same(pred, gold, problem) is expected


@pytest.mark.parametrize("pred,gold,problem,expected", [
    ("4\\sqrt{117}", "12\\sqrt{13}", "Express your answer in simplest radical form.", False),
    ("12\\sqrt{13}", "12\\sqrt{13}", "Express your answer in simplest radical form.", True),
    ("\\frac{2}{\\sqrt{3}+1}", "\\sqrt{3}-1", "Simplify and rationalize the denominator.", False),
])
def test_simplest_radical_form(pred, gold, problem, expected):
    assert same(pred, gold, problem) is expected


COEFFICIENTS = ("Enter your answer in the form $Ax + By + Cz + D = 0$, where $A > 0$ and "
                "$\\gcd(|A|,|B|,|C|,|D|) = 1$.")


@pytest.mark.parametrize("pred,gold,problem,expected", [
    ("5x - 7y + 11z = -4", "5x - 7y + 11z + 4 = 0", COEFFICIENTS, True),
    ("-5x + 7y - 11z - 4 = 0", "5x - 7y + 11z + 4 = 0", COEFFICIENTS, False),
    ("10x - 14y + 22z + 8 = 0", "5x - 7y + 11z + 4 = 0", COEFFICIENTS, False),
    ("-5x + 7y - 11z - 4 = 0", "5x - 7y + 11z + 4 = 0", None, True),
])
def test_coefficient_conditions_fix_sign_and_scale(pred, gold, problem, expected):
    assert same(pred, gold, problem) is expected


@pytest.mark.parametrize("pred,gold,problem,expected", [
    ("-2x", "y = -2x", 'Enter the equation of this line in the form "$y = mx + b$".', False),
    ("y = -2x", "y = -2x", 'Enter the equation of this line in the form "$y = mx + b$".', True),
])
def test_equation_asked_for(pred, gold, problem, expected):
    assert same(pred, gold, problem) is expected


@pytest.mark.parametrize("pred,gold,problem,expected", [
    ("4 \\pm i", "4 + i, 4 - i", "Enter all the solutions, separated by commas.", True),
    ("4 - i, 4 + i", "4 + i, 4 - i", "Enter all the solutions, separated by commas.", True),
    ("4 + i", "4 + i, 4 - i", "Enter all the solutions, separated by commas.", False),
])
def test_separated_by_commas_allows_plus_minus(pred, gold, problem, expected):
    assert same(pred, gold, problem) is expected


@pytest.mark.parametrize("pred,gold,problem,expected", [
    ("-\\frac{7x}{6}+\\frac{4}{3}", "\\frac{8-7x}{6}", "Express your answer as a single fraction.", False),
    ("\\frac{1}{\\sin x \\cos x} - \\tan x", "\\cot x", "Simplify the expression.", False),
    ("\\cot x", "\\cot x", "Simplify the expression.", True),
])
def test_single_fraction_and_simplify(pred, gold, problem, expected):
    assert same(pred, gold, problem) is expected


@pytest.mark.parametrize("pred,gold,problem,expected", [
    ("3.50", "3.5", "Express your answer as a decimal to the nearest tenth.", True),
    ("3.47", "3.5", "Express your answer as a decimal to the nearest tenth.", False),
    ("\\frac{7}{2}", "3.5", "Express your answer as a decimal to the nearest tenth.", False),
    ("\\frac{7}{2}", "3.5", None, True),
])
def test_rounding_to_a_place_compares_the_rounded_decimal(pred, gold, problem, expected):
    assert same(pred, gold, problem) is expected


@pytest.mark.parametrize("pred,gold,problem,expected", [
    ("4210_5", "4210", "Express your answer in base 5.", True),
    ("555", "4210", "Express your answer in base 5.", False),
    ("4210_6", "4210_5", "Express your answer in base 5.", False),
])
def test_base_asked_for_compares_digits_not_values(pred, gold, problem, expected):
    assert same(pred, gold, problem) is expected


@pytest.mark.parametrize("pred,gold,problem,expected", [
    ("x > 1", "(1,\\infty)", "Express your answer in interval notation.", False),
    ("(1, \\infty)", "(1,\\infty)", "Express your answer in interval notation.", True),
    ("x > 1", "(1,\\infty)", None, True),
])
def test_interval_notation_asked_for_rules_out_inequalities(pred, gold, problem, expected):
    assert same(pred, gold, problem) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("\\tan^{-1}(2)", "\\arctan 2", True),
    ("\\tan^{-1}(2)", "\\frac{1}{\\tan 2}", False),
])
def test_inverse_trig_notation(pred, gold, expected):
    assert same(pred, gold) is expected


@pytest.mark.parametrize("pred,gold,expected", [
    ("2:4", "1:2", True),
    ("\\frac{1}{2}", "1:2", True),  # without "a:b" in the problem, the ratio's value is graded
    ("\\frac{1}{3}", "1:2", False),
    ("2:1", "1:2", False),
    ("16:51:06", "4\\!:\\!51\\!:\\!06 \\text{ p.m.}", True),
    ("4:51:06", "4\\!:\\!51\\!:\\!06 \\text{ p.m.}", False),  # a time without p.m. is another time
    ("3:51:06", "4:51:06", False),
])
def test_ratios_and_clock_times(pred, gold, expected):
    assert same(pred, gold) is expected


DIAL = 'What time will it be then? (Enter the time in the format "HH:MM", without "am" or "pm".)'


@pytest.mark.parametrize("pred,gold,problem,expected", [
    ("7:15", "7\\!:\\!15 \\text{ p.m.}", DIAL, True),
    ("19:15", "7\\!:\\!15 \\text{ p.m.}", DIAL, True),
    ("07:15", "7:15", "When do they meet? Answer in the form AB:CD.", True),
    ("8:15", "7\\!:\\!15 \\text{ p.m.}", DIAL, False),
    ("7:15 \\text{ a.m.}", "7\\!:\\!15 \\text{ p.m.}", DIAL, False),  # a half-day both sides state still counts
    ("7:15", "7\\!:\\!15 \\text{ p.m.}", "At what time do they meet?", False),
    ("16:20", "4:5", "Find the ratio of the form AB:CD.", False),  # a ratio is not read as a time
])
def test_a_time_asked_for_without_half_day_is_read_on_the_12_hour_dial(pred, gold, problem, expected):
    assert same(pred, gold, problem) is expected


def test_every_form_phrase_holds_one_of_the_words_that_let_a_problem_skip_the_phrases(shared_data):
    """`forms.asked_rules` skips problems with none of `PHRASE_WORDS`: on every MATH and
    graderbench problem, a phrase that matches must hold one of them."""
    problems = {json.loads(line)["problem"] for path in (shared_data / "math").glob("*.jsonl") for line in path.open()}
    problems |= {json.loads(line)["problem"] for path in (shared_data / "graderbench").glob("*.jsonl")
                 for line in path.open()}
    asked = [(rule.name, text) for text in problems for rule in forms.RULES if rule.phrase.search(text)]
    assert len(problems) > 12000 and len(asked) > 500
    assert [name for name, text in asked if not any(word in text.lower() for word in forms.PHRASE_WORDS)] == []


# Every verdict names the rule that decided it.
@pytest.mark.parametrize("pred,gold,problem,correct,reason", [
    ("\\frac{1}{2}", "\\dfrac{1}{2}", None, True, "same string"),
    ("0.5", "\\frac{1}{2}", None, True, "numeric value equal"),
    ("0.333", "\\frac{1}{3}", None, False, "numeric value differs"),
    ("(x+1)^2", "x^2 + 2x + 1", None, True, "symbolic identity equal"),
    ("(x+1)^2", "x^2 + 1", None, False, "symbolic identity differs"),
    ("\\pm 2", "2, -2", None, True, "list equal"),
    ("[1, 2)", "(1, 2)", None, False, "tuple or interval differs"),
    ("2x + 1 = y", "y = 2x + 1", None, True, "equation equal"),
    ("Devon", "\\text{devon}", None, True, "same word"),
    ("(D)", "\\text{(C)}", None, False, "different choice letters"),
    ("4210", "4210_{5}", None, True, "same digits in the same base"),
    ("2:4", "1:2", None, True, "same ratio or time"),
    ("\\mathbb{R}", "\\mathbb{Z}", None, False, "symbolic check (Math-Verify): not equal"),
    ("\\frac{1", "1", None, False, "not a readable answer"),
    ("  ", "1", None, False, "empty answer"),
    (None, "1", None, False, "no final answer"),
    ("0.192", "\\frac{24}{125}", "Express your answer as a common fraction.", False,
     "numeric value equal; rejected: decimal for a fraction"),
    ("2 \\cdot 3", "6", None, False, "arithmetic left undone"),
    ("\\frac{x}{x}", "1", None, False, "an expression, not a value"),
])
def test_verdict_names_the_deciding_rule(pred, gold, problem, correct, reason):
    verdict = grade_answer(pred, gold, problem=problem)
    assert (verdict.correct, verdict.reason) == (correct, reason)
