"""Answer equivalence: one test per rule a careful grader states, with hand-written cases."""

from __future__ import annotations

import pytest

from lm_eval_math500 import is_equivalent


def same(pred: str, gold: str, problem: str | None = None) -> bool:
    return is_equivalent(pred, gold, problem=problem)


# Intervals, tuples and solution lists.
def test_open_and_closed_intervals_differ():
    assert same("(1, \\infty)", "(1,\\infty)")
    assert not same("[1, \\infty)", "(1,\\infty)")
    assert not same("(1,2)", "[1,2]")
    assert same("(-\\infty, 2) \\cup (3, \\infty)", "(3,\\infty)\\cup(-\\infty,2)")


def test_inequality_matches_its_interval():
    assert same("x > 1", "(1,\\infty)")
    assert same("-2 \\le x < 3", "[-2,3)")
    assert not same("x \\ge 1", "(1,\\infty)")


def test_ordered_pair_is_ordered_and_not_a_set():
    assert same("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})")
    assert not same("(\\frac{\\pi}{2}, 3)", "(3,\\frac{\\pi}{2})")
    assert not same("(2,1)", "\\{1,2\\}")
    assert same("3, \\frac{\\pi}{2}", "(3,\\frac{\\pi}{2})")


def test_solution_list_is_unordered():
    assert same("3, -1", "-1, 3")
    assert same("\\{3, -1\\}", "-1, 3")
    assert same("x = 3 \\text{ or } x = -1", "-1, 3")


def test_column_vector_equals_tuple_and_matrix_entries_compare_by_value():
    assert same("(1, 2)", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}")
    assert same("\\begin{pmatrix} 1/2 & 0 \\\\ 0 & 1 \\end{pmatrix}",
                "\\begin{pmatrix} \\frac{1}{2} & 0 \\\\ 0 & 1 \\end{pmatrix}")
    assert not same("\\begin{pmatrix} 0 & 1 \\\\ 1 & 0 \\end{pmatrix}",
                    "\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}")


# Multi-solution answers.
def test_missing_or_extra_root_fails():
    assert not same("2", "2, -2")
    assert not same("2, -2, 0", "2, -2")
    assert same("-2, 2, 2", "2, -2")


def test_plus_minus_equals_the_explicit_list():
    assert same("\\pm 2", "2, -2")
    assert same("1 + \\sqrt{19}, 1 - \\sqrt{19}", "1 \\pm \\sqrt{19}")
    assert same("\\pm 8, \\pm 1", "8, 1, -1, -8")
    assert not same("1 + \\sqrt{19}", "1 \\pm \\sqrt{19}")


def test_hedged_alternatives_in_one_answer_fail():
    assert not same("3 \\text{ or } 4", "3")
    assert not same("1, 2, 3, 4, 5, 6", "4")


# Numbers.
def test_no_percent_times_100_trick():
    assert not same("0.5", "50\\%")
    assert not same("5000", "50")
    assert same("50\\%", "50")


def test_no_tolerance_on_exact_answers():
    assert not same("0.333", "\\frac{1}{3}")
    assert not same("0.866", "\\frac{\\sqrt{3}}{2}")
    assert not same("1000.05", "1000")
    assert same("0.5", "\\frac{1}{2}")
    assert same("0.\\overline{3}", "\\frac{1}{3}")
    assert same("18.00", "18")


def test_thousands_separator_versus_list():
    assert same("1,000", "1000")
    assert same("10,\\!080", "10080")
    assert same("1{,}000{,}000", "1000000")
    assert not same("1,2", "12")
    assert same("1,2", "2, 1")


def test_base_subscripts_compare_digits():
    assert same("4210", "4210_{5}")
    assert same("4210_5", "4210_{5}")
    assert not same("555", "4210_{5}")


# Decorations.
@pytest.mark.parametrize("pred", [
    "5 \\text{ cm}", "5\\text{ inches}^2", "5^\\circ", "5^{\\circ}", "\\$5", "$5$", "\\textbf{5}",
    "**5**", "\\boxed{5}", "\\left( 5 \\right)", "5\\!", "5.", "\\text{5}", "5 \\mbox{ dollars}",
])
def test_decorations_are_ignored(pred):
    assert same(pred, "5")


def test_percent_and_dollar_and_multiple_choice():
    assert same("10", "10\\%")
    assert same("C", "\\text{(C)}")
    assert same("\\textbf{(C)} 12", "\\text{(C)}")
    assert not same("(D)", "\\text{(C)}")


# Equations.
def test_variable_assignment_equals_its_value():
    assert same("x = 3", "3")
    assert same("3", "x=3")
    assert same("k = 3", "x = 3")
    assert same("(b, c) = (6, 5)", "(6,5)")
    assert same("\\frac{28}{4} = 7", "7")
    assert same("x^3 = 12", "12")


def test_equations_with_swapped_sides_or_reordered_terms_are_equal():
    assert same("y = 1 + 2x", "y = 2x + 1")
    assert same("2x + 1 = y", "y = 2x + 1")
    assert same("x^2 + y^2 = 13", "y^2 + x^2 = 13")


def test_different_equations_are_not_equal_and_do_not_collapse_to_zero():
    assert not same("x + y = 1", "x - y = 1")
    assert not same("-3x + 5y - 9z - 4 = 0", "5x - 7y + 11z + 4 = 0")
    assert not same("2 = 2", "3 = 3")


# Parsing traps.
def test_letters_are_not_a_commutative_product():
    assert not same("QXLS", "LQSX")
    assert same("Devon", "\\text{Devon}")
    assert not same("odd", "even")


def test_mixed_numbers_and_imaginary_unit():
    assert same("2\\frac12", "\\frac{5}{2}")
    assert same("2\\frac{1}{2}", "2.5")
    assert same("2\\frac{\\pi}{3}", "\\frac{2\\pi}{3}")
    assert same("i^2", "-1")
    assert same("3 - 4i", "3-4i")
    assert not same("3 + 4i", "3-4i")
    assert same("\\sqrt{-4}", "2i")


def test_fallback_on_a_failed_parse_does_not_grab_a_number():
    assert not same("1-1/e", "1+1/e")
    assert same("1 - \\frac{1}{e}", "1-1/e")


def test_symbolic_identities():
    assert same("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}")
    assert same("\\sin^2 x + \\cos^2 x", "1")
    assert same("(x+1)^2", "x^2 + 2x + 1")
    assert not same("(x+1)^2", "x^2 + 1")
    assert same("\\frac{8-7x}{6}", "\\frac{4}{3} - \\frac{7x}{6}")


# Form requirements stated in the problem.
def test_common_fraction_must_be_reduced_without_decimals():
    problem = "What is $x$? Express your answer as a common fraction."
    assert same("\\frac{24}{125}", "\\frac{24}{125}", problem)
    assert not same("\\frac{72}{375}", "\\frac{24}{125}", problem)
    assert not same("0.192", "\\frac{24}{125}", problem)
    assert not same("\\frac{10.5}{2}", "\\frac{21}{4}", problem)
    assert same("\\frac{72}{375}", "\\frac{24}{125}")  # without the problem, the value is graded


def test_lowest_terms_and_improper_fraction():
    assert not same("\\frac{411}{333}", "\\frac{137}{111}", "Express $1.\\overline{234}$ as an improper fraction.")
    assert not same("3\\frac{6}{11}", "\\frac{39}{11}", "Write it in lowest terms.")
    assert same("\\frac{39}{11}", "\\frac{39}{11}", "Write it in lowest terms.")


def test_simplest_radical_form():
    problem = "Express your answer in simplest radical form."
    assert not same("4\\sqrt{117}", "12\\sqrt{13}", problem)
    assert same("12\\sqrt{13}", "12\\sqrt{13}", problem)
    assert not same("\\frac{2}{\\sqrt{3}+1}", "\\sqrt{3}-1", "Simplify and rationalize the denominator.")


def test_coefficient_conditions_fix_sign_and_scale():
    problem = ("Enter your answer in the form $Ax + By + Cz + D = 0$, where $A > 0$ and "
               "$\\gcd(|A|,|B|,|C|,|D|) = 1$.")
    gold = "5x - 7y + 11z + 4 = 0"
    assert same("5x - 7y + 11z = -4", gold, problem)
    assert not same("-5x + 7y - 11z - 4 = 0", gold, problem)
    assert not same("10x - 14y + 22z + 8 = 0", gold, problem)
    assert same("-5x + 7y - 11z - 4 = 0", gold)


def test_equation_asked_for():
    problem = 'Enter the equation of this line in the form "$y = mx + b$".'
    assert not same("-2x", "y = -2x", problem)
    assert same("y = -2x", "y = -2x", problem)


def test_separated_by_commas_rules_out_plus_minus():
    problem = "Enter all the solutions, separated by commas."
    gold = "4 + i, 4 - i"
    assert not same("4 \\pm i", gold, problem)
    assert same("4 - i, 4 + i", gold, problem)


def test_single_fraction_and_simplify():
    assert not same("-\\frac{7x}{6}+\\frac{4}{3}", "\\frac{8-7x}{6}", "Express your answer as a single fraction.")
    assert not same("\\frac{1}{\\sin x \\cos x} - \\tan x", "\\cot x", "Simplify the expression.")
    assert same("\\cot x", "\\cot x", "Simplify the expression.")


def test_rounding_to_a_place_compares_the_rounded_decimal():
    problem = "Express your answer as a decimal to the nearest tenth."
    assert same("3.50", "3.5", problem)
    assert not same("3.47", "3.5", problem)
    assert not same("\\frac{7}{2}", "3.5", problem)
    assert same("\\frac{7}{2}", "3.5")


def test_base_asked_for_compares_digits_not_values():
    problem = "Express your answer in base 5."
    assert same("4210_5", "4210", problem)
    assert not same("555", "4210", problem)
    assert not same("4210_6", "4210_5", problem)


def test_interval_notation_asked_for_rules_out_inequalities():
    problem = "Express your answer in interval notation."
    assert not same("x > 1", "(1,\\infty)", problem)
    assert same("(1, \\infty)", "(1,\\infty)", problem)
    assert same("x > 1", "(1,\\infty)")


def test_inverse_trig_notation():
    assert same("\\tan^{-1}(2)", "\\arctan 2")
    assert not same("\\tan^{-1}(2)", "\\frac{1}{\\tan 2}")


def test_ratios_and_clock_times():
    assert same("2:4", "1:2")
    assert not same("\\frac{1}{2}", "1:2")
    assert not same("2:1", "1:2")
    assert same("16:51:06", "4\\!:\\!51\\!:\\!06 \\text{ p.m.}")
    assert not same("4:51:06", "4\\!:\\!51\\!:\\!06 \\text{ p.m.}")  # a time without p.m. is another time
    assert not same("3:51:06", "4:51:06")
