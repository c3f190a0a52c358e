"""The compute-optimal N* snapped to a real shape of a chosen family, D re-solved for that shape at the same budget,
and the loss given up.

A family's shapes are ``planning.shapes.shape_at_depth``'s (the rule of ``shape_for_params``): for each depth
``n_layer``, ``d_model`` is ``aspect_ratio x n_layer`` rounded to a multiple of the head width (128), with
``d_model / 128`` heads (so the heads divide the width), and the family's FFN, vocabulary, embeddings, biases and
norms (``FAMILIES``). The parameter count grows strictly with depth, so the shapes form a ladder; the two rungs
around N* (the last at or below it and the next) are the candidates. For each, N is its ``count`` parameters
("total" by default: say which convention your law's N follows) and, at a fixed N, the law's loss falls with D, so
the best D under the budget spends all of it: ``D = C / (k N_shape)``. The candidate of lower loss is chosen, and the
loss given up is ``L(N_shape, D_shape) - L(N*, D*)`` (>= 0: N* is the unconstrained optimum). The compute given up
is the share of C that the unconstrained allocation would not need to reach the snapped run's loss
(``1 - compute_for_loss(L_shape) / C``).

With a fit's bootstrap draws, ``snap_draws`` snaps every draw's own N* the same way (each draw's law, the same
family, aspect ratio, count and k): the percentile interval of each figure, and the figures every draw gives alike
(the same rung: no interval, said).

Example:
  >>> from optimal import preset
  >>> s = snap_to_shape(preset("epoch2024"), 1e22)
  >>> s.chosen["shape"].d_model % 128 == 0 and s.loss_given_up >= 0
  True
"""

import dataclasses

import numpy as np

from ..allocation.allocate import compute_for_loss, compute_optimal
from ..errors import BudgetError, OptimalError, PlanningError, check_positive
from .._util.precision import float64_scope
from .._util.results import Formula, Issue
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .._util.stats import figure_intervals
from ..planning.shapes import (
    ASPECT_RATIO_RANGE,
    DEFAULT_ASPECT_RATIO,
    PARAMETER_COUNTS,
    parameter_count,
    shape_at_depth,
    shape_for_params,
)

# Each family: the TransformerShape fields its shapes share (the rest come from the depth and aspect ratio).
FAMILIES = {
    "llama": dict(d_head=128, vocab_size=32000, gated_ffn=True, tied_embeddings=False),  # SwiGLU 8/3, RMSNorm
    "gpt3": dict(d_head=128, vocab_size=50257, gated_ffn=False, tied_embeddings=True, biases="all", norm="layernorm",
                 positions=2048),  # Brown et al. 2020: FFN 4 d_model, learned positions of the 2048 context
}


@dataclasses.dataclass(frozen=True)
class ShapeSnap(Formula):
    """N* snapped to a family's shape (the module docstring). Losses in nats, compute in FLOPs.

    compute, flops_per_param_token (k), family, aspect_ratio, count: the inputs. optimal: ``{"N", "D", "loss"}``,
    the unconstrained allocation. candidates: the two shapes around N*, each ``{"shape", "N", "D", "loss",
    "loss_given_up"}``; chosen: the one of lower loss. loss_given_up: its loss less the optimum's;
    compute_given_up: the share of C the unconstrained allocation would not need for the chosen shape's loss.
    """

    compute: float
    flops_per_param_token: float
    family: str
    aspect_ratio: float
    count: str
    optimal: dict
    candidates: list
    chosen: dict
    loss_given_up: float
    compute_given_up: float

    @property
    def notes(self) -> tuple:
        return (Issue("snap-count", f"N of a shape is its {self.count.replace('_', '-')} parameter count; D = C / "
                                    f"(k N) spends the whole budget"),)

    def to_dict(self) -> dict:
        def row(c):
            return {**{k: v for k, v in c.items() if k != "shape"}, "shape": c["shape"].to_dict()}

        return {"compute": self.compute, "flops_per_param_token": self.flops_per_param_token, "family": self.family,
                "aspect_ratio": self.aspect_ratio, "count": self.count, "optimal": dict(self.optimal),
                "candidates": [row(c) for c in self.candidates], "chosen": row(self.chosen),
                "loss_given_up": self.loss_given_up, "compute_given_up": self.compute_given_up,
                "notes": list(self.notes)}

    def summary(self) -> str:
        o = self.optimal
        lines = [f"N* snapped to the {self.family} family (d_model / n_layer near {self.aspect_ratio:g}, heads of 128 "
                 f"dividing d_model; N = the shape's {self.count.replace('_', '-')} parameters; D = C / (k {self.flops_per_param_token:g} N)):",
                 f"  unconstrained    N* {o['N']:.4g}, D* {o['D']:.4g}, loss {o['loss']:.6g}"]
        for c in self.candidates:
            mark = "chosen" if c is self.chosen else "      "
            lines.append(f"  {mark}           N {c['N']:.4g}, D {c['D']:.4g}, loss {c['loss']:.6g} (+{c['loss_given_up']:.3g}"
                         f"): {c['shape'].summary()}")
        lines.append(f"  loss given up    {self.loss_given_up:.3g} nats: the unconstrained allocation reaches the same "
                     f"loss with {100 * self.compute_given_up:.3g}% less compute")
        return "\n".join(lines)


@float64_scope
def snap_to_shape(law, compute, *, family="llama", aspect_ratio=DEFAULT_ASPECT_RATIO, count="total",
                  flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN) -> ShapeSnap:
    """Snap the compute-optimal N* at ``compute`` FLOPs to the nearest shapes of ``family`` (a name of ``FAMILIES``)
    at ``aspect_ratio`` (d_model / n_layer), re-solve D for each at the budget and report the loss given up.

    ``count`` ("total", "active" or "non_embedding") is which parameter count of a shape is the law's N;
    ``flops_per_param_token`` is k in C = k N D. Raises ``PlanningError`` for an unknown family, count or an aspect
    ratio out of range, and the allocation's errors for a bad budget.
    """
    if family not in FAMILIES:
        raise PlanningError(f"unknown shape family {family!r}; the families are {', '.join(FAMILIES)}")
    if count not in PARAMETER_COUNTS:
        raise PlanningError(f"count must be one of {', '.join(PARAMETER_COUNTS)}, got {count!r}")
    ratio = check_positive(aspect_ratio, "aspect_ratio", PlanningError)
    low, high = ASPECT_RATIO_RANGE
    if not low <= ratio <= high:
        raise PlanningError(f"aspect_ratio (d_model / n_layer) must be from {low:g} to {high:g}, got {ratio:g}")
    k = check_positive(flops_per_param_token, "flops_per_param_token", PlanningError)
    if np.size(compute) != 1:  # (1, 2) was a bare TypeError
        raise BudgetError(f"compute must be one budget in FLOPs, got shape {np.shape(compute)}")
    best = compute_optimal(law, compute, k)
    c, n_star = float(np.asarray(best.compute)), float(np.asarray(best.n_params))
    optimal = {"N": n_star, "D": float(np.asarray(best.n_tokens)), "loss": float(np.asarray(best.loss))}
    options = FAMILIES[family]
    near = shape_for_params(n_star, ratio, count=count, **options)

    def n_of(shape):
        return float(getattr(parameter_count(shape), count))

    depths = (near.n_layer, near.n_layer + 1) if n_of(near) <= n_star else (near.n_layer - 1, near.n_layer)
    candidates = []
    for depth in depths:
        if depth < 1:
            continue
        shape = shape_at_depth(depth, ratio, **options)
        n = n_of(shape)
        d = c / (k * n)
        loss = float(np.asarray(law.loss(n, d)))
        candidates.append({"shape": shape, "N": n, "D": d, "loss": loss, "loss_given_up": loss - optimal["loss"]})
    chosen = min(candidates, key=lambda row: row["loss"])
    if chosen["D"] < 1:  # the law's loss of less than a token is no loss to compare (nor to find the compute of)
        raise PlanningError(f"compute {c:.3g} FLOPs is too small for a {family} shape: the nearest whole shape, "
                            f"{chosen['N']:.4g} parameters, would train on {chosen['D']:.3g} tokens (below one)")
    needed = float(np.asarray(compute_for_loss(law, chosen["loss"], k).compute))
    return ShapeSnap(compute=c, flops_per_param_token=k, family=family, aspect_ratio=ratio, count=count,
                     optimal=optimal, candidates=candidates, chosen=chosen, loss_given_up=chosen["loss_given_up"],
                     compute_given_up=max(0.0, 1.0 - needed / c))


# The figures of a snap that bootstrap draws move (``snap_draws``); the JSON keys of its "intervals".
SNAP_DRAW_FIGURES = ("N_star", "N", "D", "loss", "loss_given_up", "compute_given_up", "n_layer", "d_model")


def snap_draws(laws, compute, confidence, **options) -> dict:
    """Snap each draw's N* (``laws``: one law per bootstrap draw) at ``compute`` FLOPs with ``snap_to_shape``'s
    ``options`` (family, aspect_ratio, count, flops_per_param_token).

    Returns ``{"confidence", "n_draws", "intervals": {name: {lo, hi, se}}, "flat": [names]}`` over
    ``SNAP_DRAW_FIGURES`` (``N_star`` the draw's unconstrained N*, the rest its chosen shape's): ``intervals`` for
    the figures the draws move (``_util.stats.figure_intervals``, the one percentile interval), ``flat`` for
    those every draw gives alike (every draw snaps to the same rung: its N, D, depth and width have no interval).
    A draw with no compute-optimal allocation counts as +inf (an unbounded end)."""
    rows = []
    for law in laws:
        try:
            found = snap_to_shape(law, compute, **options)
        except OptimalError:
            rows.append([np.inf] * len(SNAP_DRAW_FIGURES))
            continue
        c = found.chosen
        rows.append([found.optimal["N"], c["N"], c["D"], c["loss"], found.loss_given_up, found.compute_given_up,
                     c["shape"].n_layer, c["shape"].d_model])
    table = np.asarray(rows, dtype=np.float64).reshape(-1, len(SNAP_DRAW_FIGURES))
    intervals, flat = figure_intervals({name: table[:, i] for i, name in enumerate(SNAP_DRAW_FIGURES)}, confidence)
    return {"confidence": float(confidence), "n_draws": len(rows), "intervals": intervals, "flat": flat}
