"""The profile of a fit's objective (``FitResult.diagnostics["profile"]``, ``optimal.fitting.profile``): for each
parameter held on a grid and the others refitted, the objective's rise over the best, against the 95%
likelihood-ratio threshold, with the range within it shaded. It draws what the fit holds and computes nothing.
"""

import numpy as np


def profile_figure(fit):
    """One panel per profiled parameter: the refitted objective's relative rise ``S / S_best - 1`` (%) against the
    parameter's value (log axis for a positive one), the threshold as a dashed line, the range within it shaded,
    the estimate marked, a refit that stopped before converging drawn hollow (an upper bound); a title names the parameters not identified or unbounded.

    Returns a ``matplotlib.figure.Figure``. Raises ``PlotError`` for a fit without a profile (a record written
    before profiles were made)."""
    from ..errors import PlotError
    from .figures import NotebookFigure

    diagnostics = fit.diagnostics or {}
    profiles = diagnostics.get("profile")
    if not profiles:
        raise PlotError("this fit has no profile of its objective (refit it with this version: optimal fit ... --save)")
    threshold = 100 * diagnostics["profile_threshold"]["relative"]
    fig = NotebookFigure(figsize=(4 * len(profiles), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(profiles)))
    for ax, (name, item) in zip(axes, profiles.items()):
        grid = np.asarray(item["grid"], float)
        rise = 100 * (np.asarray([np.nan if v is None else v for v in item["objective"]], float) / fit.objective - 1)
        ax.plot(grid, rise, "o-", color="tab:blue")
        stopped = np.isin(grid, np.asarray(item.get("upper_bounds", []), float))
        if stopped.any():  # a refit that stopped before converging: its rise is an upper bound
            ax.plot(grid[stopped], rise[stopped], "o", mfc="white", color="tab:blue", label="refit stopped (upper bound)")
        ax.axhline(threshold, ls="--", color="tab:red", label=f"95% threshold ({threshold:.2g}%)")
        lo, hi = item["range"]
        ax.axvspan(lo, hi, color="tab:green", alpha=0.15, label="within threshold")
        ax.axvline(item["estimate"], color="k", lw=0.8, label=f"estimate {item['estimate']:.4g}")
        if np.all(grid > 0) and grid.max() > 30 * grid.min():
            from matplotlib.ticker import NullFormatter

            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
        finite = rise[np.isfinite(rise)]
        ax.set_ylim(-0.05 * threshold, max(4 * threshold, min(float(finite.max(initial=threshold)), 10 * threshold)))
        status = " (not identified)" if name in diagnostics.get("not_identified", []) else ""
        if item.get("unbounded"):
            status += f" unbounded {item['unbounded']}"
        ax.set_title(f"{name}{status}", fontsize=10)
        ax.set_xlabel(f"{name} held at")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("objective over the best (%)")
    fig.suptitle(f"profile of the objective ({diagnostics['profile_threshold']['n_runs']} runs)", fontsize=11)
    return fig
