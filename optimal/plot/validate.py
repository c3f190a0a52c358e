"""The figure of a held-out validation (``optimal.validate``): predicted against actual loss with the intervals, and
the relative errors against compute. It draws what ``Validation`` holds and computes nothing of its own.

matplotlib is imported when a figure is drawn, not when this module is imported (as ``optimal.plot.figures``
builds figures without pyplot).

Example:
  >>> report = optimal.validate(runs.n_params, runs.n_tokens, runs.loss, largest=10)  # doctest: +SKIP
  >>> from optimal.plot import save_figure  # doctest: +SKIP
  >>> save_figure(validation_figure(report), "validate.png")  # doctest: +SKIP
"""

import numpy as np


MAX_KEYED_FOLDS = 6  # up to this many folds get a legend entry each; more get a colour bar


def validation_figure(validation):
    """Two panels: (left) each held-out run's predicted loss against its actual loss (nats), with its prediction
    interval for a new run (thin bar) and confidence interval for the mean (thick bar), and the line
    predicted = actual; (right) the relative error ``predicted / actual - 1`` against the run's compute (FLOPs),
    with the prediction interval as the same relative band. One colour per fold (rolling cut-offs), named in the
    legend, or on a colour bar when there are more than ``MAX_KEYED_FOLDS``.

    Returns a ``matplotlib.figure.Figure``.
    """
    from matplotlib import colormaps

    from .figures import NotebookFigure

    fig = NotebookFigure(figsize=(11, 4.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    colours = colormaps["viridis"](np.linspace(0.1, 0.85, max(len(validation.folds), 1)))
    keyed = len(validation.folds) <= MAX_KEYED_FOLDS  # more folds: a colour bar, not a legend entry each
    lows, highs = [], []
    for fold, colour in zip(validation.folds, colours):
        p, actual = fold.prediction, fold.actual
        label = fold.label.removeprefix("held out: ") if keyed else None
        # a percentile interval of few draws need not hold the point: its bar then stops at the point
        below, above = np.maximum(p.loss - p.new_lo, 0), np.maximum(p.new_hi - p.loss, 0)
        left.errorbar(actual, p.loss, yerr=[below, above], fmt="none", ecolor=colour, alpha=0.45, elinewidth=1)
        left.errorbar(actual, p.loss, yerr=[np.maximum(p.loss - p.mean_lo, 0), np.maximum(p.mean_hi - p.loss, 0)],
                      fmt="o", color=colour, ecolor=colour, elinewidth=3, markersize=4, label=label)
        rel = p.loss / actual - 1
        right.errorbar(fold.compute, 100 * rel, yerr=[100 * below / actual, 100 * above / actual],
                       fmt="o", color=colour, ecolor=colour, alpha=0.8, markersize=4, label=label)
        lows.append(min(actual.min(), p.new_lo.min()))
        highs.append(max(actual.max(), p.new_hi.max()))
    if not keyed:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import BoundaryNorm, ListedColormap

        n = len(validation.folds)
        bar = fig.colorbar(ScalarMappable(BoundaryNorm(np.arange(0.5, n + 1), n), ListedColormap(colours)),
                           ax=right, pad=0.01, ticks=np.arange(1, n + 1, max(1, n // 10)))
        bar.set_label(f"fold (1 to {n}, in the order of validation.folds)")
    lo, hi = min(lows), max(highs)
    left.plot([lo, hi], [lo, hi], color="0.4", linestyle="--", linewidth=1, label="predicted = actual")
    level = f"{100 * validation.confidence:g}%"
    left.set(xlabel="actual loss (nats/token)", ylabel="predicted loss (nats/token)",
             title=f"held-out runs: {level} intervals (thick: mean; thin: new run)")
    left.legend(fontsize=7, loc="upper left")
    right.axhline(0, color="0.4", linestyle="--", linewidth=1)
    right.set_xscale("log")
    right.set(xlabel="training compute C (FLOPs)", ylabel="relative error, predicted / actual - 1 (%)",
              title=f"errors with the {level} prediction interval")
    flagged = [f.label.removeprefix("held out: ") for f in validation.folds if f.metrics["flagged"]]
    if flagged:
        fig.suptitle("held-out errors exceed what the intervals allow: the law is probably misspecified",
                     color="tab:red", fontsize=10)
    return fig
