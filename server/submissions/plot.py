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


MAX_ROWS = 25  # a table of a long series shows this many rows, evenly spread, the last one included


def _spread(indices: list[int]) -> list[int]:
    if len(indices) <= MAX_ROWS:
        return indices
    step = (len(indices) - 1) / (MAX_ROWS - 1)
    return sorted({indices[round(i * step)] for i in range(MAX_ROWS)})


def chart_table(chart: dict) -> dict:
    """What ``chart`` (curve_chart's, or a dashboard's) draws as ``{"headers": [...], "rows": [[...], ...]}``: the
    text alternative of the canvas for a screen reader, or anyone who wants the numbers."""
    kind = chart.get("kind")
    if kind == "curves":
        rows = [[run["label"], len(run["values"]), run["values"][0], run["values"][-1], max(run["values"])]
                for run in chart["runs"] if run["values"]]
        mean = chart["mean"]
        rows.append(["mean of runs", len(mean), mean[0], mean[-1], max(mean)])
        return {"headers": ["run", "episodes", "first return (smoothed)", "last return (smoothed)", "best"],
                "rows": rows}
    if kind == "band":
        picked = _spread(list(range(len(chart["episodes"]))))
        return {"headers": [chart["x"], "IQM across students", "95% band, low", "95% band, high"],
                "rows": [[chart["episodes"][i], chart["iqm"][i], chart["low"][i], chart["high"][i]] for i in picked]}
    if kind == "hourly":
        busy = [i for i, n in enumerate(chart["counts"]) if n]
        rows = [[chart["labels"][i], chart["counts"][i]] for i in busy]
        return {"headers": ["hour (hours without a submission left out)", "submissions"], "rows": rows}
    return {"headers": [chart.get("x", ""), chart.get("y", "")],
            "rows": [[label, count] for label, count in zip(chart["labels"], chart["counts"], strict=False)]}
