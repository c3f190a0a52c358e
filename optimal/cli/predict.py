"""``optimal predict``: the loss a saved fit predicts at runs (N, D), with the confidence interval for the mean loss,
the prediction interval for a new run and how far each run lies beyond the fitted ones (``optimal.predict``)."""

import argparse
import csv
from pathlib import Path

import numpy as np

import optimal
from optimal.allocation.extrapolation import MAX_DECADES_OUTSIDE
from optimal.errors import DataError, OptimalError, check_confidence
from optimal.data.readers import read_runs_with_columns
from optimal.cli import common
from optimal.cli.common import add_column_options, assignment, named_once, number, warn

EPILOG = f"""
The point is the fitted law's loss. The confidence interval for the mean loss comes from the record's bootstrap
draws (saved by 'optimal fit --bootstrap B --save FIT.json'), the percentiles of every draw's loss; without draws
it is linearised from the fit's curvature (rougher: say --bootstrap when saving). The prediction interval for a
new run adds the residual scatter of the fitted runs (a robust scale of their log-loss residuals, assumed iid).
Neither includes the error of a law of the wrong form: 'optimal validate' measures that on held-out runs.
A run more than {MAX_DECADES_OUTSIDE:g} decade outside the fitted N or D range is warned about.

JSON (--json): {{"schema": "optimal.predict/1", "law": {{"family", "params"}} (the law that predicts), "fit" (the
record's path), "confidence", "method" ("bootstrap" or "linearised"), "n_draws", "residual_scale",
"dof", "notes", "warnings", "runs": [{{"N", "D", "C", "loss", "mean": {{"lo", "hi"}}, "new_run": {{"lo", "hi"}},
"log_se", "extrapolation": {{"compute_decades", "N_decades_outside", "D_decades_outside"}}}}]}}; with --runs and a
loss column, each run also has "actual", "rel_error" (predicted / actual - 1) and "in_prediction_interval".

examples:
  optimal predict --fit fit.json --params 7e10 --tokens 1.4e12
  optimal predict --fit fit.json --params 1e9 7e10 --tokens 2e10 1.4e12 --json
  optimal predict --fit fit.json --runs planned.csv
"""


def add_parser(commands):
    """Register ``optimal predict`` on the subcommands ``commands``."""
    parser = commands.add_parser(
        "predict", help="predicted loss at (N, D) from a saved fit, with confidence and prediction intervals",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    common.add_fit_option(parser, positional_alias=True, required=True)
    parser.add_argument("--params", type=number, nargs="+", metavar="N", help="parameters of each run")
    parser.add_argument("--tokens", type=number, nargs="+", metavar="D",
                        help="training tokens of each run (one value, or as many as --params)")
    parser.add_argument("--runs", metavar="RUNS.csv", type=common.name, help="runs to predict, one per row (N, D as fit reads them)")
    parser.add_argument("--covariate", type=assignment("NAME=VALUE or NAME=COLUMN"), action="extend", nargs="+",
                        metavar="NAME=VALUE", help="the law's covariate (data-constrained: U): a number, or with --runs "
                                                   "a column")
    common.add_group_option(parser)
    add_column_options(parser, weights=False, when="with --runs: ", loss="actual losses (default loss, if any)")
    common.add_k_option(parser, record=True)
    parser.add_argument("--confidence", type=number, default=0.95, help="interval level (default 0.95)")
    common.add_json_option(parser, "predict")
    parser.set_defaults(run=run)


def _has_column(path, name):
    """Whether a CSV file's header holds ``name`` (matched as the readers match); None when it cannot tell."""
    if Path(path).suffix.lower() == ".parquet":
        return None
    try:
        if not Path(path).is_file():
            return None  # a device or a FIFO (whose open would wait for a writer): the reader refuses it
        with open(path, newline="", encoding="utf-8-sig") as handle:
            line = handle.readline(1 << 20)  # bounded: a file that never ends (/dev/zero) has no first line
        header = next(csv.reader([line]), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return None  # the reader itself says what is wrong
    return name.strip().casefold() in {h.strip().casefold() for h in header}


def _runs_to_predict(args, k):
    """``(N, D, covariates, actual losses or None)`` from --params/--tokens or --runs."""
    if (args.runs is None) == (args.params is None and args.tokens is None):
        raise OptimalError("give either --params N... and --tokens D..., or --runs RUNS.csv")
    pairs = named_once(args.covariate, "--covariate")
    if args.runs is None:
        if args.params is None or args.tokens is None:
            raise OptimalError("give both --params and --tokens")
        try:
            n, d = np.broadcast_arrays(np.asarray(args.params, float), np.asarray(args.tokens, float))
        except ValueError:
            raise DataError(f"--params has {len(args.params)} values and --tokens {len(args.tokens)}: give one value "
                            "or as many as the other") from None
        covariates = {}
        for name, text in pairs.items():
            try:
                covariates[name] = float(text)
            except ValueError:
                raise DataError(f"--covariate {name}={text}: give a number (a column only with --runs)") from None
        return n, d, covariates, None
    loss_col = args.loss_col
    has_loss = loss_col is not None or _has_column(args.runs, "loss")
    stand_in = loss_col if has_loss else (args.params_col or "N")  # no loss column: read N in its place, unused
    runs, columns = read_runs_with_columns(
        args.runs, numbers={f"covariate {name}": column for name, column in pairs.items()},
        params_col=args.params_col, tokens_col=args.tokens_col, flops_col=args.flops_col, loss_col=stand_in,
        flops_per_param_token=k, n_free=0)
    covariates = {name: columns[f"covariate {name}"] for name in pairs}
    return runs.n_params, runs.n_tokens, covariates, runs.loss if has_loss else None


def run(args):
    common.require_fit(args)
    check_confidence(args.confidence, "--confidence")
    record = optimal.load_record(args.fit)  # the fit, its draws and its k, every field checked
    result, boot = record.fit, record.bootstrap
    k = common.k_for_record(args, record)
    n, d, covariates, actual = _runs_to_predict(args, k)
    prediction = optimal.predict(result, n, d, covariates or None, args.confidence, boot, args.group)
    records = prediction.scored_records(k, actual)
    found = [f"fit: {w}" for w in result.warnings] + [f"bootstrap: {w}" for w in (boot.warnings if boot else [])]
    found += list(prediction.warnings)  # runs far outside the fitted ranges
    if args.json:
        output = prediction.to_dict()
        output.update(fit=str(args.fit), runs=records, warnings=found)
        law = common.fit_law_json(result if args.group is None or result.group_labels is None
                                  else result.group(str(args.group)))
        common.emit("predict", output, law)
    else:
        print(prediction.summary(source=args.fit, flops_per_param_token=k, actual=actual))
    for message in found:
        warn(message)
    return 0
