"""What every command of the ``optimal`` command line shares: the argument parser that turns usage errors into
``OptimalError`` (one ``error: ...`` line), argument types, the law a command reads, strict JSON and warnings on
the terminal, tables, and the printed answer of ``optimal.recommend``. Command modules import from here;
``main`` registers them."""

import argparse
import sys
from pathlib import Path

import optimal
from optimal.errors import OptimalError
from optimal.data.where import parse_where
from optimal._util.jsonio import dumps_strict
from optimal._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
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


def print_recommendation(answer, skip_codes=(), prefix=""):
    """The text answer on stdout (``answer.summary()``); its warnings once each on stderr."""
    print(answer.summary())
    warn_answer(answer, skip_codes, prefix)


def warn_answer(answer, skip_codes=(), prefix=""):
    """An answer's warnings, once each on stderr, with the budget (or target loss) each concerns (and ``prefix``:
    the group it belongs to)."""
    for w in answer.warnings:
        if w.code in skip_codes:
            continue
        where = "" if w.budget is None else f"[{w.budget:.4g} FLOPs] "
        if w.target_loss is not None:
            where = f"[loss {w.target_loss:.5g} at {w.budget:.4g} FLOPs] "
        warn(f"{prefix}{where}{w.message}")


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
