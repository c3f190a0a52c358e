"""``optimal hparams SWEEP.csv --param lr|batch``: a learning-rate or batch-size sweep -> the optimum per (N, D)
setting and the power law through them, with wild-bootstrap intervals (``optimal.hparam_sweep``).

It reads the runs as ``optimal fit`` does (``read_runs_with_columns``, ``--where``) plus the hyperparameter's column,
calls the library and prints the result's own ``summary()`` or ``to_dict()``.
"""

import argparse
import sys

import optimal
from optimal.errors import OptimalError, check_confidence, check_count
from optimal.data.readers import read_runs_with_columns
from optimal.analysis.hparam_sweep import FORMS, MAX_RESAMPLES, PARAMS
from optimal.cli import common
from optimal.cli.common import add_column_options, check_filters, number, warn

HPARAM_KEY = "--column"  # the option that names the column (error messages say it)
MAX_SEED = 2**32 - 1

EPILOG = """\
One run per row: N, D (or C), the final loss and the hyperparameter (--column, default the --param name: lr or
batch). Runs with the same N and D are one setting; its loss is fitted as a parabola in ln h and the vertex is the
setting's optimum h* (kept when the curvature is positive and the vertex lies inside the values tried). The law
h* = a C^b (C = k N D; --form compute) or h* = a N^p D^q (--form params_tokens) is fitted by least squares in logs
through the kept optima. Intervals: a wild bootstrap over runs (each run keeps N, D and h; its loss is redrawn from
its setting's parabola with its leverage-adjusted residual times a random sign), as 'optimal isoflop' does.
A batch size is fitted in the sweep's own units (tokens or sequences per step): say which in your column name.

JSON (--json): one object, "schema": "optimal.hparams/1", "param", "form", "flops_per_param_token", "law"
({"coefficient", "exponents"}), "residual_sd_log", "settings" (N, D, compute, n_runs, n_values, h_min, h_max,
optimum, loss_at_optimum, curvature, accepted, reason), "bootstrap" (n_resamples, seed, confidence, n_failed,
intervals), "prediction" (with --compute or --params/--tokens: value, lo, hi, inputs), "status", "warnings", "notes".

examples:
  optimal hparams sweep.csv --param lr
  optimal hparams sweep.csv --param batch --column batch_tokens --compute 1e22 --json
  optimal hparams sweep.csv --param lr --form params_tokens --params 7e9 --tokens 2e12
"""


def add_parser(commands):
    """Register ``optimal hparams`` on ``commands`` (the subparsers of ``optimal``)."""
    parser = commands.add_parser(
        "hparams", help="fit a learning-rate or batch-size sweep: the optimum per (N, D) and its power law",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    parser.add_argument("runs", metavar="SWEEP.csv", type=common.name,
                        help="one training run per row, with a header (or a .parquet file)")
    parser.add_argument("--param", required=True, choices=tuple(PARAMS), help="which hyperparameter was swept")
    parser.add_argument("--column", metavar="NAME", type=common.name,
                        help="column of the hyperparameter's value (default: the --param name)")
    parser.add_argument("--form", choices=tuple(FORMS), default="compute",
                        help="the law: h* = a C^b (compute, default) or h* = a N^p D^q (params_tokens)")
    common.add_compute_option(parser, help="the law's h* at this training compute (FLOPs), with its interval",
                              single=True)
    parser.add_argument("--params", type=number, metavar="N", help="with --tokens: the law's h* at N and D")
    parser.add_argument("--tokens", type=number, metavar="D", help="with --params: the law's h* at N and D")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="B",
                        help="wild-bootstrap resamples for the intervals (default 1000; 0: none)")
    parser.add_argument("--seed", type=int, default=0, help=f"bootstrap seed, 0 to {MAX_SEED} (default 0)")
    parser.add_argument("--confidence", type=number, default=0.95, help="interval level (default 0.95)")
    add_column_options(parser, weights=False)
    parser.add_argument("--where", action="append", metavar="EXPR",
                        help="use only the rows where EXPR holds (as for 'optimal fit'); repeat it and every one must hold")
    common.add_k_option(parser)
    common.add_json_option(parser, "hparams", "keys above")
    parser.set_defaults(run=run)
    return parser


def _check_args(args):
    """What the options alone can tell, before the file is read."""
    if check_count(args.bootstrap, "--bootstrap", 0, MAX_RESAMPLES) == 1:
        raise OptimalError("--bootstrap must be 0 (no intervals) or at least 2 resamples, got 1")
    check_count(args.seed, "--seed", 0, MAX_SEED)
    check_confidence(args.confidence, "--confidence")
    check_filters("--where", args.where)
    if (args.params is None) != (args.tokens is None):
        raise OptimalError("give --params N and --tokens D together")
    if args.compute is not None and args.params is not None:
        raise OptimalError("give --compute C or --params N with --tokens D, not both")
    if args.form == "params_tokens" and args.compute is not None:
        raise OptimalError("a law in N and D (--form params_tokens) is read at --params N --tokens D, not --compute")


def run(args):
    _check_args(args)
    k = common.k_or_default(args)
    runs, columns, selection = read_runs_with_columns(
        args.runs, numbers={HPARAM_KEY: args.column or args.param}, params_col=args.params_col,
        tokens_col=args.tokens_col, flops_col=args.flops_col, loss_col=args.loss_col, flops_per_param_token=k,
        where=args.where, n_free=0, return_selection=True)
    result = optimal.hparam_sweep(runs.n_params, runs.n_tokens, columns[HPARAM_KEY], runs.loss, param=args.param,
                                  form=args.form, flops_per_param_token=k, n_resamples=args.bootstrap, seed=args.seed,
                                  confidence=args.confidence)
    prediction = None
    if args.compute is not None or args.params is not None:
        prediction = optimal.hparam_at(result, compute=args.compute, n_params=args.params, n_tokens=args.tokens)
    for s in selection:
        print(f"kept {s.kept} of {s.of} rows ({s.where})", file=sys.stderr)
    if args.json:
        common.emit("hparams", result.to_dict() | {"prediction": prediction})
    else:
        print(result.summary())
        if prediction is not None:
            at = ", ".join(f"{name} = {value:.4g}" for name, value in prediction["inputs"].items())
            ends = "" if result.bootstrap is None or "intervals" not in result.bootstrap else \
                f"  [{100 * args.confidence:g}%: " + " .. ".join(
                    "unbounded" if v is None else f"{v:.4g}" for v in (prediction["lo"], prediction["hi"])) + "]"
            print(f"{PARAMS[args.param]}* at {at}: {prediction['value']:.4g}{ends}")
    for w in result.warnings:
        warn(f"{w.code}: {w.message}")
    return 0
