"""``--cold-start``: the installed ``optimal fit`` / ``optimal solve`` in fresh processes (empty, warm and no
compilation cache) against the floors under them, with a breakdown of where a run's time goes."""

import dataclasses
import gc
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

import optimal
from harness import (RESULTS_DIR, environment, fmt_seconds, fmt_spread, fmt_yes, load_line, log, machine_line,
                     synthetic_runs, write)


# ---------------------------------------------------------------------------------------------------- cold start

@dataclasses.dataclass(frozen=True)
class ColdStartConfig:
    """Runs of the installed command line in fresh processes (``--cold-start``)."""

    mode: str
    first_runs: int = 3  # runs with an empty cache folder (a new one each time)
    warm_runs: int = 7  # runs with the cache folder the first run filled
    off_runs: int = 3  # runs with OPTIMAL_CACHE_DIR=off
    floor_runs: int = 7  # runs of each floor: python -c pass, import jax, import optimal, optimal --help
    probe_runs: int = 3  # instrumented warm runs (the breakdown of where the time goes); not the timed ones
    first_probe: bool = True  # and one instrumented run with an empty cache (the breakdown's 'first' rows)
    synthetic: bool = False  # the synthetic CSV even where Epoch's data is present
    n_rows: int = 240
    compute: float = 1e24
    seed: int = 0


COLD_START_CONFIGS = {
    "full": ColdStartConfig("full"),
    "quick": ColdStartConfig("quick", first_runs=1, warm_runs=5, off_runs=1, floor_runs=3, probe_runs=1),
    # (smoke: every kind of run once, but no instrumented cold run: two fresh processes compiling, ~12 s of CPU)
    "smoke": ColdStartConfig("smoke", first_runs=1, warm_runs=1, off_runs=1, floor_runs=1, probe_runs=1, synthetic=True,
                             first_probe=False),
}

# Issue #11 item 7: the second run (warm cache) of each command, wall seconds, on the project's 2-core machine
COLD_START_TARGETS = {"fit": 1.5, "solve": 1.0}
# the runs follow one another, so the benchmark itself keeps the 1-minute load average near 1; above this, other
# work was competing for the cores and the results say so
COLD_START_BUSY_LOAD = 1.5

# An instrumented run of the command line, in its own process (python -c PROBE OUT.json ARGS...): the import
# times, the backend's start, and the run itself with JAX's tracing, lowering and compile-or-cache-read times
# (``jax.monitoring``) and, per compiled program, the same from JAX's compile log.
_PROBE = r'''
import json, logging, os, re, sys, time
start_epoch = time.time()
t0 = time.perf_counter()
import jax
t1 = time.perf_counter()
import optimal.cli.main
cli = sys.modules["optimal.cli.main"]
t2 = time.perf_counter()
devices = jax.devices()
t3 = time.perf_counter()
events = {}
def duration(event, seconds, **_):
    e = events.setdefault(event, [0.0, 0]); e[0] += seconds; e[1] += 1
def count(event, **_):
    e = events.setdefault(event, [0.0, 0]); e[1] += 1
jax.monitoring.register_event_duration_secs_listener(duration)
jax.monitoring.register_event_listener(count)
programs = {}
PATTERNS = ((0, re.compile(r"Finished tracing (?:\+ transforming )?(\S+) for \w+ in ([0-9.e+-]+) sec")),
            (1, re.compile(r"Finished jaxpr to MLIR module conversion \w+\((\S+)\) in ([0-9.e+-]+) sec")),
            (2, re.compile(r"Finished XLA compilation of \w+\((\S+)\) in ([0-9.e+-]+) sec")))
class Programs(logging.Handler):
    def emit(self, record):
        text = record.getMessage()
        for slot, pattern in PATTERNS:
            m = pattern.match(text)
            if m:
                p = programs.setdefault(m.group(1), [0, 0.0, 0.0, 0.0])
                p[slot + 1] += float(m.group(2))
                p[0] += slot == 2
        if text.startswith("Persistent compilation cache hit"):
            hits.append(text.split("'")[1])
hits = []
logging.getLogger("jax").addHandler(Programs())
jax.config.update("jax_log_compiles", True)
out, sys.argv = sys.argv[1], ["optimal", *sys.argv[2:]]
stdout, sys.stdout = sys.stdout, open(os.devnull, "w")
sys.stderr.write("\n=== run ===\n"); sys.stderr.flush()  # -X importtime: the imports below it are the run's
t4 = time.perf_counter()
try:
    cli.run()
    code = 0
except SystemExit as exc:
    code = exc.code
t5 = time.perf_counter()
sys.stderr.flush(); sys.stderr.write("\n=== end ===\n"); sys.stderr.flush()
sys.stdout = stdout
import jax.numpy as jnp
eager = sorted(n for n in programs if any(hasattr(m, n.lstrip("_")) for m in (jnp, jax.lax, jnp.linalg))
               or n.lstrip("_").startswith("reduce_"))
with open(out, "w") as f:
    json.dump({"import_jax_s": t1 - t0, "import_rest_s": t2 - t1, "backend_start_s": t3 - t2, "run_s": t5 - t4,
               "start_epoch": start_epoch, "end_epoch": time.time(), "eager_programs": eager,
               "exit_code": code, "events": events, "programs": programs, "cache_hit_programs": len(hits),
               "device": {"platform": devices[0].platform, "device_kind": devices[0].device_kind, "count": len(devices)},
               "optimal_file": sys.modules["optimal"].__file__,
               "modules_loaded": sorted(m for m in ("scipy", "matplotlib", "optax", "pandas", "threadpoolctl", "PIL")
                                        if m in sys.modules)}, f)
'''


def optimal_command():
    """How a user runs the program: the ``optimal`` executable next to this Python (its environment's scripts
    folder), else ``python -m optimal``."""
    exe = Path(sys.executable).parent / ("optimal.exe" if os.name == "nt" else "optimal")
    if exe.is_file() and os.access(exe, os.X_OK):
        return [str(exe)], str(exe)
    return [sys.executable, "-m", "optimal"], f"{sys.executable} -m optimal (no optimal executable next to it)"


def _default_cache_state():
    """The folder the program uses when OPTIMAL_CACHE_DIR is unset (``~/.cache/optimal/jax``): its path, entries
    and newest modification time; the benchmark always sets OPTIMAL_CACHE_DIR, so this must not change."""
    from optimal.cli.main import CACHE_ENV, compilation_cache_dir

    saved = os.environ.pop(CACHE_ENV, None)
    try:
        folder = compilation_cache_dir()
    finally:
        if saved is not None:
            os.environ[CACHE_ENV] = saved
    entries = list(folder.iterdir()) if folder.is_dir() else []
    newest = max((e.stat().st_mtime for e in entries), default=None)
    return {"path": str(folder), "entries": len(entries), "newest_mtime": newest}


def _cache_size(folder):
    files = [p for p in Path(folder).rglob("*") if p.is_file()] if Path(folder).is_dir() else []
    return {"entries": len(files), "bytes": sum(p.stat().st_size for p in files)}


def _bytecode_state():
    """How many of the ``optimal`` package's modules have up-to-date bytecode (``__pycache__``), as an installed
    package has (pip compiles it); without it every process compiles them from source again."""
    import importlib.util

    sources = sorted(Path(optimal.__file__).resolve().parent.rglob("*.py"))
    fresh = 0
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        fresh += cached.is_file() and cached.stat().st_mtime >= source.stat().st_mtime
    return {"modules": len(sources), "with_bytecode": int(fresh)}


class ChildRunner:
    """Runs commands in fresh processes with a given OPTIMAL_CACHE_DIR and times them (wall, and CPU from the
    children's rusage). The children see this process's environment, with this ``optimal`` first on PYTHONPATH
    (so that the code measured is the code this harness reports), OPTIMAL_CACHE_DIR always set, and without
    PYTHONDONTWRITEBYTECODE (a user's Python keeps bytecode; one untimed import writes any that is missing)."""

    DROPPED = ("JAX_LOG_COMPILES", "OPTIMAL_CACHE_DIR", "PYTHONDONTWRITEBYTECODE")

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        base = dict(os.environ)
        self.dropped = {key: base.pop(key) for key in self.DROPPED if key in base}
        root = str(Path(optimal.__file__).resolve().parent.parent)
        base["PYTHONPATH"] = os.pathsep.join([root, *[p for p in base.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]])
        self.base_env = base

    def env(self, cache):
        if cache is None:
            raise ValueError("every child runs with OPTIMAL_CACHE_DIR set (a folder, or 'off')")
        return {**self.base_env, "OPTIMAL_CACHE_DIR": str(cache)}

    def __call__(self, argv, cache):
        import resource
        import subprocess

        gc.collect()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.started_epoch = time.time()
        t0 = time.perf_counter()
        proc = subprocess.run(argv, env=self.env(cache), cwd=self.workdir, capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - t0
        self.ended_epoch = time.time()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}:\n{proc.stderr[-2000:]}")
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        self.last = proc
        return wall, cpu, proc.stdout


def cold_start_data(cc, workdir):
    """The fit's CSV and options: Epoch's Chinchilla CSV as the README runs it, where ``shared/data`` has it,
    else ``cc.n_rows`` synthetic rows written to ``workdir``; and which it was."""
    path = None if cc.synthetic else optimal.shared_data_path()
    if path is not None:
        return ([str(path), "--params-col", "Model Size", "--flops-col", "Training FLOP", "--drop-highest-loss", "5"],
                f"Epoch AI's Chinchilla extraction ({path.name}, 245 rows; 240 after --drop-highest-loss 5)")
    n, d, loss = synthetic_runs(cc.n_rows, cc.seed)
    csv = Path(workdir) / "runs.csv"
    csv.write_text("N,D,loss\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in zip(n.tolist(), d.tolist(), loss.tolist())))
    return [str(csv)], f"SYNTHETIC: {cc.n_rows} rows from Epoch's law + 1% noise written to a temporary runs.csv" + (
        "" if cc.synthetic else " (shared/data absent)")


def _spread_of(times):
    t = np.asarray(times, float)
    return {"median_s": float(np.median(t)), "min_s": float(np.min(t)), "max_s": float(np.max(t)), "runs": len(t),
            "times_s": [float(x) for x in t]}


def import_times(runner, python):
    """``python -X importtime -c "import optimal.cli.main"`` in a child: the total, and the self time summed by
    top-level package (so that each package counts once, not again under the package that imported it)."""
    import subprocess

    proc = subprocess.run([python, "-X", "importtime", "-c", "import optimal.cli.main"], env=runner.env("off"),
                          cwd=runner.workdir, capture_output=True, text=True, timeout=300)
    by_package, total = {}, 0.0
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        self_us, cumulative_us, indent, name = int(m.group(1)), int(m.group(2)), len(m.group(3)), m.group(4)
        top = name.split(".")[0]
        by_package[top] = by_package.get(top, 0.0) + self_us / 1e6
        if indent == 1:  # a module imported at the top level of the -c statement
            total += cumulative_us / 1e6
    ranked = dict(sorted(by_package.items(), key=lambda kv: -kv[1]))
    return {"command": f'{python} -X importtime -c "import optimal.cli.main"', "total_s": total,
            "self_s_by_package": {k: v for k, v in ranked.items() if v >= 0.002},
            "packages_imported": sorted(by_package), "scipy_imported": "scipy" in by_package,
            "matplotlib_imported": "matplotlib" in by_package}


def _imports_during_run(stderr):
    """From a probe's ``-X importtime`` output: the modules the run itself imported (between its markers), as
    {outermost module: cumulative seconds}."""
    inside, found, depth = False, {}, None
    for line in stderr.splitlines():
        if line.startswith("=== "):
            inside = line == "=== run ==="
            continue
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if inside and m:
            indent = len(m.group(3))
            depth = indent if depth is None else min(depth, indent)
            found.setdefault(indent, []).append((m.group(4), int(m.group(2)) / 1e6))
    return {name: sec for name, sec in found.get(depth, [])} if depth is not None else {}


def probe(runner, python, args, cache, out):
    """One instrumented run of ``optimal ARGS`` (the ``_PROBE`` script, under ``-X importtime``); its breakdown."""
    wall, _, _ = runner([python, "-X", "importtime", "-c", _PROBE, str(out), *args], cache)
    started, ended, stderr = runner.started_epoch, runner.ended_epoch, runner.last.stderr
    raw = json.loads(Path(out).read_text())
    ev = raw["events"]
    get = lambda name, i=0: ev.get(name, [0.0, 0])[i]  # noqa: E731
    trace, lower = get("/jax/core/compile/jaxpr_trace_duration"), get("/jax/core/compile/jaxpr_to_mlir_module_duration")
    compile_ = get("/jax/core/compile/backend_compile_duration")
    programs = [{"name": k, "compiles": v[0], "trace_s": v[1], "lower_s": v[2], "compile_or_cache_s": v[3],
                 "total_s": v[1] + v[2] + v[3], "eager": k in raw["eager_programs"]} for k, v in raw["programs"].items()]
    programs.sort(key=lambda p: -p["total_s"])
    eager = [p for p in programs if p["eager"]]
    imports = _imports_during_run(stderr)
    return {
        "wall_s": wall, "startup_s": raw["start_epoch"] - started, "import_jax_s": raw["import_jax_s"],
        "import_rest_s": raw["import_rest_s"], "backend_start_s": raw["backend_start_s"], "run_s": raw["run_s"],
        "exit_s": ended - raw["end_epoch"],
        "trace_s": trace, "traces": get("/jax/core/compile/jaxpr_trace_duration", 1),
        "lower_s": lower, "lowerings": get("/jax/core/compile/jaxpr_to_mlir_module_duration", 1),
        "compile_or_cache_s": compile_, "compiles": get("/jax/core/compile/backend_compile_duration", 1),
        "cache_hits": get("/jax/compilation_cache/cache_hits", 1), "cache_misses": get("/jax/compilation_cache/cache_misses", 1),
        "cache_read_s": get("/jax/compilation_cache/cache_retrieval_time_sec"),
        "rest_of_run_s": raw["run_s"] - trace - lower - compile_,
        "imports_during_run": imports, "imports_during_run_s": sum(imports.values()),
        "programs": [p for p in programs if not p["eager"]][:8],
        "eager_programs": {"count": sum(p["compiles"] for p in eager), "total_s": sum(p["total_s"] for p in eager),
                           "names": sorted({p["name"] for p in eager}),
                           "what": "jax.numpy / jax.lax operations run outside jit: each is a program of its own, "
                                   "lowered (and its cache key hashed) in every process"},
        "modules_loaded": raw["modules_loaded"], "device": raw["device"], "optimal_file": raw["optimal_file"],
        "note": "instrumented (-X importtime, jax_log_compiles, jax.monitoring listeners): its wall is a little longer "
                "than a timed run's",
    }


def _median_probe(probes):
    """The probe with the median run time (its parts add up, unlike medians taken part by part)."""
    return sorted(probes, key=lambda p: p["run_s"])[len(probes) // 2]


def run_cold_start(cc, out_dir=RESULTS_DIR):
    """Wall time of ``optimal fit`` and ``optimal solve`` as a user runs them, each in a fresh process: with an
    empty cache folder, with the folder that run filled, and with the cache off; the floors under them; and a
    breakdown of where a warm run's time goes. Writes ``<device>-cold-start[-mode].json/.md``."""
    import tempfile

    t0 = time.perf_counter()
    exe, exe_text = optimal_command()
    python = sys.executable
    home_before = _default_cache_state()
    with tempfile.TemporaryDirectory(prefix="optimal-cold-start-") as tmp:
        tmp = Path(tmp)
        runner = ChildRunner(tmp)
        fit_args, data = cold_start_data(cc, tmp)
        commands = {"fit": ["fit", *fit_args], "solve": ["solve", "--compute", f"{cc.compute:g}"]}
        fresh = iter(tmp / f"cache-{i}" for i in range(10**6))  # a new, not yet created, folder each time
        warm_cache = {name: next(fresh) for name in commands}
        log(f"cold start: {exe_text}; fit on {data}")
        bytecode_before = _bytecode_state()
        runner([python, "-c", "import optimal.cli.main"], "off")  # untimed: writes the bytecode a user's Python has
        bytecode = {"before": bytecode_before, "timed_runs": _bytecode_state()}

        # (label, argv, runs, cache: a folder, 'off' or None for a fresh one each run)
        specs = [
            ("python_start", [python, "-c", "pass"], cc.floor_runs, "off"),
            ("import_jax", [python, "-c", "import jax"], cc.floor_runs, "off"),
            ("import_optimal", [python, "-c", "import optimal"], cc.floor_runs, "off"),
            ("optimal_help", [*exe, "--help"], cc.floor_runs, "off"),
        ]
        for name, args in commands.items():
            specs += [(f"{name}_warm", [*exe, *args], cc.warm_runs, warm_cache[name]),
                      (f"{name}_off", [*exe, *args], cc.off_runs, "off"),
                      (f"{name}_first", [*exe, *args], cc.first_runs - 1, None)]
        records = {label: {"wall": [], "cpu": [], "outputs": set()} for label, *_ in specs}
        for name, args in commands.items():  # the first run fills the folder the warm runs use
            records[f"{name}_first"] = {"wall": [], "cpu": [], "outputs": set()}
            wall, cpu, stdout = runner([*exe, *args], warm_cache[name])
            records[f"{name}_first"]["wall"].append(wall)
            records[f"{name}_first"]["cpu"].append(cpu)
            records[f"{name}_first"]["outputs"].add(stdout)
            records[f"{name}_first"]["cache_after_first_run"] = _cache_size(warm_cache[name])
            log(f"cold start: {name} first run {wall:.2f} s")
        loads = []  # the 1-minute load average before every round: other work on the machine shows up here
        for i in range(max(runs for _, _, runs, _ in specs)):  # rounds; the order rotates every round
            loads.append(os.getloadavg()[0] if hasattr(os, "getloadavg") else None)
            for label, argv, runs, cache in specs[i % len(specs):] + specs[: i % len(specs)]:
                rec = records[label]
                if len(rec["wall"]) >= runs + (1 if label.endswith("_first") else 0):
                    continue
                wall, cpu, stdout = runner(argv, next(fresh) if cache is None else cache)
                rec["wall"].append(wall)
                rec["cpu"].append(cpu)
                if label.split("_")[0] in commands:
                    rec["outputs"].add(stdout)
            log(f"cold start: round {i + 1} done")

        results = {"config": dataclasses.asdict(cc), "data": data, "program": exe_text,
                   "commands": {name: " ".join(["optimal", *(f'"{a}"' if " " in a else a for a in args)])
                                for name, args in commands.items()},
                   "protocol": "each run a fresh process, timed from this process (fork/exec to exit); 'first': "
                               "OPTIMAL_CACHE_DIR set to a new, not yet created folder; 'warm': the folder the "
                               "first run filled; 'off': OPTIMAL_CACHE_DIR=off. Python's files are in the OS page "
                               "cache (only JAX's compilation cache is cold). Rounds alternate every contender, "
                               "the order rotating; times are median [min, max].",
                   "runs": {}, "targets": {}, "load_average_per_round": loads, "optimal_bytecode": bytecode,
                   "child_environment": {"dropped": runner.dropped, "PYTHONPATH": runner.base_env["PYTHONPATH"]},
                   "machine_busy": bool(loads and loads[0] is not None and max(loads) > COLD_START_BUSY_LOAD)}
        for label, rec in records.items():
            entry = {**_spread_of(rec["wall"]), "cpu_median_s": float(np.median(rec["cpu"]))}
            if "cache_after_first_run" in rec:
                entry["cache_after_first_run"] = rec["cache_after_first_run"]
            results["runs"][label] = entry
        for name in commands:
            outputs = set().union(*(records[f"{name}_{kind}"]["outputs"] for kind in ("first", "warm", "off")))
            results["runs"][f"{name}_warm"]["cache_after_warm_runs"] = _cache_size(warm_cache[name])
            warm = results["runs"][f"{name}_warm"]
            results["targets"][name] = {
                "target_s": COLD_START_TARGETS[name], "warm_median_s": warm["median_s"], "warm_max_s": warm["max_s"],
                "met": bool(warm["median_s"] <= COLD_START_TARGETS[name]),
                "met_by_every_run": bool(warm["max_s"] <= COLD_START_TARGETS[name]),
                "warm_cpu_median_s": warm["cpu_median_s"],
                "outputs_identical": len(outputs) == 1,
                "warm_runs_added_cache_entries": warm["cache_after_warm_runs"]["entries"]
                - results["runs"][f"{name}_first"]["cache_after_first_run"]["entries"],
            }

        log("cold start: breakdown (instrumented runs)")
        breakdown = {}
        for name, args in commands.items():
            warm = [probe(runner, python, args, warm_cache[name], tmp / f"probe-{name}-{i}.json") for i in range(cc.probe_runs)]
            breakdown[name] = {"warm": _median_probe(warm), "warm_run_s_all": [p["run_s"] for p in warm]}
            if cc.first_probe:
                breakdown[name]["first"] = probe(runner, python, args, next(fresh), tmp / f"probe-{name}-first.json")
        results["breakdown"] = breakdown
        results["import_time"] = import_times(runner, python)
    device = breakdown["solve"]["warm"]["device"]
    results["environment"] = environment(device)
    results["environment"]["optimal_imported_by_children"] = breakdown["solve"]["warm"]["optimal_file"]
    home_after = _default_cache_state()
    results["default_cache"] = {"before": home_before, "after": home_after, "unchanged": home_before == home_after,
                                "note": "every child ran with OPTIMAL_CACHE_DIR set; a change here would be "
                                        "another process's"}
    results["total_s"] = time.perf_counter() - t0
    results["environment"]["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    suffix = "-cold-start" if cc.mode == "full" else f"-cold-start-{cc.mode}"
    return write(results, out_dir, suffix, cold_start_markdown(results))


def _busy_warning(r):
    loads = [x for x in r.get("load_average_per_round", []) if x is not None]
    if not loads or max(loads) <= COLD_START_BUSY_LOAD:
        return ""
    return (f" **Other work shared the cores during this run** (1-minute load average up to {max(loads):.2f} on "
            f"{r['environment']['cpu']['cpus_available']} CPUs, about 1 of it this benchmark's own runs): the wall "
            "times include waiting for a core; re-run on an idle machine before comparing with the targets.")


def _round_loads(r):
    loads = [x for x in r.get("load_average_per_round", []) if x is not None]
    return f" Load average (1 min) before each round: {min(loads):.2f} to {max(loads):.2f}." if loads else ""


def cold_start_markdown(r):
    runs, env = r["runs"], r["environment"]
    lines = [
        f"# Cold start: the `optimal` command line in fresh processes ({r['config']['mode']})", "",
        f"Machine: {machine_line(env)}.  ",
        f"Command: `{env['command'] or 'benchmarks/run.py --cold-start'}` ({r['total_s']:.0f} s in all); program: "
        f"`{r['program']}`." + load_line(env) + _round_loads(r), "",
        f"Fit data: {r['data']}.", "",
        "Wall seconds of each run, timed from the parent (fork/exec to exit), median [min, max]; CPU = user + sys of "
        "the child, median. First: an empty cache folder (OPTIMAL_CACHE_DIR = a new folder); second: the folder the "
        "first run filled; off: OPTIMAL_CACHE_DIR=off. Runs alternate, the order rotating every round. A target is "
        "met when the median wall time of the second runs is within it. CPU counts every thread of the child (XLA's "
        "too), so it can exceed wall." + _busy_warning(r), "",
        "| Command | first run (empty cache) | second runs (warm cache) | cache off | CPU first / warm / off | target (second run) | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, command in r["commands"].items():
        first, warm, off, t = runs[f"{name}_first"], runs[f"{name}_warm"], runs[f"{name}_off"], r["targets"][name]
        met = fmt_yes(t["met"]) + ("" if t["met_by_every_run"] else " (not every run)") if t["met"] else fmt_yes(False)
        lines.append(
            f"| `{command}` | {fmt_spread(first)} ({first['runs']}) | {fmt_spread(warm)} ({warm['runs']}) | {fmt_spread(off)} ({off['runs']}) | "
            f"{fmt_seconds(first['cpu_median_s'])} / {fmt_seconds(warm['cpu_median_s'])} / {fmt_seconds(off['cpu_median_s'])} | <= {t['target_s']:g} s | {met} |")
    lines += ["", "Floors:", "", "| Command | wall | CPU |", "|---|---|---|"]
    for label, text in (("python_start", 'python -c "pass"'), ("import_jax", 'python -c "import jax"'),
                        ("import_optimal", 'python -c "import optimal"'), ("optimal_help", "optimal --help")):
        lines.append(f"| `{text}` | {fmt_spread(runs[label])} ({runs[label]['runs']}) | {fmt_seconds(runs[label]['cpu_median_s'])} |")
    lines += ["", "Checks: " + "; ".join(
        f"{name}: output identical in every run {fmt_yes(t['outputs_identical'])}, warm runs added "
        f"{t['warm_runs_added_cache_entries']} cache entries (first run wrote "
        f"{runs[f'{name}_first']['cache_after_first_run']['entries']}, "
        f"{runs[f'{name}_first']['cache_after_first_run']['bytes'] / 1e3:.0f} kB)" for name, t in r["targets"].items())
        + f"; default cache folder `{r['default_cache']['before']['path']}` unchanged: {fmt_yes(r['default_cache']['unchanged'])}; "
        f"optimal's modules with bytecode in the timed runs: {r['optimal_bytecode']['timed_runs']['with_bytecode']} of "
        f"{r['optimal_bytecode']['timed_runs']['modules']} ({r['optimal_bytecode']['before']['with_bytecode']} before "
        "an untimed import wrote it); the children ran without "
        + (", ".join(sorted(r["child_environment"]["dropped"])) or "none of the dropped variables") + ".",
        "", "## Where the time goes (instrumented runs in a fresh process, apart from the timed ones)", "",
        "Import and backend times from `time.perf_counter` in the child; trace, lower and compile-or-cache-read from "
        "`jax.monitoring`; 'rest' = the run less those (executing, NumPy, reading the CSV, printing). The warm row is "
        "the probe with the median run time.", "",
        "| Command | cache | wall | start | import jax | import rest | backend | run | trace (n) | lower (n) | compile or cache read (n) | cache hits / misses | rest of run | exit | eager ops (n) | imports during run |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, b in r["breakdown"].items():
        for kind in ("first", "warm")[0 if "first" in b else 1:]:
            p = b[kind]
            ep = p["eager_programs"]
            imports = ", ".join(f"{k} {fmt_seconds(v)}" for k, v in p["imports_during_run"].items() if v >= 1e-3) or "none over 1 ms"
            lines.append(
                f"| {name} | {kind} | {fmt_seconds(p['wall_s'])} | {fmt_seconds(p['startup_s'])} | {fmt_seconds(p['import_jax_s'])} | "
                f"{fmt_seconds(p['import_rest_s'])} | {fmt_seconds(p['backend_start_s'])} | {fmt_seconds(p['run_s'])} | {fmt_seconds(p['trace_s'])} ({p['traces']}) | "
                f"{fmt_seconds(p['lower_s'])} ({p['lowerings']}) | {fmt_seconds(p['compile_or_cache_s'])} ({p['compiles']}) | "
                f"{p['cache_hits']} / {p['cache_misses']} | {fmt_seconds(p['rest_of_run_s'])} | {fmt_seconds(p['exit_s'])} | "
                f"{fmt_seconds(ep['total_s'])} ({ep['count']}) | {imports} |")
    lines += ["", "Programs of a warm run (trace + lower + compile or cache read; a lowering includes the imports it "
              "triggers):", ""]
    for name, b in r["breakdown"].items():
        top = ", ".join(f"`{p['name']}` {fmt_seconds(p['total_s'])} (trace {fmt_seconds(p['trace_s'])}, lower {fmt_seconds(p['lower_s'])}, "
                        f"read {fmt_seconds(p['compile_or_cache_s'])})" for p in b["warm"]["programs"][:4])
        ep = b["warm"]["eager_programs"]
        lines.append(f"- {name}: {top}; and {ep['count']} eager operations ({fmt_seconds(ep['total_s'])}: "
                     f"{', '.join(ep['names'][:14])}{', ...' if len(ep['names']) > 14 else ''}).")
    it = r["import_time"]
    lines += ["", f"`python -X importtime -c \"import optimal.cli.main\"`: {fmt_seconds(it['total_s'])} in all; self time by "
              "package: " + ", ".join(f"{k} {fmt_seconds(v)}" for k, v in list(it["self_s_by_package"].items())[:10])
              + f". SciPy imported: {'yes' if it['scipy_imported'] else 'no'}; matplotlib imported: "
              f"{'yes' if it['matplotlib_imported'] else 'no'}. Modules loaded after a warm fit: "
              f"{', '.join(r['breakdown']['fit']['warm']['modules_loaded']) or 'none of scipy, matplotlib, optax'}; after a warm "
              f"solve: {', '.join(r['breakdown']['solve']['warm']['modules_loaded']) or 'none of them'}.", ""]
    return "\n".join(lines)
