"""95% intervals for the numbers reports and comparisons show.

A share of single right/wrong outcomes gets the Wilson score interval; a mean of per-problem
shares (avg@n with several samples, pass@k, maj@k) gets a percentile bootstrap over problems,
so the samples of one problem are resampled together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import binomtest, bootstrap

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2_000
BOOTSTRAP_SEED = 0


def wilson(successes: int, total: int) -> tuple[float, float]:
    """The 95% Wilson score interval of ``successes`` out of ``total`` (``(0, 1)`` for none)."""
    if total == 0:
        return 0.0, 1.0
    low, high = binomtest(successes, total).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return float(low), float(high)


def bootstrap_means(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% percentile bootstrap intervals of the column means of ``values`` (problems x columns),
    resampling problems (rows); a column without spread gets its mean as both ends."""
    values = np.asarray(values, dtype=float)
    flat = values.ndim == 1
    values = values.reshape(len(values), -1)
    low, high = values.mean(axis=0), values.mean(axis=0)
    spread = np.ptp(values, axis=0) > 0
    if len(values) > 1 and spread.any():
        result = bootstrap(
            (values[:, spread],),
            np.mean,
            axis=0,
            vectorized=True,
            n_resamples=BOOTSTRAP_RESAMPLES,
            confidence_level=CONFIDENCE,
            method="percentile",
            rng=np.random.default_rng(BOOTSTRAP_SEED),
        )
        low[spread], high[spread] = result.confidence_interval.low, result.confidence_interval.high
    return (low[0], high[0]) if flat else (low, high)


def mean_interval(shares: Sequence[float], samples_per_problem: int) -> tuple[float, float]:
    """The 95% interval of a mean of per-problem shares: Wilson with one sample per problem,
    else the bootstrap over problems."""
    if samples_per_problem == 1:
        return wilson(round(sum(shares)), len(shares))
    low, high = bootstrap_means(np.asarray(shares))
    return float(low), float(high)


def interval_name(samples_per_problem: int) -> str:
    """How :func:`mean_interval` computed its interval, for legends and tables."""
    return "95% Wilson interval" if samples_per_problem == 1 else "95% bootstrap interval over problems"


def verdict_cell(cell: Mapping[str, float]) -> str:
    """A mean and its standard error as the run's results table prints them: ``0.052 ± 0.010``."""
    return f"{cell['mean']:.3f} ± {cell['stderr']:.3f}"
