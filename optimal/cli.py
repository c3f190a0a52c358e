"""The ``optimal`` command line: argument parsing, progress and printing. It calls the public API only.

Every error a user can cause prints one line ``error: ...`` on stderr and exits with status 2.
"""

import argparse
import json
import sys

import numpy as np

import optimal
from optimal.errors import OptimalError


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise OptimalError(message)


def _positive_float(text):
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
    return optimal.preset(args.preset or optimal.DEFAULT_PRESET)


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
    print(json.dumps(records, indent=2) if args.json else _allocation_table(records))
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
    solve.add_argument("--compute", type=_positive_float, nargs="+", metavar="C", help="training compute in FLOPs")
    solve.add_argument("--target-loss", type=_positive_float, nargs="+", metavar="L", help="loss to reach (nats)")
    _add_law_options(solve)
    solve.add_argument("--flops-per-param-token", type=_positive_float, default=6.0, metavar="K", help="k in C = k N D (default 6)")
    solve.add_argument("--max-tokens", type=_positive_float, metavar="D", help="cap on training tokens (unique data)")
    solve.add_argument("--max-params", type=_positive_float, metavar="N", help="cap on model parameters")
    solve.add_argument("--json", action="store_true", help="print a JSON list, one object per budget")
    solve.set_defaults(run=_cmd_solve)
    return parser


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except OptimalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
