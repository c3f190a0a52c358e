"""``optimal fit RUNS.csv``: fit a law to runs, with bootstrap intervals, allocations at budgets, comparisons of
groups, sweeps of settings, a figure and a saved record. The bootstrap strategy and the record's contents are the
library's (``optimal.analysis.uncertainty.fit_report``); this module parses, calls and prints."""

import argparse
import sys
import warnings

import numpy as np

import optimal
from optimal.allocation.allocate import check_budgets
from optimal.allocation.draws import bootstrap_to_dict
from optimal.analysis.uncertainty import fit_report
from optimal.errors import DataError, OptimalError, OutputError, check_confidence, check_count
from optimal.data.readers import read_runs_with_columns
from optimal.data.repetition import RECOGNISED, design_columns, repetition
from optimal.fitting.bootstrap import MAX_RESAMPLES, MAX_SEED
from optimal.fitting.resample import WILD_WEIGHTS
from optimal.fitting.fit import MAX_ITER, check_constraints
from optimal.fitting.problem import free_count
from optimal.fitting.sweep import fit_cells, setting_label
from optimal.laws import FAMILIES
from optimal._util.jsonio import check_writable

from . import common
from .common import k_or_default, named_once, warn

DEFAULT_N_POLISH = 16


def _laws_text():
    lines = ["laws (--law), their parameters (--fix, --tie, --shared) and covariates (--covariate):"]
    for law, family in FAMILIES.items():
        lines.append(f"  {law}: {family.formula}")
        covariates = f"; covariates {', '.join(family.covariates)}" if family.covariates else ""
        lines.append(f"    parameters {', '.join(family.params)}{covariates}")
    return "\n".join(lines)


EPILOG = _laws_text() + """

JSON (--json): one object, "schema": "optimal.fit/1", "law": {"family", "params"} (the fitted law; a joint fit's
"params" by group; absent with --by without --shared) and "fits": one object per fit (one without --by; with --by
one per group in sorted label order, each with "group": its label), each with its "law" ({"family", "params"}),
"params" (every parameter by name, fixed ones included),
"fixed" ({name: value}), "tied", "shared", "covariates", "objective", "converged", ..., and "bootstrap" and
"recommendation" when asked for; with --where, "rows_selected": [{"where", "kept", "of"}], one per filter in order
("kept" of the "of" rows the filters before it left), as stderr says ("kept 120 of 240 rows (...)").
  Without --shared each group's object is that group's own fit.
  With --shared the objects are views of one joint fit: "params", "theta", "n_rows", "bootstrap" and
  "recommendation" are the group's; "shared" names the parameters common to every group (equal in every
  object); "objective", "converged", "reason", "iterations", "grad_norm", "n_starts", "warnings" and
  "diagnostics" are the joint fit's, the same in every object. --save writes the joint fit's one record.
With --compare, "comparisons" too; with --sweep, "settings": one object per setting (each with "setting").

examples:
  optimal fit runs.csv --law kaplan --json
  optimal fit runs.csv --fix E=1.69 --tie alpha=beta
  optimal fit runs.csv --law data-constrained --covariate U=unique_tokens
  optimal fit runs.csv --by dataset --shared alpha beta --compute 1e22 1e23
  optimal fit runs.csv --where dataset=web --where 'N>=1e8'
  optimal fit runs.parquet                   (needs pyarrow: pip install "optimal-scaling[parquet]")
"""

SWEEPABLE = {"delta": float, "drop-smallest": int, "law": str}


def add_parser(commands):
    """Register ``optimal fit`` on ``commands`` (the subparsers of ``optimal``)."""
    fit = commands.add_parser(
        "fit", help="fit a scaling law (Chinchilla L = E + A/N^alpha + B/D^beta by default) to your runs (CSV), with "
                    "bootstrap intervals", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    fit.add_argument("runs", metavar="RUNS.csv", type=common.name,
                     help="one training run per row, with a header (or a .parquet file)")
    fit.add_argument("--law", choices=tuple(FAMILIES), default="chinchilla",
                     help="the law family to fit (default chinchilla; the laws are listed below)")
    fit.add_argument("--covariate", type=common.assignment("NAME=COLUMN (e.g. U=unique_tokens)"), action="extend",
                     nargs="+", metavar="NAME=COLUMN", help="read the law's per-run covariate NAME from COLUMN of the CSV")
    fit.add_argument("--fix", type=common.assignment("NAME=VALUE (e.g. E=1.69)", common.number), action="extend",
                     nargs="+", metavar="NAME=VALUE",
                     help="hold parameter NAME at VALUE (natural units, inside the law's domain); listed under "
                          "\"fixed\"")
    fit.add_argument("--tie", type=common.assignment("NAME=NAME (e.g. alpha=beta)"), action="extend", nargs="+",
                     metavar="NAME=NAME", help="hold two parameters equal")
    common.add_by_option(fit)
    fit.add_argument("--shared", action="extend", nargs="+", metavar="NAME",
                     help="with --by: one joint fit in which these parameters are common to every group and the "
                          "others are per group")
    fit.add_argument("--sweep", action="append", metavar="NAME=V1,V2",
                     help="fit every combination of settings: delta=1e-4,1e-3 (Huber threshold), drop-smallest=0,1,2 "
                          "(leave out the runs of that many smallest model sizes), law=chinchilla,kaplan; with "
                          "--by, for every group's rows on its own; with --bootstrap every setting is resampled with "
                          "the same seed (paired draws)")
    fit.add_argument("--plot", metavar="OUT.png", type=common.name,
                     help="draw the fit's tokens per parameter D*/N* against C (one panel per group or setting, the others "
                          "in grey), with bootstrap bands")
    fit.add_argument("--compare", action="store_true",
                     help="with --by and --bootstrap: every group against the first, with intervals: differences of "
                          "the coefficients, the N* ratio and the compute multiplier at each --compute budget")
    common.add_column_options(fit)
    common.add_cluster_option(fit)
    fit.add_argument("--where", action="append", metavar="EXPR",
                     help="fit only the rows where EXPR holds: COLUMN=VALUE, COLUMN!=VALUE (as numbers when both are, "
                          "else as text), COLUMN<X, <=, >, >= (numbers); repeat it and every one must hold; quote it "
                          "for the shell ('N<1e9')")
    fit.add_argument("--drop-highest-loss", type=int, default=0, metavar="K",
                     help="leave out the K highest-loss rows (Epoch: 5); with --where, of the rows kept")
    fit.add_argument("--flops-per-param-token", type=common.flops_per_param_token, metavar="K",
                     help=common.K_HELP[:-1] + "; saved in the fit record), for D = C / (k N) and --compute")
    fit.add_argument("--delta", type=common.number, default=1e-3,
                     help="Huber threshold on log-loss residuals (default 1e-3)")
    fit.add_argument("--robust", default="huber", metavar="LOSS",
                     help="the robust loss of log-loss residuals: huber (default), squared, or asymmetric-huber[:A] "
                          "(a lower envelope: runs above the law pull A times as hard as runs below it, 1e-6 <= A <= 1, "
                          "default A 0.25)")
    fit.add_argument("--starts", choices=("screen", "hoffmann"), default="screen",
                     help="screen: variable-projection screen then polish (default); hoffmann: all 4500 grid starts "
                          "(Chinchilla without --fix, --tie or --shared only)")
    fit.add_argument("--n-polish", type=int, metavar="S",
                     help=f"starts polished after the screen (default {DEFAULT_N_POLISH}); not with --shared (a joint "
                          "fit polishes one start per group, from each group's own fit)")
    fit.add_argument("--n-samples", type=int, default=4096, metavar="M",
                     help="points the screen samples for any law but the plain Chinchilla one (default 4096)")
    fit.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    fit.add_argument("--bootstrap", type=int, default=0, metavar="B", help="bootstrap resamples for confidence intervals")
    fit.add_argument("--wild", choices=tuple(WILD_WEIGHTS), metavar="WEIGHTS",
                     help="with --bootstrap: a wild bootstrap instead of resampling rows: every run kept, its log-loss "
                          "redrawn as fitted + w x residual with rademacher (+-1) or webb (six-point) weights w, one "
                          "per --cluster-col cluster (the wild cluster bootstrap) or per run")
    common.add_iteration_options(fit)
    fit.add_argument("--seed", type=int, default=0, help=f"bootstrap seed, 0 to {MAX_SEED} (default 0)")
    fit.add_argument("--confidence", type=common.number, default=0.95, help="interval level (default 0.95)")
    common.add_compute_option(fit, help="budgets (FLOPs) for allocations", old=("--budgets",))
    fit.add_argument("--save", metavar="FIT.json", type=common.name,
                     help="write the fit record (reload with --fit, or plot it); with --by only together with --shared")
    common.add_json_option(fit, "fit")
    fit.set_defaults(run=run)
    return fit


# --- checks and reading --------------------------------------------------------------------------------------------

def _check_args(args):
    """What can be checked before reading and fitting: counts, the seed, budgets, the options that go together,
    the output files."""
    if args.cluster_col and not args.bootstrap:
        raise OptimalError("--cluster-col is used by the cluster bootstrap: add --bootstrap N")
    if args.wild and not args.bootstrap:
        raise OptimalError("--wild chooses the weights of a wild bootstrap: add --bootstrap N")
    try:  # an unknown loss is refused before the runs are read
        optimal.Objective(robust=args.robust)
    except OptimalError as exc:
        raise OptimalError(f"--robust: {exc}") from None
    if args.shared and not args.by:
        raise OptimalError("--shared needs --by COLUMN: shared parameters are common to the groups of that column")
    if args.shared and args.n_polish is not None:
        raise OptimalError("--n-polish does not apply to a joint fit (--shared): it polishes one start per group, "
                           "taken from each group's own fit")
    if args.plot:
        from optimal import plot  # loads matplotlib only when a figure is asked for

        plot.check_output(args.plot)
    if args.sweep and (args.shared or args.save or args.compare):
        raise OptimalError("--sweep fits each data set (each group with --by) under several settings: it does not "
                           "combine with --shared, --save or --compare")
    if args.compare and not (args.by and args.bootstrap):
        raise OptimalError("--compare sets groups side by side with intervals: it needs --by COLUMN and --bootstrap N")
    if args.save and args.by and not args.shared:
        raise OptimalError("--save writes one fit record, and --by without --shared makes one separate fit per group: "
                           "add --shared for one joint fit, or save each group's fit from a CSV of its own")
    if args.bootstrap:
        check_count(args.bootstrap, "--bootstrap", 2, MAX_RESAMPLES)
    check_count(args.seed, "--seed", 0, MAX_SEED)
    check_count(args.max_iter, "--max-iter", 1, MAX_ITER)
    check_count(args.bootstrap_max_iter, "--bootstrap-max-iter", 1, MAX_ITER)
    if args.n_polish is not None:
        check_count(args.n_polish, "--n-polish", 1)
    check_count(args.n_samples, "--n-samples", 1, 1 << 22)
    check_confidence(args.confidence, "--confidence")
    if args.compute:
        check_budgets(args.compute, k_or_default(args))
    common.check_filters("--where", args.where)
    fixed = named_once(args.fix, "--fix")
    if fixed:
        check_constraints(FAMILIES[args.law], fixed, (), (), label="--fix")
    if args.save:
        check_writable(args.save, "fit record", OutputError)
    return fixed


def _read_runs(args):
    """The runs, the covariates ``{name: (n,)}`` read from the columns --covariate names, the --by labels
    (or None) and the unique-tokens or epochs columns the file has (``optimal.data.repetition``), all for the same
    rows; and what each --where filter kept (``[{"where", "kept", "of"}]``)."""
    covariate_cols = named_once(args.covariate, "--covariate")
    runs, columns, selection = read_runs_with_columns(
        args.runs, numbers={f"covariate {name}": column for name, column in covariate_cols.items()},
        labels={"--by": args.by} if args.by else None, params_col=args.params_col, tokens_col=args.tokens_col,
        flops_col=args.flops_col, loss_col=args.loss_col, group_col=args.cluster_col, weight_col=args.weight_col,
        flops_per_param_token=k_or_default(args), drop_highest_loss=args.drop_highest_loss, where=args.where,
        n_free=free_count(FAMILIES[args.law], named_once(args.fix, "--fix"), args.tie or ()), return_selection=True,
        optional=RECOGNISED)
    covariates = {name: columns[f"covariate {name}"] for name in covariate_cols}
    return runs, covariates, columns.get("--by"), [kept._asdict() for kept in selection], design_columns(columns)


def _warn_if_few_draws(boot):
    converged = boot.n_resamples - boot.n_failed
    if converged < 2:
        warn(f"only {converged} of {boot.n_resamples} bootstrap resamples converged; intervals need at least 2 "
             "(shown as n/a, or null in JSON)")


def _check_groups(by, shared):
    """A joint fit (--shared) needs two or more groups: say so in the words of the flags given."""
    if shared and by is not None and len(set(np.asarray(by).astype(str).tolist())) < 2:
        labels = sorted(set(np.asarray(by).astype(str).tolist()))
        raise DataError(f"--by gave {len(labels)} group{'s' if len(labels) != 1 else ''} "
                        f"({', '.join(map(repr, labels[:3]))}) among the rows kept: --shared needs two or more "
                        "(drop --shared to fit the rows as one data set)")


# --- the command ---------------------------------------------------------------------------------------------------

def run(args):
    old_meaning = args.max_iter is not None and args.bootstrap and args.bootstrap_max_iter is None
    common.resolve_iterations(args)
    fixed = _check_args(args)
    if old_meaning:
        warn("--max-iter sets each fit's polish budget (it set the bootstrap's before); the bootstrap's refits use "
             f"--bootstrap-max-iter (default {common.BOOTSTRAP_MAX_ITER})")
    runs, covariates, by, selection, design = _read_runs(args)
    if args.sweep:
        common.report_selection(selection)
        return _sweep(args, runs, covariates, fixed, by, design)
    dtype = {"float64": np.float64, "float32": np.float32}[args.dtype]
    n_polish = DEFAULT_N_POLISH if args.n_polish is None else args.n_polish
    common.print_estimate(len(runs.loss), args.bootstrap or 0, n_polish)
    if sys.stderr.isatty():
        groups = "" if by is None else f" in {len(set(by))} groups"
        sys.stderr.write(f"fitting the {args.law} law to {len(runs.loss)} runs{groups} ...\n")
    joint = by is not None and bool(args.shared)
    _check_groups(by, args.shared)
    try:
        options = dict(law=args.law, covariates=covariates or None, fix=fixed or None, tie=args.tie or (),
                       objective=optimal.Objective(robust=args.robust, delta=args.delta),
                       search=optimal.Search(starts=args.starts, n_polish=n_polish, n_samples=args.n_samples),
                       solver=optimal.Solver(max_iter=args.max_iter), dtype=dtype, columns=design or None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the result carries its warnings; they are printed below
            if by is not None and not joint:  # every group on its own: a GroupFits
                result = optimal.fit_groups(runs.n_params, runs.n_tokens, runs.loss, runs.weights, groups=by,
                                            **options)
            else:
                result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, runs.weights, groups=by,
                                     shared=tuple(args.shared or ()), **options)
    except DataError as exc:  # too few rows for this law or in a group, say: what the filters kept is the news
        if not selection:
            raise
        kept = "; ".join(f"{s['where']} kept {s['kept']} of {s['of']} rows" for s in selection)
        raise DataError(f"{exc} (--where: {kept})") from None
    common.report_selection(selection)  # after the fit, so that an error stays the one line on stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the results carry their warnings; they are printed below
        report = fit_report(result, budgets=args.compute, flops_per_param_token=args.flops_per_param_token,
                            n_resamples=args.bootstrap, clusters=runs.groups, by=by, seed=args.seed,
                            confidence=args.confidence, refit=optimal.Refit(max_iter=args.bootstrap_max_iter),
                            **({"wild": args.wild} if args.wild else {}),
                            progress=lambda label: common.progress_bar(
                                "bootstrap" if label is None else
                                "bootstrap (every group)" if label == "every group" else f"bootstrap {label}"))
    if args.bootstrap:
        for boot in [report.joint_bootstrap] if joint else [part.bootstrap for part in report.parts]:
            _warn_if_few_draws(boot)
    if args.save:  # one record: the fit, or the joint fit of every group (--by with --shared; checked above)
        # solve --fit counts compute with the k the runs were read with
        common.wrote(report.save(args.save, flops_per_param_token=k_or_default(args), selection=selection or None))
    comparisons = _comparisons(report, args) if args.compare else None
    if args.plot:
        _plot_frontiers(args, [("fit" if p.label is None else p.label, p.fit, p.bootstrap) for p in report.parts])
    if args.json:
        k = k_or_default(args)
        fits = []
        for part in report.parts:
            output = part.to_dict(args.compute or (), k)
            output["law"] = common.fit_law_json(part.fit)
            if selection:
                output["rows_selected"] = selection
            fits.append(output)
        output = {"fits": fits}
        if comparisons is not None:
            output["comparisons"] = [{"a": found["names"][0], "b": found["names"][1], **found.to_dict()}
                                     for found in comparisons]
        # one law (the fit's, or the joint fit's by group), or every group its own (each group's object has it)
        law = None if isinstance(result, optimal.GroupFits) else common.fit_law_json(result)
        common.emit("fit", output, law)
    else:
        _print_text(report)
        if comparisons is not None:
            print()
            print("\n".join(found.summary() for found in comparisons))
    _warn_fit(report)
    return 0


def _comparisons(report, args):
    """Every group against the first (in label order), B minus A: ``optimal.compare`` of their bootstraps (each a
    ``Comparison`` named (first, label))."""
    first, others = report.parts[0], report.parts[1:]
    k = k_or_default(args)
    return [optimal.compare(first.bootstrap, part.bootstrap, args.compute or (), flops_per_param_token=k,
                            names=(first.label, part.label)) for part in others]


def _plot_frontiers(args, entries):
    """``--plot``: every ``(label, fit, bootstrap or None)`` as a panel of D*/N* against C with its band
    (``optimal.plot.groups_frontier``: small multiples)."""
    from optimal import plot  # loads matplotlib only when a figure is asked for

    figure = plot.groups_frontier([(label, boot if boot is not None else result) for label, result, boot in entries],
                                  budgets=args.compute or None, confidence=args.confidence,
                                  flops_per_param_token=k_or_default(args))
    common.wrote(plot.save_figure(figure, args.plot))


def _print_text(report):
    """The fit (each group's, or the joint one), its intervals and allocations as text (the results' own
    ``summary()``); the allocations' warnings go to stderr with ``_warn_fit``."""
    if report.joint:
        print(report.result.summary())
        if report.joint_bootstrap is not None:
            print()
            print(report.joint_bootstrap.summary())
    for n, part in enumerate(report.parts):
        if not report.joint:
            if n:
                print()
            if part.label is not None:
                print(f"== group {part.label} ==")
            print(part.fit.summary())
            if part.bootstrap is not None:
                print()
                print(part.bootstrap.summary())
        if part.recommendation is not None:
            print()
            if report.joint:
                print(f"== group {part.label} ==")
            print(part.recommendation.summary())


def _warn_fit(report):
    """Every warning once on stderr, in text and JSON mode alike: a joint fit's once, each group's with its label;
    the allocations' own (the fit's and the bootstrap's are not repeated from them)."""
    if report.joint:
        for message in _fit_messages(report.result, report.joint_bootstrap):
            warn(message)
    for part in report.parts:
        prefix = "" if part.label is None else f"[group {part.label}] "
        if not report.joint:
            for message in _fit_messages(part.fit, part.bootstrap):
                warn(prefix + message)
        if part.recommendation is not None:
            common.warn_answer(part.recommendation, ("fit", "bootstrap"), prefix)


def _fit_messages(result, boot):
    return [f"fit: {w}" for w in result.warnings] + [f"bootstrap: {w}" for w in (boot.warnings if boot else [])]


# --- --sweep -------------------------------------------------------------------------------------------------------

def _sweep_settings(specs):
    """``--sweep NAME=V1,V2 ...`` -> ``{name: [values]}`` (names from ``SWEEPABLE``, each at most once)."""
    found = {}
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip()
        if not sep or key not in SWEEPABLE or not values.strip():
            raise OptimalError(f"--sweep {spec!r}: give NAME=V1,V2,... with NAME one of {', '.join(SWEEPABLE)}")
        if key in found:
            raise OptimalError(f"--sweep {key} given twice: list all its values in one --sweep")
        try:
            found[key] = [SWEEPABLE[key](v.strip()) for v in values.split(",")]
        except ValueError:
            raise OptimalError(f"--sweep {spec!r}: {key} takes {SWEEPABLE[key].__name__} values") from None
    return found


def _answer(args, result, boot):
    """The allocations at --compute from the bootstrap (or the fit alone), or None without budgets."""
    if not args.compute:
        return None
    return optimal.recommend(boot if boot is not None else result, np.asarray(args.compute),
                             flops_per_param_token=args.flops_per_param_token)  # None: say it is the default


def _sweep(args, runs, covariates, fixed, by=None, design=None):
    """``fit --sweep``: every combination of the settings (for every group of ``by``), each fitted (and bootstrapped
    with the same seed, so a group's draws are paired across settings), then one table (or JSON object) of how the
    answer moves, and a figure with --plot. ``design``: the file's unique-tokens or epochs column, checked once per
    law against the file's runs (``optimal.data.repetition``; a setting's JSON object carries its law's finding)."""
    settings = _sweep_settings(args.sweep)
    laws = settings.get("law", [args.law])
    checks = {law: repetition(runs.n_tokens, design, law, runs.weights) for law in laws} if design else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = optimal.sweep(runs.n_params, runs.n_tokens, runs.loss, runs.weights,
                              law=settings.get("law", [args.law]), delta=settings.get("delta", [args.delta]),
                              drop_smallest=settings.get("drop-smallest", [0]), groups=by,
                              covariates=covariates or None, fix=fixed or None, tie=args.tie or (),
                              objective=optimal.Objective(robust=args.robust),
                              search=optimal.Search(n_polish=DEFAULT_N_POLISH if args.n_polish is None else args.n_polish,
                                                    n_samples=args.n_samples),
                              solver=optimal.Solver(max_iter=args.max_iter))
    k = k_or_default(args)
    rows = []
    for setting, result in found:
        label = setting_label(setting, {key.replace("-", "_") for key in settings})
        boot = None
        if args.bootstrap:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                boot = optimal.bootstrap(result, n_resamples=args.bootstrap, seed=args.seed, confidence=args.confidence,
                                         refit=optimal.Refit(max_iter=args.bootstrap_max_iter), wild=args.wild,
                                         progress=common.progress_bar(f"bootstrap {label}"))
        rows.append((label, setting, result, boot, _answer(args, result, boot)))
    if args.plot:
        _plot_frontiers(args, [(label, result, boot) for label, _, result, boot, _ in rows])
    if args.json:
        settings_out = []
        for _, setting, result, boot, answer in rows:
            entry = {"setting": setting, **result.to_dict()}
            entry["law"] = common.fit_law_json(result)
            check = checks.get(setting.get("law", args.law))
            if check is not None:
                entry["repeated_data"] = check.to_dict()
            if boot is not None:
                entry["bootstrap"] = bootstrap_to_dict(boot, args.compute or (), k)
            if answer is not None:
                entry["recommendation"] = answer.to_dict()
            settings_out.append(entry)
        common.emit("fit", {"settings": settings_out})
    else:
        print(_sweep_table(rows, args))
    for label, _, result, boot, _ in rows:
        for message in _fit_messages(result, boot):
            warn(f"[{label}] {message}")
    for law, check in checks.items():
        if check is not None and check.warning is not None:
            warn(f"[law={law}] {check.warning}" if len(laws) > 1 else str(check.warning))
    return 0


def _sweep_table(rows, args):
    """One line per setting: rows fitted, objective, exponents, and N* and tokens per parameter at each budget,
    with intervals when bootstrapped."""
    def cell(point, boot_interval):
        if boot_interval is None or boot_interval.get("lo") is None:
            return f"{point:.4g}"
        return f"{point:.4g} [{boot_interval['lo']:.3g}, {boot_interval['hi']:.3g}]"

    lines = [f"sweep: {len(rows)} settings" + (f", {args.bootstrap} paired bootstrap draws each, "
                                                f"{100 * args.confidence:g}% intervals" if args.bootstrap else "")]
    for label, setting, result, boot, answer in rows:
        parts = fit_cells(label, result, boot.params() if boot is not None else {}, cell)
        lines.append("  " + "; ".join(parts))
        for record in answer.records if answer is not None else []:
            ranges = record.get("intervals") or {}
            lines.append(f"      at C = {record['compute']:.3g}: N* {cell(record['N'], ranges.get('N'))}, tokens/param "
                         f"{cell(record['tokens_per_param'], ranges.get('tokens_per_param'))}")
    return "\n".join(lines)
