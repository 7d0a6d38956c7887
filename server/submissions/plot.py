"""Learning curves as SVG polylines: pure geometry, no I/O."""
import numpy as np

from grader.scoring import moving_average


def curve_paths(curves: list[dict], *, width: int = 640, height: int = 240, pad: int = 36,
                window: int = 10, threshold: float | None = None) -> dict:
    """Scale ``curves`` (each ``{"label", "episode_returns": (num_episodes,)}``) into SVG coordinates.

    Returns per-run smoothed polylines, the mean across runs, axis bounds and the threshold's y.
    """
    series = [np.asarray(c.get("episode_returns", []), dtype=float) for c in curves]
    series = [s for s in series if len(s)]
    if not series:
        return {}
    smoothed = [moving_average(s, window) for s in series]
    longest = max(len(s) for s in smoothed)
    values = np.concatenate(smoothed + ([np.array([threshold])] if threshold is not None else []))
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1

    def x(i):
        return pad + (width - 2 * pad) * (i / max(1, longest - 1))

    def y(v):
        return height - pad - (height - 2 * pad) * ((v - lo) / (hi - lo))

    def points(s):
        return " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s))

    stacked = np.full((len(smoothed), longest), np.nan)
    for row, s in enumerate(smoothed):
        stacked[row, :len(s)] = s
    mean = np.nanmean(stacked, axis=0)
    return {
        "width": width, "height": height, "pad": pad, "runs": [
            {"label": c.get("label", ""), "points": points(s)} for c, s in zip(curves, smoothed)],
        "mean": points(mean), "lo": round(lo, 1), "hi": round(hi, 1), "episodes": longest,
        "threshold_y": round(y(threshold), 1) if threshold is not None else None, "threshold": threshold,
        "x_end": width - pad, "y_base": height - pad,
    }
