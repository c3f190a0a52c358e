"""What every command of the ``optimal`` command line shares: the argument parser that turns usage errors into
``OptimalError`` (one ``error: ...`` line), argument types, the law a command reads, strict JSON and warnings on
the terminal, tables, and the printed answer of ``optimal.recommend``. Command modules import from here;
``main`` registers them."""

import argparse
import sys
from pathlib import Path

import optimal
from optimal.analysis.recommend import DEFAULT_FLOPS_PER_PARAM_TOKEN
from optimal.errors import OptimalError
from optimal.data.runs import parse_where
from optimal._util.jsonio import dumps_strict
from optimal._util.text import format_table, or_na  # noqa: F401 (the commands' tables)


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise OptimalError(message)


def number(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def assignment(form, value=str):
    """An argparse type for ``NAME=VALUE`` options (``--covariate U=unique_tokens``, ``--fix E=1.69``): a pair
    ``(name, value(text))``; ``form`` shows the expected shape in the message."""
    def parse(text):
        name, equals, right = (part.strip() for part in text.partition("="))
        if not equals or not name or not right:
            raise argparse.ArgumentTypeError(f"{text!r} is not {form}")
        return name, value(right)

    return parse


def named_once(pairs, option):
    """``{name: value}`` from ``NAME=VALUE`` pairs; a name given twice is an error, not a silent override."""
    names = [name for name, _ in pairs or ()]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise OptimalError(f"{option} names {', '.join(twice)} more than once")
    return dict(pairs or ())


def law_from_args(args):
    """The law a command works with: a saved fit, a coefficients file, or a preset (the default)."""
    sources = [s for s in ("fit", "coefficients") if getattr(args, s, None)]
    if len(sources) + (args.preset is not None) > 1:
        raise OptimalError("give only one of --preset, --coefficients and --fit")
    if getattr(args, "fit", None):
        result = optimal.load_fit(args.fit)
        group = getattr(args, "group", None)
        return result.law if result.group_labels is None or group is None else result.laws.get(str(group))
    if getattr(args, "coefficients", None):
        return optimal.load_coefficients(args.coefficients)
    return optimal.preset(optimal.DEFAULT_PRESET if args.preset is None else args.preset)


def warn(message):
    print(f"warning: {message}", file=sys.stderr)


def print_json(value):
    """Print ``value`` as strict JSON: a non-finite number is written as null, with one warning on stderr."""
    text, places = dumps_strict(value, indent=2)
    if places:
        shown = ", ".join(places[:3]) + (", ..." if len(places) > 3 else "")
        warn(f"{len(places)} non-finite value{'s' if len(places) > 1 else ''} written as null ({shown})")
    print(text)


def source_from_args(args):
    """What ``optimal.analysis.recommend`` answers from: a fit record (with its draws and k), a preset (with the range of
    runs it was fitted on), or a coefficients file's law (no known range)."""
    law = law_from_args(args)  # checks the options and reads the file, with the usual errors
    if getattr(args, "fit", None):
        return Path(args.fit)
    if getattr(args, "coefficients", None):
        return law
    return args.preset or optimal.DEFAULT_PRESET


def _decades(value, signed=False):
    if value is None:
        return "n/a"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def _converged_text(record):
    words = ["yes" if record["converged"] else "NO"]
    if record.get("fit_converged") is False:
        words.append("fit NO")
    return ", ".join(words)


def _allocation_table(records):
    """The point answers with their extrapolation distances (decades), one row per budget."""
    by_loss = bool(records) and "target_loss" in records[0]
    headers = (["target loss"] if by_loss else []) + [
        "compute (FLOPs)", "N* (params)", "D* (tokens)", "tokens/param", "loss", "bound", "converged",
        "C vs runs (dec)", "N* out (dec)", "D* out (dec)"]
    rows = []
    for r in records:
        far = r["extrapolation"]
        rows.append((([f"{r['target_loss']:.5g}"] if by_loss else []) + [
            f"{r['compute']:.4g}", f"{r['N']:.4g}", f"{r['D']:.4g}", f"{r['tokens_per_param']:.3g}", f"{r['loss']:.5f}",
            r["bound"] or "-", _converged_text(r), _decades(far["compute_decades"], signed=True),
            _decades(far["N_decades_outside"]), _decades(far["D_decades_outside"])]))
    return format_table(headers, rows)


def _bound_text(key, value):
    if value is None:  # a bound set by draws that cannot reach the target: no value for tokens per parameter
        return "n/a" if key == "tokens_per_param" else "unbounded"
    return f"{value:.4g}"


def _recommendation_intervals(answer):
    """Per budget and quantity, the bootstrap interval, from draws allocated with the point's k and caps."""
    rows, counts = [], []
    for r in answer.records:
        for key, v in r["intervals"].items():
            se = "n/a" if v["se"] is None else f"{v['se']:.3g}"
            rows.append([f"{r['compute']:.4g}", key, _bound_text(key, v["lo"]), _bound_text(key, v["hi"]), se])
        d = r["draws"]
        odd = [f"{d[key]} {what}" for key, what in (("n_at_cap", "at a cap"), ("n_no_interior", "without an interior optimum"),
                                                    ("n_unreachable", "cannot reach the target")) if d.get(key)]
        if odd:
            counts.append(f"  at {r['compute']:.4g} FLOPs, of {d['n_draws']} draws: {', '.join(odd)} (kept in the intervals)")
    caps = [f"{name} {value:.3g}" for name, value in (("max_tokens", answer.max_tokens), ("max_params", answer.max_params))
            if value is not None]
    title = (f"{100 * answer.confidence:g}% bootstrap intervals ({answer.n_resamples - answer.n_failed} draws, "
             f"k = {answer.flops_per_param_token:g}{', ' + ', '.join(caps) if caps else ''}, as for the point)")
    return "\n".join([title, format_table(["compute (FLOPs)", "quantity", "lo", "hi", "se"], rows), *counts])


def print_recommendation(answer, skip_codes=(), prefix=""):
    """The text answer on stdout; its warnings once each on stderr."""
    print(f"law: {answer.source}")
    for note in answer.notes:
        print(f"  {note}")
    print(_allocation_table(answer.records))
    if answer.confidence is not None:
        print()
        print(_recommendation_intervals(answer))
    warn_answer(answer, skip_codes, prefix)


def warn_answer(answer, skip_codes=(), prefix=""):
    """An answer's warnings, once each on stderr, with the budget (or target loss) each concerns (and ``prefix``:
    the group it belongs to)."""
    for w in answer.warnings:
        if w["code"] in skip_codes:
            continue
        where = "" if w["budget"] is None else f"[{w['budget']:.4g} FLOPs] "
        if w.get("target_loss") is not None:
            where = f"[loss {w['target_loss']:.5g} at {w['budget']:.4g} FLOPs] "
        warn(f"{prefix}{where}{w['message']}")


def k_or_default(args):
    """k in C = k N D as given, else the usual 6 (``optimal.analysis.recommend`` says which)."""
    return DEFAULT_FLOPS_PER_PARAM_TOKEN if args.flops_per_param_token is None else args.flops_per_param_token


def add_law_options(parser, fit=True):
    parser.add_argument("--preset", help=f"published law: {', '.join(sorted(optimal.PRESETS))} (default {optimal.DEFAULT_PRESET})")
    parser.add_argument("--coefficients", metavar="FILE.json", help="law coefficients from a JSON file")
    if fit:
        parser.add_argument("--fit", metavar="FIT.json", help="a fit record saved by 'optimal fit --save'")



def check_filters(option, expressions):
    """Parse every row filter of ``option`` (``--where``, ``--holdout``) before any file is read: a malformed one
    is an error naming the option."""
    for expression in expressions or ():
        try:
            parse_where(expression)
        except OptimalError as exc:
            raise OptimalError(f"{option} {exc}") from None


def add_column_options(parser, weights=True, when="", loss="the final loss (default loss)"):
    """The options naming the columns of a runs file (``--params-col``, ``--tokens-col``, ``--flops-col``,
    ``--loss-col`` and, with ``weights``, ``--weight-col``); ``when`` prefixes each help ("with --runs: ")."""
    parser.add_argument("--params-col", metavar="NAME", help=f"{when}column of N, parameters (default N)")
    parser.add_argument("--tokens-col", metavar="NAME", help=f"{when}column of D, training tokens (default D)")
    parser.add_argument("--flops-col", metavar="NAME", help=f"{when}column of training FLOPs C; then D = C / (k N)")
    parser.add_argument("--loss-col", metavar="NAME", help=f"{when}column of {loss}")
    if weights:
        parser.add_argument("--weight-col", metavar="NAME", help=f"{when}column of per-row fitting weights")
