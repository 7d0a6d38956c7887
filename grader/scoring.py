"""Scoring of learning curves and runs: pure functions over arrays, no I/O.

Single RL runs are noisy, so scores aggregate several runs robustly (interquartile mean,
k of n) and report a bootstrap 95% confidence interval, as rliable recommends.
"""
import numpy as np


def iqm(values: np.ndarray) -> float:
    """Interquartile mean of ``values: (num_runs,)``: the mean of the middle 50%.

    With fewer than four values there is no interquartile range to speak of and the
    plain mean is returned.
    """
    values = np.sort(np.asarray(values, dtype=float))
    n = len(values)
    if n == 0:
        raise ValueError("iqm of no values")
    if n < 4:
        return float(values.mean())
    cut = n // 4
    return float(values[cut:n - cut].mean())


def bootstrap_ci(values: np.ndarray, statistic=iqm, *, rng: np.random.Generator,
                 resamples: int = 2000, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of ``statistic`` over ``values: (num_runs,)``."""
    values = np.asarray(values, dtype=float)
    idx = rng.integers(0, len(values), size=(resamples, len(values)))
    stats = np.array([statistic(values[row]) for row in idx])
    alpha = (1 - level) / 2
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))


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
