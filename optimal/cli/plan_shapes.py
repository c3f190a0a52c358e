"""``optimal plan --snap-shape FAMILY``: the compute-optimal N* snapped to a real shape of a family, D re-solved for
it at the budget and the loss given up (``optimal.analysis.snap``); plan.py calls ``add_options`` and ``section``."""

import numpy as np

import optimal
from optimal.analysis.snap import FAMILIES, SNAP_DRAW_FIGURES, snap_draws, snap_to_shape
from optimal.errors import OptimalError
from optimal.planning import DEFAULT_ASPECT_RATIO

from .plan_serving import interval_lines


def add_options(parser):
    parser.add_argument("--snap-shape", metavar="FAMILY", choices=tuple(FAMILIES),
                        help=f"with --compute: snap N* to the nearest shape of a family ({', '.join(FAMILIES)}: "
                             "d_model a multiple of 128 near --aspect-ratio x n_layer, heads of 128), re-solve D = "
                             "C / (k N) for it and print the loss given up")
    parser.add_argument("--snap-count", default="total", choices=("total", "active", "non_embedding"),
                        help="which parameter count of a shape is the law's N (default total)")


def check(args, mode):
    """Refuse --snap-shape outside the plain compute question (before any solve)."""
    if args.snap_shape is None:
        if args.snap_count != "total":
            raise OptimalError("--snap-count goes with --snap-shape")
        return
    if mode != "compute" or args.context is not None or args.decide is not None:
        raise OptimalError("--snap-shape snaps the compute-optimal N* at --compute C (C = k N D): use it with --compute "
                           "alone, not with --context, --decide, --target-loss, --params, --shape or --inference-tokens")


def _draw_laws(args):
    """``(laws, confidence, why)``: one law per bootstrap draw of the --fit record (its family at each draw's
    coefficients) and the record's interval level, or ``(None, None, why)``."""
    record = optimal.load_record(args.fit)
    if record.bootstrap is None or len(record.bootstrap.good) < 2:
        return None, None, "the fit record holds no bootstrap draws (optimal fit --bootstrap B --save)"
    if record.fit.group_labels is not None:
        return None, None, "a joint fit's draws are not snapped per group"
    family = record.fit.family
    return ([family.law_from_theta(np.asarray(theta, np.float64)) for theta in record.bootstrap.good],
            record.bootstrap.confidence, None)


def section(args, law, k):
    """The "snap" JSON section and its text lines (None and [] without --snap-shape). With a --fit record holding
    bootstrap draws, every draw's law is snapped too (``optimal.analysis.snap.snap_draws``): "intervals" for the
    figures the draws move, "no_interval" for those they do not, and why."""
    if args.snap_shape is None:
        return None, []
    options = dict(family=args.snap_shape, count=args.snap_count, flops_per_param_token=k,
                   aspect_ratio=DEFAULT_ASPECT_RATIO if args.aspect_ratio is None else args.aspect_ratio)
    found = snap_to_shape(law, args.compute, **options)
    lines = found.summary().splitlines()
    out = {**found.to_dict(), "intervals": None, "no_interval": None}
    if not args.fit:
        return out, lines
    laws, confidence, why = _draw_laws(args)
    if laws is None:
        out["no_interval"] = {"figures": list(SNAP_DRAW_FIGURES), "why": why}
        lines.append(f"  (no interval for the snap: {why})")
        return out, lines
    drawn = snap_draws(laws, args.compute, confidence, **options)
    out["intervals"] = {"confidence": drawn["confidence"], **drawn["intervals"]}
    if drawn["flat"]:
        out["no_interval"] = {"figures": drawn["flat"], "why": "every bootstrap draw snaps to the same figure"}
    lines += interval_lines(drawn["intervals"], drawn["flat"], drawn["confidence"],
                            f"each of {drawn['n_draws']} draws' laws snapped the same way")
    return out, lines
