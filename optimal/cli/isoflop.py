"""``optimal isoflop RUNS.csv``: IsoFLOP profiles (Approach 2) beside the parametric fit (Approach 3) on the same runs.

The computation is ``optimal.isoflop`` (``optimal.analysis.isoflop``); this module reads the runs the way ``optimal
fit`` does (``read_runs_with_columns``, ``--where``), prints and plots.
"""

import argparse
import sys

import optimal
from optimal.errors import BudgetError, OptimalError, check_confidence, check_count
from optimal.fitting.bootstrap import MAX_RESAMPLES, MAX_SEED
from optimal.data.readers import read_runs_with_columns
from optimal.analysis.isoflop import (DEFAULT_INTERVAL, DEFAULT_TOLERANCE, INNER_RESAMPLES, INTERVAL_METHODS,
                                      check_tolerance)
from optimal.cli import common
from optimal.cli.common import add_column_options, check_filters, number, warn

COMPUTE_KEY = "--compute-col"

EPILOG = """\
Each budget's runs (grouped by --compute-col, or by k N D, within --tolerance, and never split by rounding: budgets
within 8 float64 ulps are one budget even at --tolerance 0) get a parabola of the loss (nats)
against ln N; its vertex is N_opt(C) when the curvature is positive and the vertex lies inside the sizes tried.
N*(C) = G C^a and D*(C) = H C^b are fitted through the accepted vertices; the parametric Chinchilla fit
(optimal fit) runs on the same rows beside it. --weight-col weights each run in its parabola (weighted least squares)
and in the parametric fit.

--bootstrap B: a wild bootstrap on each budget's fixed sizes: every run keeps its size, its loss is redrawn as the
parabola's fitted loss plus its leverage-adjusted residual times a random sign, and every parabola and the line are
refitted, so no size is dropped. Approach 2's intervals are by default (--interval auto) the studentized ones where
every vertex lies at least 1.96 standard errors (at 95%%) inside the bounds its budget is accepted within (its
sizes, and half their width beyond them: a vertex farther out is refused) and no budget was refused for its losses,
else the envelope of the percentile and studentized intervals (the text and the JSON say which, and why);
--interval percentile gives the draws' percentiles; --interval bc reads them as bias-corrected percentile
intervals (Efron's BC); --interval calibrated takes the percentile interval at levels
calibrated by a double bootstrap (%d second-level resamples of each draw; measured: about 16 times the
bootstrap's time, docs/isoflop.md); --interval studentized is the bootstrap-t interval (each draw's
(a* - a) / se*, se* the delta-method standard error from the draw's own residuals). With --cluster-col the runs of
one cluster share their sign (and the parametric bootstrap resamples whole clusters). A redrawn parabola with no
minimum (noise large against the curvature) has its vertex left out of that resample's line, as a refused budget is
left out of the data's: counted and warned about.
docs/isoflop.md has the scheme and its measured coverage.

JSON (--json): one object, "schema": "optimal.isoflop/1", "law" (the parametric fit's {"family", "params"}, or
null with --no-parametric), "budgets" (one object per budget: compute, n_runs, n_sizes, n_min, n_max, width_decades,
coefficients [c0, c1, c2] of loss = c0 + c1 ln N + c2 (ln N)^2, curvature, n_opt, d_opt, loss_opt, offset_decades,
offset_half_widths, accepted, reason), "approach2" (a, G, b, H, bootstrap), "approach3" (params, a, b),
"exponent_difference", "targets" (both approaches' N* and D* at each target budget, N_ratio), "predicted_bias",
"warnings" ([{code, message}]); the README lists every key.

examples:
  optimal isoflop runs.csv
  optimal isoflop runs.csv --compute-col C --bootstrap 1000 --plot isoflop.png
  optimal isoflop runs.csv --bootstrap 1000 --cluster-col config --weight-col w
  optimal isoflop runs.csv --compute 1e24 --json
""" % INNER_RESAMPLES


def add_parser(commands):
    """Register ``optimal isoflop`` on the subcommands ``commands`` (``build_parser`` calls it)."""

    parser = commands.add_parser(
        "isoflop", help="IsoFLOP profiles (Approach 2: a parabola per budget) beside the parametric fit (Approach 3)",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    parser.add_argument("runs", metavar="RUNS.csv", type=common.name, help="one training run per row, with a header (or a .parquet file)")
    parser.add_argument("--compute-col", metavar="NAME", type=common.name,
                        help="column of each run's budget C (FLOPs); default: C = k N D of each run")
    parser.add_argument("--tolerance", type=number, default=DEFAULT_TOLERANCE, metavar="T",
                        help=f"runs whose budgets agree within this relative tolerance share a budget (default "
                             f"{DEFAULT_TOLERANCE:g})")
    common.add_compute_option(parser, help="target budgets (FLOPs) to compare the approaches at (default: the "
                                           "largest budget in the data and 100 x it)", old=("--budgets",))
    parser.add_argument("--bootstrap", type=int, default=0, metavar="B",
                        help="bootstrap resamples (a wild bootstrap on each budget's fixed sizes; the parametric fit's "
                             "rows resampled)")
    parser.add_argument("--seed", type=int, default=0, help=f"bootstrap seed, 0 to {MAX_SEED} (default 0)")
    parser.add_argument("--confidence", type=number, default=0.95, help="interval level (default 0.95)")
    parser.add_argument("--interval", choices=INTERVAL_METHODS,
                        help="how Approach 2's bootstrap intervals are read off the draws: auto (default: studentized "
                             "where every vertex is well inside the bounds it is accepted within, else the "
                             "envelope of percentile and "
                             "studentized), percentile, bc "
                             "(Efron's bias-corrected percentile interval), calibrated (the percentile interval at "
                             "levels calibrated by a second-level bootstrap of each draw), or studentized (the "
                             "bootstrap-t interval); docs/isoflop.md compares their coverage")
    parser.add_argument("--no-parametric", action="store_true", help="skip the parametric (Approach 3) fit")
    parser.add_argument("--plot", metavar="OUT.png", type=common.name, help="draw the profiles with their parabolas, and N*(C) of both")
    add_column_options(parser)
    common.add_cluster_option(parser)
    parser.add_argument("--where", action="append", metavar="EXPR",
                        help="use only the rows where EXPR holds (as for 'optimal fit'); repeat it and every one must hold")
    common.add_k_option(parser)
    common.add_json_option(parser, "isoflop", "keys above")
    parser.set_defaults(run=run)
    return parser


def _check_args(args):
    """What the options alone can tell, before the file is read."""
    check_tolerance(args.tolerance)
    if args.bootstrap:
        check_count(args.bootstrap, "--bootstrap", 2, MAX_RESAMPLES)
    check_count(args.seed, "--seed", 0, MAX_SEED)
    if args.cluster_col and not args.bootstrap:
        raise OptimalError("--cluster-col is used by the cluster bootstrap: add --bootstrap N")
    if args.interval and not args.bootstrap:
        raise OptimalError("--interval says how the bootstrap intervals are read: add --bootstrap N")
    check_confidence(args.confidence, "--confidence")
    if args.compute:
        from optimal.allocation.allocate import check_budgets

        try:
            check_budgets(args.compute, common.k_or_default(args))
        except BudgetError as exc:
            raise BudgetError(f"--compute: {exc}") from None
    check_filters("--where", args.where)
    if args.plot:
        from optimal import plot  # loads matplotlib only when a figure is asked for

        plot.check_output(args.plot)


def run(args):
    _check_args(args)
    k = common.k_or_default(args)
    runs, columns, selection = read_runs_with_columns(
        args.runs, numbers={COMPUTE_KEY: args.compute_col} if args.compute_col else None, params_col=args.params_col,
        tokens_col=args.tokens_col, flops_col=args.flops_col, loss_col=args.loss_col, group_col=args.cluster_col,
        weight_col=args.weight_col, flops_per_param_token=k, where=args.where, n_free=0, return_selection=True)
    result = optimal.isoflop(runs, compute=columns.get(COMPUTE_KEY), clusters=runs.groups, tolerance=args.tolerance,
                             flops_per_param_token=k, targets=args.compute,
                             n_resamples=args.bootstrap, seed=args.seed, confidence=args.confidence,
                             interval=args.interval or DEFAULT_INTERVAL, parametric=not args.no_parametric)
    for s in selection:
        print(f"kept {s.kept} of {s.of} rows ({s.where})", file=sys.stderr)
    if args.plot:
        from optimal.plot.isoflop import isoflop_figure  # loads matplotlib only when a figure is asked for
        from optimal import plot

        common.wrote(plot.save_figure(isoflop_figure(result), args.plot))
    if args.json:
        output = result.to_dict()
        if selection:
            output["rows_selected"] = [s._asdict() for s in selection]
        law = None if result.parametric is None else common.fit_law_json(result.parametric)
        common.emit("isoflop", output, law)
    else:
        print(report(result))
    for w in result.warnings:
        warn(f"{w.code}: {w.message}")
    if result.parametric is not None:
        for w in result.parametric.warnings:
            warn(f"parametric fit: {w}")
    return 0


def report(result):
    """The text answer: ``result.summary()`` (the profiles, both approaches' exponents, N*, D* at the targets)."""
    return result.summary()
