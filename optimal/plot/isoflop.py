"""The IsoFLOP figure: each budget's runs with its parabola and vertex, and N*(C) of both approaches with bands.

It draws an ``optimal.IsoflopResult`` and computes nothing of its own beyond evaluating what the result holds (the
parabolas' coefficients, G C^a for each bootstrap draw and its ``counted_interval``, the parametric law's allocations
via ``compute_optimal`` and ``allocations``). matplotlib is loaded with this module, which the command line imports
only for ``--plot``.

Example:
  >>> import optimal
  >>> from optimal.plot.isoflop import isoflop_figure
  >>> fig = isoflop_figure(optimal.isoflop(optimal.isoflop_runs(), parametric=False))
  >>> fig.savefig("isoflop.png")  # doctest: +SKIP
"""

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, LogNorm

import optimal
from optimal.errors import PlotError
from optimal.allocation.draws import allocations
from optimal._util.stats import percentile_bounds
from optimal.plot.figures import COMPUTE_LABEL, LOSS_LABEL, NotebookFigure, percent_label
from optimal._util.precision import float64_scope


@float64_scope
def isoflop_figure(result) -> "NotebookFigure":
    """Two panels for an ``IsoflopResult``.

    Left: loss (nats) against N (parameters, log axis) per budget, coloured by log C on a colour bar (any number of
    budgets): the runs (dots), the fitted parabola over the sizes tried (line), its vertex (star; an x in grey for a
    refused budget, whose vertex is not used).
    Right: N*(C) against C (FLOPs): the accepted vertices, Approach 2's G C^a (solid) with the band of its bootstrap
    draws, Approach 3's N* from the parametric law (dashed) with its bootstrap band, and the target budgets (dotted).

    Raises:
      PlotError: ``result`` is not an ``IsoflopResult``.
    """
    if not isinstance(result, optimal.IsoflopResult):
        raise PlotError(f"isoflop_figure draws an optimal.IsoflopResult, got {type(result).__name__}")
    fig = NotebookFigure(figsize=(13.0, 5.0), layout="constrained")
    left, right = fig.subplots(1, 2)
    _profiles_panel(left, result)
    _frontier_panel(right, result)
    return fig


def _profiles_panel(ax, result):
    """Each budget's runs, parabola and vertex, coloured by log C on a colour bar: any number of budgets fits (real
    runs grouped by k N D can give ~90), where a legend entry per budget would overflow and squash the panels."""
    n, _, loss, ids = result.data
    budgets = np.array([p.compute for p in result.profiles])
    lo, hi = budgets.min(), budgets.max()
    if lo == hi:  # one budget: a norm needs a span
        lo, hi = lo / 2.0, hi * 2.0
    norm = LogNorm(lo, hi)
    cmap = ListedColormap(colormaps["viridis"](np.linspace(0.0, 0.9, 256)))  # the yellow end is unreadable on white
    for g, profile in enumerate(result.profiles):
        colour = cmap(norm(profile.compute))
        rows = ids == g
        ax.scatter(n[rows], loss[rows], s=14, color=colour, zorder=3)
        if profile.coefficients is None:
            continue
        c0, c1, c2 = profile.coefficients
        x = np.linspace(np.log(profile.n_min), np.log(profile.n_max), 100)
        ax.plot(np.exp(x), c0 + c1 * x + c2 * x * x, color=colour, lw=1.3)
        if profile.extrapolated:  # the parabola's extrapolation to its vertex, dashed
            edge = profile.n_max if profile.n_opt > profile.n_max else profile.n_min
            x = np.linspace(np.log(edge), np.log(profile.n_opt), 50)
            ax.plot(np.exp(x), c0 + c1 * x + c2 * x * x, color=colour, lw=1.1, ls="--")
        if profile.n_opt is not None and profile.loss_opt is not None:
            ax.plot([profile.n_opt], [profile.loss_opt], marker="*" if profile.accepted else "x", ms=11,
                    color=colour if profile.accepted else "0.5", markeredgecolor="black", zorder=4)
    bar = ax.figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.01)
    bar.set_label(f"budget C (FLOPs; {len(budgets)} budgets)")
    ax.set(xscale="log", xlabel="parameters N", ylabel=LOSS_LABEL)
    ax.set_title("IsoFLOP profiles: parabolas in ln N, vertices\n"
                 "(stars; x: refused; dashed: extrapolated to a vertex)", fontsize=11)
    ax.grid(True, which="major", alpha=0.3)


def _frontier_panel(ax, result):
    accepted = result.accepted
    budgets = np.array([p.compute for p in result.profiles])
    targets = np.asarray(result.targets, dtype=np.float64)
    lo, hi = min(budgets.min(), targets.min()) / 2.0, max(budgets.max(), targets.max()) * 2.0
    compute = np.geomspace(lo, hi, 200)
    boot = result.bootstrap
    if boot is not None:  # the intervals the result reports: draws without a line widen them
        ends = [result.n_star_interval(c) for c in compute]
        band_lo, band_hi = (np.array([np.nan if e[end] is None else e[end] for e in ends]) for end in ("lo", "hi"))
        failed = f", {boot['n_failed']} without a line" if boot["n_failed"] else ""
        ax.fill_between(compute, band_lo, band_hi, color="tab:blue", alpha=0.2, lw=0,
                        label=f"Approach 2, {percent_label(boot['confidence'])} bootstrap ({boot['n_resamples']} "
                              f"draws{failed})")
    ax.plot(compute, result.n_star(compute), color="tab:blue", lw=2.0,
            label=f"Approach 2: N* = {result.coefficient:.3g} C^{result.exponent:.3f}")
    ax.plot([p.compute for p in accepted], [p.n_opt for p in accepted], "o", color="tab:blue", ms=6, zorder=4,
            label="accepted vertices")
    third = result.parametric
    if third is not None:
        k = result.flops_per_param_token
        spare = result.parametric_bootstrap
        if spare is not None and len(spare.good) >= 2:
            band_lo, band_hi = percentile_bounds(allocations(spare.good, compute, k, family=third.family)["N"],
                                                 spare.confidence)
            ax.fill_between(compute, band_lo, band_hi, color="tab:orange", alpha=0.2, lw=0,
                            label=f"Approach 3, {percent_label(spare.confidence)} bootstrap ({len(spare.good)} draws)")
        line = optimal.compute_optimal(third.law, compute, flops_per_param_token=k)
        ax.plot(compute, np.asarray(line.n_params), color="tab:orange", ls="--", lw=2.0,
                label=f"Approach 3 (parametric): N* ~ C^{result.parametric_exponent:.3f}")
    for c in targets:
        ax.axvline(c, color="0.4", ls=":", lw=1)
    ax.set(xscale="log", yscale="log", xlim=(lo, hi), xlabel=COMPUTE_LABEL, ylabel="parameters N*")
    ax.set_title("Compute-optimal model size N*(C): both approaches", fontsize=11)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
