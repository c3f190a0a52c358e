"""``optimal plan --hparams PRESET``: the learning rate and batch size of the planned run from a published law
(``optimal.planning.hparams``), with its source and assumptions, and intervals over the fit's bootstrap draws.

plan.py calls ``add_options(parser)`` and ``section(args, plan, answer)``; everything else is here.
"""

import numpy as np

from optimal.planning.hparams import HPARAM_PRESETS, DEFAULT_HPARAM_PRESET, hyperparameter_figures, hyperparameters
from optimal._util.stats import unbounded_interval

from . import common

NONE = "none"
FIGURES = ("learning_rate", "batch_size_tokens", "batch_size_sequences")


def add_options(parser):
    """``--hparams PRESET`` on ``optimal plan``."""
    parser.add_argument("--hparams", metavar="PRESET", choices=(*HPARAM_PRESETS, NONE), default=DEFAULT_HPARAM_PRESET,
                        help=f"the published law that gives the run's learning rate and batch size: "
                             f"{', '.join(HPARAM_PRESETS)} (default {DEFAULT_HPARAM_PRESET}: Bi et al. 2024, learning "
                             "rate 0.3118 C^-0.125, batch 0.2920 C^0.3271 tokens); 'none' leaves them out; with "
                             "--context the batch is also given in sequences")


def _compute_from(plan):
    """How the plan's C stands in for the law's: ``(in a few words, what it means)``."""
    if plan.flops_per_token_from == "given":
        return ("the plan's FLOPs with attention", "the plan's C counts attention as Kaplan et al. do "
                "(6 n_layer n_ctx d_model per token), which need not be the law's count")
    k = f"{plan.flops_per_param_token:g}"
    return (f"the plan's {k} N D", f"the plan's {k} N D (N the active parameters) stands for M D: equal when N counts "
            "non-embedding parameters, except that M also counts attention FLOPs")


def section(args, plan, answer=None):
    """``(json, lines)``: the "hyperparameters" section of ``--json`` (None with ``--hparams none``) and the rows
    printed under the plan; the law's warnings go to stderr. ``answer``: the allocation (``optimal.recommend``)
    whose bootstrap draws give intervals, or None (a decision, or no draws)."""
    if args.hparams == NONE:
        return None, []
    compute_from, conversion = _compute_from(plan)
    found = hyperparameters(args.hparams, compute=plan.compute, n_params=plan.n_params, n_tokens=plan.n_tokens,
                            context=plan.context, compute_from=compute_from, conversion=conversion)
    for warning in found.warnings:
        common.warn(warning.message)
    intervals = _intervals(found, answer, plan)
    out = found.to_dict() | {"intervals": intervals}
    lines = found.lines(intervals)
    flat = [] if not _has_draws(answer) else [name.replace("_", " ") for name in FIGURES
                                             if out[name] is not None and name not in (intervals or {})]
    if flat:
        lines.append(f"  (no interval for {', '.join(flat)}: every bootstrap draw gives the same figure; the law reads "
                     f"{' and '.join(found.inputs)}, which the draws do not move here)")
    return out, lines


def _has_draws(answer):
    return answer is not None and answer.per_draw is not None and "N" in answer.per_draw


def _intervals(found, answer, plan):
    """With bootstrap draws: each figure of every draw (its compute, N and D through the same law), as percentile
    intervals; a figure every draw gives alike (the law in C at a given compute) has none. None without draws."""
    if not _has_draws(answer):
        return None
    draws = answer.per_draw
    n = draws["N"][:, 0]
    compute = draws["compute"][:, 0]
    tokens = draws["D"][:, 0] if "D" in draws else compute / (plan.flops_per_param_token * n)
    figures = hyperparameter_figures(found, compute=compute, n_params=n, n_tokens=tokens)
    out = {"confidence": float(answer.confidence)}
    for name in FIGURES:
        values = figures[name]
        if values is None:
            continue
        values = np.where(np.isnan(values), np.inf, values)  # a draw with no run (unreachable loss): unbounded
        finite = values[np.isfinite(values)]
        if finite.size < values.size or np.ptp(finite) > 1e-9 * np.max(np.abs(finite)):
            out[name] = unbounded_interval(values, answer.confidence)
    return out if len(out) > 1 else None


__all__ = ["add_options", "section"]
