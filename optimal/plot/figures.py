"""Figures: loss surfaces, fits against their data, bootstrap draws and compute-optimal frontiers.

Every function returns a ``matplotlib.figure.Figure`` built without pyplot, so nothing here needs a display or
touches global plotting state (headless servers, tests and notebooks alike); in Jupyter a figure left as a
cell's last expression is shown as PNG. The numbers come from the public API (``compute_optimal``,
``allocation.draws.allocations``, ``bootstrap.derived_params``, ``law.loss``); this module only draws them.
``figure_from_record`` and ``save_figure`` are what ``optimal plot`` calls.

Example:
  >>> import optimal
  >>> from optimal import plot
  >>> fig = plot.frontier(optimal.preset("epoch2024"))
  >>> plot.save_figure(fig, "frontier.png")  # doctest: +SKIP
"""

import io
import math
import textwrap
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

import optimal
from optimal.allocation.draws import allocations
from optimal.fitting.bootstrap import derived_params
from optimal.errors import PlotError, check_count, check_positive
from optimal.laws.chinchilla import CHINCHILLA
from optimal._util.jsonio import check_writable
from optimal._util.precision import float64_scope
from optimal._util.stats import percentile_bounds
from optimal._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN

KINDS = ("surface", "fit", "bootstrap", "frontier")
CHINCHILLA_BUDGET = 5.76e23  # FLOPs of Chinchilla itself (Hoffmann et al. 2022, Table 3)
PRESET_SOURCES = {
    "epoch2024": "Besiroglu et al. 2024",
    "hoffmann2022": "Hoffmann et al. 2022",
    "kaplan2020": "Kaplan et al. 2020",
    "muennighoff2023": "Muennighoff et al. 2023, unlimited unique data",
}
FRONTIER_PRESETS = ("epoch2024", "hoffmann2022", "kaplan2020")  # overlaid by default
LOSS_LABEL = "loss (nats/token)"
COMPUTE_LABEL = "training compute C (FLOPs)"
_BAND_COLOUR = "tab:blue"
_CMAP = "viridis"
DPI_RANGE = (10, 2000)  # below, a figure is a smudge; above, a 7-inch figure passes 10^4 pixels a side



class NotebookFigure(Figure):
    """A ``Figure`` that Jupyter shows by itself: IPython calls ``_repr_png_``, so no pyplot and no magics."""

    def _repr_png_(self):
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


# --- figures ------------------------------------------------------------------------------------------------


@float64_scope
def surface(law, bootstrap_thetas=None, n_range=(1e7, 1e13), d_range=(1e8, 1e14), budgets=None, *,
            confidence=0.95, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, resolution=160,
            family=CHINCHILLA) -> Figure:
    """Filled contours of the loss over (N, D), iso-compute lines and the compute-optimal frontier.

    Args:
      law: a law (``optimal.preset(...)``, ``FitResult.law``, any object with ``loss(N, D)``) or ``f(N, D)``.
      bootstrap_thetas: optional draws ``(e, a, b, alpha, beta)``, shape (R, 5) (``BootstrapResult.good``): shades
        the ``confidence`` interval of N* at each budget, drawn along that budget's iso-compute line.
      n_range: parameters N shown (min, max); d_range: training tokens D shown (min, max).
      budgets: compute budgets (FLOPs) for the iso-compute lines, whose optima are marked; default every
        second decade across the plot, unmarked.
      flops_per_param_token: k in C = k N D.

    Returns:
      A figure with two axes: the surface and its colour bar.
    """
    n_lo, n_hi = _check_range(n_range, "n_range")
    d_lo, d_hi = _check_range(d_range, "d_range")
    k = float(flops_per_param_token)
    n_grid = np.geomspace(n_lo, n_hi, resolution)
    d_grid = np.geomspace(d_lo, d_hi, resolution)
    nn, dd = np.meshgrid(n_grid, d_grid)
    loss = np.asarray(_loss_function(law)(nn, dd), dtype=np.float64)

    fig = NotebookFigure(figsize=(7.5, 6.0), layout="constrained")
    ax = fig.add_subplot()
    finite = loss[np.isfinite(loss)]
    levels = np.geomspace(finite.min(), finite.max(), 24)
    filled = ax.contourf(nn, dd, loss, levels=levels, norm=LogNorm(levels[0], levels[-1]), cmap=_CMAP)
    bar = fig.colorbar(filled, ax=ax)
    bar.set_label(LOSS_LABEL)
    _plain_log_ticks(bar.ax.yaxis, levels[0], levels[-1])

    c_lo, c_hi = k * n_lo * d_lo, k * n_hi * d_hi
    marked = budgets is not None
    if budgets is None:
        decades = 10.0 ** np.arange(math.ceil(math.log10(c_lo)), math.floor(math.log10(c_hi)) + 1)
        decades = decades[1:-1] if len(decades) > 4 else decades  # the corner ones are mere stubs
        budgets = decades[::2] if len(decades) > 7 else decades
    budgets = np.unique(np.asarray(budgets, dtype=np.float64))
    if len(budgets):
        ax.contour(nn, dd, np.log10(k * nn * dd), levels=np.log10(budgets), colors="white", linewidths=0.8,
                   linestyles="dotted")
    for c in budgets:
        _label_iso_compute(ax, c, k, (n_lo, n_hi), (d_lo, d_hi))

    compute = np.geomspace(c_lo, c_hi, 200)
    best = optimal.compute_optimal(law, compute, flops_per_param_token=k)
    ax.plot(np.asarray(best.n_params), np.asarray(best.n_tokens), color="black", lw=2)
    handles = [Line2D([], [], color="black", lw=2, label="compute-optimal frontier N*(C), D*(C)")]
    if bootstrap_thetas is not None:
        thetas = _check_thetas(bootstrap_thetas, family)
        n_draws = allocations(thetas, compute, k, family=family)["N"]
        lo, hi = percentile_bounds(n_draws, confidence, skip_nan=True)
        # at a fixed budget every draw's optimum lies on that budget's line D = C / (k N): the band spans it
        xs = np.concatenate([lo, hi[::-1]])
        ys = np.concatenate([compute / (k * lo), (compute / (k * hi))[::-1]])
        ax.fill(xs, ys, color="white", alpha=0.35, lw=0)
        text = f"{percent_label(confidence)} bootstrap interval ({len(thetas)} draws)"
        handles.append(Patch(color="white", alpha=0.6, label=text))
    if marked:
        at = optimal.compute_optimal(law, budgets, flops_per_param_token=k)
        ax.plot(np.asarray(at.n_params), np.asarray(at.n_tokens), ls="none", marker="o", mfc="white", mec="black")
        handles.append(Line2D([], [], ls="none", marker="o", mfc="white", mec="black", label="optimum at each budget"))
    handles.append(Line2D([], [], color="white", lw=0.8, ls="dotted", label=f"iso-compute C = {k:g} N D"))

    ax.set(xscale="log", yscale="log", xlim=(n_lo, n_hi), ylim=(d_lo, d_hi), xlabel="parameters N",
           ylabel="training tokens D")
    ax.set_title(f"Loss surface L(N, D) and the compute-optimal frontier\n{_describe(law)}", fontsize=10)
    legend = ax.legend(handles=handles, loc="lower right", fontsize=8, facecolor="0.3", framealpha=0.8)
    for text in legend.get_texts():
        text.set_color("white")
    return fig


@float64_scope
def data_vs_fit(fit_result, by="tokens", n_curves=4) -> Figure:
    """The fitted runs' loss against N, with the fitted law's curves, and the log-loss residuals below.

    Args:
      fit_result: a ``FitResult`` (``optimal.fit`` or ``optimal.load_fit``); its ``data`` and ``law`` are drawn.
      by: "tokens" colours runs by D and draws the law at ``n_curves`` values of D; "compute" colours them by
        C = 6 N D and draws the law along ``n_curves`` iso-compute lines (the view of Hoffmann et al. Fig. 4).

    Returns:
      A figure with three axes: loss vs N, residuals vs N, and the colour bar.
    """
    if by not in ("tokens", "compute"):
        raise PlotError(f"by must be 'tokens' or 'compute', not {by!r}")
    n, d, loss, _ = (np.asarray(x, dtype=np.float64) for x in fit_result.data)
    if fit_result.group_labels is not None:
        raise PlotError(f"a joint fit of groups {', '.join(fit_result.group_labels)}: plot one group at a time "
                        "(FitResult.group(label))")
    law = fit_result.law
    # each run's own law (a family with covariates, such as unique tokens, has one per run)
    row_law = fit_result.family.law_from_theta(fit_result.theta, fit_result.covariates)
    k = DEFAULT_FLOPS_PER_PARAM_TOKEN
    colour = d if by == "tokens" else k * n * d
    norm = LogNorm(colour.min(), colour.max())
    cmap = colormaps[_CMAP]

    fig = NotebookFigure(figsize=(7.5, 7.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.2]})
    points = top.scatter(n, loss, c=colour, norm=norm, cmap=cmap, s=14, lw=0, label=f"runs ({len(n)})")
    n_line = np.geomspace(n.min() / 1.5, n.max() * 1.5, 200)
    quantiles = np.quantile(np.log(colour), np.linspace(0.1, 0.9, n_curves))
    # snap each curve to the nearest run's value: for isoFLOP data that is one of the budgets actually run
    if fit_result.covariates:  # the law depends on more than N and D: show each run's prediction, not curves
        top.scatter(n, np.asarray(row_law.loss(n, d)), marker="x", s=12, color="black", lw=0.8,
                    label=f"fit at each run's {', '.join(fit_result.covariates)}")
    for value in np.unique(colour[np.argmin(np.abs(np.log(colour)[:, None] - quantiles), axis=0)]) if not fit_result.covariates else ():
        d_line = np.full_like(n_line, value) if by == "tokens" else value / (k * n_line)
        text = f"fit at D = {_sci(value)} tokens" if by == "tokens" else f"fit at C = {_sci(value)} FLOPs"
        top.plot(n_line, np.asarray(law.loss(n_line, d_line)), color=cmap(norm(value)), lw=1.8, label=text)
    bar = fig.colorbar(points, ax=[top, bottom])
    bar.set_label("training tokens D" if by == "tokens" else COMPUTE_LABEL)
    margin = 0.06 * np.ptp(loss)
    top.set(xscale="log", ylabel=LOSS_LABEL, ylim=(loss.min() - margin, loss.max() + margin))
    top.legend(fontsize=8, loc="best", framealpha=0.9)
    top.set_title(f"{fit_result.family.name} fit to {len(n)} runs (objective {fit_result.objective:.4g})\n"
                  f"{_describe(law)}", fontsize=10)

    residual = np.log(loss) - np.log(np.asarray(row_law.loss(n, d)))
    bottom.scatter(n, residual, c=colour, norm=norm, cmap=cmap, s=10, lw=0)
    bottom.axhline(0.0, color="black", lw=0.8)
    bottom.set(xscale="log", xlabel="parameters N", ylabel="residual\nlog L - log L_fit")
    return fig


@float64_scope
def bootstrap_pairs(thetas, budgets=(CHINCHILLA_BUDGET,), truth=None, *, confidence=0.95,
                    flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, truth_label="full-data fit", family=CHINCHILLA,
                    fixed=()) -> Figure:
    """Corner plot of bootstrap draws: the family's exponents, E (and any other parameter that is not a linear
    scale such as A or B, nor in ``fixed``) and tokens per parameter at each budget.

    Histograms on the diagonal (titled with the median and the ``confidence`` percentile interval), scatter
    plots below it.

    Args:
      thetas: fitting-space draws of ``family``, shape (R, P) (``BootstrapResult.good``); for the Chinchilla family
        ``(e, a, b, alpha, beta)``.
      budgets: compute budgets (FLOPs) at which to show D*/N*.
      truth: optional law (``FitResult.law``, or the law that generated synthetic data), marked in red.

    Returns:
      A figure with one axes per panel of the lower triangle: m (m + 1) / 2 for m = 3 + len(budgets).
    """
    thetas = _check_thetas(thetas, family)
    budgets = np.atleast_1d(np.asarray(budgets, dtype=np.float64))
    params = derived_params(thetas, family)
    shown = [p for p in family.params if (p not in family.linear or p == "E") and p not in fixed]
    shown = sorted(shown, key=lambda p: p == "E")  # the exponents first, E last
    ratio = allocations(thetas, budgets, flops_per_param_token, family=family)["tokens_per_param"]
    columns = [params[p] for p in shown] + [ratio[:, i] for i in range(len(budgets))]
    names = [p + (" (nats/token)" if p == "E" else "") for p in shown] + [
        f"tokens per parameter\nat C = {_sci(c)}" for c in budgets]
    symbols = shown + ["D*/N*"] * len(budgets)
    true_values = None
    if truth is not None:
        true_ratio = optimal.compute_optimal(truth, budgets, flops_per_param_token).tokens_per_param
        true_ratio = np.atleast_1d(np.asarray(true_ratio))
        true_values = [float(getattr(truth, p)) for p in shown] + list(map(float, true_ratio))

    m = len(columns)
    fig = NotebookFigure(figsize=(2.3 * m + 0.6, 2.3 * m + 0.4), layout="constrained")
    diagonal = []
    for i in range(m):
        row_first = None
        for j in range(i + 1):
            ax = fig.add_subplot(m, m, i * m + j + 1, sharex=diagonal[j] if j < i else None,
                                 sharey=row_first if j < i else None)
            row_first = row_first or ax
            if i == j:
                diagonal.append(ax)
                values = columns[i][np.isfinite(columns[i])]  # a draw whose allocation diverged is counted, not drawn
                dropped = f" ({len(columns[i]) - len(values)} not finite)" if len(values) < len(columns[i]) else ""
                if len(values):
                    lo, hi = percentile_bounds(values, confidence, skip_nan=True)
                    ax.hist(values, bins=min(30, max(8, len(values) // 8)), range=_hist_range(values),
                            color=_BAND_COLOUR, alpha=0.7)
                    ax.axvline(lo, color="black", ls="--", lw=0.8)
                    ax.axvline(hi, color="black", ls="--", lw=0.8)
                    ax.set_title(f"{symbols[i]} = {np.median(values):.3g} [{lo:.3g}, {hi:.3g}]{dropped}", fontsize=9)
                else:
                    ax.set_title(f"{symbols[i]}: no finite draws{dropped}", fontsize=9)
                ax.yaxis.set_major_locator(NullLocator())
            else:
                both = np.isfinite(columns[j]) & np.isfinite(columns[i])
                ax.scatter(columns[j][both], columns[i][both], s=5, color=_BAND_COLOUR, alpha=0.5, lw=0)
                if j == 0:
                    ax.set_ylabel(names[i])
                else:
                    ax.tick_params(labelleft=False)
            if true_values is not None and math.isfinite(true_values[j]):
                ax.axvline(true_values[j], color="tab:red", lw=1)
            if true_values is not None and i != j and math.isfinite(true_values[i]):
                ax.axhline(true_values[i], color="tab:red", lw=1)
            if i == m - 1:
                ax.set_xlabel(names[j])
            else:
                ax.tick_params(labelbottom=False)
    handles = [Patch(color=_BAND_COLOUR, alpha=0.7, label=f"bootstrap draws ({len(thetas)})"),
               Line2D([], [], color="black", ls="--", lw=0.8, label=f"{percent_label(confidence)} percentile interval")]
    if true_values is not None:
        handles.append(Line2D([], [], color="tab:red", lw=1, label=truth_label))
    fig.legend(handles=handles, loc="upper right", fontsize=9, frameon=False)
    fig.suptitle("Bootstrap distribution of the coefficients and of the allocation")
    return fig


@float64_scope
def frontier(law=None, bootstrap_thetas=None, presets=FRONTIER_PRESETS,
             compute_range=(1e18, 1e27), *, budgets=None, confidence=0.95,
             flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, label="this law", family=CHINCHILLA) -> Figure:
    """N*(C) and D*(C) against the budget C, for a law (with a bootstrap band) and the published presets.

    Args:
      law: the main law (solid black, called ``label``), or None to show only the presets / band.
      bootstrap_thetas: optional draws (R, 5) ``(e, a, b, alpha, beta)``: shades their ``confidence`` interval.
      presets: names from ``optimal.PRESETS`` to overlay (dashed).
      compute_range: (min, max) budget in FLOPs.
      budgets: optional budgets (FLOPs) to mark (dotted vertical lines; the main law's N*, D* labelled).

    Returns:
      A figure with two axes: N*(C) and D*(C).
    """
    c_lo, c_hi = _check_range(compute_range, "compute_range")
    presets = tuple(presets or ())
    if law is None and bootstrap_thetas is None and not presets:
        raise PlotError("nothing to plot: give a law, bootstrap draws or at least one preset")
    k = float(flops_per_param_token)
    compute = np.geomspace(c_lo, c_hi, 200)

    fig, panels = _frontier_panels()
    left = panels[0][0]
    if bootstrap_thetas is not None:
        thetas = _check_thetas(bootstrap_thetas, family)
        _bootstrap_band(panels, compute, thetas, k, family, confidence, color=_BAND_COLOUR, alpha=0.25,
                        label=f"{percent_label(confidence)} bootstrap interval ({len(thetas)} draws)")
    styles = ["--", "-.", ":", (0, (5, 1, 1, 1))]
    for i, name in enumerate(presets):
        result = optimal.compute_optimal(optimal.preset(name), compute, flops_per_param_token=k)
        text = f"{name} ({PRESET_SOURCES[name]})" if name in PRESET_SOURCES else name
        for ax, field, _, _, _ in panels:
            # above the main law (zorder 3 > 2.5): a preset it coincides with stays visible, dashed over it
            ax.plot(compute, np.asarray(getattr(result, field)), ls=styles[i % len(styles)], lw=1.4,
                    color=f"C{i + 1}", label=text, zorder=3)
    if law is not None:
        result = optimal.compute_optimal(law, compute, flops_per_param_token=k)
        for ax, field, _, _, _ in panels:
            ax.plot(compute, np.asarray(getattr(result, field)), color="black", lw=2.2, label=label, zorder=2.5)
    if budgets is not None:
        budgets = np.atleast_1d(np.asarray(budgets, dtype=np.float64))
        marked = None if law is None else optimal.compute_optimal(law, budgets, flops_per_param_token=k)
        for ax, field, _, _, _ in panels:
            for i, c in enumerate(budgets):
                ax.axvline(c, color="0.4", ls=":", lw=1)
                ax.text(c, 0.98, f"{_flops(c)} ", transform=ax.get_xaxis_transform(), rotation=90, ha="right",
                        va="top", fontsize=7, color="0.3")
                if marked is not None:
                    value = float(np.asarray(getattr(marked, field))[i])
                    ax.plot([c], [value], marker="o", color="black", ms=5)
                    ax.annotate(_sci(value), (c, value), xytext=(6, -12), textcoords="offset points", fontsize=8)
    _finish_frontier_panels(panels, c_lo, c_hi)
    left.legend(fontsize=8, loc="upper left")
    return fig


@float64_scope
def groups_frontier(groups, compute_range=(1e18, 1e27), *, budgets=None, confidence=0.95,
                    flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN) -> Figure:
    """The compute-optimal allocation of several fits (groups of runs, sweep settings, or both) as small multiples.

    One panel per fit, in the order given: its tokens per parameter D*/N* against the budget C (both log axes) with
    its ``confidence`` bootstrap band, every other fit's line in grey behind it, and the axes shared, so that fits
    a few percent apart stay apart (their N*(C), spanning many decades, would draw one band). With ``budgets``, each
    panel's title gives N* (parameters) and D*/N* at the first budget (with its interval when bootstrapped), and
    every budget is a dotted line. N* and D* follow from D*/N* = r and C: N* = sqrt(C / (k r)), D* = r N*.

    Args:
      groups: ``[(label, result)]`` with ``result`` a ``BootstrapResult`` (line and band) or a ``FitResult``
        (line only); a joint fit's groups as ``boot.group(label)``.
      compute_range: (min, max) budget in FLOPs. budgets: optional budgets (FLOPs) to mark.
      confidence: the bands' level. flops_per_param_token: k in C = k N D.

    Returns:
      A figure with one axes per fit, laid out in a grid of about sqrt(len(groups)) columns, and one legend below
      the panels (outside the data).
    """
    if not groups:
        raise PlotError("nothing to plot: no groups")
    c_lo, c_hi = _check_range(compute_range, "compute_range")
    k = float(flops_per_param_token)
    compute = np.geomspace(c_lo, c_hi, 200)
    marked = None if budgets is None else np.atleast_1d(np.asarray(budgets, dtype=np.float64))
    grid = compute if marked is None else np.concatenate([compute, marked[:1]])  # one evaluation: line and answer
    lines, bands, titles = [], [], []
    for label, result in groups:
        fit = getattr(result, "fit", result)
        point = optimal.compute_optimal(fit.law, grid, flops_per_param_token=k)
        ratio, n_star = np.asarray(point.tokens_per_param), np.asarray(point.n_params)
        draws = getattr(result, "good", ())
        found = allocations(draws, grid, k, family=fit.family) if len(draws) >= 2 else None
        lines.append(ratio[:len(compute)])
        bands.append(None if found is None else percentile_bounds(found["tokens_per_param"][:, :len(compute)],
                                                                  confidence, skip_nan=True))
        title = textwrap.fill(str(label), 44)  # sweep labels list every setting: wrap them, not overflow
        if marked is not None:
            title += f"\nat {_flops(marked[0])}: " + _with_interval("N*", n_star[-1], found, "N", confidence) + \
                     ",\n" + _with_interval("D*/N*", ratio[-1], found, "tokens_per_param", confidence)
        titles.append(title)

    n = len(groups)
    columns = n if n <= 3 else math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    fig = NotebookFigure(figsize=(0.6 + 3.6 * columns, 0.9 + 3.0 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)).ravel()
    for ax in axes[n:]:
        ax.remove()
    for i, ax in enumerate(axes[:n]):
        for j, other in enumerate(lines):
            if j != i:
                ax.plot(compute, other, color="0.75", lw=1.0, zorder=1)
        if bands[i] is not None:
            ax.fill_between(compute, *bands[i], color=_BAND_COLOUR, alpha=0.25, lw=0, zorder=2)
        ax.plot(compute, lines[i], color=_BAND_COLOUR, lw=2.0, zorder=3)
        for c in () if marked is None else marked:
            ax.axvline(c, color="0.4", ls=":", lw=1)
        ax.set(xscale="log", yscale="log", xlim=(c_lo, c_hi))
        ax.set_title(titles[i], fontsize=8)
        ax.grid(True, which="major", alpha=0.3)
        if i % columns == 0:
            ax.set_ylabel("tokens per parameter D*/N*")
        if i + columns >= n:  # the lowest panel of its column
            ax.set_xlabel(COMPUTE_LABEL)
            ax.tick_params(labelbottom=True)
    shown = np.concatenate([np.ravel(x) for x in lines + [b for b in bands if b is not None]])
    shown = shown[np.isfinite(shown) & (shown > 0)]
    if len(shown):  # plain ticks (5, 10, 20), not 10^1 alone, on the shared axis
        y_lo, y_hi = shown.min() / 1.1, shown.max() * 1.1
        axes[0].set_ylim(y_lo, y_hi)
        _plain_log_ticks(axes[0].yaxis, y_lo, y_hi)
    handles = [Line2D([], [], color=_BAND_COLOUR, lw=2.0, label="this panel's fit"),
               Line2D([], [], color="0.75", lw=1.0, label="the other fits")]
    if any(band is not None for band in bands):
        handles.insert(1, Patch(color=_BAND_COLOUR, alpha=0.25, label=f"its {percent_label(confidence)} bootstrap "
                                                                          "interval"))
    if marked is not None:
        handles.append(Line2D([], [], color="0.4", ls=":", lw=1, label="budget(s) marked"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
    fig.suptitle(f"Compute-optimal tokens per parameter of {n} fits (k = {k:g})", fontsize=11)
    return fig


def _with_interval(name, value, draws, key, confidence):
    """'N* 7.2e10 [6.1e10, 8.4e10]': a value at the last budget of ``draws`` (``allocations``' dict, or None)."""
    if draws is None:
        return f"{name} {_sci(float(value))}"
    lo, hi = percentile_bounds(draws[key][:, -1], confidence, skip_nan=True)
    return f"{name} {_sci(float(value))} [{_sci(float(lo))}, {_sci(float(hi))}]"


def _frontier_panels():
    """A figure with the N*(C) and D*(C) axes: ``(fig, panels)``, each panel ``(ax, Allocation field, allocations
    key, y label, title)``."""
    fig = NotebookFigure(figsize=(11.0, 4.8), layout="constrained")
    left, right = fig.subplots(1, 2, sharex=True)
    return fig, ((left, "n_params", "N", "parameters N*", "Compute-optimal model size N*(C)"),
                 (right, "n_tokens", "D", "training tokens D*", "Compute-optimal training tokens D*(C)"))


def _bootstrap_band(panels, compute, thetas, k, family, confidence, **style):
    """Shade, in every frontier panel, the ``confidence`` interval of the draws' own allocations at ``compute``."""
    draws = allocations(thetas, compute, k, family=family)
    for ax, _, key, _, _ in panels:
        lo, hi = percentile_bounds(draws[key], confidence, skip_nan=True)
        ax.fill_between(compute, lo, hi, lw=0, **style)


def _finish_frontier_panels(panels, c_lo, c_hi):
    for ax, _, _, ylabel, title in panels:
        ax.set(xscale="log", yscale="log", xlim=(c_lo, c_hi), xlabel=COMPUTE_LABEL, ylabel=ylabel)
        ax.set_title(title, fontsize=11)
        ax.grid(True, which="major", alpha=0.3)


# --- records and files: what ``optimal plot`` calls -----------------------------------------------------------


@float64_scope
def figure_from_record(path, kind, preset=None, *, compute=None, group=None, flops_per_param_token=None) -> Figure:
    """The figure ``kind`` for a fit record (``optimal.save_fit`` / ``optimal fit --save``) or a preset law.

    Args:
      path: a fit record JSON, or None for ``kind`` "surface" or "frontier" of a preset law.
      kind: "surface" (loss surface of the law), "fit" (runs against the fit, residuals), "bootstrap" (corner
        plot of the record's bootstrap draws) or "frontier" (N*(C), D*(C) with the presets overlaid).
      preset: a name from ``optimal.PRESETS`` to plot instead of a record (surface and frontier only);
        with neither ``path`` nor ``preset``, the default preset.
      compute: the budget(s) to mark, in FLOPs (one number or several): the frontier's dotted lines and optima, the
        bootstrap plot's D*/N* panels, the surface's iso-compute lines and optima. Default: ``CHINCHILLA_BUDGET``
        (5.76e23) on the frontier and bootstrap plots; the surface then marks none and draws every second decade;
        the fit plot marks no budget.
      group: for a record of a joint fit of several groups (``optimal fit --by COL --shared ...``), the group to
        plot (its law and its draws); required there, refused for a record of one fit.
      flops_per_param_token: k in C = k N D wherever the figure turns N and D into compute (the frontier, the
        surface's iso-compute lines, the draws' D*/N* at the budgets); default: the record's k, else 6.

    Only the converged bootstrap draws of a record are used; "surface" and "frontier" shade their interval.

    Raises:
      PlotError: an unknown kind; "fit" or "bootstrap" without a record; "bootstrap" on a record with no
        (converged) draws; both a record and a preset; a ``compute`` that is not positive and finite; a joint
        fit's record without a ``group`` (or with one it does not hold), or a ``group`` for a record of one fit; a
        k that is not positive and finite.
      CoefficientsError: an unreadable or malformed record.
      UnknownPresetError: an unknown preset name.
    """
    if kind not in KINDS:
        raise PlotError(f"unknown plot kind {kind!r}; choose one of {', '.join(KINDS)}")
    if path is not None and preset is not None:
        raise PlotError("give either a fit record or --preset, not both")
    marked = _check_budgets(compute)
    chinchilla = marked if marked is not None else (CHINCHILLA_BUDGET,)
    if flops_per_param_token is not None:
        check_positive(flops_per_param_token, "flops_per_param_token (k in C = k N D)", PlotError)
    if path is None:
        if group is not None:
            raise PlotError(f"group {group!r} picks a group of a joint fit's record: a preset has none")
        k = DEFAULT_FLOPS_PER_PARAM_TOKEN if flops_per_param_token is None else float(flops_per_param_token)
        if kind in ("fit", "bootstrap"):
            raise PlotError(f"--kind {kind} needs a fit record: save one with 'optimal fit RUNS.csv "
                            f"{'--bootstrap B ' if kind == 'bootstrap' else ''}--save FIT.json'")
        name = preset or optimal.DEFAULT_PRESET
        law = optimal.preset(name)
        if kind == "surface":
            return surface(law, budgets=marked, flops_per_param_token=k)
        others = tuple(p for p in FRONTIER_PRESETS if p != name)
        return frontier(law, presets=others, label=f"{name} ({PRESET_SOURCES.get(name, 'preset')})",
                        budgets=chinchilla, flops_per_param_token=k)
    record = optimal.load_record(path)  # read once: the fit and its draws
    result, boot = record.fit, record.bootstrap
    k = float(flops_per_param_token or record.flops_per_param_token or DEFAULT_FLOPS_PER_PARAM_TOKEN)
    result, boot, _ = result.select_group(group, boot, where=repr(str(path)), error=PlotError)
    family = result.family
    if kind == "fit":
        return data_vs_fit(result)
    draws, confidence = _record_draws(boot, path)
    if kind == "bootstrap":
        if draws is None:
            raise PlotError(f"{str(path)!r} holds no bootstrap draws; save the fit with "
                            "'optimal fit RUNS.csv --bootstrap B --save FIT.json'")
        return bootstrap_pairs(draws, budgets=chinchilla, truth=result.law, confidence=confidence, family=family,
                               fixed=tuple(result.fixed), flops_per_param_token=k)
    if kind == "surface":
        return surface(result.law, draws, budgets=marked, confidence=confidence, family=family,
                       flops_per_param_token=k)
    return frontier(result.law, draws, confidence=confidence, label=f"fit ({Path(path).name})",
                    budgets=chinchilla, family=family, flops_per_param_token=k)


def check_output(out, dpi=150) -> Path:
    """Check, before drawing, that a figure can be written to ``out`` at ``dpi``: the suffix names a format
    (png, pdf, svg, ...), ``dpi`` is an integer in ``DPI_RANGE``, and the file can be written there (its
    folder exists, it is not a folder). Returns ``Path(out)``; raises ``PlotError``."""
    check_count(dpi, "dpi", *DPI_RANGE, error=PlotError)
    out = Path(out)
    formats = Figure().canvas.get_supported_filetypes()
    if out.suffix.lower().lstrip(".") not in formats:
        raise PlotError(f"cannot tell the image format of {str(out)!r}: end the name with one of "
                        f"{', '.join('.' + f for f in sorted(formats))}")
    return check_writable(out, "figure", PlotError)


def save_figure(fig: Figure, out, dpi=150) -> Path:
    """Write ``fig`` to ``out``; the suffix picks the format (png, pdf, svg, ...). Returns the path written.

    ``dpi`` sets the resolution of raster formats (png, jpg, ...): an integer from 10 to 2000.

    Raises ``PlotError`` for a missing or unsupported suffix, a ``dpi`` out of range, a missing folder, a
    folder in the file's place, a file that cannot be written (``check_output``), or values matplotlib cannot
    lay out.
    """
    out = check_output(out, dpi)
    suffix = out.suffix.lower().lstrip(".")
    try:
        fig.savefig(out, dpi=dpi if suffix in ("png", "jpg", "jpeg", "webp", "tif", "tiff") else "figure")
    except OSError as exc:
        raise PlotError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    except (OverflowError, ValueError) as exc:  # matplotlib's layout overflows near 1e308, say
        raise PlotError(f"cannot draw the figure ({exc}); are the values plotted plausible?") from None
    return out


def _record_draws(boot, path):
    """The converged bootstrap draws of a record's ``BootstrapResult`` (n, 5) and their confidence, or
    (None, 0.95) without any."""
    if boot is None:
        return None, 0.95
    if len(boot.good) == 0:
        raise PlotError(f"{str(path)!r}: none of its {boot.n_resamples} bootstrap draws converged; nothing to plot")
    return boot.good, boot.confidence


# --- helpers ------------------------------------------------------------------------------------------------


def _loss_function(law):
    return law.loss if hasattr(law, "loss") else law


def _check_range(bounds, name):
    try:
        lo, hi = (float(x) for x in bounds)
    except (TypeError, ValueError):
        raise PlotError(f"{name} must be a pair (min, max) of positive numbers, got {bounds!r}") from None
    if not (0 < lo < hi < math.inf):
        raise PlotError(f"{name} must be a pair (min, max) with 0 < min < max, got {bounds!r}")
    return lo, hi


def _check_budgets(compute):
    """``compute`` (FLOPs: None, a number or several) as a 1-D float array of positive finite budgets, or None."""
    if compute is None:
        return None
    try:
        budgets = np.atleast_1d(np.asarray(compute, dtype=np.float64))
    except (TypeError, ValueError):
        raise PlotError(f"compute must be a budget in FLOPs (a positive number, or several), got {compute!r}") from None
    if budgets.ndim != 1 or len(budgets) == 0 or not np.all(np.isfinite(budgets) & (budgets > 0)):
        raise PlotError(f"compute must be a budget in FLOPs (a positive number, or several), got {compute!r}")
    return budgets


def _check_thetas(thetas, family=CHINCHILLA):
    thetas = np.asarray(thetas, dtype=np.float64)
    width = len(family.params)
    if thetas.ndim != 2 or thetas.shape[1] != width:
        raise PlotError(f"bootstrap draws of the {family.name} law must have shape (R, {width}) = "
                        f"({', '.join(family.params)}) per draw in fitting space, got {thetas.shape}")
    if len(thetas) == 0:
        raise PlotError("there are no bootstrap draws to plot")
    return thetas


def _hist_range(values):
    """The histogram range of finite ``values``, widened when they are (nearly) all equal: NumPy's own +-0.5
    vanishes next to values like 1e300."""
    lo, hi = float(np.min(values)), float(np.max(values))
    pad = 0.5 * max(hi - lo, 1e-3 * max(abs(lo), abs(hi)), 1e-3) if hi - lo <= 1e-9 * max(abs(lo), abs(hi), 1) else 0.0
    return lo - pad, hi + pad


def percent_label(confidence):
    return f"{100 * confidence:g}%"


def _sci(x):
    """5.76e23 -> '5.76e23', 1e21 -> '1e21', 72.3 -> '72.3'."""
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:.3g}"
    mantissa, exponent = f"{x:.3g}".split("e") if "e" in f"{x:.3g}" else (f"{x:.3g}", "0")
    return f"{mantissa}e{int(exponent)}"


def _label_iso_compute(ax, compute, k, n_range, d_range):
    """Label the line k N D = ``compute`` near the top of the axes (else lower down), written along the line.

    Placed and rotated in axes coordinates, where the line is straight and its angle survives layout changes.
    """
    x_decades, y_decades = (np.log10(hi / lo) for lo, hi in (n_range, d_range))
    for y in (0.93, 0.6, 0.3, 0.07):  # heights in axes coordinates, tried in turn
        d = d_range[0] * 10 ** (y * y_decades)
        x = np.log10(compute / (k * d) / n_range[0]) / x_decades
        if 0.03 <= x <= 0.8:
            break
    else:
        return
    angle = math.degrees(math.atan2(-1 / y_decades, 1 / x_decades))
    ax.text(x, y, _flops(compute), transform=ax.transAxes, rotation=angle, rotation_mode="anchor",
            transform_rotates_text=True, ha="center", va="bottom", color="white", fontsize=7)


def _flops(c):
    return f"{_sci(c)} FLOPs"


def _plain_log_ticks(axis, lo, hi):
    """Plain-number ticks (2, 3, 5 ...) on a log axis spanning less than a few decades (losses do)."""
    candidates = np.array([m * 10.0**e for e in range(-3, 4) for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8)])
    ticks = candidates[(candidates >= lo) & (candidates <= hi)]
    if len(ticks) > 8:
        ticks = ticks[:: math.ceil(len(ticks) / 8)]
    if len(ticks) >= 2:
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_locator(NullLocator())


def _describe(law):
    """One line naming a law's coefficients (Chinchilla, Kaplan), or its type."""
    fields = getattr(law, "_asdict", None)
    if fields is None:
        return type(law).__name__
    return ", ".join(f"{k} = {float(v):.4g}" for k, v in fields().items())
