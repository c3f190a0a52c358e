"""The one percentile interval: every bootstrap interval in ``optimal`` (and its benchmarks) is computed here.

A ``confidence`` interval of draws is the equal-tailed percentile interval: the ``100 (1 - confidence) / 2`` and
``100 (1 + confidence) / 2`` percentiles (NumPy's default linear interpolation), in the draws' own units.
"""

import numpy as np


def percentile_bounds(draws, confidence, axis=0, skip_nan=False):
    """The ``confidence`` percentile interval ``(lo, hi)`` of ``draws`` along ``axis``.

    ``draws``: array-like, any shape; ``lo`` and ``hi`` have its shape without ``axis`` (floats for 1-D draws).
    ``skip_nan``: ignore NaN draws (``np.nanpercentile``) instead of letting a NaN make the bounds NaN.
    """
    tail = 100 * (1 - confidence) / 2
    percentile = np.nanpercentile if skip_nan else np.percentile
    return tuple(percentile(draws, [tail, 100 - tail], axis=axis))


def few_draws_message(n_draws, confidence):
    """The warning for ``n_draws`` draws too few for a ``confidence`` percentile interval, or None: when each tail's
    share ``(1 - confidence) / 2`` is below ``1 / (n_draws + 1)`` (the most extreme quantile that many draws
    resolve), the bounds are the extreme draws and the interval is narrower than its level says."""
    if n_draws < 2 or (1 - confidence) / 2 >= 1 / (n_draws + 1):
        return None
    needed = int(np.ceil(2 / (1 - confidence) - 1)) if confidence < 1 - 1e-12 else None
    tail = 100 * (1 - confidence) / 2
    return (f"{n_draws} draws cannot support {100 * confidence:g}% intervals: each tail's {tail:.3g}% "
            f"is less than one draw in {n_draws + 1}, so the bounds are the extreme draws and narrower than the level "
            "says; " + (f"use at least {needed:,} resamples or " if needed is not None and needed <= 10**7 else "")
            + "a lower confidence")


def interval(draws, confidence):
    """``{lo, hi, se}``: the percentile interval and the standard deviation of 1-D ``draws`` (None with < 2, and
    an ``se`` that overflows float64 is None too)."""
    if len(draws) < 2:
        return {"lo": None, "hi": None, "se": None}
    lo, hi = percentile_bounds(draws, confidence)
    with np.errstate(over="ignore", invalid="ignore"):
        se = float(np.std(draws, ddof=1))
    return {"lo": float(lo), "hi": float(hi), "se": se if np.isfinite(se) else None}


def unbounded_interval(draws, confidence):
    """``{lo, hi, se}`` of draws in which +inf stands for "unreachable": a bound that depends on an unreachable
    draw is None (unbounded), never computed from the reachable draws alone (that would narrow it)."""
    draws = np.asarray(draws, dtype=np.float64)
    finite = np.isfinite(draws)
    if finite.all():
        return interval(draws, confidence)
    if len(draws) < 2 or not finite.any():
        return {"lo": None, "hi": None, "se": None}
    top = draws[finite].max()
    stand_in = np.where(finite, draws, 10 * abs(top) + 1)  # above every finite draw: same ranks as +inf
    lo, hi = percentile_bounds(stand_in, confidence)
    return {"lo": float(lo) if lo <= top else None, "hi": float(hi) if hi <= top else None, "se": None}


def figure_intervals(per_draw: dict, confidence) -> tuple:
    """``(intervals, flat)`` of figures computed for every bootstrap draw: ``per_draw`` is ``{name: (draws,) array}``
    (+inf for a draw with no finite figure); ``intervals`` is ``{name: {lo, hi, se}}`` (``unbounded_interval``) for each figure the draws move, and ``flat`` the names every draw gives alike (within
    1e-9 relative): those have no interval, and the caller says so rather than print one of zero width."""
    intervals, flat = {}, []
    for name, values in per_draw.items():
        values = np.ravel(np.asarray(values, dtype=np.float64))
        finite = values[np.isfinite(values)]
        if finite.size == values.size and (finite.size == 0 or np.ptp(finite) <= 1e-9 * np.max(np.abs(finite))):
            flat.append(name)
        else:
            intervals[name] = unbounded_interval(values, confidence)
    return intervals, flat
