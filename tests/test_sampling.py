"""Sampling statistics: pass@k, majority votes over equivalent answers, the k ladder."""

from __future__ import annotations

from itertools import combinations

import pytest

from lm_eval_math500.harness.sampling import (
    CORRECT,
    NO_ANSWER,
    answer_classes,
    ladder,
    majority,
    pass_at_k,
    sampling_metrics,
    sampling_scores,
)


def pass_at_k_by_counting(n: int, c: int, k: int) -> float:
    """Share of the k-subsets of n samples (the first c right) that hold a right one."""
    subsets = list(combinations(range(n), k))
    return sum(any(i < c for i in subset) for subset in subsets) / len(subsets)


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_pass_at_k_is_the_share_of_k_subsets_with_a_right_sample(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(pass_at_k_by_counting(n, c, k))


def test_pass_at_k_refuses_impossible_counts():
    with pytest.raises(ValueError, match="0 < k <= n"):
        pass_at_k(4, 2, 5)


@pytest.mark.parametrize(
    "n,expected",
    [(1, [1]), (2, [1, 2]), (6, [1, 2, 4, 6]), (8, [1, 2, 4, 8]), (64, [1, 2, 4, 8, 16, 32, 64])],
)
def test_ladder(n, expected):
    assert ladder(n) == expected


@pytest.mark.parametrize(
    "answers,correct,expected",
    [
        # "0.5" and "\frac{1}{2}" are one wrong answer; the gold's class is CORRECT whatever its text
        (["0.5", "\\frac{1}{2}", "2", "4/2"], [False, False, True, True], [1, 1, CORRECT, CORRECT]),
        ([None, "x+1", "1+x", "3"], [False, False, False, False], [NO_ANSWER, 1, 1, 2]),
        (["7", "7", "7"], [True, True, True], [CORRECT] * 3),
    ],
)
def test_answers_the_grader_finds_equal_share_a_class(answers, correct, expected):
    assert answer_classes(answers, correct) == expected


@pytest.mark.parametrize(
    "classes,expected",
    [
        ([1, 1, CORRECT], 0),  # two wrong votes beat one right
        ([1, CORRECT, CORRECT, 1], 0),  # tie: the class sampled first wins
        ([CORRECT, 1, 1, CORRECT], 0),
        ([NO_ANSWER, 2, NO_ANSWER, 2, 1], 1),  # no answer never votes
        ([NO_ANSWER, NO_ANSWER], None),
    ],
)
def test_majority_winner_and_deterministic_ties(classes, expected):
    assert majority(classes) == expected


def test_sampling_scores_vote_on_equivalence_not_strings():
    # Right answers written three ways outvote a wrong string that occurs twice.
    answers = ["3", "3", "\\frac{1}{2}", "0.5", "1/2"]
    correct = [False, False, True, True, True]
    scores = sampling_scores(answers, correct)
    assert scores["maj@5"] == 1.0 and scores["maj@2"] == 0.0 and scores["maj@4"] == 0.0  # tie at 4: "3" came first
    assert scores["pass@1"] == pytest.approx(3 / 5) and scores["pass@5"] == 1.0
    assert sampling_scores(["1"], [True]) == {}


@pytest.mark.parametrize(
    "n,expected",
    [(1, []), (2, ["pass@1", "pass@2", "maj@1", "maj@2"]), (5, ["pass@1", "pass@2", "pass@4", "pass@5", "maj@1", "maj@2", "maj@4", "maj@5"])],
)
def test_the_metrics_a_task_declares_are_those_it_scores(n, expected):
    assert sampling_metrics(n) == expected
    assert sorted(sampling_scores(["1"] * n, [True] * n)) == sorted(expected)
