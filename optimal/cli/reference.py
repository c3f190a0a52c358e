"""docs/cli.md, written from the parser: the convention, then every command's ``--help`` as the program prints it.

``python -m optimal.cli.reference > docs/cli.md`` rewrites the file; tests/cli/test_cli_reference.py checks that it is
current, so the reference cannot drift from the options it describes.
"""

import os
import sys

CONVENTION = """\
# The `optimal` command line

Every command, every option, as `optimal COMMAND --help` prints it (this file is generated from the parser by
`python -m optimal.cli.reference > docs/cli.md`; a test checks that it is current).

Install: `pip install "optimal-scaling[parquet]"` (from a clone: `pip install -e ".[parquet]"`); the command is
`optimal`.

## One convention

One meaning per flag, everywhere it applies:

| flag | meaning | commands |
|---|---|---|
| `--fit FIT.json` | a saved fit record (`optimal fit --save`) | solve, plan, plot, predict, suggest |
| `--compute C [C ...]` | training compute budgets in FLOPs | solve, plan, fit, isoflop, suggest, plot |
| `--by COLUMN` | one fit per value of COLUMN; with `--shared NAME ...` one joint fit | fit, validate |
| `--cluster-col COLUMN` | the bootstrap's resampling unit (whole clusters resampled) | fit, validate, isoflop |
| `--group LABEL` | which group of a grouped fit record to answer for | solve, plan, predict, suggest, plot |
| `--flops-per-param-token K` | k in C = k N D; default: the fit record's k when a record is given, else 6 | every command that turns N, D into C |
| `--weight-col NAME` | a column of per-row fitting weights | fit, validate, isoflop |
| `--max-iter K` | the iteration budget of each fit's polish (default 200), never the bootstrap's | fit |
| `--bootstrap-max-iter K` | the iteration budget of each bootstrap refit (default 1000) | fit, validate |
| `--decide RULE` | the allocation chosen under the law's uncertainty from a record's draws (plug-in, expected-loss, quantile:Q) | solve, plan |
| `--json` | exactly one strict JSON object on stdout, with `"schema": "optimal.<command>/1"` and, where a law was used, `"law": {"family", "params"}` | every command but plot |

- Files written (`--save`, `--plot`, `--out`): one line `wrote PATH` on stderr.
- Warnings: `warning: ...` on stderr, in text and JSON mode alike, said once the command has answered. Errors: one
  line `error: ...` on stderr and nothing else (the warnings met on the way are dropped: a line break in a file name
  or label is written `\\n`), exit status 2; so is a failure to write stdout (a full disk, a closed stdout or pipe).
- Text output is the results' own `summary()`; the law's name as the library gives it (`Chinchilla`), the robust
  loss in lower case.
- A JSON number that is not finite is written as `null` (with a warning): the output is strict JSON.

Deprecated spellings (they work for one release and print `warning: OLD is deprecated, use NEW`):

| old | new |
|---|---|
| `optimal plot FIT.json`, `optimal predict FIT.json`, `optimal suggest FIT.json` | `--fit FIT.json` |
| `fit --budgets`, `isoflop --budgets` | `--compute` |
| `suggest --target-compute` | `--compute` |
| `fit --group-col`, `isoflop --group-col` | `--cluster-col` |
| `validate --max-iter` (it set the bootstrap's budget) | `--bootstrap-max-iter` |

`fit --max-iter` now sets each fit's polish budget; given with `--bootstrap` (and no `--bootstrap-max-iter`) it
says so on stderr.
"""


def render():
    """docs/cli.md as text: ``CONVENTION`` and every command's help at a fixed width of 100 columns."""
    from .main import COMMANDS, build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps to $COLUMNS: fixed, so the file is the same on every terminal
    try:
        parser = build_parser()
        subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        parts = [CONVENTION, "## optimal\n", "```text\n" + parser.format_help().rstrip() + "\n```\n"]
        for name in [c.__name__.rpartition(".")[2] for c in COMMANDS]:
            parts += [f"## optimal {name}\n", "```text\n" + subparsers.choices[name].format_help().rstrip() + "\n```\n"]
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render())
