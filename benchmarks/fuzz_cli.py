"""A fuzz pass over every ``optimal`` command and the main Python entry points (issue 20, Deliver 5).

Not part of the test suite: run it by hand from the repository root,

    PYTHONPATH=$PWD nice -n 19 python benchmarks/fuzz_cli.py [--only SUBSTRING] [--jobs 2]

Each CLI case runs ``python -m optimal`` in a fresh process with a 60 s timeout and is flagged when
  - it hangs (timeout),
  - stderr holds a traceback,
  - it exits with a code other than 0 or 2 (cases whose stdout cannot be written may exit non-zero, but must
    still print one ``error:`` line),
  - it exits 2 without exactly one ``error:`` line on stderr,
  - it exits 0 with nan/inf where a number is claimed (text), or with JSON that is not one strict object,
  - it exits 0 with nothing on stdout (unless the case writes a file or stdout is redirected).
The library cases run in one process, each under an alarm; they are flagged when they raise anything but an
``OptimalError`` (or TypeError/ValueError from a misuse of Python itself), hang, or return non-finite numbers.

Results of the pass that produced this file (2026-12-04, branch ``fuzz`` off ``integ``): see ``RESULTS`` below.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RESULTS = """
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
TIMEOUT = 60
NONFINITE = re.compile(r"(?<![A-Za-z_])[-+]?(nan|inf|infinity)(?![A-Za-z_])", re.IGNORECASE)


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
        p = tmp / name
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")
        f[name] = str(p)

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
    problems = []
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
    elif rc == 0:
        if errors:
            problems.append("exit 0 with an error: line")
        if "--json" in case["argv"]:
            try:
                obj = _strict_json(out)
                if not isinstance(obj, dict):
                    problems.append("JSON is not an object")
            except ValueError as e:
                problems.append(f"bad JSON: {e}"[:120])
        elif NONFINITE.search(out):
            problems.append(f"non-finite in text: {NONFINITE.search(out).group(0)!r}")
        if not out.strip() and not case["writes"] and "--save" not in case["argv"]:
            problems.append("exit 0 with nothing on stdout")
    else:
        problems.append(f"exit {rc}")
    return {**case, "problems": problems, "rc": rc, "secs": round(time.monotonic() - t0, 1),
            "err_tail": err.strip().splitlines()[-1:] if err.strip() else []}


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
print(json.dumps(results))
'''


def run_library(f: dict[str, str], env: dict) -> list[tuple[str, str | None]]:
    p = subprocess.run([sys.executable, "-c", LIBRARY, f["fit"], f["runs"]], capture_output=True, env=env,
                       timeout=3600)
    if p.returncode != 0:
        return [("library process", f"exit {p.returncode}: {p.stderr.decode()[-600:]}")]
    return [tuple(x) for x in json.loads(p.stdout.decode().strip().splitlines()[-1])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="run only the CLI cases whose name contains this")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-library", action="store_true")
    ap.add_argument("--no-cli", action="store_true")
    ap.add_argument("--tmp", default=None, help="fixture folder (kept; default: a fresh temporary one)")
    args = ap.parse_args()
    tmp = Path(args.tmp or tempfile.mkdtemp(prefix="optimal-fuzz-"))
    tmp.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore::RuntimeWarning:runpy"}
    f = make_fixtures(tmp)
    make_fit_records(tmp, f)
    failures = 0
    if not args.no_cli:
        cases = [c for c in cli_cases(f, tmp) if args.only in c["name"]]
        # the data-constrained fit others read goes first
        cases.sort(key=lambda c: not c["name"].startswith("fit dc"))
        for c in cases:
            c["cwd"] = str(tmp)
        first = [run_cli(c, env) for c in cases[:1]]
        def report(r: dict) -> dict:
            if r["problems"]:
                print(f"FAIL [{r['rc']}] {r['name']}: {'; '.join(r['problems'])}  {r.get('err_tail', '')}", flush=True)
            return r

        done = [report(r) for r in first]
        with ThreadPoolExecutor(args.jobs) as pool:
            done += [report(r) for r in pool.map(lambda c: run_cli(c, env), cases[1:])]
        failures += sum(bool(r["problems"]) for r in done)
        print(f"CLI: {len(done)} cases, {sum(bool(r['problems']) for r in done)} flagged", flush=True)
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
