"""The ``optimal`` command line: the parser (assembled from one module per command), dispatch, exit codes, and how
warnings are shown. Every command module calls the public API only, and prints the results' own ``summary()`` or
``to_dict()``.

Every error a user can cause prints one line ``error: ...`` on stderr and exits with status 2; so does a failure to
write the output (a full disk, a closed stdout or pipe). Warnings are one line ``warning: ...`` on stderr.
"""

import errno
import os
import re
import sys
import warnings
from pathlib import Path

import optimal
from optimal.errors import OptimalError
from optimal.cli import fit, isoflop, plan, plot, predict, solve, suggest, validate
from optimal.cli import audit, envelope, hparams, presets
from optimal.cli.common import Parser, hold_warnings, resolve_deprecated, warn

COMMANDS = (solve, fit, plot, plan, isoflop, validate, predict, suggest, envelope, hparams, presets, audit)  # --help's order


def build_parser():
    parser = Parser(prog="optimal", description="Compute-optimal model size and data from scaling laws.")
    parser.add_argument("--version", action="version", version=f"optimal {optimal.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


LINE_BREAKS = str.maketrans({c: c.encode("unicode_escape").decode("ascii") for c in
                             "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"})  # what str.splitlines splits at


def one_line(message):
    """``message`` on one line: a line break that user text put in it (a file name, a group label) written as its
    escape (``\\n``), so that an error stays the one ``error:`` line a caller reads."""
    return message.translate(LINE_BREAKS)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A Python warning as one ``warning:`` line (held, as every warning, until the command has answered: a command
    that fails prints its one ``error:`` line alone; NumPy's overflow on the way to a refusal, or a law's
    extrapolation before the input is refused, says nothing the error does not)."""
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


# XLA settings of the program's own process: its older CPU fusion code generator compiles the same programs with
# ~25% less CPU and the same numbers bit for bit (a cold 245-row `optimal fit --json`: 11.2-11.8 s of CPU with XLA's
# defaults, 8.3-8.9 s with it, byte-identical output; the whole test suite runs under it, and
# tests/test_precision.py checks a fit's bits and iterations under both). Only for the jaxlib versions it was
# checked on: a jaxlib that no longer knew the flag would abort the process.
PROGRAM_XLA_FLAGS = ("--xla_cpu_use_fusion_emitters=false",)
PROGRAM_XLA_FLAGS_JAXLIB = ((0, 10),)  # (major, minor) versions of jaxlib checked with PROGRAM_XLA_FLAGS


def program_xla_flags(user_flags, jaxlib_version):
    """The ``XLA_FLAGS`` the program runs with: the user's ``user_flags`` (a string, kept as given) plus those of
    ``PROGRAM_XLA_FLAGS`` the user did not set, when ``jaxlib_version`` (a string such as ``"0.10.2"``) is one they
    were checked on; else ``user_flags`` unchanged."""
    try:
        major_minor = tuple(int(part) for part in jaxlib_version.split(".")[:2])
    except (AttributeError, ValueError):
        return user_flags
    if major_minor not in PROGRAM_XLA_FLAGS_JAXLIB:
        return user_flags
    mine = [flag for flag in PROGRAM_XLA_FLAGS if flag.split("=")[0] not in user_flags]
    return " ".join([user_flags, *mine]).strip()


def run():
    """The ``optimal`` program: the command line with JAX's persistent compilation cache and ``program_xla_flags``
    (settings of this process, which the program owns; ``main`` alone, as tests and other Python code call it,
    changes nothing). XLA reads its flags when JAX first computes, after this."""
    if sys.stdout is None:  # started with stdout closed: say so before any work (Python left sys.stdout None)
        return _exit(_no_output("stdout is closed"))
    import jax
    import jaxlib

    flags = program_xla_flags(os.environ.get("XLA_FLAGS", ""), jaxlib.__version__)
    if flags != os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = flags

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
    _exit(main())


def _exit(code):
    import gc

    gc.freeze()  # the collector's pass over every object at exit cost 0.13-0.19 s (benchmarks --cold-start)
    raise SystemExit(code)


def _no_output(reason):
    """A failure to write the answer: one ``error:`` line on stderr, status 2; stdout pointed at the null device
    so that the interpreter's own flush at exit finds nothing left to write."""
    try:
        print(f"error: cannot write the output: {reason}", file=sys.stderr)
    except (OSError, ValueError, AttributeError):
        pass
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return 2


def _write_reason(exc):
    if isinstance(exc, BrokenPipeError):
        return "the program reading stdout stopped reading (a closed pipe)"
    if exc.errno == errno.ENOSPC:
        return "no space left on the device stdout writes to"
    return exc.strerror or str(exc)


def main(argv=None):
    if sys.stdout is None:
        return _no_output("stdout is closed")
    try:
        try:
            with warnings.catch_warnings(), hold_warnings():  # warnings said once the command has answered
                warnings.showwarning = _show_warning
                try:
                    args = build_parser().parse_args(argv)
                except SystemExit:  # --help, --version: their text is the output, and must be written too
                    sys.stdout.flush()
                    raise
                resolve_deprecated(args)
                code = args.run(args)
            sys.stdout.flush()  # a full disk shows here, not at exit
            return code
        except OSError as exc:
            if not _is_stdout_error(exc):
                raise
            return _no_output(_write_reason(exc))
    except OptimalError as exc:
        # library messages name Python arguments (params_col=); on the command line they are options
        message = re.sub(r"\b(\w+)_col=", lambda m: f"--{m.group(1)}-col", str(exc))
        print(f"error: {one_line(message)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _is_stdout_error(exc):
    """Whether an ``OSError`` is a failure to write stdout (a closed pipe, a full disk, an I/O error): writes to
    stdout are the only OSErrors a command lets through (files it reads or writes raise ``OptimalError``)."""
    return isinstance(exc, BrokenPipeError) or exc.errno in (errno.ENOSPC, errno.EIO, errno.EPIPE, errno.EBADF,
                                                             errno.EDQUOT)
