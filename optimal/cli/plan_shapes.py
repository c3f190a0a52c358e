"""``optimal plan --snap-shape FAMILY``: the compute-optimal N* snapped to a real shape of a family, D re-solved for
it at the budget and the loss given up (``optimal.analysis.snap``); plan.py calls ``add_options`` and ``section``."""

from optimal.analysis.snap import FAMILIES, snap_to_shape
from optimal.errors import OptimalError
from optimal.planning import DEFAULT_ASPECT_RATIO


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


def section(args, law, k):
    """The "snap" JSON section and its text lines (None and [] without --snap-shape)."""
    if args.snap_shape is None:
        return None, []
    found = snap_to_shape(law, args.compute, family=args.snap_shape, count=args.snap_count, flops_per_param_token=k,
                          aspect_ratio=DEFAULT_ASPECT_RATIO if args.aspect_ratio is None else args.aspect_ratio)
    lines = found.summary().splitlines()
    if args.fit:
        lines.append("  (the snap is the point law's: no interval from the fit record's draws)")
    return found.to_dict(), lines
