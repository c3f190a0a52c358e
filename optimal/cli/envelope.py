"""``optimal envelope CURVES.csv``: Hoffmann et al. 2022's Approaches 1, 2 and 3 side by side on the same learning curves.

The computation is ``optimal.envelope`` (``optimal.analysis.envelope``); this module reads the curves
(``optimal.read_curves_csv``, ``--where``), prints and writes JSON.
"""

import argparse

import optimal
from optimal.errors import BudgetError, check_confidence, check_count
from optimal.fitting.bootstrap import MAX_RESAMPLES, MAX_SEED
from optimal.analysis.envelope import GRID_POINTS
from optimal.cli import common
from optimal.cli.common import add_column_options, check_filters, number, warn

EPILOG = """\
CURVES.csv has one row per checkpoint: the run's id (--run-col, default run), its N (--params-col, default N: the
same on every row of a run), the tokens it has seen so far (--tokens-col, default D; or --flops-col with the FLOPs
spent so far, D = C / (k N)) and the loss there (--loss-col, default loss). --schedule-col names a column of each
run's learning-rate schedule length in tokens (a cosine's cycle length): checkpoints before 99% of it are not
trained to length, and a warning says how many of the envelope's points rest on them.

Approach 1: the lowest loss over all runs at each of --grid budgets (C = k N D, interpolated along each curve),
N_opt(C) = G C^a fitted through the winners that have a smaller and a larger size beside them. Approach 2: IsoFLOP
slices at --slices budgets (default 5, where 5+ sizes' curves reach), each size's loss at D = C / (k N) read off its
curve, then a parabola (optimal isoflop's) and a cubic in ln N. Approach 3: optimal fit on each run's final checkpoint
(--parametric final, the default) or every checkpoint (--parametric all). --bootstrap B: Approach 1 resamples whole
runs, the slices use optimal isoflop's wild bootstrap (one sign per size), Approach 3 optimal fit's bootstrap.

JSON (--json): one object, "schema": "optimal.envelope/1", "law" (Approach 3's fit, or null), "a" and "a_interval"
(Approach 1's exponent of N_opt ~ C^a and its interval), "G", "b", "H", "envelope" (the grid: compute, run, n_opt,
loss_opt, accepted, schedule_fraction), "approaches" (one row per approach: approach, method, a, interval, G),
"slices" (optimal isoflop's JSON of the slices), "cubic", "approach3", "targets" (each approach's N* at --compute),
"warnings", "notes", "status".

examples:
  optimal envelope curves.csv
  optimal envelope curves.csv --schedule-col schedule --bootstrap 200 --json
  optimal envelope curves.csv --slices 1e18 3e18 1e19 --parametric all
"""


def add_parser(commands):
    """Register ``optimal envelope`` on the subcommands ``commands`` (``build_parser`` calls it)."""
    parser = commands.add_parser(
        "envelope", help="learning curves: Approach 1 (the lower envelope) beside Approaches 2 and 3 on the same runs",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    parser.add_argument("curves", metavar="CURVES.csv", type=common.name,
                        help="one checkpoint per row (run, N, tokens seen, loss), with a header (or a .parquet file)")
    parser.add_argument("--run-col", metavar="NAME", type=common.name, help="column of run ids (default run)")
    add_column_options(parser, weights=False, loss="the loss at the checkpoint (default loss)")
    parser.add_argument("--schedule-col", metavar="NAME", type=common.name,
                        help="column of each run's learning-rate schedule length in tokens (tells an undecayed "
                             "checkpoint from a run trained to length)")
    common.add_compute_option(parser, help="target budgets (FLOPs) to compare the approaches' N* at (default: the "
                                           "largest FLOPs in the data and 100 x it)", old=("--budgets",))
    parser.add_argument("--slices", type=number, nargs="+", metavar="C",
                        help="IsoFLOP slice budgets in FLOPs (default: 5 log-spaced where 5+ sizes' curves reach)")
    parser.add_argument("--grid", type=int, default=GRID_POINTS, metavar="G",
                        help=f"envelope budgets, log-spaced over the data (default {GRID_POINTS})")
    parser.add_argument("--parametric", choices=("final", "all", "none"), default="final",
                        help="Approach 3 on each run's final checkpoint (default), on every checkpoint, or none")
    parser.add_argument("--bootstrap", type=int, default=0, metavar="B", help="bootstrap resamples (0: none)")
    parser.add_argument("--seed", type=int, default=0, help=f"bootstrap seed, 0 to {MAX_SEED} (default 0)")
    parser.add_argument("--confidence", type=number, default=0.95, help="interval level (default 0.95)")
    parser.add_argument("--where", action="append", metavar="EXPR",
                        help="use only the rows where EXPR holds (as for 'optimal fit'); repeat it and every one must hold")
    common.add_k_option(parser)
    common.add_json_option(parser, "envelope", "keys above")
    parser.set_defaults(run=run)
    return parser


def _check_args(args):
    """What the options alone can tell, before the file is read."""
    if args.bootstrap:
        check_count(args.bootstrap, "--bootstrap", 2, MAX_RESAMPLES)
    check_count(args.seed, "--seed", 0, MAX_SEED)
    check_count(args.grid, "--grid", 10, 100_000)
    check_confidence(args.confidence, "--confidence")
    for option, values in (("--compute", args.compute), ("--slices", args.slices)):
        for value in values or ():
            if not value > 0 or value == float("inf"):
                raise BudgetError(f"{option}: {value!r} is not a positive finite number of FLOPs")
    check_filters("--where", args.where)


def run(args):
    _check_args(args)
    k = common.k_or_default(args)
    curves = optimal.read_curves_csv(args.curves, run_col=args.run_col, params_col=args.params_col,
                                     tokens_col=args.tokens_col, flops_col=args.flops_col, loss_col=args.loss_col,
                                     schedule_col=args.schedule_col, flops_per_param_token=k, where=args.where)
    result = optimal.envelope(curves, flops_per_param_token=k, grid_points=args.grid, budgets=args.slices,
                              targets=args.compute, n_resamples=args.bootstrap, seed=args.seed,
                              confidence=args.confidence, parametric=None if args.parametric == "none" else args.parametric)
    if args.json:
        law = None if result.parametric is None else common.fit_law_json(result.parametric)
        common.emit("envelope", result.to_dict(), law)
    else:
        print(result.summary())
    for w in result.warnings:
        warn(f"{w.code}: {w.message}")
    return 0
