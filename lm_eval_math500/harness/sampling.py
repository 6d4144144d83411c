"""Several samples per problem: pass@k and majority votes over equivalent answers.

With ``repeats`` = n (the task's setting, or ``--metadata '{"repeats": n}'``) the task's ``accuracy``
is avg@n (the mean over problems of each problem's share of right samples) with its standard
error. On top of it, per problem:

- ``pass@k``: the unbiased estimator of Chen et al. (2021), 1 - C(n-c, k) / C(n, k) with c right
  samples of n, for k = 1, 2, 4, ... and n itself.
- ``maj@k``: the majority vote of the first k samples (k on the same ladder) is right. Answers vote
  together when the grader finds them equal, not only when their strings match: every answer equal
  to the gold is in one class, and each other answer joins the first earlier class whose first
  answer it equals (:func:`~lm_eval_math500.grader.equivalence.same_in_process`). A sample without
  an answer does not vote. A tie goes to the class whose first answer came earliest in sampling
  order; no answer at all is a wrong vote.
- ``maj_avg@k`` (computed by the report, not logged per run): the same vote averaged over every
  k-subset of the n samples, so it does not depend on the order they were drawn in; a tie between
  classes counts as the right class's share of the tie (the expected value of a random tie-break).
  Exact by enumeration where the subsets are few, else a seeded Monte-Carlo over random k-subsets,
  whose standard error is given with it.

Under the first-k rule two samples either agree or tie, and the tie goes to the first, so maj@2 is
maj@1 whenever the first sample has an answer; averaged over subsets with ties split, maj@2 is
avg@n, like maj@1.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from lm_eval_math500.grader.equivalence import same_in_process

CORRECT = 0  # the class of answers equal to the gold
NO_ANSWER = -1  # a sample without an answer: no vote
# maj_avg@k enumerates every k-subset up to this many, else draws this many at random with this seed.
EXACT_SUBSETS = 5_000
MONTE_CARLO_DRAWS = 1_000
MONTE_CARLO_SEED = 0


def ladder(n: int) -> list[int]:
    """The k reported for n samples: powers of two below n, then n."""
    return [2**i for i in range(max(n - 1, 0).bit_length()) if 2**i < n] + [n]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chance that at least one of k samples drawn without replacement from n (c right) is right."""
    if not 0 < k <= n or not 0 <= c <= n:
        raise ValueError(f"pass@{k} needs 0 < k <= n and 0 <= c <= n (n={n}, c={c})")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def answer_classes(answers: Sequence[str | None], correct: Sequence[bool]) -> list[int]:
    """The vote class of each sample: ``CORRECT``, ``NO_ANSWER`` or a wrong class numbered 1, 2, ...

    Wrong answers are grouped by identical text first, then by the grader's in-process equality
    with each earlier class's first answer, so the cost grows with the distinct answers, not n.
    """
    labels: dict[str, int] = {}
    first_of_class: list[str] = []
    classes = []
    for answer, right in zip(answers, correct, strict=True):
        if right:
            classes.append(CORRECT)
        elif not answer:
            classes.append(NO_ANSWER)
        else:
            if answer not in labels:
                match = next((i for i, first in enumerate(first_of_class) if same_in_process(answer, first)), None)
                if match is None:
                    first_of_class.append(answer)
                    match = len(first_of_class) - 1
                labels[answer] = match + 1
            classes.append(labels[answer])
    return classes


def majority(classes: Sequence[int]) -> int | None:
    """The index of the first sample of the winning class (ties: earliest class), None without votes."""
    votes = Counter(c for c in classes if c != NO_ANSWER)
    if not votes:
        return None
    first = {}
    for index, c in enumerate(classes):
        first.setdefault(c, index)
    winner = max(votes, key=lambda c: (votes[c], -first[c]))
    return first[winner]


def sampling_scores(answers: Sequence[str | None], correct: Sequence[bool]) -> dict[str, float]:
    """``pass@k`` and ``maj@k`` of one problem for every k of :func:`ladder`; nothing for one sample."""
    n = len(answers)
    if n < 2:
        return {}
    right = sum(correct)
    classes = answer_classes(answers, correct)
    scores: dict[str, float] = {}
    for k in ladder(n):
        scores[f"pass@{k}"] = pass_at_k(n, right, k)
    for k in ladder(n):
        winner = majority(classes[:k])
        scores[f"maj@{k}"] = float(winner is not None and classes[winner] == CORRECT)
    return scores


@dataclass(frozen=True)
class SubsetVote:
    """The majority vote over k-subsets of one problem's samples (``maj_avg@k``).

    Attributes:
        value: the mean over k-subsets of the right class's share of the vote's winners.
        stderr: the Monte-Carlo standard error of ``value`` (0 when every subset was counted).
        exact: whether every k-subset was counted.
    """

    value: float
    stderr: float
    exact: bool


def subset_vote(classes: Sequence[int], k: int, rng: np.random.Generator | None = None) -> SubsetVote:
    """``maj_avg@k`` of one problem from its samples' vote classes (:func:`answer_classes`).

    Counts every k-subset when there are at most :data:`EXACT_SUBSETS`, else draws
    :data:`MONTE_CARLO_DRAWS` random ones from ``rng`` (default: seeded with :data:`MONTE_CARLO_SEED`).
    """
    n = len(classes)
    if not 0 < k <= n:
        raise ValueError(f"maj_avg@{k} needs 0 < k <= n (n={n})")
    labels = np.asarray(classes)
    right = int((labels == CORRECT).sum())
    if right == 0:
        return SubsetVote(0.0, 0.0, True)
    if not (labels > CORRECT).any():  # only right answers vote: a subset is right when it holds one
        return SubsetVote(pass_at_k(n, right, k), 0.0, True)
    sizes = np.bincount(labels + 1)  # votes per class: NO_ANSWER, CORRECT, then the wrong classes
    if math.comb(n, k) <= EXACT_SUBSETS:
        chosen = (labels + 1)[_all_subsets(n, k)] + len(sizes) * np.arange(math.comb(n, k))[:, None]
        votes = np.bincount(chosen.ravel(), minlength=chosen.shape[0] * len(sizes)).reshape(-1, len(sizes))
        return SubsetVote(float(_right_shares(votes).mean()), 0.0, True)
    # The class counts of a uniform k-subset follow the multivariate hypergeometric distribution.
    rng = rng if rng is not None else np.random.default_rng(MONTE_CARLO_SEED)
    shares = _right_shares(rng.multivariate_hypergeometric(sizes, k, size=MONTE_CARLO_DRAWS))
    return SubsetVote(float(shares.mean()), float(shares.std(ddof=1) / math.sqrt(len(shares))), False)


@functools.lru_cache(maxsize=64)
def _all_subsets(n: int, k: int) -> np.ndarray:
    return np.array(list(combinations(range(n), k)), dtype=np.intp).reshape(-1, k)


def _right_shares(votes: np.ndarray) -> np.ndarray:
    """For each row of class counts (NO_ANSWER, CORRECT, wrong classes...), the right class's share
    of the classes with the most votes; 0 where no sample has an answer."""
    votes = votes.copy()
    votes[:, 0] = 0  # a sample without an answer does not vote
    top = votes.max(axis=1)
    winners = votes == top[:, None]
    return np.where(top > 0, winners[:, 1] / winners.sum(axis=1), 0.0)


def sampling_metrics(n: int) -> list[str]:
    """The names :func:`sampling_scores` gives for n samples per problem, for the task to declare."""
    return [f"{name}@{k}" for name in ("pass", "maj") for k in ladder(n)] if n > 1 else []
