"""``--batch``: groups and sweeps as one program against one at a time, and against the SciPy loop."""

import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import optimal
from optimal import baseline
from optimal.fitting.bootstrap import starts_for_resamples
from harness import RESULTS_DIR, environment, resample_counts


# --- batch analyses (--batch): groups and sweeps as one program vs one at a time ------------------------------

BATCH_CONFIGS = {"full": dict(rows=80, resamples=2000, rounds=3, scipy_resamples=40),
                 "smoke": dict(rows=30, resamples=16, rounds=1, scipy_resamples=2)}


def _clock(fn, rounds):
    """(first call s, median of ``rounds`` warm calls s); warnings silenced (the fits carry their own)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        fn()
        first = time.perf_counter() - t
        warm = []
        for _ in range(rounds):
            t = time.perf_counter()
            fn()
            warm.append(time.perf_counter() - t)
    return first, float(np.median(warm))


def run_batch(bc, out_dir=RESULTS_DIR):
    """3 groups x B bootstraps as one program (``bootstrap_groups``) vs three ``bootstrap`` calls; a 3 x 3 sweep
    (delta x drop-smallest, ``optimal.sweep``) vs nine ``fit`` calls. In one process: 'first' includes compiling,
    'warm' is the median of repeated calls. The separate side runs first, so a program both sides share (the
    full-data fit of the sweep's drop=0 settings) is compiled on its clock."""
    started = time.time()
    ns, ds, ls, labels = [], [], [], []
    for label, seed in (("a", 11), ("b", 12), ("c", 13)):
        runs = optimal.synthetic_runs(n_runs=bc["rows"] + 10 * seed % 7, noise=0.01, n_groups=bc["rows"] // 4, seed=seed)
        ns.append(runs.n_params), ds.append(runs.n_tokens), ls.append(runs.loss)
        labels += [label] * len(runs.loss)
    data = [np.concatenate(x) for x in (ns, ds, ls)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = optimal.fit_groups(*data, groups=np.array(labels))
    b = bc["resamples"]
    separate = _clock(lambda: [optimal.bootstrap(f, n_resamples=b, seed=0) for f in fits.values()], bc["rounds"])
    together = _clock(lambda: optimal.bootstrap_groups(fits, n_resamples=b, seed=0), bc["rounds"])
    scipy_loop = _scipy_groups(fits, bc["scipy_resamples"], b)
    programs = _groups_programs(data, labels, b)
    n, d, loss = ns[0], ds[0], ls[0]
    sizes = np.unique(n)
    settings = [(delta, k) for delta in (1e-4, 1e-3, 1e-2) for k in (0, 1, 2)]

    def nine():
        for delta, k in settings:
            keep = n > sizes[k - 1] if k else np.ones(len(n), bool)
            optimal.fit(n[keep], d[keep], loss[keep], objective=optimal.Objective(delta=delta))

    sweep_separate = _clock(nine, bc["rounds"])
    sweep_together = _clock(lambda: optimal.sweep(n, d, loss, delta=(1e-4, 1e-3, 1e-2), drop_smallest=(0, 1, 2)),
                            bc["rounds"])
    result = {
        "environment": environment(), "total_s": time.time() - started,
        "groups": {"what": f"bootstrap of 3 groups' own fits ({[len(x) for x in ns]} synthetic rows), B = {b} each",
                   "one_program": {"first_s": together[0], "warm_s": together[1]},
                   "separate": {"first_s": separate[0], "warm_s": separate[1]}, "scipy": scipy_loop,
                   "command_line": programs},
        "sweep": {"what": f"3 x 3 sweep (delta 1e-4, 1e-3, 1e-2 x drop-smallest 0, 1, 2) on {len(n)} synthetic rows",
                  "one_call": {"first_s": sweep_together[0], "warm_s": sweep_together[1]},
                  "nine_fits": {"first_s": sweep_separate[0], "warm_s": sweep_separate[1]}},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{result['environment']['device']['name']}-batch"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1, default=float))
    stem.with_suffix(".md").write_text(batch_markdown(result))
    return result


def _groups_programs(data, labels, n_resamples):
    """The groups case as a user runs it: one ``optimal fit RUNS.csv --by group --bootstrap B`` process vs three
    ``optimal fit RUNS.csv --where group=X --bootstrap B`` processes, one after another; wall seconds of each
    fresh process (``python -m optimal``, compilation cache off: every process compiles, as a first run does)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "runs.csv"
        csv.write_text("N,D,loss,group\n" + "".join(f"{n!r},{d!r},{l!r},{g}\n" for n, d, l, g in
                                                   zip(*(x.tolist() for x in data), labels)))
        env = {**os.environ, "OPTIMAL_CACHE_DIR": "off"}

        def wall(*options):
            argv = [sys.executable, "-m", "optimal", "fit", str(csv), "--bootstrap", str(n_resamples), "--json", *options]
            t = time.perf_counter()
            subprocess.run(argv, env=env, check=True, capture_output=True, timeout=1800)
            return time.perf_counter() - t

        one = wall("--by", "group")
        each = [wall("--where", f"group={g}") for g in sorted(set(labels))]
    return {"one_process_s": one, "separate_processes_s": each, "separate_total_s": float(sum(each))}


def _scipy_groups(fits, measured, n_resamples):
    """The SciPy loop for the groups case: every group's resamples refitted one at a time by L-BFGS-B from the
    same 4 warm starts as ``optimal.bootstrap`` (``baseline.bootstrap_lbfgsb``, one BLAS thread), on the JAX
    bootstrap's own draws 0..measured-1 of each group; the time per resample, median over the groups, is
    extrapolated linearly to ``n_resamples`` per group (resamples are independent and alike)."""
    per_resample, seconds = [], 0.0
    for f in fits.values():
        n, d, loss, _ = f.data
        starts = starts_for_resamples(f, 4)
        counts = resample_counts(0, np.arange(measured), len(loss))
        with threadpool_limits(1):
            t = time.perf_counter()
            baseline.bootstrap_lbfgsb(n, d, loss, counts, starts)
            elapsed = time.perf_counter() - t
        seconds += elapsed
        per_resample.append(elapsed / measured)
    total = len(fits) * n_resamples * float(np.median(per_resample))
    return {"measured_resamples_per_group": measured, "measured_s": seconds, "per_resample_s": per_resample,
            "extrapolated_s": total, "extrapolation": f"{len(fits)} groups x {n_resamples} resamples x the median time "
                                                      f"per resample over {measured} resamples of each group"}


def batch_markdown(r):
    env = r["environment"]
    lines = [f"# Batch analyses: one program vs one at a time ({env['device']['name']})", "",
             f"Command: `python benchmarks/run.py --batch` ({r['total_s']:.0f} s in all); {env['date_utc']}", "",
             "In one process: 'first' includes compiling, 'warm' is the median of repeated calls; the one-at-a-time "
             "side runs first (a program both share, the sweep's full-data fit, compiles on its clock).", "",
             "| Task | one program: first (compile) / warm | one at a time: first / warm |", "|---|---|---|"]
    for key, a, b in (("groups", "one_program", "separate"), ("sweep", "one_call", "nine_fits")):
        x = r[key]
        lines.append(f"| {x['what']} | {x[a]['first_s']:.2f} s / {x[a]['warm_s']:.2f} s | "
                     f"{x[b]['first_s']:.2f} s / {x[b]['warm_s']:.2f} s |")
    cl = r["groups"].get("command_line")
    if cl:
        lines += ["", f"As a user runs it (fresh processes, compilation cache off): `optimal fit RUNS.csv --by group "
                      f"--bootstrap B` {cl['one_process_s']:.1f} s vs three `optimal fit RUNS.csv --where group=X "
                      f"--bootstrap B` {cl['separate_total_s']:.1f} s ("
                      + ", ".join(f"{x:.1f}" for x in cl["separate_processes_s"]) + " s)."]
    sp = r["groups"].get("scipy")
    if sp:
        lines += ["", f"SciPy loop for the groups case (L-BFGS-B from the same 4 warm starts, one resample at a time, "
                      f"one BLAS thread): {sp['extrapolated_s']:.1f} s, extrapolated from {sp['measured_resamples_per_group']}"
                      f" resamples per group ({sp['measured_s']:.1f} s measured; {sp['extrapolation']})."]
    return "\n".join(lines) + "\n"
