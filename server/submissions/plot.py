"""Learning curves as chart data for Chart.js (static/bellman-charts.js): pure numbers, no I/O."""
import numpy as np

from grader.scoring import moving_average


def curve_chart(curves: list[dict], *, window: int = 10, threshold: float | None = None) -> dict | None:
    """``curves`` (each ``{"label", "episode_returns": (num_episodes,)}``) smoothed by a moving average,
    with their mean across runs: ``{"kind": "curves", "episodes", "runs": [{"label", "values"}], "mean",
    "threshold"}``; None when there is nothing to draw."""
    series = [(c.get("label", ""), np.asarray(c.get("episode_returns", []), dtype=float)) for c in curves]
    series = [(label, s) for label, s in series if len(s)]
    if not series:
        return None
    smoothed = [(label, moving_average(s, window)) for label, s in series]
    longest = max(len(s) for _, s in smoothed)
    stacked = np.full((len(smoothed), longest), np.nan)
    for row, (_, s) in enumerate(smoothed):
        stacked[row, :len(s)] = s
    return {
        "kind": "curves", "episodes": list(range(1, longest + 1)),
        "runs": [{"label": label, "values": [round(float(v), 2) for v in s]} for label, s in smoothed],
        "mean": [round(float(v), 2) for v in np.nanmean(stacked, axis=0)],
        "threshold": threshold, "x": "training episode", "y": f"return (moving average over {window})",
    }
