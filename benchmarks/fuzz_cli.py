"""A fuzz pass over every ``optimal`` command and option and the main Python entry points (issue 20, Deliver 5).

Not part of the test suite: run it by hand from the repository root,

    PYTHONPATH=$PWD nice -n 19 python benchmarks/fuzz_cli.py [--only SUBSTRING] [--jobs 2] [--out cases.jsonl]
                                                            [--new-only] [--no-library] [--no-cli]

The CLI cases are hand-written ones (``cli_cases``: odd runs files, tampered fit records, unwritable outputs and
stdout; ``new_path_cases``: the paths added last, unique-tokens / epochs columns, ``fit --by --wild``,
``suggest --candidates`` files of odd shapes, IsoFLOP designs with ``--interval calibrated``, ``predict`` from an
asymmetric-loss fit, ``--json`` to a full or closed stdout; ``--new-only`` runs only these) and ones generated from
the parser itself (``option_cases``: every option of every command with the edge values of its type, its choices,
hostile files for its file arguments), so an option added later is covered without being listed here. A case
whose stdout is a pipe runs in a long-lived worker process that calls ``optimal.cli.main.main(argv)``
(``--isolated``: a fresh ``python -m optimal`` each, slower); the others in a fresh process. A case is flagged when
  - it hangs (no answer within ``TIMEOUT`` s; cases over ``SLOW`` s are listed, not flagged),
  - stderr holds a traceback,
  - it exits with a code other than 0 or 2 (cases whose stdout cannot be written may exit non-zero, but must
    still print one ``error:`` line; ``presets --check`` may exit 1),
  - it exits 2 without exactly one ``error:`` line on stderr,
  - it exits 0 with nan/inf in its text that neither the text explains nor a ``warning:`` line names, or with
    JSON that is not one strict object,
  - it exits 0 with nothing on stdout (unless the case writes a file or stdout is redirected).
A case flagged in a worker is run again in a fresh process and counts only when it fails there too.
The library cases run in one process, each under an alarm; they are flagged when they raise anything but an
``OptimalError`` (or TypeError/ValueError from a misuse of Python itself), hang, or return non-finite numbers.

Results of the passes that produced this file: see ``RESULTS`` below.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import select
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

RESULTS = """
Run 2026-12-05 on main at 6bc2c01 (after the second pass below was merged, with the fit's profile and curvature
check moved into its polish), the 2-core machine otherwise quiet, two workers:
    PYTHONPATH=$PWD nice python benchmarks/fuzz_cli.py --jobs 2 --no-library --out cases.jsonl   (~8 min)
    PYTHONPATH=$PWD nice python benchmarks/fuzz_cli.py --no-cli
  CLI: 2,191 cases (every old and new one; 2,141 in workers), 0 flagged (exit 0: 469, 2: 1,722); library: 1,152
  cases, 0 flagged.

Run 2026-12-05, second pass (branch ``fuzz`` off ``main`` at 3389715), on the 2-core machine at load 9-11 (other
sessions), one worker. New: ``new_path_cases`` (200 CLI cases, and the 2 record-making ones; ``--new-only``) and
702 library cases (the block after the first pass's: every name in ``optimal.__all__`` not reached before, with
None, "3", NaN, inf, [], a 0-d array, True, -1, 10**12, 2.5 and 10**400; ``columns=`` of 21 shapes through fit,
fit_groups, validate and validate_groups; IsoFLOP designs at the edges; predict from asymmetric-loss fits).
Commands (the base with this file copied in, then the branch):
    PYTHONPATH=$PWD nice -n 19 python benchmarks/fuzz_cli.py --jobs 1 --new-only --out cases.jsonl
    PYTHONPATH=$PWD nice -n 19 python benchmarks/fuzz_cli.py --no-cli
  CLI, new cases: before 0 flagged of 202 (exit 0: 145, 2: 57), after 0 flagged (exit 0: 133, 2: 68; one
    data-constrained fit past 240 s under load, not confirmed in a fresh process). The checker cannot see the 11
    that changed, exit 0 -> 2, all wrong answers printed as right ones: fit / validate of a file with two 'U' (or
    'U' and 'u') columns (both left out, the design check skipped without a word), suggest --candidates with N 0.5,
    N 1e-320 (ranked; a run of 1e8 parameters on 0.001 tokens came first) or 1e308 x 1e308 (raw NumPy overflow
    warnings, the row dropped), fit --robust asymmetric-huber:1e-300 / 1e-7 (the fit was accepted, its predict
    raised SciPy's ValueError).
  Library (1,152 cases: the first pass's 450 and the 702 new): before 82 flagged (all among the new; by entry
    point: isoflop_runs 16, synthetic_runs 15, validate_groups 10, validate 8, fit_groups 8, closed_form 7,
    moe_total_params 4, fit 4, isoflop 3, estimate_cost 2, 1 each suggest, recommend, compare_presets,
    compare, allocate_draws), after 0 flagged.
  The existing 1,988 CLI cases on the base: the first 800 (the quick commands' parser cases) run, 0 flagged; the
  run was stopped there for time (the heavy commands' cases at this load would have taken past 12:35).

Flagged, and fixed where the value enters (tests in tests/test_bad_input_more.py and tests/test_bad_input.py,
each seen failing with its fix undone):
  - fit / fit_groups / validate / validate_groups(columns=): a str raised TypeError, a list was taken and never
    read, a short or 0-d column raised IndexError (fit_groups) or ValueError (validate) -> checked at entry
    (optimal.data.repetition.check_columns: a mapping of one value per run); validate_groups' other per-run
    arguments too
  - the repeated-data check: a second recognised column that disagrees (unique_tokens = D beside epochs = 40; U
    beside u) was ignored -> the first is still read (documented precedence) and a note names both and the first
    run where they differ; True/False read as 1 token (every run "repeated", up to 1e11 epochs) and an int
    beyond float64 raised OverflowError -> a value that is no count (the existing note); a runs file with two
    columns of one recognised name -> DataError ("2 columns match 'U' ... rename all but one")
  - suggest's candidates: N or D below 1 (ranked first) or N D overflowing k N D -> DataError (library and the
    candidates file's row)
  - asymmetric Huber with asymmetry below about 1e-30: predict's interval factor had no root (SciPy ValueError)
    -> Objective refuses A < 1e-6 (MIN_ASYMMETRY, optimal/_util/robust.py)
  - closed_form(law, NaN / 0 / -1) and moe_total_params(NaN / None): a silent NaN -> BudgetError
  - 10**400: OverflowError from fit(fix=), compare_presets, allocate_draws, compare, recommend, estimate_cost
    (n_rows, n_resamples now bounded), suggest's candidates, isoflop's compute / targets (an entry check only:
    isoflop.py's body is another helper's) -> named errors
  - a 0-d array as a seed passed check_count, then NumPy's SeedSequence raised TypeError (isoflop, validate,
    synthetic_runs) -> check_count takes Python and NumPy integers only
  - synthetic_runs / isoflop_runs: n_runs / n_sizes 10**12 (MemoryError, 7 TiB), a bad seed (TypeError,
    ValueError), isoflop_runs(noise=NaN) (NaN losses, silently) -> DataError
Seen, then changed at merge: isoflop of budgets near 1e300 FLOPs (N ~ 1e150: the losses equal to rounding) printed
a vertex interval that missed its point, beside three warnings -> a parabola whose rise over the sizes is within
64 ulps of the losses has no curvature (isoflop.FLAT_ULPS): no budget has a vertex, one error line. 11 first-run library flags were the harness's own
(recommend has no threshold argument), removed.

Run 2026-12-05 (branch ``fuzz9`` off ``main`` at 56ea199), on a 2-core machine loaded by four other sessions, two
workers: 1,978 CLI cases (1,434 generated from the parser: every option of all 12 commands with its type's edge
values, every choice, every flag, hostile files for every file argument; 544 hand-written, those below and the
new ones: 100 MB runs and config files, /dev/zero, a directory, 43 config.json variants (keys missing, strings,
negative, zero, 10**30 and 10**300 integers, NaN/Infinity, nested garbage, a wrong model type, truncated, binary,
UTF-16), 17 learning-curve files, 12 sweep files, 35 shaped-runs files (bad cells, --config-col naming each hostile
config), accelerator files) + 450 library cases (the new entry points: best_run and Constraints, hparam_sweep and
hyperparameters, read_hf_config and hf_config_from_dict, flop_audit, flops_per_token, read_shaped_runs, envelope,
replicate_noise, moe_optimal, best_experts, precision_optimal, snap_to_shape, serving_cost, activation_memory,
search_layouts, decide; each at 0, -0, 1e-320, 1e308, inf, nan, -1 and 10**400). CLI: 3 flagged (2 the
100 MB file), library: 37 in the first run; reruns of the suggest (82) and predict (89) option
cases: 1 flagged each.

Flagged, and fixed where the value enters (tests in tests/test_bad_input.py, tests/cli/test_cli_errors.py, each
checked to fail without its fix):
  - fit --fix beta=1e-320 (known): accepted, a 10x slower fit on denormals -> fit (library) refuses a fixed value
    outside 2.2e-308 .. 4.5e307 in magnitude (a subnormal underflows, its reciprocal overflows); alpha=1e308 too
  - validate --bootstrap 3 --confidence 0.999999 (known): no warning -> a BootstrapResult warns ("few-draws") when
    each tail's share (1 - confidence) / 2 is under one draw in R + 1 (_util/stats.few_draws_message)
  - validate --delta 1e308: [0, inf] intervals printed silently -> Objective.delta at most 1e3
  (the next two in the pass's first, partial runs)
  - presets --compare --compute 1e-320: ZeroDivisionError traceback -> C >= 6 (one parameter on one token)
  - predict --covariate U=1e-320 (a data-constrained fit): loss inf, nan; U=0.5: intervals [0, inf] silently ->
    a covariate below 2.2e-308 is refused; a Prediction with an overflowed figure warns ("non-finite")
  - library, 10**400 (an int beyond float64): bare OverflowError/TypeError from Constraints (best_run),
    hparam_sweep, hyperparameters (compute, context), flops_per_token, flop_audit, serving_cost (3 options),
    decide -> named errors; replicate_noise(Runs(...)) with a zero/negative/inf/nan loss gave a silent NaN
    variance -> a hand-built Runs is checked (validate_runs)
  - library: read_shaped_runs('/dev/zero') hung (the header read to the first newline) -> the read is bounded;
    tests' within() now raises a non-OSError (a TimeoutError was swallowed by the reader's except OSError)
  - fit / validate of a 100 MB runs file (3.0 million rows, under MAX_FILE_BYTES = 256 MB) ran past 240 s
    (reading alone 43 s under load, then a fit of 3M rows) -> a runs file of more than MAX_RUNS = 100,000 rows
    is refused after reading, before any fitting
  - library (second run, after the fixes above: 450 cases, 2 flagged): compute_optimal of a JointMoE with
    experts = 10**400 or NaN (NaN gave a silent NaN N*) and of a PrecisionLaw with weight_bits = 10**400 ->
    the MoE and precision laws' covariates are in laws/coefficients.RULES
  - suggest --candidates /dev/zero: read until the memory filled and the process was killed (found in a rerun of
    the 76 suggest option cases: the first run's base case lacked --spend, so they had stopped at the parser) ->
    the candidates file goes through the runs files' bounded read (a regular file, at most MAX_FILE_BYTES)
  - predict --runs /dev/zero (a rerun of the 88 predict option cases, whose --runs cases had stopped at the
    parser): its header peek read to the first newline, the memory filled -> one bounded line of a regular file
    (the audit's peek too); by hand then: a FIFO without a writer hung --coefficients, --shape config.json, --fit
    (read_json) and the header peeks -> opened non-blocking (a shell's <(...) still reads)
Fixed after this pass: suggest --candidates of the 100 MB file took 121 s (3 million candidates scored); a
candidates file is now refused past MAX_CANDIDATES = 100,000 rows (optimal/cli/suggest.py), while it is read.
Not reproduced: suggest(fit, 1e308, 1e20) ran past 60 s in the first library run only (load; design.py).
14 first-run library flags were the harness's own (dataclasses.replace on a NamedTuple law), fixed in the harness.
Not a defect: solve --preset muennighoff2023 prints "unlimited (U = inf, the law's default ...)", an infinity the
text explains (the checker now lets a text or a warning that names it through).
Cases over 60 s (not flagged, load): fits with --law kaplan, data-constrained, --shared, validate folds.

Run 2026-12-04 on a loaded 2-core machine (two cases at a time), 484 CLI cases + 147 library cases, against
the ``integ`` branch as it was then. The cases: every numeric option at 0, -0, 1e-320, 1e308, inf, nan, 1e999,
a 400-digit integer, -1 and non-numbers; empty/blank names; runs files empty, header-only, one row, CRLF, BOM,
5,000 extra columns, duplicate or unicode headers, ragged rows, NaN/inf/negative/zero/subnormal/huge cells,
binary, Latin-1, a directory, a missing file; 43 fit records with one field tampered each (params, law,
version, k, theta, data, bootstrap draws, config, ...); unwritable outputs (a directory, /dev/full, a missing
folder, a bad suffix); stdout to /dev/full, closed, or a pipe with no reader, for every command.

Flagged, and fixed at the library check where the value enters (each with a test in tests/test_bad_input.py
or tests/test_cli_errors.py that fails without the fix):
  - solve --flops-per-param-token 1e-320           N* = nan printed  -> BudgetError: compute / k overflows
  - solve --max-params 1e-320 / --max-tokens 0.5   inf allocation   -> caps must be at least 1
  - plan --params 1e9 --tokens 1e-320              loss inf         -> plan_training: N, D at least 1
  - plan --compute 1e23 --unique-tokens 1e-320     inf              -> data_constrained_optimal: U at least 1
  - plan --accelerators <40 digits>                OverflowError traceback -> n_accelerators at most 1e9
  - plan --fit <record, draws at 700>              se inf + raw NumPy overflow warning -> se None (n/a)
  - fit --delta 1e-320                             ValueError traceback (objective underflowed to 0)
                                                   -> Objective.delta at least 1e-10; scaled_condition guards
  - predict --params 1e308 / 1e-320 (and D)        C inf, decades -inf -> N, D at least 1, N D bounded
  - predict --flops-per-param-token 1e308          C inf            -> k at most 1e4 (check_flops_per_param_token)
  - library: an int beyond float64 (10**400) as compute, cap, inference tokens, N, a coefficient, suggest's
    budget, mfu, synthetic noise: bare OverflowError -> named OptimalError; synthetic_runs(noise=nan/1e308)
    gave NaN/inf losses -> DataError.
Flagged but not a defect: fit --fix beta=1e-320 ran past 60 s only under load (about 45 s alone, with a
warning). Library: law.loss(N=0) is inf (a raw jittable formula, unchecked by design).
validate ... --bootstrap 3 --confidence 0.999999 ran past 60 s with three test runs beside it (load, unconfirmed).
CLI total: 484 cases, 16 flagged (the 13 above and 3 below); library: 147 cases, 0 flagged after the fixes.
NOT fixed: ``solve --help > /dev/full``, ``solve --help | head -c0`` and ``--version > /dev/full`` exit 0
(argparse prints help/version and exits 0 itself; every command's own output reports the write error).
"""

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # option_cases reads the parser of the tree under test
TIMEOUT = 240  # a hang; on a loaded 2-core machine a fit with a bootstrap can take a minute
SLOW = 60  # cases slower than this are listed (not flagged): under load, check them alone
# an infinity the text itself explains (the default of unlimited unique data) is not a silent one; nor is one that
# a warning on stderr names
EXPLAINED = re.compile(r"\(U = inf\b")
SAYS_NONFINITE = re.compile(r"overflow|non-finite|not finite|infinite|unbounded|\binf\b|\bnan\b", re.IGNORECASE)
NONFINITE = re.compile(r"(?<![A-Za-z_])[-+]?(nan|inf|infinity)(?![A-Za-z_])", re.IGNORECASE)


def write_case_file(path: Path, text: str | bytes) -> str:
    """Writes a case's file (bytes as they are, text as UTF-8) and returns its path as a string."""
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def _strict_json(text: str) -> object:
    def bad(name: str) -> object:
        raise ValueError(f"non-finite constant {name}")

    return json.loads(text, parse_constant=bad)


# ----------------------------------------------------------------------------------------------- fixtures
def make_fixtures(tmp: Path) -> dict[str, str]:
    """Files the cases read: good runs, odd runs files, a fit record and tampered copies. Returns name -> path."""
    runs = (ROOT / "examples" / "runs.csv").read_text()
    lines = runs.splitlines()
    f: dict[str, str] = {"runs": str(ROOT / "examples" / "runs.csv")}

    def put(name: str, text: str | bytes) -> None:
        f[name] = write_case_file(tmp / name, text)

    put("empty.csv", "")
    put("header.csv", lines[0] + "\n")
    put("one_row.csv", "\n".join(lines[:2]) + "\n")
    put("crlf.csv", "\r\n".join(lines) + "\r\n")
    put("bom.csv", "\ufeff" + runs)
    put("wide.csv", ",".join(lines[0].split(",") + [f"x{i}" for i in range(5000)]) + "\n"
        + "\n".join(",".join(l.split(",") + ["1"] * 5000) for l in lines[1:]) + "\n")
    put("dup_header.csv", "N,D,N,loss\n" + "\n".join(",".join(l.split(",")[:2] + l.split(",")[:1] + l.split(",")[3:])
                                                      for l in lines[1:]) + "\n")
    put("unicode.csv", "Nπ,Dé,C,lösß\n" + "\n".join(lines[1:]) + "\n")
    put("ragged.csv", lines[0] + "\n" + "\n".join(l + (",9" if i % 3 == 0 else "") for i, l in enumerate(lines[1:])) + "\n")
    put("nan_loss.csv", lines[0] + "\n" + "\n".join(l if i else ",".join(l.split(",")[:3] + ["nan"])
                                                   for i, l in enumerate(lines[1:])) + "\n")
    put("inf_n.csv", lines[0] + "\n" + "\n".join(l if i else ",".join(["inf"] + l.split(",")[1:])
                                                for i, l in enumerate(lines[1:])) + "\n")
    put("neg_d.csv", lines[0] + "\n" + "\n".join(l if i else ",".join(l.split(",")[:1] + ["-5"] + l.split(",")[2:])
                                                for i, l in enumerate(lines[1:])) + "\n")
    put("zero_loss.csv", lines[0] + "\n" + "\n".join(",".join(l.split(",")[:3] + ["0"]) for l in lines[1:]) + "\n")
    put("subnormal.csv", lines[0] + "\n" + "\n".join(",".join(["1e-320"] + l.split(",")[1:]) for l in lines[1:]) + "\n")
    put("huge.csv", lines[0] + "\n" + "\n".join(",".join(["1e308", "1e308"] + l.split(",")[2:]) for l in lines[1:]) + "\n")
    put("hugeint.csv", lines[0] + "\n" + "\n".join(",".join(["9" * 400] + l.split(",")[1:]) for l in lines[1:]) + "\n")
    put("text_cells.csv", lines[0] + "\n" + "\n".join(",".join(["abc"] + l.split(",")[1:]) for l in lines[1:]) + "\n")
    put("binary.csv", bytes(range(256)) * 40)
    put("latin1.csv", (lines[0] + ",name\n" + "\n".join(l + ",caf\xe9" for l in lines[1:]) + "\n").encode("latin-1"))
    put("whitespace.csv", "   \n\t\n  \n")
    put("same_loss.csv", lines[0] + "\n" + "\n".join(",".join(l.split(",")[:3] + ["3.0"]) for l in lines[1:]) + "\n")
    put("same_nd.csv", lines[0] + "\n" + "\n".join(",".join(["1e8", "1e10", "6e18", l.split(",")[3]]) for l in lines[1:]) + "\n")
    put("spaces_header.csv", " N , D , C , loss \n" + "\n".join(lines[1:]) + "\n")
    put("dc_runs.csv", lines[0] + ",U\n" + "\n".join(l + ",1e9" for l in lines[1:]) + "\n")
    put("cands.csv", "N,D\n1e8,2e9\n2e8,1e9\n")
    put("cands_bad.csv", "N,D\n-1e8,2e9\nnan,1e9\n")
    put("cands_empty.csv", "N,D\n")
    put("acc_nan.json", json.dumps({"name": "x", "peak_flops": {"bf16": "nan"}, "memory_gb": 80, "tdp_watts": 700}))
    put("empty.json", "")
    put("list.json", "[1, 2]")
    put("deep.json", "[" * 100000 + "]" * 100000)
    put("coef_inf.json", '{"law": "chinchilla", "E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": Infinity}')
    put("coef_neg.json", '{"law": "chinchilla", "E": 1.69, "A": -406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}')
    put("coef_huge.json", '{"law": "chinchilla", "E": 1e308, "A": 1e308, "B": 1e308, "alpha": 0.34, "beta": 0.28}')
    put("coef_tiny.json", '{"law": "chinchilla", "E": 1.69, "A": 406.4, "B": 410.7, "alpha": 1e-320, "beta": 1e-320}')
    put("coef_hugeint.json", '{"law": "chinchilla", "E": 1.69, "A": ' + "9" * 5000 + ', "B": 410.7, "alpha": 0.34, "beta": 0.28}')
    (tmp / "adir").mkdir(exist_ok=True)
    f["adir"] = str(tmp / "adir")
    f["missing"] = str(tmp / "no" / "such.csv")
    f["out_missing_dir"] = str(tmp / "no_dir" / "out.png")
    return f


def make_fit_records(tmp: Path, f: dict[str, str]) -> None:
    """Saves a fit with 20 bootstrap draws, then tampered copies (one field each)."""
    fit = tmp / "fit.json"
    if not fit.exists():
        subprocess.run([sys.executable, "-m", "optimal", "fit", f["runs"], "--bootstrap", "20", "--save", str(fit)],
                       capture_output=True, timeout=600, check=True)
    f["fit"] = str(fit)
    rec = json.loads(fit.read_text())

    def tamper(name: str, change) -> None:
        r = json.loads(json.dumps(rec))
        change(r)
        p = tmp / f"fit_{name}.json"
        p.write_text(json.dumps(r, allow_nan=True))
        f[f"fit_{name}"] = str(p)

    def setp(key, value):
        return lambda r: r["params"].__setitem__(key, value)

    tamper("E_nan", setp("E", float("nan")))
    tamper("E_inf", setp("E", float("inf")))
    tamper("E_huge", setp("E", 1e308))
    tamper("A_zero", setp("A", 0.0))
    tamper("A_neg", setp("A", -1.0))
    tamper("alpha_zero", setp("alpha", 0.0))
    tamper("alpha_sub", setp("alpha", 1e-320))
    tamper("alpha_huge", setp("alpha", 1e6))
    tamper("alpha_str", setp("alpha", "0.3"))
    tamper("params_missing", lambda r: r.pop("params"))
    tamper("params_list", lambda r: r.__setitem__("params", [1, 2, 3]))
    tamper("law_unknown", lambda r: r.__setitem__("law", "nope"))
    tamper("law_none", lambda r: r.__setitem__("law", None))
    tamper("law_empty", lambda r: r.__setitem__("law", ""))
    tamper("version_99", lambda r: r.__setitem__("record_version", 99))
    tamper("version_str", lambda r: r.__setitem__("record_version", "1"))
    tamper("k_zero", lambda r: r.__setitem__("flops_per_param_token", 0))
    tamper("k_neg", lambda r: r.__setitem__("flops_per_param_token", -6))
    tamper("k_nan", lambda r: r.__setitem__("flops_per_param_token", float("nan")))
    tamper("k_str", lambda r: r.__setitem__("flops_per_param_token", "six"))
    tamper("theta_short", lambda r: r.__setitem__("theta", r["theta"][:2]))
    tamper("theta_nan", lambda r: r.__setitem__("theta", [float("nan")] * 5))
    tamper("data_missing", lambda r: r.pop("data"))
    tamper("data_N_empty", lambda r: r["data"].__setitem__("N", []))
    tamper("data_N_neg", lambda r: r["data"].__setitem__("N", [-x for x in r["data"]["N"]]))
    tamper("data_len", lambda r: r["data"].__setitem__("N", r["data"]["N"][:3]))
    tamper("data_loss_nan", lambda r: r["data"].__setitem__("loss", [float("nan")] * len(r["data"]["loss"])))
    tamper("boot_nan", lambda r: r["bootstrap"].__setitem__("thetas", [[float("nan")] * 5] * 20))
    tamper("boot_huge", lambda r: r["bootstrap"].__setitem__("thetas", [[700.0] * 5] * 20))
    tamper("boot_ragged", lambda r: r["bootstrap"].__setitem__("thetas", [[1.0, 2.0]] + r["bootstrap"]["thetas"][1:]))
    tamper("boot_empty", lambda r: r["bootstrap"].__setitem__("thetas", []))
    tamper("boot_conf_2", lambda r: r["bootstrap"].__setitem__("confidence", 2.0))
    tamper("boot_conv_len", lambda r: r["bootstrap"].__setitem__("converged", [True]))
    tamper("boot_null", lambda r: r.__setitem__("bootstrap", None))
    tamper("boot_str", lambda r: r.__setitem__("bootstrap", "x"))
    tamper("warnings_str", lambda r: r.__setitem__("warnings", "oops"))
    tamper("config_delta_neg", lambda r: r["config"].__setitem__("delta", -1.0))
    tamper("fixed_bad", lambda r: r.__setitem__("fixed", {"zeta": 1.0}))
    tamper("covariates_str", lambda r: r.__setitem__("covariates", "U"))
    tamper("shared_bad", lambda r: r.__setitem__("shared", ["alpha"]))
    tamper("diagnostics_null", lambda r: r.__setitem__("diagnostics", None))
    tamper("top_list", lambda r: (r.clear()))
    tamper("objective_nan", lambda r: r.__setitem__("objective", float("nan")))


def make_more_fixtures(tmp: Path, f: dict[str, str]) -> None:
    """The files of the commands added since the first pass: grouped runs, learning curves (envelope), a
    hyperparameter sweep (hparams), runs with shapes (audit), Hugging Face config.json files (plan --shape, audit
    --config-col), each with hostile variants; and files no reader should swallow whole (100 MB, /dev/zero)."""
    runs = (ROOT / "examples" / "runs.csv").read_text().splitlines()
    curves = (ROOT / "examples" / "curves.csv").read_text().splitlines()

    def put(name: str, text: str | bytes) -> None:
        f[name] = write_case_file(tmp / name, text)

    put("grouped.csv", runs[0] + ",g\n" + "\n".join(l + (",a" if i % 2 else ",b") for i, l in enumerate(runs[1:])) + "\n")
    put("one_group.csv", runs[0] + ",g\n" + "\n".join(l + ",a" for l in runs[1:]) + "\n")
    # 100 MB of runs-like text (every reader must refuse it by size, quickly), and /dev/zero (never ends)
    big = tmp / "big.csv"
    if not big.exists():
        with open(big, "w") as out:
            out.write(runs[0] + "\n")
            block = "\n".join(runs[1:]) + "\n"
            while out.tell() < 100 << 20:
                out.write(block * 200)
    f["big.csv"] = str(big)
    f["devzero"] = "/dev/zero"
    f["devnull"] = "/dev/null"

    # learning curves (envelope)
    head, body = curves[0], curves[1:]
    cols = head.split(",")

    def cell(line, name, value):
        parts = line.split(",")
        parts[cols.index(name)] = value
        return ",".join(parts)

    put("curves.csv", "\n".join(curves) + "\n")
    put("curves_empty.csv", "")
    put("curves_header.csv", head + "\n")
    put("curves_one_run.csv", head + "\n" + "\n".join(l for l in body if l.split(",")[0] == body[0].split(",")[0]) + "\n")
    put("curves_one_point.csv", head + "\n" + "\n".join(l for i, l in enumerate(body)
                                                         if i == 0 or l.split(",")[0] != body[i - 1].split(",")[0]) + "\n")
    put("curves_nan_loss.csv", head + "\n" + "\n".join(cell(l, "loss", "nan") if i % 7 == 0 else l
                                                       for i, l in enumerate(body)) + "\n")
    put("curves_neg_d.csv", head + "\n" + "\n".join(cell(l, "D", "-1") if i == 3 else l for i, l in enumerate(body)) + "\n")
    put("curves_zero_d.csv", head + "\n" + "\n".join(cell(l, "D", "0") for l in body) + "\n")
    put("curves_huge.csv", head + "\n" + "\n".join(cell(cell(l, "D", "1e308"), "N", "1e308") for l in body) + "\n")
    put("curves_sub.csv", head + "\n" + "\n".join(cell(l, "D", "1e-320") for l in body) + "\n")
    put("curves_n_varies.csv", head + "\n" + "\n".join(cell(l, "N", str(1e7 + i)) for i, l in enumerate(body)) + "\n")
    put("curves_same_loss.csv", head + "\n" + "\n".join(cell(l, "loss", "3.0") for l in body) + "\n")
    put("curves_dup.csv", head + "\n" + "\n".join(body + body) + "\n")
    put("curves_reversed.csv", head + "\n" + "\n".join(reversed(body)) + "\n")
    put("curves_schedule_zero.csv", head + "\n" + "\n".join(cell(l, "schedule", "0") for l in body) + "\n")
    put("curves_schedule_nan.csv", head + "\n" + "\n".join(cell(l, "schedule", "nan") for l in body) + "\n")
    put("curves_text.csv", head + "\n" + "\n".join(cell(l, "N", "abc") if i == 5 else l for i, l in enumerate(body)) + "\n")
    put("curves_run_empty.csv", head + "\n" + "\n".join(cell(l, "run", "") for l in body) + "\n")

    # a learning-rate sweep (hparams): 4 x 2 settings x 7 values of lr* = 0.3 C^-0.125
    rows = []
    for n in (1e7, 3e7, 1e8, 3e8):
        for d in (1e9, 4e9):
            best = 0.3 * (6 * n * d) ** -0.125
            rows += [(n, d, best * 2.0 ** s, 3.0 + 0.05 * (s * 0.6931471805599453) ** 2) for s in range(-3, 4)]
    sweep = ["N,D,learning_rate,loss"] + [f"{a!r},{b!r},{c!r},{e!r}" for a, b, c, e in rows]
    put("sweep.csv", "\n".join(sweep) + "\n")

    def sweep_cell(i_col, value, every=1):
        return "\n".join([sweep[0]] + [",".join(v if j != i_col or i % every else value for j, v in enumerate(l.split(",")))
                                       for i, l in enumerate(sweep[1:])]) + "\n"

    put("sweep_header.csv", sweep[0] + "\n")
    put("sweep_one_setting.csv", "\n".join(sweep[:8]) + "\n")
    put("sweep_lr_same.csv", sweep_cell(2, "0.001"))
    put("sweep_lr_zero.csv", sweep_cell(2, "0", every=7))
    put("sweep_lr_neg.csv", sweep_cell(2, "-0.01", every=7))
    put("sweep_lr_nan.csv", sweep_cell(2, "nan", every=5))
    put("sweep_lr_huge.csv", sweep_cell(2, "1e308", every=7))
    put("sweep_lr_sub.csv", sweep_cell(2, "1e-320"))
    put("sweep_loss_same.csv", sweep_cell(3, "3.0"))
    put("sweep_loss_inf.csv", sweep_cell(3, "inf", every=9))
    put("sweep_two_values.csv", "\n".join([sweep[0]] + [l for i, l in enumerate(sweep[1:]) if i % 7 < 2]) + "\n")
    put("sweep_n_huge.csv", sweep_cell(0, "1e308"))

    # runs with shapes (audit) and Hugging Face config files
    shaped_head = "N,D,loss,layers,d_model,n_heads,d_ff,gated_ffn,vocab_size,context,config"
    shaped = []
    for i, line in enumerate(runs[1:25]):
        n_layer = 4 + 2 * (i % 6)
        d_model = 128 * (2 + i % 8)
        n, d = float(line.split(",")[0]), float(line.split(",")[1])
        shaped.append(f"{n!r},{d!r},{line.split(',')[3]},{n_layer},{d_model},{d_model // 64},{4 * d_model},0,32000,2048,"
                      "cfg_good.json")
    put("shaped.csv", shaped_head + "\n" + "\n".join(shaped) + "\n")

    def shaped_cell(name, value, every=1):
        k = shaped_head.split(",").index(name)
        return shaped_head + "\n" + "\n".join(",".join(value if j == k and i % every == 0 else v
                                                       for j, v in enumerate(l.split(",")))
                                              for i, l in enumerate(shaped)) + "\n"

    for name, value in [("layers", "0"), ("layers", "-2"), ("layers", "1e308"), ("layers", "nan"), ("layers", "2.5"),
                        ("layers", "9" * 30), ("d_model", "0"), ("d_model", "abc"), ("d_model", "1e-320"),
                        ("n_heads", "7"), ("n_heads", "0"), ("d_ff", "-1"), ("d_ff", "inf"), ("gated_ffn", "2"),
                        ("gated_ffn", "nan"), ("vocab_size", "0"), ("vocab_size", "1e30"), ("context", "0"),
                        ("context", "nan"), ("context", "1e308"), ("context", "-1")]:
        put(f"shaped_{name}_{value[:8]}.csv", shaped_cell(name, value, every=3))
    good = json.loads((ROOT / "tests" / "planning" / "data" / "llama-2-7b-hf.config.json").read_text())
    configs = {
        "good": good,
        "empty_obj": {},
        "list": [good],
        "no_layers": {k: v for k, v in good.items() if k != "num_hidden_layers"},
        "no_type": {k: v for k, v in good.items() if k not in ("model_type", "architectures")},
        "type_gpt2": good | {"model_type": "gpt2"},
        "type_num": good | {"model_type": 7},
        "layers_str": good | {"num_hidden_layers": "32"},
        "layers_neg": good | {"num_hidden_layers": -32},
        "layers_zero": good | {"num_hidden_layers": 0},
        "layers_float": good | {"num_hidden_layers": 32.0},
        "layers_huge": good | {"num_hidden_layers": 10**30},
        "layers_vhuge": good | {"num_hidden_layers": 10**300},
        "hidden_huge": good | {"hidden_size": 2**62},
        "hidden_odd": good | {"hidden_size": 4097},
        "heads_zero": good | {"num_attention_heads": 0},
        "kv_more": good | {"num_key_value_heads": 64},
        "kv_str": good | {"num_key_value_heads": "8"},
        "head_dim_huge": good | {"head_dim": 2**40},
        "ff_null": good | {"intermediate_size": None},
        "ff_list": good | {"intermediate_size": [11008]},
        "vocab_bool": good | {"vocab_size": True},
        "tie_str": good | {"tie_word_embeddings": "false"},
        "bias_true": good | {"attention_bias": True},
        "nested": good | {"num_hidden_layers": {"value": 32}, "rope_scaling": {"a": [[[[{}]]]]}},
        "mixtral_no_experts": good | {"model_type": "mixtral"},
        "experts_zero": good | {"model_type": "mixtral", "num_local_experts": 0, "num_experts_per_tok": 2},
        "experts_tok_more": good | {"model_type": "mixtral", "num_local_experts": 8, "num_experts_per_tok": 9},
        "experts_tok_only": good | {"num_experts_per_tok": 2},
        "ctx_neg": good | {"max_position_embeddings": -1},
        "ctx_huge": good | {"max_position_embeddings": 10**20},
        "all_huge": good | {"num_hidden_layers": 2**31, "hidden_size": 2**31, "intermediate_size": 2**40,
                            "vocab_size": 2**40},
    }
    for key, data in configs.items():
        put(f"cfg_{key}.json", json.dumps(data))
    put("cfg_nan.json", json.dumps(good).replace('"hidden_size": 4096', '"hidden_size": NaN'))
    put("cfg_inf.json", json.dumps(good).replace('"hidden_size": 4096', '"hidden_size": Infinity'))
    put("cfg_exp.json", json.dumps(good).replace('"hidden_size": 4096', '"hidden_size": 4e3'))
    put("cfg_bigint.json", json.dumps(good).replace('"hidden_size": 4096', '"hidden_size": ' + "9" * 5000))
    put("cfg_deep.json", "[" * 100000 + "]" * 100000)
    put("cfg_trunc.json", json.dumps(good)[:40])
    put("cfg_binary.json", bytes(range(256)) * 4)
    put("cfg_utf16.json", json.dumps(good).encode("utf-16"))
    big_cfg = tmp / "cfg_100mb.json"
    if not big_cfg.exists():
        with open(big_cfg, "w") as out:
            out.write('{"model_type": "llama", "pad": "')
            out.write("x" * (100 << 20))
            out.write('"}')
    f["cfg_100mb.json"] = str(big_cfg)
    (tmp / "cfg_dir.json").mkdir(exist_ok=True)
    f["cfg_dir.json"] = str(tmp / "cfg_dir.json")
    f["cfg_missing.json"] = str(tmp / "nope" / "config.json")
    # audit --config-col: a runs file whose config column names each hostile config (relative to the CSV)
    for key in ["good", "no_layers", "layers_huge", "nan", "deep", "100mb", "dir", "missing", "binary", "list",
                "experts_tok_more", "all_huge"]:
        name = {"100mb": "cfg_100mb.json", "dir": "cfg_dir.json", "missing": "nope/config.json"}.get(key, f"cfg_{key}.json")
        put(f"shaped_cfg_{key}.csv", shaped_head + "\n" + "\n".join(l.rsplit(",", 1)[0] + "," + name for l in shaped) + "\n")
    put("shaped_cfg_abs.csv", shaped_head + "\n" + "\n".join(l.rsplit(",", 1)[0] + ",/dev/zero" for l in shaped) + "\n")
    put("shaped_cfg_empty.csv", shaped_head + "\n" + "\n".join(l.rsplit(",", 1)[0] + "," for l in shaped) + "\n")
    # accelerator files
    acc = {"name": "x", "peak_flops_per_second": {"bf16": 1e15}, "memory_gb": 80, "power_watts": 700}
    for key, data in {"acc_good": acc, "acc_sub": acc | {"peak_flops_per_second": {"bf16": 1e-300}},
                      "acc_huge": acc | {"peak_flops_per_second": {"bf16": 1e308}}, "acc_mem0": acc | {"memory_gb": 0},
                      "acc_power_neg": acc | {"power_watts": -1}, "acc_no_bf16": acc | {"peak_flops_per_second": {"fp8": 1e15}},
                      "acc_str": acc | {"memory_gb": "80"}, "acc_list": [acc], "acc_no_power": {k: v for k, v in acc.items() if k != "power_watts"},
                      "acc_extra": acc | {"bandwidth": 1e12, "zzz": [1]}, "acc_name_empty": acc | {"name": ""}}.items():
        put(f"{key}.json", json.dumps(data))
    put("acc_nan_power.json", json.dumps(acc).replace('"power_watts": 700', '"power_watts": NaN'))


def make_new_path_fixtures(tmp: Path, f: dict[str, str]) -> None:
    """The files of the paths added in the last round: runs with unique-tokens / epochs columns (``fit`` and
    ``validate`` read them: optimal.data.repetition), candidates files of odd shapes (``suggest --candidates``),
    IsoFLOP designs at the edges of what a budget's parabola needs (``isoflop --interval calibrated``), a FIFO."""
    runs = (ROOT / "examples" / "runs.csv").read_text().splitlines()
    head, body = runs[0], runs[1:]

    def put(name: str, text: str | bytes) -> None:
        f[name] = write_case_file(tmp / name, text)

    def d_of(line: str) -> float:
        return float(line.split(",")[1])

    def with_columns(names: str, cells) -> str:  # cells(i, line) -> the extra cells of row i, joined by commas
        return head + "," + names + "\n" + "\n".join(l + "," + cells(i, l) for i, l in enumerate(body)) + "\n"

    half = lambda i, l: repr(d_of(l) / 2)  # noqa: E731  two epochs
    for name, cells in {
        "u_good": half, "u_neg": lambda i, l: "-1e9" if i % 5 == 0 else half(i, l), "u_zero": lambda i, l: "0",
        "u_nan": lambda i, l: "nan" if i == 3 else half(i, l), "u_inf": lambda i, l: "inf",
        "u_text": lambda i, l: "abc" if i == 2 else half(i, l), "u_above_d": lambda i, l: repr(d_of(l) * 10),
        "u_huge": lambda i, l: "1e308", "u_sub": lambda i, l: "1e-320", "u_hugeint": lambda i, l: "9" * 400,
        "u_mixed": lambda i, l: ["1e9", "abc", "", "nan", "-0", "0x10", "1_000"][i % 7], "u_empty": lambda i, l: "",
    }.items():
        put(f"{name}.csv", with_columns("U", cells))
    for name, value in {"neg": "-4", "zero": "0", "inf": "inf", "huge": "1e308", "sub": "1e-320", "half": "0.5",
                        "nan": "nan", "good": "4"}.items():
        put(f"ep_{name}.csv", with_columns("epochs", lambda i, l, v=value: v))
    put("u_dup.csv", with_columns("U,U", lambda i, l: f"{d_of(l) / 2!r},{d_of(l) / 4!r}"))
    put("u_dupcase.csv", with_columns("U,u", lambda i, l: f"{d_of(l) / 2!r},{d_of(l) / 4!r}"))
    put("u_ep_disagree.csv", with_columns("unique_tokens,epochs", lambda i, l: f"{d_of(l)!r},40"))
    put("u_ep_disagree2.csv", with_columns("epochs,unique_tokens", lambda i, l: f"1,{d_of(l) / 4!r}"))
    put("u_ep_agree.csv", with_columns("unique_tokens,epochs", lambda i, l: f"{d_of(l) / 4!r},4"))
    put("u_unique.csv", with_columns("unique", lambda i, l: repr(d_of(l) / 3)))
    put("u_grouped.csv", with_columns("g,U", lambda i, l: ("a" if i % 2 else "b") + f",{d_of(l) / 2!r}"))
    # candidates for suggest
    for name, text in {"c_noheader": "1e8,2e9\n2e8,1e9\n", "c_onecol": "N\n1e8\n2e8\n",
                       "c_huge": "N,D\n1e308,1e308\n1e8,1e9\n", "c_hugeint": "N,D\n" + "9" * 400 + ",1e9\n",
                       "c_negN": "N,D\n-1e8,2e9\n2e8,1e9\n", "c_D0": "N,D\n1e8,0\n2e8,1e9\n",
                       "c_below1": "N,D\n0.5,1e9\n1e8,1e-3\n", "c_sub": "N,D\n1e-320,1e-320\n2e8,1e9\n",
                       "c_dup": "N,D\n1e8,2e9\n1e8,2e9\n1e8,2e9\n", "c_bom": "\ufeffN,D\n1e8,2e9\n2e8,1e9\n",
                       "c_crlf": "N,D\r\n1e8,2e9\r\n2e8,1e9\r\n", "c_one": "N,D\n1e8,2e9\n",
                       "c_dupcols": "N,D,N\n1e8,2e9,5\n2e8,1e9,5\n", "c_text": "N,D\nabc,2e9\n2e8,1e9\n",
                       "c_ragged": "N,D\n1e8\n2e8,1e9,7\n", "c_C": "N,C\n1e8,1e18\n"}.items():
        put(f"{name}.csv", text)
    put("c_utf16.csv", "N,D\n1e8,2e9\n2e8,1e9\n".encode("utf-16"))
    fifo = tmp / "fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    f["fifo"] = str(fifo)

    # IsoFLOP designs: C = 6 N D, losses from a Chinchilla law (exact)
    def iso(name, budgets, sizes, sign=1.0):
        rows = ["N,D,C,loss"]
        for c in budgets:
            for n in sizes(c):
                d = c / (6 * n)
                rows.append(f"{n!r},{d!r},{sign * c!r},{1.7 + 400 / n ** 0.34 + 410 / d ** 0.28!r}")
        put(name, "\n".join(rows) + "\n")

    def geo(c, m=7):
        return [(c / 6) ** 0.5 * 10 ** (-1.5 + 3 * i / (m - 1)) for i in range(m)]

    iso("iso_good.csv", [1e18, 1e19, 1e20, 1e21], geo)
    iso("iso_3runs.csv", [1e18, 1e19, 1e20, 1e21], lambda c: geo(c, 3))
    iso("iso_3runs_one.csv", [1e18, 1e19, 1e20], lambda c: geo(c, 3 if c == 1e19 else 7))
    iso("iso_one_size.csv", [1e18, 1e19, 1e20, 1e21], lambda c: [1e8] * 7)
    iso("iso_close.csv", [1e19, 1.04e19, 1e20, 1e21], geo)
    iso("iso_negc.csv", [1e18, 1e19, 1e20, 1e21], geo, sign=-1.0)
    iso("iso_1budget.csv", [1e19], geo)
    iso("iso_2budgets.csv", [1e19, 1e20], geo)
    iso("iso_dup.csv", [1e18, 1e19, 1e20], lambda c: geo(c, 4) * 2)
    iso("iso_huge.csv", [1e300, 1e301, 1e302], geo)
    iso("iso_tiny.csv", [1e-300, 1e-299, 1e-298], geo)


def new_path_cases(f: dict[str, str], tmp: Path) -> list[dict]:
    """CLI cases for the paths added in the last round (``make_new_path_fixtures``'s files)."""
    cases: list[dict] = []

    def add(argv: list[str], *, stdout: str = "pipe", writes: bool = False, name: str | None = None) -> None:
        cases.append({"name": name or " ".join(a if len(a) < 40 else "..." + a[-30:] for a in argv),
                      "argv": argv, "stdout": stdout, "writes": writes})

    quick = ["--n-polish", "2"]
    design = sorted(k for k in f if k.startswith(("u_", "ep_")) and k.endswith(".csv"))
    for k in design:
        add(["fit", f[k], *quick])
        add(["fit", f[k], *quick, "--json"])
        add(["validate", f[k], "--holdout-largest", "3", *quick])
    for k in ["u_good.csv", "u_ep_disagree.csv", "u_neg.csv"]:
        add(["validate", f[k], "--holdout-largest", "3", "--json", *quick])
        add(["validate", f[k], "--holdout-largest", "3", "--against", "U", *quick])
        add(["fit", f[k], "--sweep", "delta=1e-3,1e-2", *quick])
        add(["fit", f[k], "--law", "data-constrained", "--covariate", "U=U"])
    add(["validate", f["u_good.csv"], "--holdout", "U>1e9", *quick])
    add(["fit", f["u_ep_agree.csv"], "--law", "data-constrained", "--covariate", "U=unique_tokens"])
    add(["fit", f["u_grouped.csv"], "--by", "g", *quick])
    add(["fit", f["u_grouped.csv"], "--by", "U", *quick])
    for wild in ["rademacher", "webb"]:
        add(["fit", f["u_grouped.csv"], "--by", "g", "--bootstrap", "3", "--wild", wild, *quick])
        add(["fit", f["u_grouped.csv"], "--by", "g", "--bootstrap", "3", "--wild", wild, "--json", *quick])
        add(["fit", f["u_grouped.csv"], "--by", "g", "--bootstrap", "3", "--wild", wild, "--cluster-col", "g", *quick])
        add(["fit", f["u_grouped.csv"], "--by", "g", "--bootstrap", "3", "--wild", wild, "--cluster-col", "U", *quick])
        add(["fit", f["grouped.csv"], "--by", "g", "--bootstrap", "3", "--wild", wild, "--where", "N>1e9", *quick])
        add(["fit", f["grouped.csv"], "--by", "g", "--bootstrap", "3", "--wild", wild, "--weight-col", "C", *quick])
        add(["fit", f["one_group.csv"], "--by", "g", "--bootstrap", "3", "--wild", wild, *quick])
        add(["fit", f["grouped.csv"], "--by", "g", "--bootstrap", "3", "--wild", wild, "--compare", *quick])
    # suggest --candidates
    suggest = ["suggest", "--fit", f["fit"], "--compute", "1e21", "--spend", "1e20", "--bootstrap", "0"]
    for k in sorted(k for k in f if k.startswith("c_")) + ["fifo", "devzero", "adir"]:
        add([*suggest, "--candidates", f[k]])
    add([*suggest, "--candidates", f["c_dup.csv"], "--json"])
    add([*suggest, "--candidates", "/dev/stdin"])
    # isoflop, every interval method
    for k in sorted(k for k in f if k.startswith("iso_")):
        add(["isoflop", f[k], "--no-parametric", "--bootstrap", "20", "--interval", "calibrated", "--json"])
        add(["isoflop", f[k], "--bootstrap", "5", "--interval", "bc"])
    for k in ["iso_negc.csv", "iso_close.csv"]:
        add(["isoflop", f[k], "--compute-col", "C", "--no-parametric", "--bootstrap", "5", "--interval", "calibrated"])
    for extra in [["--confidence", "0.999999", "--bootstrap", "2"], ["--cluster-col", "N", "--bootstrap", "3"],
                  ["--tolerance", "0.99", "--bootstrap", "3"], ["--bootstrap", "3", "--seed", "4294967295"], []]:
        add(["isoflop", f["iso_good.csv"], "--no-parametric", "--interval", "calibrated", *extra])
    # predict with an asymmetric loss (the record is saved by a case run first)
    asym = str(tmp / "asym.json")
    for v in ["1e9", "1", "1e-320", "1e308", "nan"]:
        add(["predict", "--fit", asym, "--params", v, "--tokens", "1e10"])
    for v in ["0.5", "0.999999", "1", "nan"]:
        add(["predict", "--fit", asym, "--params", "1e9", "--tokens", "1e10", "--confidence", v])
    add(["predict", "--fit", asym, "--runs", f["runs"], "--json"])
    for r in ["asymmetric-huber:1e-300", "asymmetric-huber:1e-7", "asymmetric-huber:1e-6", "asymmetric-huber:0.5:0.5"]:
        add(["fit", f["runs"], "--robust", r, *quick])
    # --json with stdout that cannot be written, for every command
    outs = {"solve": ["solve", "--compute", "1e23"], "plan": ["plan", "--compute", "1e23"],
            "predict": ["predict", "--fit", f["fit"], "--params", "1e9", "--tokens", "1e10"],
            "suggest": suggest, "isoflop": ["isoflop", f["runs"], "--no-parametric"],
            "fit": ["fit", f["runs"], *quick], "validate": ["validate", f["runs"], "--holdout-largest", "3", *quick],
            "envelope": ["envelope", f["curves.csv"], "--parametric", "none"], "presets": ["presets"],
            "hparams": ["hparams", f["sweep.csv"], "--param", "lr", "--column", "learning_rate", "--bootstrap", "0"],
            "audit": ["audit", f["shaped.csv"], "--shape-col", "n_layer=layers"]}
    for name, argv in outs.items():
        add(argv + ["--json"], stdout="full", name=f"{name} --json > /dev/full")
        add(argv + ["--json"], stdout="closed", name=f"{name} --json >&-")
    return cases


# ----------------------------------------------------------------------------------------------- CLI cases
EDGE = ["0", "-0", "1e-320", "1e308", "inf", "nan", "1e999", "9" * 400, "-1", "", " ", "abc", "0x10", "1_000"]


def cli_cases(f: dict[str, str], tmp: Path) -> list[dict]:
    cases: list[dict] = []

    def add(argv: list[str], *, stdout: str = "pipe", writes: bool = False, name: str | None = None) -> None:
        cases.append({"name": name or " ".join(a if len(a) < 40 else a[:37] + "..." for a in argv),
                      "argv": argv, "stdout": stdout, "writes": writes})

    # solve: edge numbers for each numeric option
    for v in EDGE:
        add(["solve", "--compute", v])
    for v in ["0", "1e-320", "1e308", "nan"]:
        add(["solve", "--target-loss", v])
        add(["solve", "--compute", "1e23", "--flops-per-param-token", v])
        add(["solve", "--compute", "1e23", "--max-tokens", v])
        add(["solve", "--compute", "1e23", "--max-params", v])
    add(["solve", "--compute", "1e308", "--json"])
    add(["solve", "--compute", "1e-320", "--json"])
    add(["solve", "--target-loss", "1.6900001", "--json"])
    add(["solve", "--compute", "1e23", "--preset", ""])
    add(["solve", "--compute", "1e23", "--preset", " "])
    add(["solve", "--compute", "1e23", "--preset", "kaplan2020", "--max-tokens", "1e-320"])
    add(["solve", "--compute", "1e23", "--preset", "muennighoff2023"])
    add(["solve", "--compute", "1e23", "--fit", f["fit"], "--preset", "epoch2024"])
    add(["solve", "--compute", "1e23", "--fit", f["fit"], "--group", "x"])
    add(["solve", "--compute", "1e23", "--group", ""])
    add(["solve"])
    add(["solve", "--compute"])
    add(["solve", "--compute", "1e23", "--target-loss", "2"])
    for c in ["empty.json", "list.json", "deep.json", "coef_inf.json", "coef_neg.json", "coef_huge.json",
              "coef_tiny.json", "coef_hugeint.json", "adir", "missing", "bom.csv"]:
        add(["solve", "--compute", "1e23", "--coefficients", f[c]])
    # solve/plan/predict/suggest/plot with tampered records
    for i, k in enumerate(sorted(k for k in f if k.startswith("fit_"))):
        if i % 2:
            add(["solve", "--compute", "1e23", "--fit", f[k], "--json"])
        else:
            add(["predict", "--fit", f[k], "--params", "1e9", "--tokens", "2e10"])
    for k in ["fit_boot_nan", "fit_boot_huge", "fit_boot_ragged", "fit_boot_empty", "fit_boot_conf_2", "fit_E_huge",
              "fit_alpha_sub", "fit_alpha_huge", "fit_k_zero", "fit_data_loss_nan", "fit_theta_nan", "fit_top_list"]:
        add(["plan", "--fit", f[k], "--compute", "1e23"])
        add(["suggest", "--fit", f[k], "--compute", "1e21"])
        add(["plot", "--fit", f[k], "--kind", "surface" if "E" in k or "alpha" in k else "bootstrap",
             "--out", str(tmp / "p.png")], writes=True)
    for k in ["adir", "missing", "empty.json", "deep.json", "binary.csv"]:
        add(["predict", "--fit", f[k], "--params", "1e9", "--tokens", "2e10"])
        add(["plot", "--fit", f[k], "--out", str(tmp / "p.png")], writes=True)

    # fit: odd files
    for k in ["empty.csv", "header.csv", "one_row.csv", "crlf.csv", "bom.csv", "wide.csv", "dup_header.csv",
              "unicode.csv", "ragged.csv", "nan_loss.csv", "inf_n.csv", "neg_d.csv", "zero_loss.csv", "subnormal.csv",
              "huge.csv", "hugeint.csv", "text_cells.csv", "binary.csv", "latin1.csv", "whitespace.csv",
              "same_loss.csv", "same_nd.csv", "spaces_header.csv", "adir", "missing", "fit"]:
        add(["fit", f[k], "--json"])
    add(["fit", "/dev/null"])
    add(["fit", "-"])
    add(["fit", f["unicode.csv"], "--params-col", "Nπ", "--tokens-col", "Dé", "--loss-col", "lösß"])
    add(["fit", f["dup_header.csv"], "--params-col", "N"])
    add(["fit", f["runs"], "--params-col", " "])
    add(["fit", f["runs"], "--loss-col", "N"])
    add(["fit", f["runs"], "--params-col", "D"])
    add(["fit", f["runs"], "--weight-col", "C"])
    add(["fit", f["runs"], "--weight-col", "nope"])
    add(["fit", f["runs"], "--by", " "])
    add(["fit", f["runs"], "--by", "C", "--shared", "alpha", "beta"])
    add(["fit", f["runs"], "--cluster-col", "", "--bootstrap", "5"])
    add(["fit", f["runs"], "--where", ""])
    add(["fit", f["runs"], "--where", "N>1e999"])
    add(["fit", f["runs"], "--where", "N>nan"])
    add(["fit", f["runs"], "--where", "loss<0"])
    add(["fit", f["runs"], "--where", "==="])
    for v in ["0", "1e-320", "1e308", "nan"]:
        add(["fit", f["runs"], "--delta", v])
    for v in ["-1", "1e9", "1.5", "9" * 30]:
        add(["fit", f["runs"], "--bootstrap", v])
    for v in ["0", "9" * 30]:
        add(["fit", f["runs"], "--max-iter", v])
        add(["fit", f["runs"], "--n-polish", v])
        add(["fit", f["runs"], "--drop-highest-loss", v])
    for v in ["1", "nan", "1e-320", "0.9999999999999999"]:
        add(["fit", f["runs"], "--bootstrap", "3", "--confidence", v])
    for v in ["4294967296", "nan"]:
        add(["fit", f["runs"], "--bootstrap", "3", "--seed", v])
    for v in ["E=nan", "E=inf", "beta=1e-320", "alpha=1e308", "A=0", "E=-0", "alpha=", "=0.3", "alpha=0.3=0.4",
              "zeta=1", "alpha=0.3 ", "E=1e999"]:
        add(["fit", f["runs"], "--fix", v])
    add(["fit", f["runs"], "--tie", "alpha=alpha"])
    add(["fit", f["runs"], "--tie", "alpha=zeta"])
    add(["fit", f["runs"], "--tie", "alpha=beta", "--fix", "alpha=0.3"])
    add(["fit", f["runs"], "--covariate", "U="])
    add(["fit", f["runs"], "--law", "data-constrained", "--covariate", "U=C"])
    add(["fit", f["dc_runs.csv"], "--law", "data-constrained", "--covariate", "U=U", "--save", str(tmp / "dc.json")],
        writes=True, name="fit dc (saves dc.json)")
    add(["fit", f["runs"], "--robust", "asymmetric-huber:0.5", "--save", str(tmp / "asym.json")],
        writes=True, name="fit dc-asym (saves asym.json)")
    add(["fit", f["runs"], "--sweep", "delta="])
    add(["fit", f["runs"], "--sweep", "delta=nan,1e-3"])
    add(["fit", f["runs"], "--sweep", "delta=1e-3,1e-3"])
    add(["fit", f["runs"], "--sweep", "zeta=1"])
    add(["fit", f["runs"], "--compute", "1e308", "--json"])
    add(["fit", f["runs"], "--compute", "nan"])
    add(["fit", f["runs"], "--compute", "1e-320"])
    add(["fit", f["runs"], "--flops-col", "loss"])
    add(["fit", f["runs"], "--flops-per-param-token", "1e-320"])
    add(["fit", f["runs"], "--flops-per-param-token", "1e308"])
    add(["fit", f["runs"], "--n-samples", "0"])
    add(["fit", f["runs"], "--n-samples", "1"])
    add(["fit", f["runs"], "--dtype", "float32", "--json"])
    add(["fit", f["runs"], "--compare"])
    add(["fit", f["runs"], "--save", f["adir"]])
    add(["fit", f["runs"], "--save", "/dev/full"])
    add(["fit", f["runs"], "--save", f["out_missing_dir"]])
    add(["fit", f["runs"], "--save", " "], writes=True)
    add(["fit", f["runs"], "--plot", f["adir"]])
    add(["fit", f["runs"], "--plot", str(tmp / "x.txt")])
    add(["fit", f["runs"], "--plot", f["out_missing_dir"]])
    add(["fit", f["runs"], "--plot", str(tmp / "fit.png"), "--compute", "1e308"], writes=True)

    # plot
    for kind in ["surface", "fit", "bootstrap", "frontier"]:
        add(["plot", "--fit", f["fit"], "--kind", kind, "--out", str(tmp / f"{kind}.png")], writes=True)
        add(["plot", "--preset", "kaplan2020", "--kind", kind, "--out", str(tmp / f"k{kind}.png")], writes=True)
    for v in ["0", "1e308", "nan"]:
        add(["plot", "--fit", f["fit"], "--compute", v, "--out", str(tmp / "c.png")], writes=True)
    for v in ["9", "nan"]:
        add(["plot", "--fit", f["fit"], "--dpi", v, "--out", str(tmp / "d.png")], writes=True)
    for out in [f["adir"], "/dev/full", f["out_missing_dir"], str(tmp / "x.txt"), str(tmp / "noext"), "", " ",
                str(tmp / "x.PNG")]:
        add(["plot", "--fit", f["fit"], "--out", out], writes=True)
    add(["plot"])
    add(["plot", "--preset", "epoch2024", "--fit", f["fit"]])

    # plan
    for v in ["0", "1e-320", "1e308", "nan", "1e999", "9" * 400]:
        add(["plan", "--compute", v])
        add(["plan", "--params", v, "--tokens", "1e10"])
        add(["plan", "--params", "1e9", "--tokens", v])
        add(["plan", "--compute", "1e23", "--mfu", v])
        add(["plan", "--compute", "1e23", "--accelerators", v])
        add(["plan", "--compute", "1e23", "--context", v])
    for v in ["0", "1e-320", "1e308"]:
        add(["plan", "--compute", "1e23", "--pue", v])
        add(["plan", "--compute", "1e23", "--power", v])
        add(["plan", "--compute", "1e23", "--price-per-hour", v])
        add(["plan", "--compute", "1e23", "--inference-tokens", v])
        add(["plan", "--compute", "1e23", "--unique-tokens", v])
        add(["plan", "--compute", "1e23", "--activation-memory", v])
        add(["plan", "--target-loss", v])
    add(["plan", "--compute", "1e23", "--accelerator", " "])
    add(["plan", "--compute", "1e23", "--accelerator", "H100-SXM"])
    add(["plan", "--compute", "1e23", "--accelerator-file", f["acc_nan.json"]])
    add(["plan", "--compute", "1e23", "--accelerator-file", f["adir"]])
    add(["plan", "--compute", "1e23", "--accelerator-file", f["empty.json"]])
    add(["plan", "--compute", "1e23", "--shape", ""])
    add(["plan", "--compute", "1e23", "--shape", "d_model=0"])
    add(["plan", "--compute", "1e23", "--shape", "d_model=1e308", "n_layer=1e308"])
    add(["plan", "--compute", "1e23", "--shape", "n_layer=nan"])
    add(["plan", "--shape", "llama-7b", "--tokens", "1e999"])
    add(["plan", "--shape", "nope"])
    add(["plan", "--compute", "1e23", "--inference-tokens", "1e30", "--unique-tokens", "1e9"])
    add(["plan", "--target-loss", "1.7", "--inference-tokens", "1e308"])
    add(["plan", "--compute", "1e23", "--json", "--precision", "fp8", "--optimizer", "adam-8bit"])
    add(["plan", "--compute", "1e308", "--json"])
    add(["plan", "--params", "1e-320", "--tokens", "1e-320", "--json"])
    add(["plan", "--compute", "1e23", "--fit", f["fit"], "--json"])
    add(["plan", "--compute", "1e23", "--params", "1e9"])

    # predict
    for v in ["0", "1e-320", "1e308", "nan"]:
        add(["predict", "--fit", f["fit"], "--params", v, "--tokens", "1e10"])
        add(["predict", "--fit", f["fit"], "--params", "1e9", "--tokens", v])
        add(["predict", "--fit", f["fit"], "--params", "1e9", "--tokens", "1e10", "--flops-per-param-token", v])
    for v in ["0", "1", "nan", "-1"]:
        add(["predict", "--fit", f["fit"], "--params", "1e9", "--tokens", "1e10", "--confidence", v])
    add(["predict", "--fit", f["fit"], "--params", "1e9", "2e9", "3e9", "--tokens", "1e10", "2e10"])
    add(["predict", "--fit", f["fit"], "--params", "1e9"])
    for k in ["empty.csv", "header.csv", "crlf.csv", "bom.csv", "nan_loss.csv", "neg_d.csv", "huge.csv", "adir",
              "missing", "binary.csv", "dup_header.csv"]:
        add(["predict", "--fit", f["fit"], "--runs", f[k], "--json"])
    add(["predict", "--fit", f["fit"], "--runs", f["runs"], "--loss-col", ""])
    add(["predict", "--fit", f["fit"], "--runs", f["runs"], "--params", "1e9"])
    add(["predict", "--fit", str(tmp / "dc.json"), "--params", "1e9", "--tokens", "1e10"])
    add(["predict", "--fit", str(tmp / "dc.json"), "--params", "1e9", "--tokens", "1e10", "--covariate", "U=nan"])
    add(["predict", "--fit", str(tmp / "dc.json"), "--params", "1e9", "--tokens", "1e10", "--covariate", "U=0"])
    add(["predict", "--fit", str(tmp / "dc.json"), "--params", "1e9", "--tokens", "1e10", "--covariate", "U=1e-320"])
    add(["predict", "--fit", f["fit"], "--params", "1e9", "--tokens", "1e10", "--covariate", "U=1e9"])

    # suggest
    for v in ["0", "1e-320", "1e308", "nan"]:
        add(["suggest", "--fit", f["fit"], "--compute", v])
        add(["suggest", "--fit", f["fit"], "--compute", "1e21", "--spend", v])
        add(["suggest", "--fit", f["fit"], "--compute", "1e21", "--noise-sd", v])
    for v in ["0", "-1", "1e9", "9" * 30]:
        add(["suggest", "--fit", f["fit"], "--compute", "1e21", "--n", v])
    for k in ["cands.csv", "cands_bad.csv", "cands_empty.csv", "empty.csv", "adir", "missing", "binary.csv"]:
        add(["suggest", "--fit", f["fit"], "--compute", "1e21", "--candidates", f[k]])
    add(["suggest", "--fit", f["fit"], "--compute", "1e21", "--json"])
    add(["suggest", "--fit", str(tmp / "dc.json"), "--compute", "1e21"])

    # validate
    for h in ["", "C>=nan", "C>=1e999", "C>=0", "N<0", "===", "zz>1"]:
        add(["validate", f["runs"], "--holdout", h])
    for v in ["0", "-1", "84", "85", "1e9", "9" * 30]:
        add(["validate", f["runs"], "--holdout-largest", v])
    for v in ["0", "1", "-1", "1000"]:
        add(["validate", f["runs"], "--rolling", v])
    add(["validate", f["runs"]])
    add(["validate", f["one_row.csv"], "--holdout-largest", "1"])
    add(["validate", f["empty.csv"], "--holdout-largest", "1"])
    add(["validate", f["runs"], "--holdout-largest", "2", "--holdout", "C>1e18"])
    add(["validate", f["runs"], "--holdout-largest", "3", "--plot", "/dev/full"])
    add(["validate", f["runs"], "--holdout-largest", "3", "--json", "--bootstrap", "3", "--confidence", "0.999999"])

    # isoflop
    for v in ["0", "-1", "1e308", "nan", "inf"]:
        add(["isoflop", f["runs"], "--tolerance", v])
    for v in ["0", "-1", "1e308", "1e-320", "nan"]:
        add(["isoflop", f["runs"], "--compute", v, "--json"])
    for k in ["empty.csv", "header.csv", "one_row.csv", "same_loss.csv", "same_nd.csv", "crlf.csv", "huge.csv", "adir"]:
        add(["isoflop", f[k], "--json"])
    add(["isoflop", f["runs"], "--compute-col", "loss"])
    add(["isoflop", f["runs"], "--compute-col", ""])
    add(["isoflop", f["runs"], "--bootstrap", "3", "--confidence", "1"])
    add(["isoflop", f["runs"], "--plot", "/dev/full"])
    add(["isoflop", f["runs"], "--plot", f["adir"]])
    add(["isoflop", f["runs"], "--no-parametric", "--json"])

    # stdout that cannot be written, for every command
    outs = {"solve": ["solve", "--compute", "1e23"], "plan": ["plan", "--compute", "1e23"],
            "predict": ["predict", "--fit", f["fit"], "--params", "1e9", "--tokens", "1e10"],
            "suggest": ["suggest", "--fit", f["fit"], "--compute", "1e21"],
            "isoflop": ["isoflop", f["runs"], "--no-parametric"],
            "fit": ["fit", f["runs"]], "validate": ["validate", f["runs"], "--holdout-largest", "3"],
            "help": ["solve", "--help"]}
    for name, argv in outs.items():
        add(argv, stdout="full", name=f"{name} > /dev/full")
        add(argv, stdout="closed", name=f"{name} >&-")
        add(argv + (["--json"] if name != "help" else []), stdout="broken", name=f"{name} | head -c0")
    add(["plot", "--fit", f["fit"], "--out", str(tmp / "o.png")], stdout="closed", writes=True, name="plot >&-")
    add(["--version"], stdout="full", name="--version > /dev/full")
    # unknown and odd options
    add([])
    add(["nope"])
    add(["solve", "--compute", "1e23", "--bogus"])
    add(["solve", "--comp", "1e23"])
    add(["fit", f["runs"], "--budgets", "1e21"])
    add(["suggest", f["fit"], "--target-compute", "1e21"])
    return cases


def run_cli(case: dict, env: dict) -> dict:
    argv = [sys.executable, "-m", "optimal", *case["argv"]]
    kwargs: dict = {"env": env, "stderr": subprocess.PIPE, "cwd": case["cwd"]}
    t0 = time.monotonic()
    try:
        if case["stdout"] == "pipe":
            p = subprocess.run(argv, stdout=subprocess.PIPE, timeout=TIMEOUT, **kwargs)
            out = p.stdout.decode("utf-8", "replace")
            rc = p.returncode
        elif case["stdout"] == "full":
            with open("/dev/full", "wb") as full:
                p = subprocess.run(argv, stdout=full, timeout=TIMEOUT, **kwargs)
            out, rc = None, p.returncode
        elif case["stdout"] == "closed":
            p = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", *argv], timeout=TIMEOUT, **kwargs)
            out, rc = None, p.returncode
        else:  # broken pipe: the reader goes away at once
            r, w = os.pipe()
            os.close(r)
            p = subprocess.run(argv, stdout=w, timeout=TIMEOUT, **kwargs)
            os.close(w)
            out, rc = None, p.returncode
        err = p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return {**case, "problems": [f"hang (> {TIMEOUT} s)"], "rc": None, "secs": TIMEOUT}
    problems = judge(case, rc, out, err)
    return {**case, "problems": problems, "rc": rc, "secs": round(time.monotonic() - t0, 1),
            "err_tail": err.strip().splitlines()[-1:] if err.strip() else []}


# ----------------------------------------------------------------------------------------------- cases from the parser
# Every option of every command, read from the parser itself (so an option added later is covered without listing
# it here): numbers get the edge values below, integers theirs, names a wrong column/unknown name, choices each
# choice, flags on their own; each on top of a valid base invocation of its command (BASE), with what the option
# needs beside it (NEEDS) or in place of the base (INSTEAD).
NUMBER_EDGES = ["0", "-1", "1e-320", "1e308", "inf", "nan"]
INT_EDGES = ["0", "-1", "1", "9" * 30]
TEXT_EDGES = ["", " ", "nope", "é\u202e"]
FILE_METAVARS = {"FILE.json", "FIT.json", "X.json", "CSV", "RUNS.csv", "CURVES.csv", "SWEEP.csv"}
OUT_METAVARS = {"OUT.png", "FILE.png"}


def bases(f: dict[str, str], tmp: Path) -> dict[str, list[str]]:
    return {
        "solve": ["--compute", "1e23"],
        "fit": [f["runs"]],
        "plot": ["--fit", f["fit"], "--kind", "frontier", "--out", str(tmp / "o.png")],
        "plan": ["--compute", "1e23"],
        "isoflop": [f["runs"], "--no-parametric"],
        "validate": [f["runs"], "--holdout-largest", "3"],
        "predict": ["--fit", f["fit"], "--params", "1e9", "--tokens", "1e10"],
        "suggest": ["--fit", f["fit"], "--compute", "1e21", "--spend", "1e20"],
        "envelope": [f["curves.csv"], "--parametric", "none"],
        "hparams": [f["sweep.csv"], "--param", "lr", "--column", "learning_rate", "--bootstrap", "0"],
        "presets": [],
        "audit": [f["shaped.csv"], "--shape-col", "n_layer=layers"],
    }


def needs(f: dict[str, str]) -> tuple[dict, dict]:
    boot = ["--bootstrap", "3"]
    layout = ["--context", "2048", "--accelerators", "64"]
    need = {
        ("solve", "--decide"): ["--fit", f["fit"]], ("plan", "--decide"): ["--fit", f["fit"]],
        ("solve", "--group"): ["--fit", f["fit"]], ("plan", "--group"): [],
        **{("plan", o): layout for o in ["--micro-batch", "--tensor-parallel", "--pipeline-parallel", "--expert-parallel",
                                         "--zero", "--sequence-parallel", "--recompute", "--global-batch"]},
        **{("plan", o): ["--inference-tokens", "1e12"] for o in
           ["--serve-accelerator", "--serve-precision", "--serve-mfu", "--serve-bandwidth-utilisation", "--serve-batch",
            "--serve-prompt-share", "--serve-price-per-hour", "--serve-bandwidth"]},
        ("plan", "--experts"): ["--moe-law", "ludziejewski2025"], ("plan", "--granularity"): ["--moe-law", "krajewski2024"],
        ("plan", "--snap-count"): ["--snap-shape", "llama"],
        ("plan", "--max-cost"): ["--accelerators", "1024"], ("plan", "--max-energy-mwh"): ["--accelerators", "1024"],
        ("plan", "--deadline-days"): ["--accelerators", "1024"],
        **{(c, o): boot for c in ["fit", "isoflop", "validate", "envelope", "audit"]
           for o in ["--seed", "--confidence", "--cluster-col", "--wild", "--bootstrap-max-iter"]},
        ("hparams", "--seed"): boot, ("hparams", "--confidence"): boot,
        ("fit", "--shared"): ["--by", "g"], ("fit", "--compare"): ["--by", "g", "--bootstrap", "3"],
        ("presets", "--compute"): ["--compare"],
        ("hparams", "--params"): ["--tokens", "1e10", "--form", "params_tokens"],
        ("hparams", "--tokens"): ["--params", "1e9", "--form", "params_tokens"],
    }
    instead = {  # the base replaced: the option asks the question itself
        ("solve", "--compute"): [], ("solve", "--target-loss"): [], ("plan", "--compute"): [],
        ("plan", "--target-loss"): [], ("plan", "--params"): ["--tokens", "1e10"], ("plan", "--tokens"): ["--params", "1e9"],
        ("plan", "--deadline-days"): [], ("plan", "--max-cost"): ["--deadline-days", "30"],
        ("plan", "--max-energy-mwh"): ["--deadline-days", "30"],
        ("plan", "--shape"): ["--tokens", "1e11"],
        ("predict", "--params"): ["--fit", f["fit"], "--tokens", "1e10"],
        ("predict", "--tokens"): ["--fit", f["fit"], "--params", "1e9"],
        ("suggest", "--compute"): ["--fit", f["fit"], "--spend", "1e20"],
        ("suggest", "--spend"): ["--fit", f["fit"], "--compute", "1e21"],
        ("predict", "--runs"): ["--fit", f["fit"]],
        ("validate", "--holdout"): [f["runs"]], ("validate", "--holdout-largest"): [f["runs"]],
        ("validate", "--rolling"): [f["runs"]],
        ("fit", "--shared"): [f["grouped.csv"]], ("fit", "--compare"): [f["grouped.csv"]],
        ("fit", "--by"): [f["grouped.csv"]], ("validate", "--by"): [f["grouped.csv"], "--holdout-largest", "3"],
    }
    return need, instead


# values an option without a type gets beside TEXT_EDGES (its own grammar)
GRAMMAR = {
    "--decide": ["plug-in", "expected-loss", "quantile:0.9", "quantile:0", "quantile:1", "quantile:nan", "quantile:",
                 "quantile:1e-320", "quantile:0.9:1"],
    "--robust": ["huber", "squared", "asymmetric-huber", "asymmetric-huber:0", "asymmetric-huber:1",
                 "asymmetric-huber:nan", "asymmetric-huber:1e-320", "asymmetric-huber:2", "asymmetric-huber:",
                 "asymmetric-huber:-0.5", "asymmetric-huber:inf"],
    "--holdout": ["C>=1e19", "C>=nan", "C>=1e999", "N<0", "===", "zz>1", "loss!=abc"],
    "--where": ["N>1e8", "N>nan", "N<1e-320", "loss<0", "===", "zz>1", "N=", "run=N0-h10", "D>=inf"],
    "--group": ["a", "b"],
    "--config-col": ["config", "N", "loss"],
    "--sweep": ["delta=1e-4,1e-3", "delta=nan,1e-3", "delta=0", "drop-smallest=0,99", "drop-smallest=-1",
                "law=chinchilla,nope", "delta=", "zeta=1", "delta=1e-320"],
    "--shared": ["alpha", "alpha beta", "E A B alpha beta", "zeta"],
    "--shape": ["llama2-7b", "gpt3-175b", "mixtral-8x7b", "n_layer=0", "n_layer=32 d_model=4096 n_heads=32 vocab_size=32000",
                "n_layer=1e308 d_model=4096 n_heads=32 vocab_size=32000", "llama2-7b n_layer=nan", "llama2-7b d_model=-1",
                "llama2-7b n_experts=0", "llama2-7b experts_per_token=9", "llama2-7b d_ff=1e-320", "llama2-7b norm=zz",
                "llama2-7b n_layer=" + "9" * 30, "llama2-7b ffn_multiplier=inf", "llama2-7b gated_ffn=maybe",
                "llama2-7b zzz=1", "llama2-7b n_layer=2 n_layer=3", "nope-7b", "n_layer"],
    "--covariate": ["U=C", "U=", "=C", "U=nope", "zz=N"],
    "--fix": ["E=nan", "E=inf", "beta=1e-320", "alpha=1e308", "A=0", "alpha=1e-300", "E=-1e308", "B=1e-320",
              "alpha=5e-324", "alpha=0.3", "zeta=1"],
    "--tie": ["alpha=beta", "alpha=alpha", "alpha=zeta", "A=B"],
    "--shape-col": ["n_layer=layers", "n_layer=", "n_layer=nope", "zz=layers", "n_layer=loss", "context=N"],
}


def option_cases(f: dict[str, str], tmp: Path) -> list[dict]:
    from optimal.cli.main import build_parser  # noqa: E402 (the tree under test: ROOT is on sys.path)

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    base, (need, instead) = bases(f, tmp), needs(f)
    cases: list[dict] = []
    hostile = {"runs": ["big.csv", "devzero", "devnull", "adir", "binary.csv", "cfg_good.json"],
               "curves": [k for k in f if k.startswith("curves_")] + ["big.csv", "devzero", "runs", "adir", "binary.csv"],
               "sweep": [k for k in f if k.startswith("sweep_")] + ["big.csv", "devzero", "runs", "empty.csv"],
               "json": ["empty.json", "list.json", "deep.json", "adir", "devzero", "cfg_100mb.json", "binary.csv",
                        "missing", "cfg_good.json"]}
    for command, sp in sub.choices.items():
        for action in sp._actions:
            if action.help == "==SUPPRESS==" or action.dest == "help":
                continue
            option = action.option_strings[-1] if action.option_strings else None
            kind = getattr(action.type, "__name__", None)
            around = instead.get((command, option), base[command])
            extra = need.get((command, option), [])

            def add(values: list[str], tag: str = "", *, around=around, extra=extra, option=option,
                    command=command, writes: bool = False) -> None:
                argv = [command, *around, *([option] if option else []), *values, *extra]
                if option is None:  # the positional: it replaces the base's first word
                    argv = [command, *values, *around[1:], *extra]
                name = " ".join(a if len(a) < 40 else "..." + a[-30:] for a in argv)
                cases.append({"name": f"[opt] {name}{tag}", "argv": argv, "stdout": "pipe",
                              "writes": writes or "--save" in argv or "--out" in argv or "--plot" in argv})

            if option is None:  # a positional file
                pool = {"fit": "runs", "isoflop": "runs", "validate": "runs", "audit": "runs",
                        "envelope": "curves", "hparams": "sweep"}[command]
                for key in hostile[pool]:
                    add([f[key]])
                if command == "audit":
                    for key in sorted(k for k in f if k.startswith("shaped_")):
                        add([f[key]], extra=["--config-col", "config"] if "cfg" in key else [])
                continue
            if action.nargs == 0:  # a flag
                add([])
                continue
            if action.choices:
                for choice in action.choices:
                    add([str(choice)])
                continue
            if kind == "number":
                for v in NUMBER_EDGES:
                    add([v])
                if action.nargs == "+":
                    add(["1e21", "nan", "1e23"], " (a list with nan)")
                continue
            if kind in ("int", "_whole"):
                for v in INT_EDGES + (["1.5"] if kind == "_whole" else []):
                    add([v])
                continue
            if option == "--save":
                for out in [f["adir"], "/dev/full", f["out_missing_dir"], str(tmp / "saved.json")]:
                    add([out], writes=True)
                continue
            if action.metavar in OUT_METAVARS:
                for out in [f["adir"], "/dev/full", f["out_missing_dir"], str(tmp / "x.txt"), str(tmp / "ok.svg")]:
                    add([out], writes=True)
                continue
            if action.metavar in FILE_METAVARS or option in ("--accelerator-file", "--candidates", "--runs"):
                pool = "runs" if option in ("--candidates", "--runs") else "json"
                keys = hostile[pool] + (sorted(k for k in f if k.startswith("acc_")) if option == "--accelerator-file"
                                        else []) + (sorted(k for k in f if k.startswith("fit_"))[:12] if option == "--fit"
                                                    else [])
                for key in keys:
                    add([f[key]])
                continue
            values = GRAMMAR.get(option, [])
            for v in TEXT_EDGES + values:
                add(v.split(" ") if option in ("--shape", "--shared") and " " in v else [v])
            if kind == "name" and option.endswith("-col"):
                add(["loss"], " (another column)")
            if option == "--shape":
                for key in sorted(k for k in f if k.startswith("cfg_")):
                    add([f[key]])
            if option in ("--serve-accelerator", "--accelerator"):
                for v in ["h100", "tpu-v5e", "H100-SXM"]:
                    add([v])
    return cases


# ----------------------------------------------------------------------------------------------- in-process runner
# A CLI case whose stdout is a pipe runs in a long-lived worker process that calls optimal.cli.main.main(argv) with
# stdout and stderr captured (a fresh interpreter per case spends most of its time importing JAX); the parent
# kills a worker whose case runs past TIMEOUT (a hang) and starts another. Flagged cases are run again in a fresh
# process (``run_cli``) to confirm them; --isolated runs every case that way.
WORKER = r'''
import contextlib, io, json, os, sys, traceback, warnings
answer = os.fdopen(os.dup(1), "w")
devnull = os.open(os.devnull, os.O_WRONLY)
os.dup2(devnull, 1)  # C code writing to fd 1 must not break the protocol
warnings.simplefilter("always")
warnings.filterwarnings("ignore", category=DeprecationWarning)
from optimal.cli.main import main
for line in sys.stdin:
    case = json.loads(line)
    os.chdir(case["cwd"])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(case["argv"])
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            rc = 1
    answer.write(json.dumps({"rc": rc, "out": out.getvalue()[:1000000], "err": err.getvalue()[-20000:]}) + "\n")
    answer.flush()
'''


class Worker:
    RESTART_AFTER = 150  # cases; memory and state stay bounded

    def __init__(self, env: dict, log: Path):
        self.env, self.log, self.p, self.done = env, log, None, 0

    def start(self) -> None:
        self.errfile = open(self.log, "ab")
        self.p = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.errfile, env=self.env)
        self.done = 0

    def stop(self) -> None:
        if self.p is not None:
            self.p.kill()
            self.p.wait()
            self.errfile.close()
            self.p = None

    def ask(self, case: dict) -> tuple[int | None, str, str, float]:
        """(rc, stdout, stderr, seconds); rc None: a hang (the worker killed) or a dead worker."""
        if self.p is None or self.done >= self.RESTART_AFTER:
            self.stop()
            self.start()
        t0 = time.monotonic()
        self.p.stdin.write((json.dumps({"argv": case["argv"], "cwd": case["cwd"]}) + "\n").encode())
        self.p.stdin.flush()
        fd, buf = self.p.stdout.fileno(), b""
        while not buf.endswith(b"\n"):
            left = t0 + TIMEOUT - time.monotonic()
            ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                self.stop()
                return None, "", f"hang (> {TIMEOUT} s)", TIMEOUT
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                code = self.p.poll()
                self.stop()
                return None, "", f"worker died (exit {code}; see {self.log})", time.monotonic() - t0
            buf += chunk
        self.done += 1
        r = json.loads(buf)
        return r["rc"], r["out"], r["err"], time.monotonic() - t0


def judge(case: dict, rc: int | None, out: str | None, err: str) -> list[str]:
    """What is wrong with one case's outcome (empty: nothing)."""
    problems = []
    if rc is None:
        return [err]
    if "Traceback" in err:
        problems.append("traceback")
    errors = [l for l in err.splitlines() if l.startswith("error:")]
    if case["stdout"] != "pipe":
        if rc == 0:
            problems.append("exit 0 although stdout could not be written")
        elif len(errors) != 1:
            problems.append(f"exit {rc} with {len(errors)} error: lines")
    elif rc == 2:
        if len(errors) != 1:
            problems.append(f"exit 2 with {len(errors)} error: lines")
    elif rc == 0 or (rc == 1 and case["argv"][:1] == ["presets"] and "--check" in case["argv"]):
        if errors:
            problems.append("exit 0 with an error: line")
        if "--json" in case["argv"]:
            try:
                obj = _strict_json(out)
                if not isinstance(obj, dict):
                    problems.append("JSON is not an object")
            except ValueError as e:
                problems.append(f"bad JSON: {e}"[:120])
        elif NONFINITE.search(EXPLAINED.sub("", out)) and not any(
                l.startswith("warning:") and SAYS_NONFINITE.search(l) for l in err.splitlines()):
            problems.append(f"non-finite in text: {NONFINITE.search(EXPLAINED.sub('', out)).group(0)!r}")
        if not out.strip() and not case["writes"]:
            problems.append("exit 0 with nothing on stdout")
    else:
        problems.append(f"exit {rc}")
    return problems


# ----------------------------------------------------------------------------------------------- library cases
LIBRARY = r'''
import json, math, signal, sys, traceback, warnings
import numpy as np
import optimal as op
from optimal.errors import OptimalError
warnings.simplefilter("ignore")
fit_path = sys.argv[1]

class Hang(Exception):
    pass

def alarm(*_):
    raise Hang()

signal.signal(signal.SIGALRM, alarm)

def finite_numbers(x, depth=0):
    """Yields (path, value) of every non-finite float in a result's to_dict() (None is fine: n/a)."""
    if depth > 8:
        return
    if isinstance(x, float) and not math.isfinite(x):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from finite_numbers(v, depth + 1)
    elif isinstance(x, (list, tuple)):
        for v in x[:50]:
            yield from finite_numbers(v, depth + 1)

results = []
def case(name, fn):
    signal.alarm(60)
    try:
        r = fn()
        signal.alarm(0)
        d = r.to_dict() if hasattr(r, "to_dict") else r
        try:
            d = json.loads(json.dumps(d, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
        except Exception as e:
            results.append((name, f"to_dict not serialisable: {type(e).__name__}: {e}"[:200])); return
        bad = list(finite_numbers(d))
        warned = hasattr(r, "warnings") and bool(getattr(r, "warnings"))
        if bad and not warned:
            results.append((name, f"silent non-finite value(s) {bad[:3]}"))
        else:
            results.append((name, None))
    except Hang:
        results.append((name, "hang (> 60 s)"))
    except OptimalError:
        signal.alarm(0)
        results.append((name, None))
    except Exception as e:
        signal.alarm(0)
        results.append((name, f"{type(e).__name__}: {e}"[:200]))

law = op.preset("epoch2024")
fit = op.load_fit(fit_path)
E = [0.0, -0.0, 1e-320, 1e308, float("inf"), float("nan"), -1.0, 10**400]
for v in E:
    case(f"compute_optimal(law, {v!r:.20})", lambda: op.compute_optimal(law, v))
    case(f"compute_for_loss(law, {v!r:.20})", lambda: op.compute_for_loss(law, v))
    case(f"shape_for_params({v!r:.20})", lambda: op.shape_for_params(v))
    case(f"parameter_count(d_model={v!r:.20})", lambda: op.parameter_count(op.TransformerShape(n_layer=12, d_model=v, n_heads=8, vocab_size=32000)))
    case(f"plan_training(law, compute={v!r:.20})", lambda: op.plan_training(law, compute=v))
    case(f"predict(fit, N={v!r:.20})", lambda: op.predict(fit, v, 1e10))
    case(f"inference_optimal(law, 1e23, T={v!r:.20})", lambda: op.inference_optimal(law, compute=1e23, inference_tokens=v))
    case(f"data_constrained_optimal(1e23, U={v!r:.20})",
         lambda: op.data_constrained_optimal(op.preset("muennighoff2023"), 1e23, v))
    case(f"compute_optimal(Chinchilla(E={v!r:.20}))",
         lambda: op.compute_optimal(op.Chinchilla(E=v, A=406.4, B=410.7, alpha=0.34, beta=0.28), 1e23))
    case(f"synthetic_runs(n={v!r:.20})", lambda: op.synthetic_runs(truth=law, noise=v))
    case(f"hardware_estimate(1e23, mfu={v!r:.20})", lambda: op.hardware_estimate(1e23, mfu=v))
    case(f"training_memory(N={v!r:.20})", lambda: op.training_memory(v))
    case(f"weight_bytes({v!r:.20})", lambda: op.weight_bytes(v))
    case(f"fit(N=[{v!r:.20}, ...])", lambda: op.fit(np.array([v, 1e9, 2e9, 3e9]), np.array([1e10] * 4), np.array([3.0, 2.9, 2.8, 2.7])))
    case(f"suggest(fit, {v!r:.20})", lambda: op.suggest(fit, v, 1e20))
case("compute_optimal(law, [])", lambda: op.compute_optimal(law, []))
case("compute_optimal(law, [[1e21]])", lambda: op.compute_optimal(law, [[1e21, 1e22]]))
case("compute_optimal(law, '1e23')", lambda: op.compute_optimal(law, "1e23"))
case("compute_optimal(law, True)", lambda: op.compute_optimal(law, True))
case("compute_optimal(law, 1e23, max_tokens=0)", lambda: op.compute_optimal(law, 1e23, max_tokens=0))
case("compute_optimal(law, 1e23, max_params=1e-320)", lambda: op.compute_optimal(law, 1e23, max_params=1e-320))
case("preset('')", lambda: op.preset(""))
case("accelerator('')", lambda: op.accelerator(""))
case("read_runs_csv('/dev/zero')", lambda: op.read_runs_csv("/dev/zero"))
case("read_runs_csv('/')", lambda: op.read_runs_csv("/"))
case("parse_where('')", lambda: op.parse_where(""))
case("parse_where('N>')", lambda: op.parse_where("N>"))
case("load_fit('/dev/null')", lambda: op.load_fit("/dev/null"))
case("load_fit('/')", lambda: op.load_fit("/"))
case("save_fit(fit, '/dev/full')", lambda: op.save_fit(fit, "/dev/full"))
case("save_fit(fit, '/')", lambda: op.save_fit(fit, "/"))
case("bootstrap(fit, n_resamples=0)", lambda: op.bootstrap(fit, n_resamples=0))
case("bootstrap(fit, n_resamples=-1)", lambda: op.bootstrap(fit, n_resamples=-1))
case("bootstrap(fit, n_resamples=2, confidence=1.0)", lambda: op.bootstrap(fit, n_resamples=2, confidence=1.0))
case("fit(Runs 3 rows)", lambda: op.fit([1e8, 2e8, 3e8], [1e9, 2e9, 3e9], [3.0, 2.9, 2.8]))
case("fit(Runs equal rows)", lambda: op.fit(np.full(20, 1e8), np.full(20, 1e9), np.full(20, 3.0)))
case("isoflop(Runs 3 rows)", lambda: op.isoflop(op.Runs(np.array([1e8, 2e8, 3e8]), np.array([1e9, 2e9, 3e9]), np.array([3.0, 2.9, 2.8]), np.ones(3), None)))
case("validate(Runs 3 rows)", lambda: op.validate([1e8, 2e8, 3e8], [1e9, 2e9, 3e9], [3.0, 2.9, 2.8], largest=1))
case("law_from_dict({})", lambda: op.law_from_dict({}))
case("law_from_dict(nan)", lambda: op.law_from_dict({"law": "chinchilla", "E": float("nan"), "A": 1, "B": 1, "alpha": .3, "beta": .3}))
case("kv_cache_bytes(nan)", lambda: op.kv_cache_bytes(op.shape_for_params(1e9), float("nan")))
case("estimate_cost(runs, n_starts=0)", lambda: op.estimate_cost(op.read_runs_csv(sys.argv[2]), n_resamples=0))
def dataclasses_replace(law, **changes):  # the laws are NamedTuples
    return law._replace(**changes)
# the entry points added since the first pass
from optimal.analysis.hparam_sweep import hparam_sweep, hparam_at
from optimal.analysis.flop_audit import synthetic_shaped_runs
from optimal.planning import hyperparameters
from optimal.laws.moe import KRAJEWSKI2024, LUDZIEJEWSKI2025
runs = op.read_runs_csv(sys.argv[2])
curves = op.synthetic_curves(sizes=(3e7, 1e8, 3e8, 1e9, 3e9), horizons=(10.0, 40.0), checkpoints=8)
shaped, shapes, contexts = synthetic_shaped_runs(12, noise=0.005, seed=0)
good_cfg = sys.argv[3]
prec = op.PrecisionLaw(E=1.8, A=400.0, B=400.0, alpha=0.3, beta=0.3, gamma_w=2.5, gamma_a=2.5, gamma_kv=2.5)
for v in E:
    case(f"best_run(deadline_days={v!r:.20})", lambda: op.best_run(law, op.Constraints(deadline_days=v, n_accelerators=1024)))
    case(f"best_run(max_cost={v!r:.20})", lambda: op.best_run(law, op.Constraints(max_cost=v, n_accelerators=64)))
    case(f"best_run(max_energy_mwh={v!r:.20})", lambda: op.best_run(law, op.Constraints(max_energy_mwh=v, n_accelerators=64)))
    case(f"best_run(n_accelerators={v!r:.20})", lambda: op.best_run(law, op.Constraints(deadline_days=30, n_accelerators=v)))
    case(f"best_run(unique_tokens={v!r:.20})", lambda: op.best_run(op.preset("muennighoff2023"), op.Constraints(deadline_days=30, n_accelerators=64, unique_tokens=v)))
    case(f"best_run(mfu={v!r:.20})", lambda: op.best_run(law, op.Constraints(deadline_days=30, n_accelerators=64), mfu=v))
    case(f"hparam_sweep(lr=[{v!r:.20}, ...])", lambda: hparam_sweep(np.repeat([1e7, 1e8, 1e9], 5), np.repeat([1e9, 1e10, 1e11], 5), np.array([v] + [1e-3 * 2.0 ** (i % 5) for i in range(1, 15)]), 3.0 + 0.05 * (np.arange(15) % 5 - 2.0) ** 2, n_resamples=5))
    case(f"hparam_sweep(confidence={v!r:.20})", lambda: hparam_sweep(np.repeat([1e7, 1e8, 1e9], 5), np.repeat([1e9, 1e10, 1e11], 5), np.array([1e-3 * 2.0 ** (i % 5) for i in range(15)]), 3.0 + 0.05 * (np.arange(15) % 5 - 2.0) ** 2, n_resamples=5, confidence=v))
    case(f"hyperparameters(compute={v!r:.20})", lambda: hyperparameters(compute=v))
    case(f"hyperparameters(n_params={v!r:.20})", lambda: hyperparameters(n_params=v, n_tokens=1e10))
    case(f"hyperparameters(context={v!r:.20})", lambda: hyperparameters(compute=1e22, context=v))
    case(f"flops_per_token(context={v!r:.20})", lambda: op.flops_per_token(op.shape_for_params(1e9), v))
    case(f"flop_audit(compute={v!r:.20})", lambda: op.flop_audit(shaped, shapes, contexts, compute=v))
    case(f"envelope(flops_per_param_token={v!r:.20})", lambda: op.envelope(curves, flops_per_param_token=v, parametric="none"))
    case(f"envelope(budgets=[{v!r:.20}])", lambda: op.envelope(curves, budgets=[v], parametric="none"))
    case(f"envelope(targets=[{v!r:.20}])", lambda: op.envelope(curves, targets=[v], parametric="none"))
    case(f"moe_optimal(krajewski, {v!r:.20})", lambda: op.moe_optimal(KRAJEWSKI2024, v, expansion=64))
    case(f"moe_optimal(krajewski, expansion={v!r:.20})", lambda: op.moe_optimal(KRAJEWSKI2024, 1e22, expansion=v))
    case(f"best_experts(ludziejewski, {v!r:.20})", lambda: op.best_experts(LUDZIEJEWSKI2025, v))
    case(f"JointMoE(experts={v!r:.20}).loss", lambda: op.compute_optimal(dataclasses_replace(LUDZIEJEWSKI2025, experts=v), 1e22))
    case(f"precision_optimal(seconds={v!r:.20})", lambda: op.precision_optimal(prec, v, 1e15))
    case(f"precision_optimal(flops/s={v!r:.20})", lambda: op.precision_optimal(prec, 1e7, v))
    case(f"PrecisionLaw(weight_bits={v!r:.20})", lambda: op.compute_optimal(dataclasses_replace(prec, weight_bits=v), 1e22))
    case(f"snap_to_shape(law, {v!r:.20})", lambda: op.snap_to_shape(law, v))
    case(f"snap_to_shape(aspect_ratio={v!r:.20})", lambda: op.snap_to_shape(law, 1e22, aspect_ratio=v))
    case(f"serving_cost({v!r:.20})", lambda: op.serving_cost(v))
    case(f"serving_cost(decode_batch={v!r:.20})", lambda: op.serving_cost(7e9, decode_batch=v))
    case(f"serving_cost(bandwidth={v!r:.20})", lambda: op.serving_cost(7e9, bandwidth_bytes_per_second=v))
    case(f"activation_memory(micro_batch={v!r:.20})", lambda: op.activation_memory(op.shape_for_params(7e9), v, 2048))
    case(f"activation_memory(context={v!r:.20})", lambda: op.activation_memory(op.shape_for_params(7e9), 1, v))
    case(f"search_layouts(n_accelerators={v!r:.20})", lambda: op.search_layouts(7e9, op.shape_for_params(7e9), v, "h100", 2048))
    case(f"decide(fit draws, {v!r:.20})", lambda: op.decide(op.load_bootstrap(fit_path), v))
    case(f"replicate_noise(runs with loss {v!r:.20})", lambda: op.replicate_noise(op.Runs(np.array([1e8, 1e8, 2e8, 2e8]), np.array([1e9, 1e9, 2e9, 2e9]), np.array([3.0, v, 2.8, 2.81]), np.ones(4), None)))
case("replicate_noise(runs without replicates)", lambda: op.replicate_noise(runs))
case("replicate_noise(runs, fit)", lambda: op.replicate_noise(runs, fit))
case("replicate_noise(runs, 'x')", lambda: op.replicate_noise(runs, "x"))
case("read_hf_config(good)", lambda: op.read_hf_config(good_cfg).to_dict())
for bad in ["/dev/zero", "/", "/dev/null", "/nonexistent/config.json", "", 7, None, b"x"]:
    case(f"read_hf_config({bad!r})", lambda: op.read_hf_config(bad))
for data in [{}, [], None, "x", {"model_type": "llama"}, {"model_type": "llama", "num_hidden_layers": float("nan")},
             {"model_type": "llama", "num_hidden_layers": 10**400, "hidden_size": 64, "num_attention_heads": 1,
              "vocab_size": 10, "intermediate_size": 10}]:
    case(f"hf_config_from_dict({str(data)[:30]})", lambda: __import__("optimal.planning.hf_config", fromlist=["x"]).hf_config_from_dict(data))
case("read_shaped_runs('/dev/zero')", lambda: op.read_shaped_runs("/dev/zero"))
case("read_curves_csv('/dev/zero')", lambda: op.read_curves_csv("/dev/zero"))
case("flop_audit(shapes short)", lambda: op.flop_audit(shaped, shapes[:3], contexts))
case("flop_audit(mask='zz')", lambda: op.flop_audit(shaped, shapes, contexts, mask="zz"))
case("flop_audit(n_resamples=1)", lambda: op.flop_audit(shaped, shapes, contexts, n_resamples=1))
case("envelope(parametric='zz')", lambda: op.envelope(curves, parametric="zz"))
case("envelope(grid_points=0)", lambda: op.envelope(curves, grid_points=0, parametric="none"))
case("envelope(grid_points=10**9)", lambda: op.envelope(curves, grid_points=10**9, parametric="none"))
case("envelope(n_resamples=-1)", lambda: op.envelope(curves, n_resamples=-1, parametric="none"))
case("hparam_sweep(param='zz')", lambda: hparam_sweep([1e8], [1e9], [1e-3], [3.0], param="zz"))
case("hparam_sweep(empty)", lambda: hparam_sweep([], [], [], []))
case("hparam_at(compute=nan)", lambda: hparam_at(hparam_sweep(np.repeat([1e7, 1e8, 1e9], 5), np.repeat([1e9, 1e10, 1e11], 5), np.array([1e-3 * 2.0 ** (i % 5) for i in range(15)]), 3.0 + 0.05 * (np.arange(15) % 5 - 2.0) ** 2, n_resamples=0), compute=float("nan")))
case("hyperparameters('zz')", lambda: hyperparameters("zz", compute=1e22))
case("best_run(no constraint)", lambda: op.best_run(law, op.Constraints()))
case("best_run(all three)", lambda: op.best_run(law, op.Constraints(deadline_days=1e-9, max_cost=1e-9, max_energy_mwh=1e-9, n_accelerators=1)))
case("fit(robust asymmetric-huber:0)", lambda: op.fit(runs.n_params, runs.n_tokens, runs.loss, objective=op.Objective(robust="asymmetric-huber:0")))
case("fit(fixed beta=1e-320)", lambda: op.fit(runs.n_params, runs.n_tokens, runs.loss, fix={"beta": 1e-320}))
case("fit(fixed alpha=5e-324)", lambda: op.fit(runs.n_params, runs.n_tokens, runs.loss, fix={"alpha": 5e-324}))
case("fit(fixed A=1e308)", lambda: op.fit(runs.n_params, runs.n_tokens, runs.loss, fix={"A": 1e308}))
case("fit(fixed E=1e-320)", lambda: op.fit(runs.n_params, runs.n_tokens, runs.loss, fix={"E": 1e-320}))
# the entry points and paths added in the last round, and hostile Python values for those not reached above
from optimal.fitting.bootstrap import Refit
runs = op.read_runs_csv(sys.argv[2])
fit = op.load_fit(fit_path)
boot = op.load_bootstrap(fit_path)
S = op.Search(n_polish=2)
small = op.fit(runs.n_params, runs.n_tokens, runs.loss, search=S)
iso = op.isoflop_runs(seed=0)
HOSTILE = {"None": None, "'3'": "3", "nan": float("nan"), "inf": float("inf"), "[]": [], "0-d": np.array(3),
           "True": True, "-1": -1, "10**12": 10**12, "2.5": 2.5, "10**400": 10**400}
for label, v in HOSTILE.items():
    case(f"bootstrap(n_resamples={label})", lambda: op.bootstrap(small, n_resamples=v, refit=Refit(n_starts=1, max_iter=50)))
    case(f"bootstrap(seed={label})", lambda: op.bootstrap(small, n_resamples=3, seed=v, refit=Refit(n_starts=1, max_iter=50)))
    case(f"bootstrap(confidence={label})", lambda: op.bootstrap(small, n_resamples=3, confidence=v, refit=Refit(n_starts=1, max_iter=50)))
    case(f"bootstrap(groups={label})", lambda: op.bootstrap(small, n_resamples=3, groups=v, refit=Refit(n_starts=1, max_iter=50)))
    case(f"isoflop(n_resamples={label})", lambda: op.isoflop(iso, n_resamples=v, parametric=False))
    case(f"isoflop(seed={label})", lambda: op.isoflop(iso, n_resamples=3, seed=v, parametric=False))
    case(f"isoflop(tolerance={label})", lambda: op.isoflop(iso, tolerance=v, parametric=False))
    case(f"isoflop(targets={label})", lambda: op.isoflop(iso, targets=v, parametric=False))
    case(f"isoflop(interval={label})", lambda: op.isoflop(iso, n_resamples=3, interval=v, parametric=False))
    case(f"isoflop(calibrated, confidence={label})", lambda: op.isoflop(iso, n_resamples=3, interval="calibrated", confidence=v, parametric=False))
    case(f"isoflop(compute={label})", lambda: op.isoflop(iso, compute=v, parametric=False))
    case(f"isoflop(clusters={label})", lambda: op.isoflop(iso, n_resamples=3, clusters=v, parametric=False))
    case(f"validate(largest={label})", lambda: op.validate(runs.n_params, runs.n_tokens, runs.loss, largest=v, search=S))
    case(f"validate(simulations={label})", lambda: op.validate(runs.n_params, runs.n_tokens, runs.loss, largest=3, simulations=v, search=S))
    case(f"validate(n_resamples={label})", lambda: op.validate(runs.n_params, runs.n_tokens, runs.loss, largest=3, n_resamples=v, simulations=0, search=S))
    case(f"validate(seed={label})", lambda: op.validate(runs.n_params, runs.n_tokens, runs.loss, largest=3, seed=v, simulations=0, search=S))
    case(f"validate(against={label})", lambda: op.validate(runs.n_params, runs.n_tokens, runs.loss, largest=3, against=v, search=S))
    case(f"predict(fit, confidence={label})", lambda: op.predict(fit, 1e9, 1e10, confidence=v))
    case(f"predict(fit, N={label})", lambda: op.predict(fit, v, 1e10))
    case(f"predicted_sd(fit, {label})", lambda: op.predicted_sd(fit, v))
    case(f"suggest(fit, n={label})", lambda: op.suggest(fit, 1e21, 1e20, n=v, n_resamples=0))
    case(f"suggest(fit, n_resamples={label})", lambda: op.suggest(fit, 1e21, 1e20, n_resamples=v))
    case(f"suggest(fit, seed={label})", lambda: op.suggest(fit, 1e21, 1e20, n_resamples=3, seed=v))
    case(f"suggest(fit, candidates={label})", lambda: op.suggest(fit, 1e21, 1e20, candidates=v, n_resamples=0))
    case(f"suggest(fit, min_tokens_per_param={label})", lambda: op.suggest(fit, 1e21, 1e20, min_tokens_per_param=v, n_resamples=0))
    case(f"estimate_cost({label})", lambda: op.estimate_cost(v))
    case(f"estimate_cost(84, n_resamples={label})", lambda: op.estimate_cost(84, n_resamples=v))
    case(f"sweep(delta=[{label}])", lambda: op.sweep(runs.n_params, runs.n_tokens, runs.loss, delta=[v], search=S))
    case(f"sweep(drop_smallest=[{label}])", lambda: op.sweep(runs.n_params, runs.n_tokens, runs.loss, drop_smallest=[v], search=S))
    case(f"allocate_draws(boot, {label})", lambda: op.allocate_draws(boot, v))
    case(f"delta_method_se(boot, {label})", lambda: op.delta_method_se(boot, v))
    case(f"closed_form(law, {label})", lambda: op.closed_form(op.preset("epoch2024"), v))
    case(f"decide(boot, 1e23, rule={label})", lambda: op.decide(boot, 1e23, rule=v))
    case(f"decide(boot, 1e23, confidence={label})", lambda: op.decide(boot, 1e23, confidence=v))
    case(f"compare(boot, boot, [{label}])", lambda: op.compare(boot, boot, [v]))
    case(f"recommend(fit, {label})", lambda: op.recommend(fit, v))
    case(f"isoflop_runs(n_sizes={label})", lambda: op.isoflop_runs(n_sizes=v))
    case(f"isoflop_runs(noise={label})", lambda: op.isoflop_runs(noise=v))
    case(f"synthetic_runs(n_runs={label})", lambda: op.synthetic_runs(n_runs=v))
    case(f"synthetic_runs(seed={label})", lambda: op.synthetic_runs(seed=v))
    case(f"synthetic_curves(checkpoints={label})", lambda: op.synthetic_curves(checkpoints=v))
    case(f"moe_total_params({label}, 8)", lambda: op.moe_total_params(v, 8))
    case(f"kv_cache_bytes(shape, {label})", lambda: op.kv_cache_bytes(op.shape_for_params(1e9), v))
    case(f"compare_presets({label})", lambda: op.compare_presets(v))
    case(f"law_from_dict(E={label})", lambda: op.law_from_dict({"law": "chinchilla", "E": v, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}))
    case(f"validate_runs(N=[{label}])", lambda: op.validate_runs([v, 1e8, 2e8, 3e8, 4e8, 5e8, 6e8], [1e9] * 7, [3.0] * 7))
    case(f"fit(weights={label})", lambda: op.fit(runs.n_params, runs.n_tokens, runs.loss, v, search=S))
    case(f"fit(fix={{'alpha': {label}}})", lambda: op.fit(runs.n_params, runs.n_tokens, runs.loss, fix={"alpha": v}, search=S))
    case(f"fit(law={label})", lambda: op.fit(runs.n_params, runs.n_tokens, runs.loss, law=v, search=S))
    case(f"Objective(delta={label})", lambda: op.fit(runs.n_params, runs.n_tokens, runs.loss, objective=op.Objective(delta=v), search=S))
    case(f"Search(n_polish={label})", lambda: op.fit(runs.n_params, runs.n_tokens, runs.loss, search=op.Search(n_polish=v)))
    case(f"Solver(max_iter={label})", lambda: op.fit(runs.n_params, runs.n_tokens, runs.loss, search=S, solver=op.Solver(max_iter=v)))
# asymmetric loss: predict from a fit with an asymmetric objective
asym = op.fit(runs.n_params, runs.n_tokens, runs.loss, objective=op.Objective(robust="asymmetric-huber:0.9"), search=S)
for label, v in HOSTILE.items():
    case(f"predict(asymmetric fit, N={label})", lambda: op.predict(asym, v, 1e10))
    case(f"predict(asymmetric fit, confidence={label})", lambda: op.predict(asym, 1e9, 1e10, confidence=v))
for r in ["asymmetric-huber:1e-300", "asymmetric-huber:0.9999999999", "asymmetric-huber:1e-17", "asymmetric-huber: 0.5", "asymmetric-huber:0x1p-1", "asymmetric-huber:True", "asymmetric-huber:0.5:0.5", "ASYMMETRIC-HUBER:0.5"]:
    case(f"fit(robust={r!r}) then predict", lambda: op.predict(op.fit(runs.n_params, runs.n_tokens, runs.loss, objective=op.Objective(robust=r), search=S), 1e9, 1e10))
# columns= (repeated-data design check)
n = len(runs.loss)
D = runs.n_tokens
for label, cols in [("list", [D / 2]), ("str", "U"), ("U short", {"U": D[:3]}), ("U 0-d", {"U": np.array(1.0)}),
                    ("U 2-d", {"U": np.stack([D, D])}), ("U objects", {"U": [object()] * n}), ("U None", {"U": None}),
                    ("U bools", {"U": [True] * n}), ("U ints beyond float64", {"U": [10**400] * n}),
                    ("U negative", {"U": -D}), ("U nan", {"U": np.full(n, np.nan)}), ("U inf", {"U": np.full(n, np.inf)}),
                    ("U text", {"U": ["abc"] * n}), ("U > D", {"U": D * 10}), ("U and u disagree", {"U": D / 2, "u": D * 2}),
                    ("U and epochs disagree", {"U": D, "epochs": np.full(n, 40.0)}), ("epochs 0", {"epochs": np.zeros(n)}),
                    ("epochs dicts", {"epochs": [{}] * n}), ("unique mixed", {"unique": [1e9, "x", None, np.nan] * (n // 4)}),
                    ("None key", {None: D}), ("U generator", {"U": (x for x in D)})]:
    case(f"fit(columns={label})", lambda: op.fit(runs.n_params, runs.n_tokens, runs.loss, columns=cols, search=S))
    case(f"fit_groups(columns={label})", lambda: op.fit_groups(runs.n_params, runs.n_tokens, runs.loss, groups=np.arange(n) % 2, columns=cols, search=S))
    case(f"validate(columns={label})", lambda: op.validate(runs.n_params, runs.n_tokens, runs.loss, largest=3, columns=cols, simulations=0, search=S))
    case(f"validate_groups(columns={label})", lambda: op.validate_groups(runs.n_params, runs.n_tokens, runs.loss, groups=np.arange(n) % 2, largest=3, columns=cols, simulations=0, search=S))
case("validate_groups(compute short)", lambda: op.validate_groups(runs.n_params, runs.n_tokens, runs.loss, groups=np.arange(n) % 2, largest=3, compute=[1e20] * 3, simulations=0, search=S))
case("validate_groups(covariates='U')", lambda: op.validate_groups(runs.n_params, runs.n_tokens, runs.loss, groups=np.arange(n) % 2, largest=3, covariates="U", simulations=0, search=S))
case("bootstrap_groups(wild='zz')", lambda: op.bootstrap_groups(op.fit_groups(runs.n_params, runs.n_tokens, runs.loss, groups=np.arange(n) % 2, search=S), n_resamples=3, wild="zz"))
case("bootstrap_groups(wild=True)", lambda: op.bootstrap_groups(op.fit_groups(runs.n_params, runs.n_tokens, runs.loss, groups=np.arange(n) % 2, search=S), n_resamples=3, wild=True))
case("bootstrap_groups(not GroupFits)", lambda: op.bootstrap_groups(small, n_resamples=3))
# isoflop designs
def design(budgets, sizes, negative=False):
    N, Dt, L = [], [], []
    for C in budgets:
        for s in sizes(C):
            N.append(s); Dt.append(C / (6 * s)); L.append(1.7 + 400 / s ** 0.34 + 410 / (C / (6 * s)) ** 0.28)
    return np.array(N), np.array(Dt), np.array(L)
geo = lambda C, m=7: [(C / 6) ** 0.5 * 10 ** (-1.5 + 3 * i / (m - 1)) for i in range(m)]
for label, (b, sz) in {"3 runs a budget": ([1e18, 1e19, 1e20], lambda C: geo(C, 3)),
                       "one size": ([1e18, 1e19, 1e20], lambda C: [1e8] * 5),
                       "two budgets within tolerance": ([1e19, 1.01e19, 1e20], geo),
                       "one budget": ([1e19], geo), "1e300 budgets": ([1e300, 1e301, 1e302], geo)}.items():
    for interval in ["percentile", "calibrated"]:
        case(f"isoflop({label}, {interval})", lambda: op.isoflop(*design(b, sz), n_resamples=5, interval=interval, parametric=False))
case("isoflop(negative compute)", lambda: op.isoflop(iso, compute=-np.asarray(iso.n_params) * np.asarray(iso.n_tokens) * 6, parametric=False))
print(json.dumps(results))
'''


def run_library(f: dict[str, str], env: dict) -> list[tuple[str, str | None]]:
    p = subprocess.run([sys.executable, "-c", LIBRARY, f["fit"], f["runs"], f["cfg_good.json"]], capture_output=True, env=env,
                       timeout=3600)
    if p.returncode != 0:
        return [("library process", f"exit {p.returncode}: {p.stderr.decode()[-600:]}")]
    return [tuple(x) for x in json.loads(p.stdout.decode().strip().splitlines()[-1])]


def run_in_worker(case: dict, pool: "queue.Queue[Worker]") -> dict:
    worker = pool.get()
    try:
        rc, out, err, secs = worker.ask(case)
    finally:
        pool.put(worker)
    return {**case, "problems": judge(case, rc, out, err), "rc": rc, "secs": round(secs, 1), "worker": True,
            "err_tail": err.strip().splitlines()[-1:] if err.strip() else []}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="run only the CLI cases whose name contains this")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-library", action="store_true")
    ap.add_argument("--no-cli", action="store_true")
    ap.add_argument("--new-only", action="store_true", help="only the CLI cases of the paths added last "
                    "(new_path_cases) and the records they read")
    ap.add_argument("--isolated", action="store_true", help="every CLI case in a fresh process (slow)")
    ap.add_argument("--list", action="store_true", help="print the CLI cases' names and stop")
    ap.add_argument("--out", default=None, help="write every CLI case's outcome here (JSON lines)")
    ap.add_argument("--tmp", default=None, help="fixture folder (kept; default: a fresh temporary one)")
    args = ap.parse_args()
    tmp = Path(args.tmp or tempfile.mkdtemp(prefix="optimal-fuzz-"))
    tmp.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore::RuntimeWarning:runpy"}
    f = make_fixtures(tmp)
    make_more_fixtures(tmp, f)
    make_new_path_fixtures(tmp, f)
    if args.list:
        class Names(dict):  # the fit records are not made for a listing: their names stand in
            def __missing__(self, key):
                return key

        f = Names(f)
        for c in cli_cases(f, tmp) + option_cases(f, tmp) + new_path_cases(f, tmp):
            print(c["name"])
        return
    make_fit_records(tmp, f)
    failures = 0
    if not args.no_cli:
        cases = [c for c in ([] if args.new_only else option_cases(f, tmp) + cli_cases(f, tmp))
                 + new_path_cases(f, tmp) if args.only in c["name"]]
        if args.new_only:  # the records the new cases read
            cases += [c for c in cli_cases(f, tmp) if c["name"].startswith("fit dc")]
        # the data-constrained fit others read goes first; then the cases from the parser, the quick commands first
        heavy = ("fit", "validate", "isoflop", "audit", "envelope")
        cases.sort(key=lambda c: (not c["name"].startswith("fit dc"), not c["name"].startswith("[opt]"),
                                  c["argv"][:1] != [] and c["argv"][0] in heavy))
        for c in cases:
            c["cwd"] = str(tmp)

        def report(r: dict) -> dict:
            if r["problems"]:
                print(f"FAIL [{r['rc']}] {r['name']}: {'; '.join(r['problems'])}  {r.get('err_tail', '')}", flush=True)
            return r

        first = sum(c["name"].startswith("fit dc") for c in cases)  # the records others read
        done = [report(run_cli(c, env)) for c in cases[:first]]
        isolated = [c for c in cases[first:] if args.isolated or c["stdout"] != "pipe"]
        shared = [c for c in cases[first:] if not (args.isolated or c["stdout"] != "pipe")]
        workers: queue.Queue = queue.Queue()
        for i in range(args.jobs):
            workers.put(Worker(env, tmp / f"worker{i}.log"))
        t0 = time.monotonic()
        with ThreadPoolExecutor(args.jobs) as pool:
            futures = [pool.submit(run_in_worker, c, workers) for c in shared]
            futures += [pool.submit(run_cli, c, env) for c in isolated]
            for i, future in enumerate(as_completed(futures), 1):
                done.append(report(future.result()))
                if done[-1]["secs"] >= SLOW and not done[-1]["problems"]:
                    print(f"SLOW ({done[-1]['secs']:.0f} s) {done[-1]['name']}", flush=True)
                if i % 50 == 0:
                    print(f"... {i} of {len(futures)} cases, {time.monotonic() - t0:.0f} s", flush=True)
        while not workers.empty():
            workers.get().stop()
        # a case flagged in a worker is run again in a fresh process: what a user would meet
        flagged = [r for r in done if r["problems"] and r.get("worker")]
        if flagged:
            print(f"confirming {len(flagged)} flagged case(s) in fresh processes", flush=True)
        for r in flagged:
            again = run_cli({k: r[k] for k in ("name", "argv", "stdout", "writes", "cwd")}, env)
            r["confirmed"] = bool(again["problems"])
            print(f"{'CONFIRMED' if r['confirmed'] else 'NOT CONFIRMED'} {r['name']}: {'; '.join(again['problems'])}",
                  flush=True)
        if args.out:
            with open(args.out, "w") as out:
                for r in done:
                    out.write(json.dumps({k: r.get(k) for k in ("name", "argv", "rc", "secs", "problems", "confirmed",
                                                                "err_tail")}) + "\n")
        codes = {}
        for r in done:
            codes[r["rc"]] = codes.get(r["rc"], 0) + 1
        print("exit codes: " + ", ".join(f"{k}: {v}" for k, v in sorted(codes.items(), key=str)), flush=True)
        n_bad = sum(bool(r["problems"]) and r.get("confirmed", True) for r in done)
        failures += n_bad
        print(f"CLI: {len(done)} cases ({len(shared)} in workers), {n_bad} flagged"
              f" ({sum(bool(r['problems']) for r in done)} before confirming)", flush=True)
    if not args.no_library and not args.only:
        lib = run_library(f, env)
        for name, problem in lib:
            if problem:
                failures += 1
                print(f"FAIL library {name}: {problem}", flush=True)
        print(f"library: {len(lib)} cases, {sum(bool(p) for _, p in lib)} flagged", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
