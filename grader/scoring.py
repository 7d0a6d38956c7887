"""Scoring of learning curves and runs: pure functions over arrays, no I/O.

Single RL runs are noisy, so scores aggregate several runs robustly (interquartile mean,
k of n) and report a bootstrap 95% confidence interval, as rliable recommends.
"""
import numpy as np
from scipy import stats as sps


def iqm(values, axis=None):
    """Interquartile mean: the mean of the middle half, ``scipy.stats.trim_mean(values, 0.25)`` (``n // 4`` values
    cut at each end: with fewer than four there is nothing to cut, and it is the plain mean). ``values: (num_runs,)``
    gives a float; with ``axis``, an array of them (the dashboard's bootstrap over students)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        raise ValueError("iqm of no values")
    if axis is None:
        return float(sps.trim_mean(values.ravel(), 0.25))
    return sps.trim_mean(values, 0.25, axis=axis)


def bootstrap_ci(values: np.ndarray, statistic=iqm, *, rng: np.random.Generator,
                 resamples: int = 2000, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of ``statistic`` over ``values: (num_runs,)``
    (``scipy.stats.bootstrap``; ``statistic`` takes ``axis``, as ``iqm`` does). One value has no spread: its
    interval is the value itself."""
    values = np.asarray(values, dtype=float)
    if values.size < 2 or np.all(values == values[0]):
        center = float(statistic(values))
        return center, center
    result = sps.bootstrap((values,), statistic, n_resamples=resamples, confidence_level=level,
                           method="percentile", vectorized=True, random_state=rng)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def tier_fraction(center: float, tiers) -> float:
    """The credit of the best tier (``min_iqm``, ``credit``) that ``center`` reaches, 0 below every tier."""
    ranked = sorted(((t.min_iqm, t.credit) for t in tiers), reverse=True)
    return next((credit for bound, credit in ranked if center >= bound), 0.0)


def runs_passing(values: np.ndarray, threshold: float) -> int:
    """How many of ``values: (num_runs,)`` reach ``threshold`` (higher is better)."""
    return int(np.sum(np.asarray(values, dtype=float) >= threshold))


def k_of_n_fraction(passing: int, required: int) -> float:
    """Credit in [0, 1] for ``passing`` runs when ``required`` earn full credit: linear tiers."""
    if required <= 0:
        raise ValueError("required must be positive")
    return float(min(passing, required)) / required


def moving_average(returns: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean of ``returns: (num_episodes,)`` over ``window`` episodes; same length."""
    returns = np.asarray(returns, dtype=float)
    if len(returns) == 0:
        return returns
    cumsum = np.cumsum(np.insert(returns, 0, 0.0))
    out = np.empty_like(returns)
    for i in range(len(returns)):
        lo = max(0, i + 1 - window)
        out[i] = (cumsum[i + 1] - cumsum[lo]) / (i + 1 - lo)
    return out
