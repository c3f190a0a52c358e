"""The figure of a decision under uncertainty (``optimal.decide``): loss against N at a fixed budget for a sample of
bootstrap draws, with the plug-in, chosen and rule-of-thumb allocations marked. It draws what ``Decision`` holds and
computes nothing of its own.

matplotlib is imported when a figure is drawn, not when this module is imported.

Example:
  >>> d = optimal.decide(boot, 1e22, "expected-loss")  # doctest: +SKIP
  >>> from optimal.plot import save_figure  # doctest: +SKIP
  >>> save_figure(decision_figure(d), "decision.png")  # doctest: +SKIP
"""

import numpy as np

from optimal.errors import PlotError

_STYLE = {"plug-in": ("tab:blue", "-"), "chosen": ("tab:red", "-"), "rule-of-thumb": ("tab:green", "--"),
          "given": ("tab:purple", ":")}


def decision_figure(decision, budget=0):
    """Two panels at budget ``budget`` (an index into ``decision.compute``): (left) each sampled draw's loss (nats)
    against N (parameters) on the budget line D = C / (k N), its own optimum a dot, with the mean over all draws
    (and the rule's quantile); (right) the same curves less each draw's own optimal loss (the loss gap, nats), which
    lines the draws up at 0 so that where each one wants N shows. Vertical lines mark the plug-in, chosen and rule of
    thumb allocations (and a given N), each labelled with its median deadweight compute.

    Returns a ``matplotlib.figure.Figure``.
    """
    from .figures import NotebookFigure

    compute = np.atleast_1d(decision.compute)
    if not (isinstance(budget, (int, np.integer)) and 0 <= budget < compute.size):
        raise PlotError(f"budget must be an index into the decision's {compute.size} budgets, got {budget!r}")
    n = decision.curve_params[budget]
    curves = decision.curve_loss[:, budget]
    own_loss = decision.own_loss[decision.curve_draws, budget]
    own_n = decision.own_params[decision.curve_draws, budget]
    fig = NotebookFigure(figsize=(11, 4.6), layout="constrained")
    left, right = fig.subplots(1, 2, sharex=True)
    for curve, lo, at in zip(curves, own_loss, own_n):
        left.plot(n, curve, color="0.55", linewidth=0.7, alpha=0.6)
        right.plot(n, curve - lo, color="0.55", linewidth=0.7, alpha=0.6)
        left.plot(at, lo, "o", color="0.35", markersize=2.5)
    left.plot([], [], color="0.55", linewidth=0.7, label=f"{len(curves)} of {decision.n_draws} draws (dot: its optimum)")
    left.plot(n, decision.curve_mean[budget], color="black", linewidth=2, label="mean over all draws")
    right.plot(n, decision.curve_mean[budget] - np.mean(decision.own_loss[:, budget]), color="black", linewidth=2,
               label="mean loss gap")
    if decision.curve_quantile is not None:
        left.plot(n, decision.curve_quantile[budget], color="black", linewidth=1.5, linestyle="--",
                  label=f"{decision.rule[9:]}-quantile over draws")
    labels = {"plug-in": "plug-in (best fit)", "chosen": f"chosen ({decision.rule})",
              "rule-of-thumb": f"{decision.tokens_per_param_rule or 0:g} tokens/param", "given": "given N"}
    for name in decision._present():
        if name == "chosen" and decision.rule == "plug-in":
            continue
        a = decision.allocation(name, budget)
        colour, style = _STYLE[name]
        label = f"{labels[name]}: N = {a['N']:.3g}, deadweight {100 * a['deadweight']['median']:.2g}% (median)"
        for ax in (left, right):
            ax.axvline(a["N"], color=colour, linestyle=style, linewidth=1.6, label=label if ax is right else None)
    # the loss axis shows the curves near their optima: from the lowest draw optimum to a little above the mean's
    mean = decision.curve_mean[budget]
    top = np.max(mean)
    if decision.curve_quantile is not None:  # the quantile's curve sits above the mean's: show its bottom too
        top = max(top, np.min(decision.curve_quantile[budget]) + 1.2 * (top - np.min(mean)))
    low = np.min(decision.own_loss[:, budget])
    left.set_ylim(low - 0.02 * (top - low), top + 0.05 * (top - low))
    gap_top = np.quantile(np.max(curves - own_loss[:, None], axis=1), 0.5) if len(curves) else 1.0
    right.set_ylim(-0.02 * gap_top, gap_top)
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("parameters N (D = C / (k N))")
    left.set(ylabel="loss (nats/token)", title=f"each draw's loss at C = {compute[budget]:.3g} FLOPs")
    right.set(ylabel="loss less the draw's own optimum (nats)", title="loss gap; lines: the allocations")
    left.legend(fontsize=7, loc="upper center")
    right.legend(fontsize=7, loc="upper center")
    return fig
