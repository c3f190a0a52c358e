"""What every command of the ``optimal`` command line shares, each defined once: the argument parser that turns usage
errors into ``OptimalError`` (one ``error: ...`` line), argument types, the shared options (``--fit``, ``--compute``,
``--by``, ``--cluster-col``, ``--group``, ``--flops-per-param-token``, ``--weight-col``, ``--max-iter`` /
``--bootstrap-max-iter``, ``--json``, the column options) and their deprecated spellings, the law a command reads,
output (strict JSON with a schema, ``wrote PATH`` lines, warnings on stderr), progress, and the printed answer of
``optimal.recommend``. Command modules import from here; ``main`` registers them.

The convention (docs/cli.md): one meaning per flag everywhere it applies; ``--json`` prints one object with
``"schema": "optimal.<command>/1"`` and, where a law was used, ``"law": {"family", "params"}``; files written say
``wrote PATH`` on stderr; warnings are ``warning: ...`` on stderr.
"""

import argparse
import contextlib
import math
import sys
import time
from pathlib import Path

import optimal
from optimal.allocation.decide import parse_rule
from optimal.errors import OptimalError, check_positive
from optimal.data.where import parse_where
from optimal._util.jsonio import dumps_strict
from optimal._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN

SCHEMA_VERSION = 1  # the version of every command's JSON shape ("optimal.<command>/1")
K_HELP_RECORD = "k in C = k N D (default: the fit record's k when a record is given, else 6)"
K_HELP = "k in C = k N D (default 6)"


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise OptimalError(message)

    def _print_message(self, message, file=None):
        # argparse's own swallows a failed write (--help or --version into a full disk exited 0): let the OSError
        # reach main, which reports it as one error line
        if message:
            (file or sys.stderr).write(message)


# --- argument types ------------------------------------------------------------------------------------------------

def number(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def flops_per_param_token(text):
    """``--flops-per-param-token``: a number, a positive one within ``check_flops_per_param_token``'s cap (every
    command: C = k N D then stays finite where N and D are)."""
    from optimal.allocation.flops import check_flops_per_param_token

    value = number(text)
    if math.isfinite(value) and value > 0:  # 0, negative or non-finite: each command's own check names it
        try:
            check_flops_per_param_token(value, "K")
        except OptimalError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def name(text):
    """A column, file, accelerator or other name: any text but an empty (or blank) one."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty name; give one")
    return text


def assignment(form, value=str):
    """An argparse type for ``NAME=VALUE`` options (``--covariate U=unique_tokens``, ``--fix E=1.69``): a pair
    ``(name, value(text))``; ``form`` shows the expected shape in the message."""
    def parse(text):
        key, equals, right = (part.strip() for part in text.partition("="))
        if not equals or not key or not right:
            raise argparse.ArgumentTypeError(f"{text!r} is not {form}")
        return key, value(right)

    return parse


def named_once(pairs, option):
    """``{name: value}`` from ``NAME=VALUE`` pairs; a name given twice is an error, not a silent override."""
    names = [key for key, _ in pairs or ()]
    twice = sorted({key for key in names if names.count(key) > 1})
    if twice:
        raise OptimalError(f"{option} names {', '.join(twice)} more than once")
    return dict(pairs or ())


# --- deprecated spellings ------------------------------------------------------------------------------------------

class _Deprecated(argparse.Action):
    """An old spelling of an option: its value is kept aside and moved to the new option's ``dest`` after parsing
    (``resolve_deprecated``), with one ``warning: OLD is deprecated, use NEW``."""

    def __init__(self, option_strings, dest, use, **kwargs):
        self.use = use
        super().__init__(option_strings, "_deprecated_" + dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        found = getattr(namespace, "deprecated", None) or []
        found.append((option_string, self.use, self.dest[len("_deprecated_"):], values))
        namespace.deprecated = found


def deprecated(parser, old, dest, use, **kwargs):
    """Register ``old`` as a deprecated spelling of the option ``use`` (whose value is ``dest``); hidden from
    --help."""
    parser.add_argument(old, action=_Deprecated, dest=dest, use=use, help=argparse.SUPPRESS, **kwargs)


def resolve_deprecated(args):
    """Move every deprecated spelling's value to its new option, with one warning each; both spellings at once is
    an error. Also the old positional FIT.json of plot, predict and suggest (``--fit`` now)."""
    found = list(getattr(args, "deprecated", None) or [])
    positional = getattr(args, "fit_positional", None)
    if positional is not None:
        found.append(("the positional FIT.json", "--fit FIT.json", "fit", positional))
    for old, use, dest, value in found:
        if getattr(args, dest, None) not in (None, [], False):
            raise OptimalError(f"{old} and {use.split()[0]} are the same option ({old} is its deprecated spelling): "
                               f"give {use.split()[0]} only")
        warn(f"{old} is deprecated, use {use}")
        setattr(args, dest, value)
    return args


# --- the shared options --------------------------------------------------------------------------------------------

def add_fit_option(parser, positional_alias=False, required=False):
    """``--fit FIT.json``: a saved fit record; with ``positional_alias`` the old positional FIT.json still works."""
    parser.add_argument("--fit", metavar="FIT.json", type=name, required=False,
                        help="a fit record saved by 'optimal fit --save'" + (" (required)" if required else ""))
    if positional_alias:
        parser.add_argument("fit_positional", nargs="?", metavar="FIT.json", type=name, help=argparse.SUPPRESS)


def require_fit(args):
    if not args.fit:
        raise OptimalError("give the fit record: --fit FIT.json (saved by 'optimal fit --save')")


def add_compute_option(parser, help="training compute budgets in FLOPs", single=False, old=()):
    """``--compute C [C ...]`` (``single``: one C), with the old spellings ``old`` as deprecated aliases."""
    kwargs = dict(type=number, metavar="C") | ({} if single else dict(nargs="+"))
    parser.add_argument("--compute", help=help, **kwargs)
    for spelling in old:
        deprecated(parser, spelling, "compute", "--compute", **kwargs)


def add_law_options(parser, fit=True, positional_alias=False):
    parser.add_argument("--preset", type=name,
                        help=f"published law: {', '.join(sorted(optimal.PRESETS))} (default {optimal.DEFAULT_PRESET})")
    parser.add_argument("--coefficients", metavar="FILE.json", type=name, help="law coefficients from a JSON file")
    if fit:
        add_fit_option(parser, positional_alias)


def add_group_option(parser, what="the group to answer for"):
    parser.add_argument("--group", metavar="LABEL",
                        help=f"with --fit of a grouped fit record (fit --by COL --shared ...): {what}")


def add_by_option(parser, shared=True, each="one fit per group"):
    parser.add_argument("--by", metavar="COLUMN", type=name,
                        help=f"column of group labels (any text): {each}" +
                             (", or one joint fit with --shared" if shared else ""))


def add_cluster_option(parser):
    parser.add_argument("--cluster-col", metavar="COLUMN", type=name,
                        help="column of cluster labels: the bootstrap resamples whole clusters (the runs of one "
                             "model config, say)")
    deprecated(parser, "--group-col", "cluster_col", "--cluster-col", metavar="COLUMN", type=name)


def add_k_option(parser, record=False):
    """``--flops-per-param-token K``: default None, read as the record's k (``record``) or 6 (``k_or_default``)."""
    parser.add_argument("--flops-per-param-token", type=flops_per_param_token, metavar="K",
                        help=K_HELP_RECORD if record else K_HELP)


CONTEXT_HELP = ("tokens per training sequence: counts attention FLOPs (k n_layer T d_model per token, Kaplan et al. "
                "2020) in the allocation, the point's and every bootstrap draw's")


def add_flops_model_options(parser, context_help=CONTEXT_HELP):
    """``--context T`` and ``--aspect-ratio R``: a FLOPs model with attention (``flops_model_from_args``) in place of
    k N per token."""
    from optimal.planning import DEFAULT_ASPECT_RATIO

    parser.add_argument("--context", type=int, metavar="T", help=context_help)
    parser.add_argument("--aspect-ratio", type=number, metavar="R",
                        help=f"d_model / n_layer of the shape that grows with N, for the attention FLOPs (and plan's "
                             f"illustrative shape) (default {DEFAULT_ASPECT_RATIO:g})")


def flops_model_from_args(args, k):
    """With ``--context``: training FLOPs per token ``k (N + T n_layer d_model)`` (``optimal.FlopsPerToken.attention``)
    for a shape that keeps ``--aspect-ratio`` as N varies (N ~= 12 n_layer d_model^2); None without it."""
    from optimal.planning import DEFAULT_ASPECT_RATIO

    if getattr(args, "context", None) is None:
        return None
    ratio = DEFAULT_ASPECT_RATIO if args.aspect_ratio is None else args.aspect_ratio
    return optimal.FlopsPerToken.attention(args.context, aspect_ratio=ratio, training_per_param=k)


def add_unique_tokens_option(parser, help="unique tokens available, for a data-constrained law (Muennighoff et al. "
                                          "2023; default --preset muennighoff2023): the point and every bootstrap "
                                          "draw answer with only U unique tokens"):
    parser.add_argument("--unique-tokens", type=number, metavar="U", help=help)


def data_constrained_default(args):
    """With ``--unique-tokens`` and no law chosen, the data-constrained law with published coefficients."""
    if getattr(args, "unique_tokens", None) is not None and args.preset is None and not args.coefficients and \
            not getattr(args, "fit", None):
        args.preset = "muennighoff2023"
    return args


POLISH_MAX_ITER = 200  # optimal.fit's default
BOOTSTRAP_MAX_ITER = 1000  # optimal.bootstrap's default


def add_iteration_options(parser, polish=True, bootstrap=True):
    """``--max-iter`` (each fit's polish) and ``--bootstrap-max-iter`` (each bootstrap refit); both default None
    (``resolve_iterations`` gives the defaults), so that a command can tell what was given."""
    if polish:
        parser.add_argument("--max-iter", type=int, metavar="K",
                            help=f"the iteration budget of each fit's polish (default {POLISH_MAX_ITER})")
    if bootstrap:
        parser.add_argument("--bootstrap-max-iter", type=int, metavar="K",
                            help=f"the iteration budget of each bootstrap refit (default {BOOTSTRAP_MAX_ITER})")


def resolve_iterations(args):
    """The defaults of ``--max-iter`` and ``--bootstrap-max-iter`` where they were not given."""
    if getattr(args, "max_iter", 0) is None:
        args.max_iter = POLISH_MAX_ITER
    if getattr(args, "bootstrap_max_iter", 0) is None:
        args.bootstrap_max_iter = BOOTSTRAP_MAX_ITER
    return args


def add_json_option(parser, command, keys="keys below"):
    parser.add_argument("--json", action="store_true",
                        help=f"print one JSON object with \"schema\": \"optimal.{command}/{SCHEMA_VERSION}\" "
                             f"({keys})")


def add_column_options(parser, weights=True, when="", loss="the final loss (default loss)"):
    """The options naming the columns of a runs file (``--params-col``, ``--tokens-col``, ``--flops-col``,
    ``--loss-col`` and, with ``weights``, ``--weight-col``); ``when`` prefixes each help ("with --runs: ")."""
    parser.add_argument("--params-col", metavar="NAME", type=name, help=f"{when}column of N, parameters (default N)")
    parser.add_argument("--tokens-col", metavar="NAME", type=name,
                        help=f"{when}column of D, training tokens (default D)")
    parser.add_argument("--flops-col", metavar="NAME", type=name,
                        help=f"{when}column of training FLOPs C; then D = C / (k N)")
    parser.add_argument("--loss-col", metavar="NAME", type=name, help=f"{when}column of {loss}")
    if weights:
        parser.add_argument("--weight-col", metavar="NAME", type=name, help=f"{when}column of per-row fitting weights")


def check_filters(option, expressions):
    """Parse every row filter of ``option`` (``--where``, ``--holdout``) before any file is read: a malformed one
    is an error naming the option."""
    for expression in expressions or ():
        try:
            parse_where(expression)
        except OptimalError as exc:
            raise OptimalError(f"{option} {exc}") from None


# --- the law a command reads ---------------------------------------------------------------------------------------

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


def source_from_args(args):
    """What ``optimal.analysis.recommend`` answers from: a fit record (with its draws and k), a preset (with the range of
    runs it was fitted on), or a coefficients file's law (no known range)."""
    law = law_from_args(args)  # checks the options and reads the file, with the usual errors
    if getattr(args, "fit", None):
        return Path(args.fit)
    if getattr(args, "coefficients", None):
        return law
    return args.preset or optimal.DEFAULT_PRESET


def law_json(law, unique_tokens=None):
    """A law as JSON: ``{"family": name, "params": {name: value}}`` (readable back with --coefficients), or None.
    ``unique_tokens``: the U a data-constrained law answered with (``--unique-tokens``), written in its place; an
    unlimited U is null (as ``--coefficients`` reads it), not a non-finite number to warn about."""
    if law is None:
        return None
    from optimal.laws.presets import law_to_dict

    try:
        values = law_to_dict(law)
    except OptimalError:  # a law of the user's own type
        return {"family": type(law).__name__, "params": {k: float(v) for k, v in law._asdict().items()}}
    family = values.pop("form")
    if "unique_tokens" in values:
        given = values["unique_tokens"] if unique_tokens is None else float(unique_tokens)
        values["unique_tokens"] = given if math.isfinite(given) else None
    return {"family": family, "params": values}


def fit_law_json(result):
    """The law of a ``FitResult``: ``law_json`` of its law, or for a joint fit ``{"family", "params": {group:
    {name: value}}}``."""
    if result.group_labels is None:
        return law_json(result.law)
    return {"family": result.family.name,
            "params": {str(label): law_json(result.laws[str(label)])["params"] for label in result.group_labels}}


def k_or_default(args):
    """k in C = k N D as given, else the usual 6 (``optimal.analysis.recommend`` says which)."""
    return DEFAULT_FLOPS_PER_PARAM_TOKEN if args.flops_per_param_token is None else args.flops_per_param_token


def k_for_record(args, record):
    """k as given (a positive finite number), else the record's, else 6."""
    if args.flops_per_param_token is not None:
        return check_positive(args.flops_per_param_token, "--flops-per-param-token (k in C = k N D)")
    return record.flops_per_param_token or DEFAULT_FLOPS_PER_PARAM_TOKEN


# --- output --------------------------------------------------------------------------------------------------------

_held = None  # while ``main`` runs a command (``hold_warnings``): the list its warnings wait in; None otherwise


def warn(message):
    """One ``warning:`` line on stderr; while a command runs under ``hold_warnings``, kept until it has answered (a
    command that fails prints its one ``error:`` line alone)."""
    if _held is None:
        print(f"warning: {message}", file=sys.stderr)
    else:
        _held.append(message)


@contextlib.contextmanager
def hold_warnings():
    """Hold every ``warn`` inside, and say them at the end when the block finishes without an exception; on an
    exception (an ``OptimalError`` becomes the one error line) they are dropped."""
    global _held
    _held = held = []
    try:
        yield
    finally:
        _held = None
    for message in held:  # reached only when the block raised nothing
        print(f"warning: {message}", file=sys.stderr)


def wrote(path):
    """The one line every command prints for a file it wrote, on stderr."""
    print(f"wrote {path}", file=sys.stderr)


def print_json(value):
    """Print ``value`` as strict JSON: a non-finite number is written as null, with one warning on stderr."""
    text, places = dumps_strict(value, indent=2)
    if places:
        shown = ", ".join(places[:3]) + (", ..." if len(places) > 3 else "")
        warn(f"{len(places)} non-finite value{'s' if len(places) > 1 else ''} written as null ({shown})")
    print(text)


def emit(command, output, law=None):
    """``--json``: one strict JSON object, ``{"schema": "optimal.<command>/1", "law": ..., **output}`` ("law" only
    when given: ``law_json`` of the law used)."""
    head = {"schema": f"optimal.{command}/{SCHEMA_VERSION}"}
    if law is not None:
        head["law"] = law
    print_json(head | {k: v for k, v in output.items() if k not in head})


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


def report_selection(selection):
    """What each --where filter kept, on stderr (``[{"where", "kept", "of"}]``)."""
    for s in selection:
        print(f"kept {s['kept']} of {s['of']} rows ({s['where']})", file=sys.stderr)


# --- progress ------------------------------------------------------------------------------------------------------

ESTIMATE_ABOVE_S = 30.0  # a job estimated to take longer than this says so before it starts


def progress_bar(label, quiet_below_s=10.0):
    """A progress callback for long work, on stderr. Where stderr is a terminal: a bar with the rate and the
    time left. Elsewhere (logs, pipes): one line with the rate and the estimate, once the first chunk shows that
    the job will take more than ``quiet_below_s`` seconds (the first chunk's time includes compiling, so the
    estimate errs long)."""
    started, told = time.monotonic(), []
    tty = sys.stderr.isatty()

    def show(done, total):
        elapsed = max(time.monotonic() - started, 1e-9)
        rate = done / elapsed
        left = (total - done) / rate if rate > 0 else math.inf
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


def print_estimate(n_rows, n_resamples, n_polish):
    """Before a big job, its estimated time and peak memory on stderr (``optimal.estimate_cost``: calibrated
    constants, so it is a guide; the progress bar then shows the measured rate and the time left)."""
    cost = optimal.estimate_cost(n_rows, n_resamples, search=optimal.Search(n_polish=n_polish))
    if cost.seconds > ESTIMATE_ABOVE_S:
        work = f"{n_rows} runs" + (f" and {n_resamples} bootstrap resamples" if n_resamples else "")
        sys.stderr.write(f"estimate: fitting {work} takes {cost.describe()} on the reference machine "
                         "(optimal.estimate_cost)\n")


def add_decide_option(parser):
    """``--decide RULE`` (solve, plan): the allocation chosen under the law's uncertainty (``optimal.decide``)."""
    parser.add_argument("--decide", metavar="RULE",
                        help="choose N under the law's uncertainty from a fit record's bootstrap draws: plug-in (the "
                             "best fit's optimum), expected-loss (least mean loss over the draws) or quantile:Q "
                             "(least Q-quantile of the loss); prints the deadweight compute of the plug-in, chosen "
                             "and 20 tokens/param allocations (docs/decisions.md); within --max-params/--max-tokens, "
                             "and at --unique-tokens U for a data-constrained fit")


def check_decide(args):
    """--decide's rule and what it needs: budgets (not target losses) and a fit record; before any work. Caps and
    --unique-tokens go through to ``optimal.decide`` (the answer itself checks that the law takes U)."""
    parse_rule(args.decide)  # an unknown rule is named before any work
    if args.compute is None:
        raise OptimalError("--decide chooses N at compute budgets: give --compute, not --target-loss")
    if not args.fit:
        raise OptimalError("--decide needs bootstrap draws: save a fit with them (optimal fit RUNS --bootstrap 200 "
                           "--save FIT.json) and pass --fit FIT.json")


def decide_from_args(args, compute, flops, flops_per_param_token):
    """``optimal.decide`` on the fit record's draws (its ``--group``'s) at ``compute``, along the FLOPs model
    ``flops`` (``--context``) or k = ``flops_per_param_token``, within ``--max-tokens``/``--max-params`` and at
    ``--unique-tokens``."""
    boot = optimal.load_record(args.fit).bootstrap
    if boot is None:
        raise OptimalError(f"{args.fit} holds no bootstrap draws, which --decide needs: refit with "
                           f"optimal fit RUNS --bootstrap 200 --save {args.fit}")
    if boot.fit.group_labels is not None:
        boot = boot.group(str(args.group))  # the answer has checked the group
    per_token = dict(flops=flops) if flops is not None else dict(flops_per_param_token=flops_per_param_token)
    return optimal.decide(boot, compute, args.decide, **per_token, max_tokens=getattr(args, "max_tokens", None),
                          max_params=getattr(args, "max_params", None),
                          unique_tokens=getattr(args, "unique_tokens", None))


def warn_decision(decision):
    """A decision's warnings on stderr, each as ``warning: decision: ...``."""
    if decision is not None:
        for w in decision.warnings:
            warn(f"decision: {w}")
