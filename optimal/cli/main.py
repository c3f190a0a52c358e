"""The ``optimal`` command line: argument parsing, progress and printing. It calls the public API only.

Every error a user can cause prints one line ``error: ...`` on stderr and exits with status 2.
"""

import argparse
import os
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import optimal
from optimal.allocation.allocate import check_budgets
from optimal.allocation.draws import bootstrap_to_dict
from optimal.fitting.bootstrap import MAX_RESAMPLES, MAX_SEED
from optimal.errors import DataError, OptimalError, OutputError, check_confidence, check_count
from optimal.data.runs import read_runs_with_columns
from optimal.fitting.fit import MAX_ITER
from optimal.fitting.sweep import fit_cells, setting_label
from optimal.laws import FAMILIES
from optimal._util.jsonio import check_writable
from optimal.cli import isoflop, plan, predict, suggest, validate
from optimal.cli.common import (Parser, add_column_options, add_law_options, assignment, check_filters,
                                k_or_default, named_once, number, print_json, print_recommendation,
                                source_from_args, warn, warn_answer)


def _warn_if_few_draws(boot):
    converged = boot.n_resamples - boot.n_failed
    if converged < 2:
        warn(f"only {converged} of {boot.n_resamples} bootstrap resamples converged; intervals need at least 2 "
              "(shown as n/a, or null in JSON)")


def _cmd_solve(args):
    if (args.compute is None) == (args.target_loss is None):
        raise OptimalError("give either --compute or --target-loss")
    answer = optimal.recommend(
        source_from_args(args), None if args.compute is None else np.asarray(args.compute),
        target_loss=None if args.target_loss is None else np.asarray(args.target_loss),
        flops_per_param_token=args.flops_per_param_token, max_tokens=args.max_tokens, max_params=args.max_params,
        group=args.group)
    if args.json:
        print_json(answer.to_dict())
        warn_answer(answer)
        return 0
    print_recommendation(answer)
    return 0


def _progress_bar(label, quiet_below_s=10.0):
    """A progress callback for long work, on stderr. Where stderr is a terminal: a bar with the rate and the
    time left. Elsewhere (logs, pipes): one line with the rate and the estimate, once the first chunk shows that
    the job will take more than ``quiet_below_s`` seconds (the first chunk's time includes compiling, so the
    estimate errs long)."""
    started, told = time.monotonic(), []
    tty = sys.stderr.isatty()

    def show(done, total):
        elapsed = max(time.monotonic() - started, 1e-9)
        rate = done / elapsed
        left = (total - done) / rate if rate > 0 else float("inf")
        if tty:
            filled = int(30 * done / total)
            sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}, {rate:.3g}/s, "
                             f"{left:.0f} s left ")
            if done == total:
                sys.stderr.write("\n")
        elif not told and done < total and elapsed + left > quiet_below_s:
            told.append(True)
            sys.stderr.write(f"{label}: {done}/{total} in {elapsed:.1f} s ({rate:.3g}/s); about {left:.0f} s left\n")
        sys.stderr.flush()

    return show


ESTIMATE_ABOVE_S = 30.0  # a job estimated to take longer than this says so before it starts


def _print_estimate(n_rows, n_resamples, n_polish):
    """Before a big job, its estimated time and peak memory on stderr (``optimal.estimate_cost``: calibrated
    constants, so it is a guide; the progress bar then shows the measured rate and the time left)."""
    cost = optimal.estimate_cost(n_rows, n_resamples, search=optimal.Search(n_polish=n_polish))
    if cost.seconds > ESTIMATE_ABOVE_S:
        work = f"{n_rows} runs" + (f" and {n_resamples} bootstrap resamples" if n_resamples else "")
        sys.stderr.write(f"estimate: fitting {work} takes {cost.describe()} on the reference machine "
                         "(optimal.estimate_cost)\n")


def _check_fit_args(args):
    """What can be checked before reading and fitting: counts, the seed, budgets, the options that go together,
    the output file."""
    if args.group_col and not args.bootstrap:
        raise OptimalError("--group-col is used by the cluster bootstrap: add --bootstrap N")
    if args.shared and not args.by:
        raise OptimalError("--shared needs --by COLUMN: shared parameters are common to the groups of that column")
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
    check_count(args.n_polish, "--n-polish", 1)
    check_count(args.n_samples, "--n-samples", 1, 1 << 22)
    check_confidence(args.confidence, "--confidence")
    if args.budgets:
        check_budgets(args.budgets, k_or_default(args))
    check_filters("--where", args.where)
    if args.save:
        check_writable(args.save, "fit record", OutputError)


def _read_fit_runs(args):
    """The runs, the covariates ``{name: (n,)}`` read from the columns --covariate names, and the --by labels
    (or None), all for the same rows; and what each --where filter kept (``[{"where", "kept", "of"}]``)."""
    covariate_cols = named_once(args.covariate, "--covariate")
    runs, columns, selection = read_runs_with_columns(
        args.runs, numbers={f"covariate {name}": column for name, column in covariate_cols.items()},
        labels={"--by": args.by} if args.by else None, params_col=args.params_col, tokens_col=args.tokens_col,
        flops_col=args.flops_col, loss_col=args.loss_col, group_col=args.group_col, weight_col=args.weight_col,
        flops_per_param_token=k_or_default(args), drop_highest_loss=args.drop_highest_loss, where=args.where,
        return_selection=True,
    )
    covariates = {name: columns[f"covariate {name}"] for name in covariate_cols}
    return runs, covariates, columns.get("--by"), [kept._asdict() for kept in selection]


def _fit_parts(args, runs, result, by, joint):
    """``[(label, fit, boot, answer)]``, one entry per fit the user reads about: the fit, each group's own fit
    (--by), or each group's view of the joint fit (--by with --shared), with their bootstrap and allocations;
    and the joint fit's bootstrap (or None)."""
    if by is None:
        fits = [(None, result)]
    elif joint:
        fits = [(label, result.group(label)) for label in result.group_labels]
    else:
        fits = list(result.items())
    boots = {label: None for label, _ in fits}
    joint_boot = None
    if args.bootstrap:
        options = dict(n_resamples=args.bootstrap, seed=args.seed, confidence=args.confidence, max_iter=args.max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the result carries its warnings; they are printed by the caller
            if joint:  # one bootstrap of the joint fit: each group's draws come from the same resamples
                joint_boot = optimal.bootstrap(result, groups=runs.groups, progress=_progress_bar("bootstrap"),
                                               **options)
                boots = {label: joint_boot.group(label) for label, _ in fits}
            elif by is not None and runs.groups is None:  # every group's resamples: lanes of one program
                boots = optimal.bootstrap_groups(dict(fits), progress=_progress_bar("bootstrap (every group)"),
                                                 **options)
            else:  # one data set, or clusters (--group-col) within groups (bootstrap_groups draws rows)
                for label, part in fits:
                    clusters = runs.groups
                    if clusters is not None and label is not None:
                        clusters = clusters[by.astype(str) == label]  # the fit's rows: the labels as fit() names them
                    bar = _progress_bar("bootstrap" if label is None else f"bootstrap {label}")
                    boots[label] = optimal.bootstrap(part, groups=clusters, progress=bar, **options)
        for boot in [joint_boot] if joint else boots.values():
            _warn_if_few_draws(boot)
    parts = []
    for label, part in fits:
        parts.append((label, part, boots[label], _answer(args, part, boots[label])))
    return parts, joint_boot


def _answer(args, result, boot):
    """The allocations at --budgets from the bootstrap (or the fit alone), or None without budgets."""
    if not args.budgets:
        return None
    return optimal.recommend(boot if boot is not None else result, np.asarray(args.budgets),
                             flops_per_param_token=args.flops_per_param_token)  # None: say it is the default


def _plot_frontiers(args, entries):
    """``--plot``: every ``(label, fit, bootstrap or None)``'s N*(C) and D*(C), with its band."""
    from optimal import plot  # loads matplotlib only when a figure is asked for

    figure = plot.groups_frontier([(label, boot if boot is not None else result) for label, result, boot in entries],
                                  budgets=args.budgets or None, confidence=args.confidence,
                                  flops_per_param_token=k_or_default(args))
    sys.stderr.write(f"wrote {plot.save_figure(figure, args.plot)}\n")


def _part_output(label, part, boot, answer, args, selection):
    """The JSON object of one fit (``"group"`` first when there are groups; ``"rows_selected"`` with --where)."""
    output = ({} if label is None else {"group": label}) | part.to_dict()
    if selection:
        output["rows_selected"] = selection
    if boot is not None:
        output["bootstrap"] = bootstrap_to_dict(boot, args.budgets or (), k_or_default(args))
    if answer is not None:
        output["recommendation"] = answer.to_dict()
    return output


SWEEPABLE = {"delta": float, "drop-smallest": int, "law": str}


def _sweep_settings(specs):
    """``--sweep NAME=V1,V2 ...`` -> ``{name: [values]}`` (names from ``SWEEPABLE``, each at most once)."""
    found = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or name not in SWEEPABLE or not values.strip():
            raise OptimalError(f"--sweep {spec!r}: give NAME=V1,V2,... with NAME one of {', '.join(SWEEPABLE)}")
        if name in found:
            raise OptimalError(f"--sweep {name} given twice: list all its values in one --sweep")
        try:
            found[name] = [SWEEPABLE[name](v.strip()) for v in values.split(",")]
        except ValueError:
            raise OptimalError(f"--sweep {spec!r}: {name} takes {SWEEPABLE[name].__name__} values") from None
    return found


def _cmd_sweep(args, runs, covariates, by=None):
    """``fit --sweep``: every combination of the settings (for every group of ``by``), each fitted (and bootstrapped
    with the same seed, so a group's draws are paired across settings), then one table (or JSON list) of how the
    answer moves, and a figure with --plot."""
    settings = _sweep_settings(args.sweep)
    fixed = named_once(args.fix, "--fix")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = optimal.sweep(runs.n_params, runs.n_tokens, runs.loss, runs.weights,
                              law=settings.get("law", [args.law]), delta=settings.get("delta", [args.delta]),
                              drop_smallest=settings.get("drop-smallest", [0]), groups=by,
                              covariates=covariates or None,
                              fix=fixed or None, tie=args.tie or (),
                              search=optimal.Search(n_polish=args.n_polish, n_samples=args.n_samples),
                              solver=optimal.Solver(max_iter=args.max_iter))
    k = k_or_default(args)
    rows = []
    for setting, result in found:
        label = setting_label(setting, {name.replace("-", "_") for name in settings})
        boot = None
        if args.bootstrap:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                boot = optimal.bootstrap(result, n_resamples=args.bootstrap, seed=args.seed, confidence=args.confidence,
                                         max_iter=args.max_iter, progress=_progress_bar(f"bootstrap {label}"))
        rows.append((label, setting, result, boot, _answer(args, result, boot)))
    if args.plot:
        _plot_frontiers(args, [(label, result, boot) for label, _, result, boot, _ in rows])
    if args.json:
        print_json([{"setting": setting, **result.to_dict(),
                      **({"bootstrap": bootstrap_to_dict(boot, args.budgets or (), k)} if boot is not None else {}),
                      **({"recommendation": answer.to_dict()} if answer is not None else {})}
                     for _, setting, result, boot, answer in rows])
    else:
        print(_sweep_table(rows, args))
    for label, _, result, boot, _ in rows:
        for message in _fit_messages(result, boot):
            warn(f"[{label}] {message}")
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


def _cmd_fit(args):
    _check_fit_args(args)
    if args.sweep:
        runs, covariates, by, selection = _read_fit_runs(args)
        for s in selection:
            print(f"kept {s['kept']} of {s['of']} rows ({s['where']})", file=sys.stderr)
        return _cmd_sweep(args, runs, covariates, by)
    fixed = named_once(args.fix, "--fix")
    runs, covariates, by, selection = _read_fit_runs(args)
    dtype = {"float64": np.float64, "float32": np.float32}[args.dtype]
    _print_estimate(len(runs.loss), args.bootstrap or 0, args.n_polish)
    if sys.stderr.isatty():
        groups = "" if by is None else f" in {len(set(by))} groups"
        sys.stderr.write(f"fitting the {args.law} law to {len(runs.loss)} runs{groups} ...\n")
    try:
        joint = by is not None and bool(args.shared)
        options = dict(law=args.law, covariates=covariates or None, fix=fixed or None, tie=args.tie or (),
                       objective=optimal.Objective(delta=args.delta),
                       search=optimal.Search(starts=args.starts, n_polish=args.n_polish, n_samples=args.n_samples),
                       dtype=dtype)
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
    for s in selection:  # after the fit, so that an error stays the one line on stderr
        print(f"kept {s['kept']} of {s['of']} rows ({s['where']})", file=sys.stderr)
    parts, joint_boot = _fit_parts(args, runs, result, by, joint)
    if args.save:  # one record: the fit, or the joint fit of every group (--by with --shared; checked above)
        answers = {label: answer for label, _, _, answer in parts} if args.budgets else None
        # solve --fit counts compute with the k the runs were read with
        optimal.save_fit(args.save, result, bootstrap=joint_boot if joint else parts[0][2],
                         flops_per_param_token=k_or_default(args), selection=selection or None,
                         recommendation=None if answers is None else answers if joint else answers[None])
    comparisons = _comparisons(parts, args) if args.compare else None
    if args.plot:
        _plot_frontiers(args, [("fit" if label is None else label, part, boot) for label, part, boot, _ in parts])
    if args.json:
        outputs = [_part_output(*part, args, selection) for part in parts]
        if comparisons is not None:
            print_json({"groups": outputs, "comparisons": [{"a": found["names"][0], "b": found["names"][1],
                                                             **found.to_dict()} for found in comparisons]})
        else:
            print_json(outputs if by is not None else outputs[0])
        _warn_fit_json(parts, result, joint_boot, joint)
    else:
        _print_fit_text(parts, result, joint_boot, joint)
        if comparisons is not None:
            print()
            print("\n".join(found.summary() for found in comparisons))
    return 0


def _comparisons(parts, args):
    """Every group against the first (in label order), B minus A: ``optimal.compare`` of their bootstraps (each a
    ``Comparison`` named (first, label))."""
    (first, _, reference, _), others = parts[0], parts[1:]
    k = k_or_default(args)
    return [optimal.compare(reference, boot, args.budgets or (), flops_per_param_token=k, names=(first, label))
            for label, _, boot, _ in others]


def _print_fit_text(parts, result, joint_boot, joint):
    """The fit (each group's, or the joint one), its intervals and allocations as text."""
    if joint:
        print(result.summary())
        if joint_boot is not None:
            print()
            print(joint_boot.summary())
    for n, (label, part, boot, answer) in enumerate(parts):
        if not joint:
            if n:
                print()
            if label is not None:
                print(f"== group {label} ==")
            print(part.summary())
            if boot is not None:
                print()
                print(boot.summary())
        if answer is not None:
            print()
            if joint:
                print(f"== group {label} ==")
            prefix = "" if label is None else f"[group {label}] "
            # the fit's and the bootstrap's warnings were printed with them
            print_recommendation(answer, skip_codes=("fit", "bootstrap"), prefix=prefix)


def _warn_fit_json(parts, result, joint_boot, joint):
    """Every warning once on stderr too, for whoever reads the terminal: a joint fit's once, each group's with its
    label."""
    if joint:
        for message in _fit_messages(result, joint_boot):
            warn(message)
    for label, part, boot, answer in parts:
        prefix = "" if label is None else f"[group {label}] "
        if answer is not None:
            warn_answer(answer, ("fit", "bootstrap") if joint else (), prefix)
        elif not joint:
            for message in _fit_messages(part, boot):
                warn(prefix + message)


def _fit_messages(result, boot):
    return [f"fit: {w}" for w in result.warnings] + [f"bootstrap: {w}" for w in (boot.warnings if boot else [])]


def _cmd_plot(args):
    from optimal import plot  # loads matplotlib only for this command

    plot.check_output(args.out, args.dpi)  # before drawing
    figure = plot.figure_from_record(args.fit, args.kind, preset=args.preset)
    print(f"wrote {plot.save_figure(figure, args.out, dpi=args.dpi)}")
    return 0


def _laws_text():
    lines = ["laws (--law), their parameters (--fix, --tie, --shared) and covariates (--covariate):"]
    for name, family in FAMILIES.items():
        lines.append(f"  {name}: {family.formula}")
        covariates = f"; covariates {', '.join(family.covariates)}" if family.covariates else ""
        lines.append(f"    parameters {', '.join(family.params)}{covariates}")
    return "\n".join(lines)


FIT_EPILOG = _laws_text() + """

JSON (--json): one object with "law", "params" (every parameter of the law by name, fixed ones included),
"fixed" ({name: value}), "tied", "shared", "covariates", "objective", "converged", ..., and "bootstrap" and
"recommendation" when asked for; with --where, "rows_selected": [{"where", "kept", "of"}], one per filter in
order ("kept" of the "of" rows the filters before it left), as stderr says ("kept 120 of 240 rows (...)").
With --by, a list of such objects, one per group (in sorted label order), each with "group": its label.
  Without --shared each object is that group's own fit.
  With --shared the objects are views of one joint fit: "params", "theta", "n_rows", "bootstrap" and
  "recommendation" are the group's; "shared" names the parameters common to every group (equal in every
  object); "objective", "converged", "reason", "iterations", "grad_norm", "n_starts", "warnings" and
  "diagnostics" are the joint fit's, the same in every object. --save writes the joint fit's one record.

examples:
  optimal fit runs.csv --law kaplan --json
  optimal fit runs.csv --fix E=1.69 --tie alpha=beta
  optimal fit runs.csv --law data-constrained --covariate U=unique_tokens
  optimal fit runs.csv --by dataset --shared alpha beta --budgets 1e22 1e23
  optimal fit runs.csv --where dataset=web --where 'N>=1e8'
  optimal fit runs.parquet                   (needs pyarrow: pip install "optimal[parquet]")
"""


def build_parser():
    parser = Parser(prog="optimal", description="Compute-optimal model size and data from scaling laws.")
    parser.add_argument("--version", action="version", version=f"optimal {optimal.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    solve = commands.add_parser("solve", help="N*, D* and loss for compute budgets (or for a target loss)")
    solve.add_argument("--compute", type=number, nargs="+", metavar="C", help="training compute in FLOPs")
    solve.add_argument("--target-loss", type=number, nargs="+", metavar="L", help="loss to reach (nats)")
    add_law_options(solve)
    solve.add_argument("--flops-per-param-token", type=number, metavar="K",
                       help="k in C = k N D (default: the k a --fit record was saved with, else 6)")
    solve.add_argument("--max-tokens", type=number, metavar="D", help="cap on training tokens (unique data)")
    solve.add_argument("--max-params", type=number, metavar="N", help="cap on model parameters")
    solve.add_argument("--group", metavar="LABEL", help="with --fit of a joint fit (fit --by COL --shared ...): the "
                                                         "group to answer for")
    solve.add_argument("--json", action="store_true", help="print a JSON list, one object per budget")
    solve.set_defaults(run=_cmd_solve)

    fit = commands.add_parser(
        "fit", help="fit a scaling law (Chinchilla L = E + A/N^alpha + B/D^beta by default) to your runs (CSV), with "
                    "bootstrap intervals", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=FIT_EPILOG)
    fit.add_argument("runs", metavar="RUNS.csv", help="one training run per row, with a header (or a .parquet file)")
    fit.add_argument("--law", choices=tuple(FAMILIES), default="chinchilla",
                     help="the law family to fit (default chinchilla; the laws are listed below)")
    fit.add_argument("--covariate", type=assignment("NAME=COLUMN (e.g. U=unique_tokens)"), action="extend", nargs="+",
                     metavar="NAME=COLUMN", help="read the law's per-run covariate NAME from COLUMN of the CSV")
    fit.add_argument("--fix", type=assignment("NAME=VALUE (e.g. E=1.69)", number), action="extend", nargs="+",
                     metavar="NAME=VALUE", help="hold parameter NAME at VALUE (natural units); listed under \"fixed\"")
    fit.add_argument("--tie", type=assignment("NAME=NAME (e.g. alpha=beta)"), action="extend", nargs="+",
                     metavar="NAME=NAME", help="hold two parameters equal")
    fit.add_argument("--by", metavar="COLUMN",
                     help="column of group labels (any text): fit every group on its own, or jointly with --shared")
    fit.add_argument("--shared", action="extend", nargs="+", metavar="NAME",
                     help="with --by: one joint fit in which these parameters are common to every group and the "
                          "others are per group")
    fit.add_argument("--sweep", action="append", metavar="NAME=V1,V2",
                     help="fit every combination of settings: delta=1e-4,1e-3 (Huber threshold), drop-smallest=0,1,2 "
                          "(leave out the runs of that many smallest model sizes), law=chinchilla,kaplan; with "
                          "--by, for every group's rows on its own; with --bootstrap every setting is resampled with "
                          "the same seed (paired draws)")
    fit.add_argument("--plot", metavar="OUT.png",
                     help="draw N*(C) and D*(C) of the fit (of every group with --by), with bootstrap bands")
    fit.add_argument("--compare", action="store_true",
                     help="with --by and --bootstrap: every group against the first, with intervals: differences of "
                          "the coefficients, the N* ratio and the compute multiplier at each --budgets (JSON: "
                          "{\"groups\": [...], \"comparisons\": [...]})")
    add_column_options(fit)
    fit.add_argument("--group-col", metavar="NAME",
                     help="column of cluster labels: the bootstrap resamples whole clusters (runs of one model "
                          "config, say)")
    fit.add_argument("--where", action="append", metavar="EXPR",
                     help="fit only the rows where EXPR holds: COLUMN=VALUE, COLUMN!=VALUE (as numbers when both are, "
                          "else as text), COLUMN<X, <=, >, >= (numbers); repeat it and every one must hold; quote it "
                          "for the shell ('N<1e9')")
    fit.add_argument("--drop-highest-loss", type=int, default=0, metavar="K",
                     help="leave out the K highest-loss rows (Epoch: 5); with --where, of the rows kept")
    fit.add_argument("--flops-per-param-token", type=number, metavar="K",
                     help="k in C = k N D, for D = C / (k N) and for --budgets (default 6; saved in the fit record)")
    fit.add_argument("--delta", type=number, default=1e-3, help="Huber threshold on log-loss residuals (default 1e-3)")
    fit.add_argument("--starts", choices=("screen", "hoffmann"), default="screen",
                     help="screen: variable-projection screen then polish (default); hoffmann: all 4500 grid starts "
                          "(Chinchilla without --fix, --tie or --shared only)")
    fit.add_argument("--n-polish", type=int, default=16, metavar="S",
                     help="starts polished after the screen (default 16)")
    fit.add_argument("--n-samples", type=int, default=4096, metavar="M",
                     help="points the screen samples for any law but the plain Chinchilla one (default 4096)")
    fit.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    fit.add_argument("--bootstrap", type=int, default=0, metavar="B", help="bootstrap resamples for confidence intervals")
    fit.add_argument("--max-iter", type=int, default=1000, metavar="K",
                     help="iteration budget per start of every bootstrap refit (default 1000)")
    fit.add_argument("--seed", type=int, default=0, help=f"bootstrap seed, 0 to {MAX_SEED} (default 0)")
    fit.add_argument("--confidence", type=number, default=0.95, help="interval level (default 0.95)")
    fit.add_argument("--budgets", type=number, nargs="+", metavar="C", help="budgets (FLOPs) for allocations")
    fit.add_argument("--save", metavar="FIT.json",
                     help="write the fit record (reload with --fit, or plot it); with --by only together with --shared")
    fit.add_argument("--json", action="store_true", help="print JSON (with --by a list, one object per group: below)")
    fit.set_defaults(run=_cmd_fit)

    plot = commands.add_parser("plot", help="figures: loss surface, data vs fit, bootstrap draws, frontier")
    plot.add_argument("fit", nargs="?", metavar="FIT.json", help="a fit record from 'optimal fit --save'")
    # the kinds are spelled out here so that the CLI does not import matplotlib unless it plots
    plot.add_argument("--kind", required=True, choices=("surface", "fit", "bootstrap", "frontier"))
    plot.add_argument("--preset", help="plot a published law (surface, frontier) instead of a fit")
    plot.add_argument("--out", required=True, metavar="FILE.png", help="output file (.png, .pdf, .svg)")
    plot.add_argument("--dpi", type=int, default=150, help="resolution of png/jpg output, 10 to 2000 (default 150)")
    plot.set_defaults(run=_cmd_plot)
    for command in (plan, isoflop, validate, predict, suggest):
        command.add_parser(commands)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    warn(" ".join(str(message).split()))  # one line, like every other message of the command line


CACHE_ENV = "OPTIMAL_CACHE_DIR"


def compilation_cache_dir():
    """Where the command line keeps JAX's compiled programs between runs, or None when it should not.

    ``$OPTIMAL_CACHE_DIR`` names the folder, or turns the cache off when it is ``off`` (or empty); by default
    ``$XDG_CACHE_HOME/optimal/jax`` (``~/.cache/optimal/jax``). Compiling is most of a short command's time (a
    240-row fit: ~3 s cold, ~1.3 s with the cache, measured here).
    """
    setting = os.environ.get(CACHE_ENV)
    if setting is not None:
        return None if setting.strip().lower() in ("", "off", "0", "none") else Path(setting).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "optimal" / "jax"


def run():
    """The ``optimal`` program: the command line with JAX's persistent compilation cache (a setting of this
    process, which the program owns; ``main`` alone, as tests and other Python code call it, changes nothing)."""
    import jax

    folder = compilation_cache_dir()
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            folder = None  # an unwritable cache only costs time: run without it
    if folder is not None:
        jax.config.update("jax_compilation_cache_dir", str(folder))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # ours compile in 0.1-2 s each
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    code = main()
    import gc

    gc.freeze()  # the collector's pass over every object at exit cost 0.13-0.19 s (benchmarks --cold-start)
    raise SystemExit(code)


def main(argv=None):
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            args = build_parser().parse_args(argv)
            return args.run(args)
    except OptimalError as exc:
        # library messages name Python arguments (params_col=); on the command line they are options
        message = re.sub(r"\b(\w+)_col=", lambda m: f"--{m.group(1)}-col", str(exc))
        print(f"error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into a program that stopped reading (head, ...): end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
