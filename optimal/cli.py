"""The ``optimal`` command line: argument parsing, progress and printing. It calls the public API only.

Every error a user can cause prints one line ``error: ...`` on stderr and exits with status 2.
"""

import argparse
import os
import re
import sys
import warnings

import numpy as np

import optimal
from optimal.allocate import check_budgets
from optimal.bootstrap import MAX_RESAMPLES, MAX_SEED
from optimal.errors import OptimalError, OutputError, check_count
from optimal.jsonio import check_writable, dumps_strict


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise OptimalError(message)


def _number(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _law_from_args(args):
    """The law a command works with: a saved fit, a coefficients file, or a preset (the default)."""
    sources = [s for s in ("fit", "coefficients") if getattr(args, s, None)]
    if len(sources) + (args.preset is not None) > 1:
        raise OptimalError("give only one of --preset, --coefficients and --fit")
    if getattr(args, "fit", None):
        return optimal.load_fit(args.fit).law
    if getattr(args, "coefficients", None):
        return optimal.load_coefficients(args.coefficients)
    return optimal.preset(optimal.DEFAULT_PRESET if args.preset is None else args.preset)


def _warn(message):
    print(f"warning: {message}", file=sys.stderr)


def _print_json(value):
    """Print ``value`` as strict JSON: a non-finite number is written as null, with one warning on stderr."""
    text, places = dumps_strict(value, indent=2)
    if places:
        shown = ", ".join(places[:3]) + (", ..." if len(places) > 3 else "")
        _warn(f"{len(places)} non-finite value{'s' if len(places) > 1 else ''} written as null ({shown})")
    print(text)


def _warn_if_few_draws(boot):
    converged = boot.n_resamples - boot.n_failed
    if converged < 2:
        _warn(f"only {converged} of {boot.n_resamples} bootstrap resamples converged; intervals need at least 2 "
              "(shown as n/a, or null in JSON)")


def _g(value, spec):
    """A number formatted with ``spec``, or n/a for a missing one (an interval from fewer than 2 draws)."""
    return "n/a" if value is None else format(value, spec)


def _format_table(headers, rows):
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def _allocation_table(records):
    headers = ["compute (FLOPs)", "N* (params)", "D* (tokens)", "tokens/param", "loss", "bound", "converged"]
    rows = [
        [
            f"{r['compute']:.4g}",
            f"{r['N']:.4g}",
            f"{r['D']:.4g}",
            f"{r['tokens_per_param']:.3g}",
            f"{r['loss']:.5f}",
            r["bound"] or "-",
            "yes" if r["converged"] else "NO",
        ]
        for r in records
    ]
    return _format_table(headers, rows)


def _cmd_solve(args):
    law = _law_from_args(args)
    caps = dict(flops_per_param_token=args.flops_per_param_token, max_tokens=args.max_tokens, max_params=args.max_params)
    if (args.compute is None) == (args.target_loss is None):
        raise OptimalError("give either --compute or --target-loss")
    if args.compute is not None:
        result = optimal.compute_optimal(law, np.asarray(args.compute), **caps)
    else:
        result = optimal.compute_for_loss(law, np.asarray(args.target_loss), **caps)
    records = result.to_records()
    boot = optimal.load_bootstrap(args.fit) if getattr(args, "fit", None) else None
    if boot is not None:  # a fit saved with its bootstrap draws: say how sure we are
        _warn_if_few_draws(boot)
        for record, interval in zip(records, boot.allocation([r["compute"] for r in records], args.flops_per_param_token)):
            record["intervals"] = {k: v for k, v in interval.items() if k != "compute"}
    if args.json:
        _print_json(records)
        return 0
    print(_allocation_table(records))
    if boot is not None:
        print()
        print(_interval_rows(boot, records))
    return 0


def _progress_bar(label):
    """A progress callback drawing one line on stderr (only where stderr is a terminal)."""
    if not sys.stderr.isatty():
        return None

    def show(done, total):
        filled = int(30 * done / total)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _interval_table(boot, budgets):
    level = f"{100 * boot.confidence:g}%"
    lines = [f"bootstrap: {boot.n_resamples} resamples, {boot.n_failed} failed (left out), {level} percentile intervals"]
    rows = [[name, _g(v["lo"], ".5g"), _g(v["hi"], ".5g"), _g(v["se"], ".3g")] for name, v in boot.params().items()]
    lines.append(_format_table(["coefficient", "lo", "hi", "se"], rows))
    if budgets:
        lines += ["", _interval_rows(boot, boot.allocation(budgets))]
    return "\n".join(lines)


def _interval_rows(boot, allocations):
    """Per budget and quantity, the bootstrap interval: items with ``compute`` and ``N``, ``D``, ... or
    ``intervals`` holding them."""
    rows = []
    for item in allocations:
        intervals = item.get("intervals", item)
        for key in ("N", "D", "tokens_per_param", "loss"):
            v = intervals[key]
            rows.append([f"{item['compute']:.4g}", key, _g(v["lo"], ".4g"), _g(v["hi"], ".4g"), _g(v["se"], ".3g")])
    title = f"{100 * boot.confidence:g}% bootstrap intervals ({boot.n_resamples - boot.n_failed} draws)"
    return title + "\n" + _format_table(["compute (FLOPs)", "quantity", "lo", "hi", "se"], rows)


def _check_fit_args(args):
    """What can be checked before reading and fitting: counts, the seed, budgets, the output file."""
    if args.group_col and not args.bootstrap:
        raise OptimalError("--group-col is used by the cluster bootstrap: add --bootstrap N")
    if args.bootstrap:
        check_count(args.bootstrap, "--bootstrap", 2, MAX_RESAMPLES)
    check_count(args.seed, "--seed", 0, MAX_SEED)
    if not 0 < args.confidence < 1:
        raise OptimalError(f"--confidence must be between 0 and 1 (e.g. 0.95), got {args.confidence:g}")
    if args.budgets:
        check_budgets(args.budgets, args.flops_per_param_token)
    if args.save:
        check_writable(args.save, "fit record", OutputError)


def _cmd_fit(args):
    _check_fit_args(args)
    runs = optimal.read_runs_csv(
        args.runs, params_col=args.params_col, tokens_col=args.tokens_col, flops_col=args.flops_col,
        loss_col=args.loss_col, group_col=args.group_col, weight_col=args.weight_col,
        flops_per_param_token=args.flops_per_param_token, drop_highest_loss=args.drop_highest_loss,
    )
    dtype = {"float64": np.float64, "float32": np.float32}[args.dtype]
    if sys.stderr.isatty():
        starts = "4500 Hoffmann starts" if args.starts == "hoffmann" else "a screen of the exponents"
        sys.stderr.write(f"fitting {len(runs.loss)} runs from {starts} ...\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the result carries its warnings; they are printed below
        result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, runs.weights, delta=args.delta,
                             starts=args.starts, dtype=dtype)
    output = result.to_dict()
    extra = {}
    boot = None
    if args.bootstrap:
        boot = optimal.bootstrap(result, n_resamples=args.bootstrap, seed=args.seed, confidence=args.confidence,
                                 groups=runs.groups, progress=_progress_bar("bootstrap"))
        _warn_if_few_draws(boot)
        output["bootstrap"] = boot.to_dict(args.budgets or (), args.flops_per_param_token)
        extra["bootstrap"] = boot.draws_record()
    if args.save:
        result.save(args.save, extra)
    if args.json:
        _print_json(output)
    else:
        print(result.summary())
        if boot is not None:
            print()
            print(_interval_table(boot, args.budgets))
        elif args.budgets:
            print()
            print(_allocation_table(optimal.compute_optimal(result.law, np.asarray(args.budgets)).to_records()))
    return 0


def _cmd_plot(args):
    from optimal import plot  # loads matplotlib only for this command

    plot.check_output(args.out, args.dpi)  # before drawing
    figure = plot.figure_from_record(args.fit, args.kind, preset=args.preset)
    print(f"wrote {plot.save_figure(figure, args.out, dpi=args.dpi)}")
    return 0


def _add_law_options(parser, fit=True):
    parser.add_argument("--preset", help=f"published law: {', '.join(sorted(optimal.PRESETS))} (default {optimal.DEFAULT_PRESET})")
    parser.add_argument("--coefficients", metavar="FILE.json", help="law coefficients from a JSON file")
    if fit:
        parser.add_argument("--fit", metavar="FIT.json", help="a fit record saved by 'optimal fit --save'")


def build_parser():
    parser = _Parser(prog="optimal", description="Compute-optimal model size and data from scaling laws.")
    parser.add_argument("--version", action="version", version=f"optimal {optimal.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    solve = commands.add_parser("solve", help="N*, D* and loss for compute budgets (or for a target loss)")
    solve.add_argument("--compute", type=_number, nargs="+", metavar="C", help="training compute in FLOPs")
    solve.add_argument("--target-loss", type=_number, nargs="+", metavar="L", help="loss to reach (nats)")
    _add_law_options(solve)
    solve.add_argument("--flops-per-param-token", type=_number, default=6.0, metavar="K", help="k in C = k N D (default 6)")
    solve.add_argument("--max-tokens", type=_number, metavar="D", help="cap on training tokens (unique data)")
    solve.add_argument("--max-params", type=_number, metavar="N", help="cap on model parameters")
    solve.add_argument("--json", action="store_true", help="print a JSON list, one object per budget")
    solve.set_defaults(run=_cmd_solve)

    fit = commands.add_parser("fit", help="fit L = E + A/N^alpha + B/D^beta to your runs (CSV), with bootstrap intervals")
    fit.add_argument("runs", metavar="RUNS.csv", help="one training run per row, with a header")
    fit.add_argument("--params-col", metavar="NAME", help="column of N, parameters (default N)")
    fit.add_argument("--tokens-col", metavar="NAME", help="column of D, training tokens (default D)")
    fit.add_argument("--flops-col", metavar="NAME", help="column of training FLOPs C; then D = C / (k N)")
    fit.add_argument("--loss-col", metavar="NAME", help="column of the final loss (default loss)")
    fit.add_argument("--weight-col", metavar="NAME", help="column of per-row fitting weights")
    fit.add_argument("--group-col", metavar="NAME", help="column of group labels: the bootstrap resamples whole groups")
    fit.add_argument("--drop-highest-loss", type=int, default=0, metavar="K", help="leave out the K highest-loss rows (Epoch: 5)")
    fit.add_argument("--flops-per-param-token", type=_number, default=6.0, metavar="K", help="k in C = k N D (default 6)")
    fit.add_argument("--delta", type=_number, default=1e-3, help="Huber threshold on log-loss residuals (default 1e-3)")
    fit.add_argument("--starts", choices=("screen", "hoffmann"), default="screen",
                     help="screen: variable-projection screen then polish (default); hoffmann: all 4500 grid starts")
    fit.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    fit.add_argument("--bootstrap", type=int, default=0, metavar="B", help="bootstrap resamples for confidence intervals")
    fit.add_argument("--seed", type=int, default=0, help=f"bootstrap seed, 0 to {MAX_SEED} (default 0)")
    fit.add_argument("--confidence", type=_number, default=0.95, help="interval level (default 0.95)")
    fit.add_argument("--budgets", type=_number, nargs="+", metavar="C", help="budgets (FLOPs) for allocations")
    fit.add_argument("--save", metavar="FIT.json", help="write the fit record (reload with --fit, or plot it)")
    fit.add_argument("--json", action="store_true", help="print JSON")
    fit.set_defaults(run=_cmd_fit)

    plot = commands.add_parser("plot", help="figures: loss surface, data vs fit, bootstrap draws, frontier")
    plot.add_argument("fit", nargs="?", metavar="FIT.json", help="a fit record from 'optimal fit --save'")
    # the kinds are spelled out here so that the CLI does not import matplotlib unless it plots
    plot.add_argument("--kind", required=True, choices=("surface", "fit", "bootstrap", "frontier"))
    plot.add_argument("--preset", help="plot a published law (surface, frontier) instead of a fit")
    plot.add_argument("--out", required=True, metavar="FILE.png", help="output file (.png, .pdf, .svg)")
    plot.add_argument("--dpi", type=int, default=150, help="resolution of png/jpg output, 10 to 2000 (default 150)")
    plot.set_defaults(run=_cmd_plot)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    _warn(" ".join(str(message).split()))  # one line, like every other message of the command line


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
