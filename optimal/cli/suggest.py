"""``optimal suggest --fit FIT.json --compute C --spend F``: which runs to train next (``optimal.suggest``)."""

import argparse
import csv
import io
import math

import numpy as np

import optimal
from optimal.analysis.design import DEFAULT_N, DEFAULT_RESAMPLES
from optimal.data.readers import read_file_bytes  # the runs files' bounded read
from optimal.errors import BudgetError, DataError, OptimalError, check_count, check_positive
from optimal.fitting.bootstrap import MAX_RESAMPLES, MAX_SEED
from optimal.cli import common
from optimal.cli.common import number, warn

EPILOG = """The fit record (optimal fit --save) holds the fitted runs, so no runs CSV is needed.

JSON (--json): one object: "schema": "optimal.suggest/1", "law" ({"family", "params"}: the fit's), "target_compute", "spend", "flops_per_param_token" (FLOPs), "n_star" (the fit's N* at
the target), "sd_log_n_star_before" and "sd_log_n_star_after" (predicted sd of ln N*(C) from the fit's runs, and
with the chosen runs added, these scattering as the old rows: the calibration carries over to them; the choice uses
it), "sd_log_n_star_after_noise" (the same with the new runs at the law's noise: the old rows' information / c^2, the
new runs' at the residual scale; equal when c = 1), "total_compute" (of the chosen runs, <= spend), "rule" ("per
FLOP" or "absolute": the greedy rule kept), "stopped" (why the choice ended), "runs" (the chosen runs in the order
picked: "N", "D", "compute", "tokens_per_param", "sd_after", "sd_after_noise", "variance_reduction",
"reduction_per_flop"), "noise_sd" and
"noise_from" (the log-loss noise scale and where it came from), "variance_factor" (the Huber estimator's variance
over least squares'), "information_condition", "weak_directions", "candidates_from", "n_candidates", and
"ranking" (every candidate scored against the fit's runs alone, best first: the keys of "runs" and "fits_spend"),
"uncertainty_method" ("bootstrap": the sd before is the spread of ln N* over bootstrap draws, half their central 68%%
interval, and every sd is the linearised one times "calibration"; "linearised": no draws, with a warning),
"sd_log_n_star_linearised", "calibration", "n_draws", "n_resamples", "min_tokens_per_param" and
"max_tokens_per_param" (null: unbounded), "n_outside_bounds" (given candidates left out), "warnings" ([{"code",
"message"}]).

The sd is calibrated on bootstrap draws: the fit record's own (optimal fit --bootstrap B --save) when it holds them,
else a fresh bootstrap of --bootstrap B resamples (default %d). --bootstrap 0 gives the linearised figure alone,
which can be several times too small (see docs/suggest.md), with a caveat.

examples:
  optimal suggest --fit fit.json --compute 1e24 --spend 1e21
  optimal suggest --fit fit.json --compute 1e24 --spend 1e21 --min-tokens-per-param 5 --max-tokens-per-param 200
  optimal suggest --fit fit.json --compute 1e24 --spend 1e21 --candidates shapes.csv --n 5 --json
""" % DEFAULT_RESAMPLES


# Candidate runs scored at most: far more than any sweep one would train from (the default grid has 49),
# as many as a runs file's MAX_RUNS. A 100 MB file of 3 million candidates was scored for 121 s; past this it is
# refused while it is read, before any row is parsed as numbers.
MAX_CANDIDATES = 100_000


def read_candidates(path):
    """``(N (K,), D (K,))`` from a CSV file with a header naming columns N and D (any case; other columns are
    ignored), K at most ``MAX_CANDIDATES``. Raises ``DataError`` naming the file, the row and the problem."""
    source = str(path)
    data = read_file_bytes(path, "candidates CSV")  # a regular file, bounded in size: /dev/zero filled the memory
    try:
        table = []
        for cells in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")):
            if cells and any(c.strip() for c in cells):
                table.append(cells)
            if len(table) > MAX_CANDIDATES + 1:  # the header and more than MAX_CANDIDATES rows
                raise DataError(f"{source}: more than the {MAX_CANDIDATES:,} (MAX_CANDIDATES) candidate rows "
                                "'optimal suggest' scores; give fewer candidates (a coarser grid), or none for the "
                                "default grid")
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{source}: cannot read the candidates as UTF-8 CSV ({exc})") from None
    if not table:
        raise DataError(f"{source}: the file is empty; it needs a header row naming columns N and D")
    header = [h.strip().casefold() for h in table[0]]
    columns = []
    for name in ("n", "d"):
        if header.count(name) != 1:
            raise DataError(f"{source}: needs exactly one column {name.upper()!r} (the header has "
                            f"{', '.join(map(repr, table[0]))})")
        columns.append(header.index(name))
    if len(table) == 1:
        raise DataError(f"{source}: no candidate rows below the header")
    values = np.empty((len(table) - 1, 2))
    for i, cells in enumerate(table[1:]):
        if len(cells) != len(header):
            raise DataError(f"{source}: row {i + 1} has {len(cells)} cells but the header has {len(header)}")
        for j, column in enumerate(columns):
            try:
                values[i, j] = float(cells[column].strip())
            except ValueError:
                raise DataError(f"{source}: row {i + 1}, column {table[0][column].strip()!r}: {cells[column]!r} is not "
                                "a number") from None
            if not (math.isfinite(values[i, j]) and values[i, j] > 0):
                raise DataError(f"{source}: row {i + 1}, column {table[0][column].strip()!r}: {cells[column].strip()} "
                                "must be positive and finite")
            if values[i, j] < 1:  # below one parameter or token the law's loss overflows
                raise DataError(f"{source}: row {i + 1}, column {table[0][column].strip()!r}: {cells[column].strip()} "
                                "must be at least 1")
    return values[:, 0], values[:, 1]


def _run(args):
    common.require_fit(args)
    if args.compute is None:
        raise OptimalError("give --compute C: the budget (FLOPs) whose N* the new runs should narrow")
    for value, name in ((args.compute, "--compute"), (args.spend, "--spend")):
        if not (math.isfinite(value) and value > 0):
            raise BudgetError(f"{name} must be a positive finite number of FLOPs, got {value:g}")
    check_count(args.n, "--n", 1)
    bounds = [None if value is None else check_positive(value, name) for value, name in
              ((args.min_tokens_per_param, "--min-tokens-per-param"),
               (args.max_tokens_per_param, "--max-tokens-per-param"))]
    if None not in bounds and bounds[0] > bounds[1]:
        raise OptimalError(f"--min-tokens-per-param ({bounds[0]:g}) is above --max-tokens-per-param ({bounds[1]:g}): "
                           "give a minimum at most the maximum")
    if args.bootstrap is not None:
        check_count(args.bootstrap, "--bootstrap", 0, MAX_RESAMPLES)
        if args.bootstrap == 1:
            raise OptimalError("--bootstrap must be 0 (the linearised figure) or at least 2 resamples, got 1")
    check_count(args.seed, "--seed", 0, MAX_SEED)
    candidates = None if args.candidates is None else read_candidates(args.candidates)
    record = optimal.load_record(args.fit)  # the fit and its k, every field checked
    result = record.fit
    if args.group is not None:
        if result.group_labels is None:
            raise OptimalError(f"--group {args.group}: {args.fit} holds one fit, not a fit of groups")
        result = result.group(str(args.group))
    k = common.k_for_record(args, record)
    draws = None
    if args.bootstrap is None and record.bootstrap is not None:  # the record's own draws
        draws = record.bootstrap if args.group is None else record.bootstrap.group(str(args.group))
    answer = optimal.suggest(result, args.compute, args.spend, candidates, n=args.n, flops_per_param_token=k,
                             noise_sd=args.noise_sd, draws=draws,
                             n_resamples=DEFAULT_RESAMPLES if args.bootstrap is None else args.bootstrap,
                             seed=args.seed, min_tokens_per_param=bounds[0], max_tokens_per_param=bounds[1])
    if not result.converged:
        warn(f"the fit did not converge ({result.reason}): its uncertainty, and so this design, is not to be trusted")
    if args.json:
        common.emit("suggest", answer.to_dict(), common.fit_law_json(result))
    else:
        print(answer.summary(n_fit_runs=result.n_rows))
    for w in answer.warnings:
        warn(w)
    return 0


def add_parser(commands):
    """Register ``optimal suggest`` on the subcommands ``commands``."""

    parser = commands.add_parser(
        "suggest", help="which runs to train next: the (N, D) that narrow N* at a target budget most per FLOP",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    common.add_fit_option(parser, positional_alias=True, required=True)
    common.add_compute_option(parser, help="the budget (FLOPs) whose N* should be narrowed (required)", single=True,
                              old=("--target-compute",))
    common.add_group_option(parser)
    parser.add_argument("--spend", type=number, required=True, metavar="F",
                        help="compute (FLOPs) available for the new runs together")
    parser.add_argument("--candidates", metavar="CSV", type=common.name,
                        help=f"candidate runs: a CSV with columns N and D, at most {MAX_CANDIDATES:,} rows (default: an "
                             "IsoFLOP-style grid from the largest fitted run's compute up to the spend; see the README)")
    parser.add_argument("--n", type=int, default=DEFAULT_N, metavar="K", help=f"at most K runs (default {DEFAULT_N})")
    parser.add_argument("--min-tokens-per-param", type=number, metavar="R",
                        help="candidates train at least R tokens per parameter (D/N >= R; default: no bound)")
    parser.add_argument("--max-tokens-per-param", type=number, metavar="R",
                        help="candidates train at most R tokens per parameter (D/N <= R; default: no bound)")
    parser.add_argument("--bootstrap", type=int, metavar="B",
                        help="bootstrap resamples that calibrate the sd of ln N* (default: the fit record's draws, "
                             f"else {DEFAULT_RESAMPLES}; 0: the linearised figure alone, with a caveat)")
    parser.add_argument("--seed", type=int, default=0, help=f"bootstrap seed, 0 to {MAX_SEED} (default 0)")
    common.add_k_option(parser, record=True)
    parser.add_argument("--noise-sd", type=number, metavar="S",
                        help="log-loss noise sd (default: 1.4826 x MAD of the fit's residuals)")
    common.add_json_option(parser, "suggest")
    parser.set_defaults(run=_run)
