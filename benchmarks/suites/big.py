"""``--big``: ``optimal fit`` on 100k rows, alone and with a bootstrap, in fresh processes: time and peak memory."""

import json
import os
import textwrap
import sys
import time
from pathlib import Path

import optimal
from harness import RESULTS_DIR, environment, load_line, log, machine_line, synthetic_runs


# --- many rows (--big): peak memory and time of the command line on 100k rows ------------------------------------

BIG_CONFIGS = {"full": dict(rows=100_000, resamples=1000), "quick": dict(rows=100_000, resamples=20),
               "smoke": dict(rows=2000, resamples=4)}

_BIG_CHILD = textwrap.dedent("""
    import json, resource, sys, time
    from optimal.cli import main
    with open(sys.argv[1], "w") as out:
        saved, sys.stdout = sys.stdout, out
        code = main(sys.argv[2:])
        sys.stdout = saved
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(json.dumps({"code": code, "peak_bytes": 1024 * peak, "cpu_s": usage.ru_utime + usage.ru_stime}))
""")


def _big_run(argv, workdir):
    """One fresh process running ``optimal <argv>`` (the command line's own code, output to a file): its wall time
    from the parent, its peak resident memory (the child's own VmHWM from /proc: its ``ru_maxrss`` would include
    this parent's, which a vfork-ed child inherits across exec) and CPU time, and the estimate it printed."""
    import subprocess

    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _BIG_CHILD, str(workdir / "out.json"), *map(str, argv)],
                          capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    child = json.loads(done.stdout.strip().splitlines()[-1])
    said = [line for line in done.stderr.splitlines() if line.startswith("estimate:")]
    return {"argv": ["optimal", *map(str, argv)], "wall_s": wall, "cpu_s": child["cpu_s"],
            "peak_bytes": child["peak_bytes"], "exit_code": child["code"], "estimate_printed": said[0] if said else None,
            "load_average_after": list(os.getloadavg())}


def run_big(bc, out_dir=RESULTS_DIR):
    """``optimal fit`` on ``rows`` synthetic runs (``synthetic_runs``: Epoch's law, 1% noise), alone and with
    ``--bootstrap resamples``, each in a fresh process: wall time, CPU time and peak resident memory, beside
    ``optimal.estimate_cost``'s estimate made before running."""
    import tempfile

    started, env = time.time(), environment()
    n, d, loss = synthetic_runs(bc["rows"])
    runs = {}
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        csv = workdir / "runs.csv"
        csv.write_text("N,D,loss\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in zip(n.tolist(), d.tolist(), loss.tolist())))
        for name, extra, resamples in (("fit", [], 0), ("fit_bootstrap", ["--bootstrap", bc["resamples"]], bc["resamples"])):
            log(f"big: {name} on {bc['rows']} rows")
            estimate = optimal.estimate_cost(bc["rows"], resamples)
            runs[name] = {**_big_run(["fit", csv, "--json", *extra], workdir),
                          "estimate": {"seconds": estimate.seconds, "peak_bytes": estimate.peak_bytes}}
    env["load_average_at_end"] = list(os.getloadavg())
    result = {"environment": env, "total_s": time.time() - started, "config": bc, "runs": runs,
              "data": f"{bc['rows']} synthetic rows (benchmarks/run.py synthetic_runs, seed 0)"}
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{result['environment']['device']['name']}-big{'' if bc is BIG_CONFIGS['full'] else '-' + _big_mode(bc)}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1, default=float))
    stem.with_suffix(".md").write_text(big_markdown(result))
    return result


def _big_mode(bc):
    return next(k for k, v in BIG_CONFIGS.items() if v is bc)


def big_markdown(r):
    env = r["environment"]
    lines = [f"# Many rows: `optimal fit` on {r['config']['rows']:,} rows ({env['device']['name']})", "",
             f"Machine: {machine_line(env)}.  ", f"Command: `{env['command'] or 'benchmarks/run.py --big'}` "
             f"({r['total_s']:.0f} s in all).{load_line(env)}", "", f"Data: {r['data']}.", "",
             "Each run is a fresh process (compiling included). Peak memory: the child's own VmHWM (Linux). The "
             "estimate is `optimal.estimate_cost`'s, made before running (calibrated constants: wall time on an idle "
             "machine). On a shared machine wall time grows with the other jobs' load; CPU time (every XLA thread) "
             "grows less.", "",
             "| Run | wall | CPU | peak memory | estimate: time / memory | load after |", "|---|---|---|---|---|---|"]
    for name, x in r["runs"].items():
        lines.append(f"| `{' '.join(x['argv'][:2] + ['RUNS.csv'] + x['argv'][3:])}` | {x['wall_s']:.1f} s | "
                     f"{x['cpu_s']:.1f} s | {x['peak_bytes'] / 1e9:.2f} GB | {x['estimate']['seconds']:.0f} s / "
                     f"{x['estimate']['peak_bytes'] / 1e9:.2f} GB | {x['load_average_after'][0]:.1f} |")
    return "\n".join(lines) + "\n"
