"""95% intervals for the numbers reports and comparisons show.

A share of single right/wrong outcomes gets the Wilson score interval; a mean of per-problem
shares (avg@n with several samples, pass@k, maj@k) gets a percentile bootstrap over problems,
so the samples of one problem are resampled together. Both are computed here with numpy: importing
scipy.stats for them would cost a report more than a second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import math

import numpy as np

CONFIDENCE = 0.95
_Z = 1.959963984540054  # the standard normal quantile at 1 - (1 - CONFIDENCE) / 2
BOOTSTRAP_RESAMPLES = 2_000
BOOTSTRAP_SEED = 0


def wilson(successes: int, total: int) -> tuple[float, float]:
    """The 95% Wilson score interval of ``successes`` out of ``total`` (``(0, 1)`` for none)."""
    if total == 0:
        return 0.0, 1.0
    share, z2 = successes / total, _Z * _Z
    centre = (share + z2 / (2 * total)) / (1 + z2 / total)
    half = _Z * math.sqrt(share * (1 - share) / total + z2 / (4 * total * total)) / (1 + z2 / total)
    # At 0 or ``total`` successes an end is the share itself, which round-off must not cross.
    return (0.0 if successes == 0 else min(share, centre - half)), (1.0 if successes == total else max(share, centre + half))


def bootstrap_means(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% percentile bootstrap intervals of the column means of ``values`` (problems x columns),
    resampling problems (rows); a column without spread gets its mean as both ends."""
    values = np.asarray(values, dtype=float)
    flat = values.ndim == 1
    values = values.reshape(len(values), -1)
    low, high = values.mean(axis=0), values.mean(axis=0)
    spread = np.ptp(values, axis=0) > 0
    if len(values) > 1 and spread.any():
        rows = np.random.default_rng(BOOTSTRAP_SEED).integers(0, len(values), (BOOTSTRAP_RESAMPLES, len(values)))
        varied = values[:, spread]
        chunk = max(1, 2**22 // varied.size)  # resamples at a time: about 32 MB of gathered values
        means = np.concatenate([varied[rows[at : at + chunk]].mean(axis=1) for at in range(0, len(rows), chunk)])
        tail = 100 * (1 - CONFIDENCE) / 2
        low[spread], high[spread] = np.percentile(means, [tail, 100 - tail], axis=0)
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
