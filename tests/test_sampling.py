"""Sampling statistics: pass@k, majority votes over equivalent answers, the k ladder."""

from __future__ import annotations

import math
from collections import Counter
from itertools import combinations

import pytest

from lm_eval_math500.harness.sampling import (
    CORRECT,
    EXACT_SUBSETS,
    NO_ANSWER,
    answer_classes,
    ladder,
    majority,
    pass_at_k,
    sampling_metrics,
    sampling_scores,
    subset_vote,
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


def vote_share_by_enumeration(classes: list[int], k: int) -> float:
    """maj_avg@k counted directly: over every k-subset, the right class's share of the top classes."""
    shares = []
    for subset in combinations(range(len(classes)), k):
        votes = Counter(classes[i] for i in subset if classes[i] != NO_ANSWER)
        top = max(votes.values(), default=0)
        winners = [c for c, v in votes.items() if v == top] if top else []
        shares.append(winners.count(CORRECT) / len(winners) if winners else 0.0)
    return sum(shares) / len(shares)


@pytest.mark.parametrize(
    "classes",
    [
        [CORRECT, 1, 1, CORRECT, CORRECT],
        [NO_ANSWER, CORRECT, 1, 2, 2, CORRECT, NO_ANSWER, 3],
        [CORRECT, NO_ANSWER, NO_ANSWER, NO_ANSWER],  # only right answers vote: pass@k
        [1, 2, 2, NO_ANSWER],  # no right answer
        [CORRECT, 1] * 5,
    ],
)
def test_subset_vote_is_the_mean_over_every_k_subset(classes):
    for k in range(1, len(classes) + 1):
        vote = subset_vote(classes, k)
        assert vote.exact and vote.stderr == 0
        assert vote.value == pytest.approx(vote_share_by_enumeration(classes, k))


def test_subset_vote_of_one_and_two_samples_is_the_share_right_when_all_answer():
    classes = [CORRECT, 1, 2, CORRECT, 1, 1, CORRECT]
    assert subset_vote(classes, 1).value == pytest.approx(3 / 7) == subset_vote(classes, 2).value
    # First-k: the tie at two samples goes to the first, so maj@2 is maj@1.
    assert [sampling_scores(["a", "b"], [first, not first])["maj@2"] for first in (True, False)] == [1.0, 0.0]


def test_subset_vote_estimates_many_subsets_by_seeded_monte_carlo():
    """64 samples: C(64, 16) subsets are too many to count; the estimate is within its error of the
    exact value, which a problem with one wrong class allows to compute from the hypergeometric law."""
    from scipy.stats import hypergeom

    classes = [CORRECT] * 30 + [1] * 34
    vote = subset_vote(classes, 16)
    assert not vote.exact and 0 < vote.stderr < 0.02
    # 16 samples: right wins with 9 or more, ties at 8 share the vote
    exact = hypergeom(64, 30, 16).sf(8) + 0.5 * hypergeom(64, 30, 16).pmf(8)
    assert abs(vote.value - exact) < 4 * vote.stderr
    assert subset_vote(classes, 16) == vote  # seeded: the same estimate every time
    assert math.comb(64, 16) > EXACT_SUBSETS >= math.comb(64, 2)
