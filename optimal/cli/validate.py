"""``optimal validate``: fit on some runs, predict the held-out ones, and say whether the errors fit the intervals
(``optimal.validate``)."""

import argparse
import sys
import warnings


import optimal
from optimal.analysis.validate import LACK_OF_FIT_SIGNIFICANCE, LACK_OF_FIT_SIMULATIONS, QUANTITIES, SIGNIFICANCE
from optimal.errors import OptimalError, check_confidence, check_count
from optimal.fitting.bootstrap import MAX_RESAMPLES, MAX_SEED
from optimal.data.readers import read_runs_with_columns
from optimal.data.repetition import RECOGNISED, design_columns
from optimal.data.where import parse_where
from optimal.laws import FAMILIES
from optimal.cli import common
from optimal.cli.common import add_column_options, assignment, check_filters, named_once, number, warn

EPILOG = f"""
Which runs to hold out (give exactly one):
  --holdout EXPR        a filter as fit's --where reads it; N, D, C (compute: the --flops-col column, else k N D)
                        and loss name the runs' quantities as fit reads them, any other name a column of the file
  --holdout-largest K   the K runs of largest compute
  --rolling [K]         K cut-offs at increasing compute (default 5, from 50% to 90% of the runs below them): each
                        fits the runs below its cut-off and predicts those at or above it

Errors are relative, predicted / actual - 1 (positive: the law predicts a higher loss than the run reached). A
fold is flagged when fewer held-out runs fall inside the prediction interval, or its mean error is farther from 0,
than in all but {SIGNIFICANCE:g} of folds simulated as if the law were right (sharing the fit's error, with
residuals of the fitted runs); then a warning says the law is probably misspecified.

Lack of fit (on every run, beside the held-out tests): the law is fitted to all the runs and its log-loss residuals
regressed on a quadratic surface in ln N and ln D (and, with --against COLUMN, on that column, its log when
positive: "residuals trend with COLUMN"); the share of their variance explained is compared with --simulations sets
(default {LACK_OF_FIT_SIMULATIONS}; 0: no such test) simulated from the fitted law with its residuals and
refitted, each test flagged at P < {LACK_OF_FIT_SIGNIFICANCE:g}. --against is for a column that plausibly matters
but the law does not read: epochs D / U when data repeat, say. Measured power: docs/coverage.md.

Repeated data (a design check, not a test): when the file has a column unique_tokens, U or unique (or epochs) and
the law does not model repetition (every law but data-constrained), runs with D > U make the result "misspecified"
(warning "repeated-data": how many runs, up to how many epochs, the fix), and without --against the trend test is
run against epochs max(1, D / U) (a note says so). A value that is not a positive number skips the check (a note).

JSON (--json): {{"schema": "optimal.validate/1", "law" ({{"family", "params"}}: the one fold's fitted law, or
"params" by fold label), "mode", "confidence", "significance", "misspecified", "notes", "warnings", "folds": [{{"label",
"cutoff", "n_fit", "n_held_out", "method" ("bootstrap" or "linearised"), "residual_scale", "fit": {{"law",
"params", "converged", "warnings"}}, "bootstrap" (null or {{"n_resamples", "n_failed", "warnings"}}), "metrics":
{{"n", "mean_abs_rel_error", "max_abs_rel_error", "bias", "ci_coverage", "pi_coverage", "n_in_ci", "n_in_pi",
"expected_pi_coverage", "coverage_p", "bias_p", "flagged_coverage", "flagged_bias", "flagged"}}, "warnings", "runs":
[{{"index", "N", "D", "C", "loss", "predicted", "rel_error", "mean": {{"lo", "hi"}}, "new_run": {{"lo", "hi"}},
"in_mean_interval", "in_prediction_interval", "extrapolation": {{"compute_decades", "N_decades_outside",
"D_decades_outside"}}}}]}}], "lack_of_fit" (null, or {{"n_rows", "simulations", "n_failed", "significance",
"curvature": {{"basis", "explained", "expected", "p", "flagged"}}, "trend" (null, or as curvature with "column",
"log", "slope"), "flagged"}}), "repeated_data" (null, or {{"column", "kind", "n_runs", "n_repeated", "max_epochs",
"flagged", "note"}})}}; with --where, "rows_selected" as fit gives it. With --by: {{"schema", "law" ({{"family",
"params" by group, each as above}}), "status", "groups": [{{"group": label, "mode", ..., "folds": [...]}}: one object
as above per group, in sorted label order]}}.

--cluster-col COLUMN (with --bootstrap): each fold's bootstrap resamples whole clusters of its fitted runs (the runs
of one model config, say), as fit's does.

examples:
  optimal validate runs.csv --holdout "C>=6.4e18"
  optimal validate runs.csv --holdout-largest 5 --bootstrap 200
  optimal validate runs.csv --rolling --law kaplan --json
  optimal validate runs.csv --by dataset --holdout-largest 3 --bootstrap 100 --cluster-col config
  optimal validate runs.csv --holdout-largest 5 --against epochs
"""


def add_parser(commands):
    """Register ``optimal validate`` on the subcommands ``commands``."""
    parser = commands.add_parser(
        "validate", help="held-out extrapolation: fit on some runs, predict the others, check the intervals",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    parser.add_argument("runs", metavar="RUNS.csv", type=common.name, help="one training run per row, with a header (as for fit)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--holdout", metavar="EXPR", help="hold out the runs where EXPR holds, e.g. 'C>=6.4e18'")
    which.add_argument("--holdout-largest", type=int, metavar="K", help="hold out the K largest-compute runs")
    which.add_argument("--rolling", type=int, nargs="?", const=5, metavar="K",
                       help="K compute cut-offs (default 5), each fitted below and predicting at or above it")
    parser.add_argument("--law", choices=tuple(FAMILIES), default="chinchilla", help="the law family to fit")
    parser.add_argument("--covariate", type=assignment("NAME=COLUMN (e.g. U=unique_tokens)"), action="extend",
                        nargs="+", metavar="NAME=COLUMN", help="read the law's per-run covariate NAME from COLUMN")
    parser.add_argument("--fix", type=assignment("NAME=VALUE (e.g. E=1.69)", number), action="extend", nargs="+",
                        metavar="NAME=VALUE", help="hold parameter NAME at VALUE in every fit")
    parser.add_argument("--tie", type=assignment("NAME=NAME (e.g. alpha=beta)"), action="extend", nargs="+",
                        metavar="NAME=NAME", help="hold two parameters equal")
    add_column_options(parser)
    common.add_by_option(parser, shared=False, each="each group validated on its own (its own holdout, fits and "
                                                      "tests)")
    common.add_cluster_option(parser)
    parser.add_argument("--where", action="append", metavar="EXPR", help="use only the rows where EXPR holds (as fit)")
    parser.add_argument("--drop-highest-loss", type=int, default=0, metavar="K",
                        help="leave out the K highest-loss rows (Epoch: 5)")
    common.add_k_option(parser)
    parser.add_argument("--delta", type=number, default=1e-3, help="Huber threshold on log-loss residuals")
    parser.add_argument("--n-polish", type=int, default=16, metavar="S", help="starts polished after the screen")
    parser.add_argument("--n-samples", type=int, default=4096, metavar="M",
                        help="points the screen samples for any law but the plain Chinchilla one")
    parser.add_argument("--bootstrap", type=int, default=0, metavar="B",
                        help="bootstrap resamples per fit for the intervals (default 0: linearised intervals)")
    common.add_iteration_options(parser, polish=False)
    # validate's --max-iter set the bootstrap's budget; the polish budget is optimal.validate's own (200)
    common.deprecated(parser, "--max-iter", "bootstrap_max_iter", "--bootstrap-max-iter", type=int, metavar="K")
    parser.add_argument("--against", metavar="COLUMN",
                        help="also test whether the residuals trend with COLUMN, a number the law does not read "
                             "(its log when positive), e.g. epochs")
    parser.add_argument("--simulations", type=int, default=LACK_OF_FIT_SIMULATIONS, metavar="S",
                        help=f"sets simulated from the fitted law for the lack-of-fit test (default "
                             f"{LACK_OF_FIT_SIMULATIONS}; 0: no such test; else at least 100)")
    parser.add_argument("--seed", type=int, default=0, help=f"bootstrap and simulation seed, 0 to {MAX_SEED}")
    parser.add_argument("--confidence", type=number, default=0.95, help="interval level (default 0.95)")
    parser.add_argument("--plot", metavar="OUT.png", type=common.name, help="draw predicted against actual loss with the intervals")
    common.add_json_option(parser, "validate")
    parser.set_defaults(run=run)


def _check_args(args):
    """What can be checked before reading and fitting."""
    if args.cluster_col and not args.bootstrap:
        raise OptimalError("--cluster-col is used by the cluster bootstrap: add --bootstrap N")
    if args.bootstrap:
        check_count(args.bootstrap, "--bootstrap", 2, MAX_RESAMPLES)
    check_count(args.seed, "--seed", 0, MAX_SEED)
    if args.simulations:
        check_count(args.simulations, "--simulations (0, or at least 100)", 100, MAX_RESAMPLES)
    if args.against is not None and not args.simulations:
        raise OptimalError("--against is tested by the lack-of-fit test: give --simulations S (at least 100), not 0")
    check_count(args.bootstrap_max_iter, "--bootstrap-max-iter", 1)
    check_count(args.n_polish, "--n-polish", 1)
    if args.holdout_largest is not None:
        check_count(args.holdout_largest, "--holdout-largest", 1)
    if args.rolling is not None:
        check_count(args.rolling, "--rolling", 1, 100)
    check_confidence(args.confidence, "--confidence")
    check_filters("--holdout", [args.holdout] if args.holdout else [])
    check_filters("--where", args.where)
    fixed = named_once(args.fix, "--fix")
    if fixed:
        from optimal.fitting.fit import check_constraints

        check_constraints(FAMILIES[args.law], fixed, (), (), label="--fix")
    if args.plot:
        from optimal import plot  # loads matplotlib only when a figure is asked for

        plot.check_output(args.plot)


def _read(args):
    """The runs (their groups: the --cluster-col clusters), their covariates, their compute (FLOPs), the column the
    holdout names (or None), the --by labels (or None), and what each --where kept."""
    covariate_cols = named_once(args.covariate, "--covariate")
    numbers = {f"covariate {name}": column for name, column in covariate_cols.items()}
    if args.flops_col:
        numbers["C"] = args.flops_col
    labels = None
    holdout_column = None
    if args.holdout:
        column = parse_where(args.holdout).column
        if column.strip().casefold() not in {q.casefold() for q in QUANTITIES}:
            holdout_column = column
            labels = {f"the holdout {args.holdout!r}": column}
    if args.by:
        labels = (labels or {}) | {"--by": args.by}
    against = args.against is not None and args.against.strip().casefold() not in {q.casefold() for q in QUANTITIES}
    if against:
        numbers["--against"] = args.against
    runs, columns, selection = read_runs_with_columns(
        args.runs, numbers=numbers, labels=labels, params_col=args.params_col, tokens_col=args.tokens_col,
        flops_col=args.flops_col, loss_col=args.loss_col, group_col=args.cluster_col, weight_col=args.weight_col,
        flops_per_param_token=common.k_or_default(args), drop_highest_loss=args.drop_highest_loss, where=args.where,
        n_free=0, return_selection=True, optional=RECOGNISED)
    covariates = {name: columns[f"covariate {name}"] for name in covariate_cols}
    # the unique-tokens or epochs column the file has: validate's design check and its automatic trend test
    extra = design_columns(columns)
    if holdout_column is not None:
        extra[holdout_column] = columns[f"the holdout {args.holdout!r}"]
    if against:
        extra[args.against] = columns["--against"]
    compute = columns.get("C")
    return runs, covariates, compute, extra, columns.get("--by"), [kept._asdict() for kept in selection]


def run(args):
    common.resolve_iterations(args)
    _check_args(args)
    runs, covariates, compute, extra, by, selection = _read(args)
    mode = {"holdout": args.holdout, "largest": args.holdout_largest, "rolling": args.rolling}
    if sys.stderr.isatty():
        sys.stderr.write(f"fitting the {args.law} law to the runs kept ...\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # each fold carries its fit's warnings; printed below
        options = dict(
            holdout=mode["holdout"], largest=mode["largest"], rolling=mode["rolling"], compute=compute, columns=extra,
            flops_per_param_token=common.k_or_default(args), law=args.law, covariates=covariates or None,
            fix=named_once(args.fix, "--fix") or None, tie=args.tie or (), n_resamples=args.bootstrap, seed=args.seed,
            confidence=args.confidence, max_iter=args.bootstrap_max_iter, clusters=runs.groups,
            against=args.against, simulations=args.simulations,
            objective=optimal.Objective(delta=args.delta),
            search=optimal.Search(n_polish=args.n_polish, n_samples=args.n_samples))
        if by is None:
            report = optimal.validate(runs.n_params, runs.n_tokens, runs.loss, runs.weights, **options)
        else:  # one validation per group
            report = optimal.validate_groups(runs.n_params, runs.n_tokens, runs.loss, runs.weights, groups=by,
                                             **options)
    for s in selection:
        print(f"kept {s['kept']} of {s['of']} rows ({s['where']})", file=sys.stderr)
    if args.plot:
        from optimal import plot
        from optimal.plot.validate import validation_figure

        common.wrote(plot.save_figure(validation_figure(report if by is None else report.as_one()), args.plot))
    if args.json:
        output = report.to_dict()
        if selection:
            output["rows_selected"] = selection
        common.emit("validate", output, _law(report))
    else:
        print(report_text(report))
    for group, validation in [(None, report)] if by is None else report.items():
        where = "" if group is None else f"[group {group}] "
        for fold in validation.folds:
            prefix = where + (f"[{fold.label}] " if len(validation.folds) > 1 else "")
            for message in fold.fit.warnings:
                warn(f"{prefix}fit: {message}")
            for message in fold.bootstrap.warnings if fold.bootstrap is not None else []:
                warn(f"{prefix}bootstrap: {message}")
        for message in validation.warnings:
            warn(where + str(message))
    return 0


def _law(report):
    """The fitted law: the one fold's, or every fold's params by label; with --by, each group's by group."""
    if isinstance(report, optimal.GroupValidations):
        laws = {group: _law(validation) for group, validation in report.items()}
        return {"family": next(iter(laws.values()))["family"],
                "params": {group: law["params"] for group, law in laws.items()}}
    if len(report.folds) == 1:
        return common.fit_law_json(report.folds[0].fit)
    return {"family": report.folds[0].fit.family.name,
            "params": {str(fold.label): common.fit_law_json(fold.fit)["params"] for fold in report.folds}}


def report_text(report):
    """The validation as text: ``report.summary()`` (per fold its summary and, for one fold, the held-out runs)."""
    return report.summary()
