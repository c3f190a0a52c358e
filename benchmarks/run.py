"""Benchmarks: the JAX paths of ``optimal`` against the SciPy baseline, side by side, in one process.

    python benchmarks/run.py                 # full: 1e6 budgets, Epoch's 240 rows, B = 4000 (~4 min, 2 cores)
    python benchmarks/run.py --quick         # the same at smaller sizes (< 3 min on 2 CPU cores)
    python benchmarks/run.py --scaling       # time vs rows, starts, resamples and budgets, plus a PNG (~15 min)
    python benchmarks/run.py --smoke --out DIR   # tiny sizes, so that tests/test_benchmarks.py keeps it alive
    python benchmarks/run.py --families      # generic vs fast path (Chinchilla), data-constrained vs SciPy (~5 min)
    python benchmarks/run.py --cold-start    # the installed `optimal fit` / `optimal solve` in fresh processes (~1 min)
    python benchmarks/run.py --design        # suggested next runs vs an IsoFLOP grid, 200 seeds (benchmarks/design.py, ~10 min)
    python benchmarks/run.py --batch         # groups and sweeps as one program vs one at a time, and the SciPy loop
    python benchmarks/run.py --big           # `optimal fit` on 100k rows, with --bootstrap 1000: time and peak memory

Results go to ``benchmarks/results/<device>.json`` and ``.md`` (``<device>-quick``, ``<device>-scaling``,
``<device>-smoke``, ``<device>-families``, ``<device>-cold-start``, ``<device>-batch``, ``<device>-big`` for the other
modes), where ``<device>`` is JAX's platform and device kind ("cpu", "gpu-nvidia-h100-80gb-hbm3", ...).

Protocol (``shared/design/PITFALLS.md``, Benchmarking):
- JAX and SciPy run in the same process, alternating (the order rotates every round), repeated; every time is
  reported as median, min and max of the repeated runs.
- A JAX path's first call is timed on its own; its compile time (tracing, lowering and XLA compilation, summed
  from ``jax.monitoring`` events during that call) is reported apart. Repeated calls are warm.
- SciPy and NumPy run under ``threadpool_limits(1)``: one BLAS thread (with the default thread count on 2
  shared cores one L-BFGS-B start went from ~3.5 ms to 10-200 ms). JAX uses XLA's own thread pool.
- Where the SciPy side would take minutes it runs on a subsample and its time is extrapolated linearly; the
  results say so (``scipy_extrapolated``, ``scipy_measured_on``).
- Every time comes with its accuracy: the N* error against the closed form, the objective gap to the best
  optimum any method found, whether JAX and SciPy reached the same optimum.
- ``--cold-start`` times the program as a user runs it instead: each run a fresh process (the ``optimal``
  executable next to this Python), with an empty, a warm or no compilation cache (OPTIMAL_CACHE_DIR, always set,
  so that ``~/.cache`` is never touched), against the floors under it (``python -c "import optimal"``, ...),
  with a breakdown of where a run's time goes from instrumented runs apart from the timed ones.
"""

import argparse
import contextlib
import dataclasses
import datetime
import gc
import json
import math
import os
import platform
import re
import textwrap
import sys
import time
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy
import scipy.optimize
import threadpoolctl
from threadpoolctl import threadpool_limits

import optimal
from optimal import baseline
from optimal.fitting.bootstrap import starts_for_resamples
from optimal.fitting.objective import objective
from optimal.laws.chinchilla import hoffmann_grid, screen, value_grad_hessian

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# Same optimum: objectives within 1e-9 relative and coefficients (E, A, B, alpha, beta) within 1e-5 relative.
SAME_OBJECTIVE_RTOL = 1e-9
SAME_COEF_RTOL = 1e-5
# Allocation: SciPy's Brent stops at ~1.5e-8 relative in log N (its default tol), i.e. ~4e-7 relative in N*
SAME_ALLOCATION_RTOL = 1e-6
# PITFALLS: a warm refit needs ~70 objective+gradient evaluations
EVALS_PER_WARM_REFIT = 70


@dataclasses.dataclass(frozen=True)
class Config:
    """Sizes of one benchmark run."""

    mode: str
    rounds: int  # alternating rounds of the cheap contenders (JAX warm calls and SciPy runs)
    solve_budgets: int
    solve_scipy_budgets: int  # budgets SciPy's minimize_scalar solves; its time is extrapolated to all
    classic_rounds: int  # rounds of the 4500-start contenders (SciPy's takes ~20-30 s on 2 cores)
    classic_starts: int | None  # None: all 4500 Hoffmann starts; else a seeded subset (smoke only)
    boot_resamples: int
    boot_scipy_resamples: int  # resamples SciPy refits; its time is extrapolated to boot_resamples
    boot_rounds: int
    floor_lanes: int = 256
    floor_evals: int = 200
    seed: int = 0


CONFIGS = {
    "full": Config("full", rounds=5, solve_budgets=1_000_000, solve_scipy_budgets=1000, classic_rounds=3,
                   classic_starts=None, boot_resamples=4000, boot_scipy_resamples=100, boot_rounds=3),
    "quick": Config("quick", rounds=3, solve_budgets=100_000, solve_scipy_budgets=200, classic_rounds=1,
                    classic_starts=None, boot_resamples=500, boot_scipy_resamples=40, boot_rounds=3),
    "smoke": Config("smoke", rounds=1, solve_budgets=64, solve_scipy_budgets=4, classic_rounds=1,
                    classic_starts=16, boot_resamples=8, boot_scipy_resamples=2, boot_rounds=1, floor_evals=5),
}


@dataclasses.dataclass(frozen=True)
class ScalingConfig:
    """Points of the scaling curves; SciPy is measured up to ``*_scipy_max`` and extrapolated beyond."""

    mode: str
    rows: tuple = (60, 240, 1000, 3000, 10_000)
    rows_scipy_max: int = 10_000
    starts: tuple = (1, 10, 100, 1000, 4500)
    starts_scipy_max: int = 4500
    resamples: tuple = (10, 100, 1000, 10_000, 100_000)
    resamples_scipy_max: int = 1000
    budgets: tuple = (1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000)
    budgets_scipy_max: int = 1000
    repeats: int = 3
    max_warm_s: float = 15.0  # stop repeating a point once its warm runs have taken this long
    seed: int = 0


SCALING = {
    "full": ScalingConfig("full"),
    # tiny, and sized to reuse the smoke benchmark's compiled programs (B = 8, 64 budgets)
    "smoke": ScalingConfig("smoke", rows=(60,), rows_scipy_max=60, starts=(1, 4), starts_scipy_max=1,
                           resamples=(2, 8), resamples_scipy_max=2, budgets=(1, 64), budgets_scipy_max=1, repeats=1),
}


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------- timing

_COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
                   "/jax/core/compile/backend_compile_duration")


class CompileClock:
    """Seconds JAX spent tracing, lowering and compiling (from ``jax.monitoring``), and how many XLA compiles."""

    def __init__(self):
        self.seconds, self.compiles = 0.0, 0

    def __call__(self, event, duration, **_):
        if event in _COMPILE_EVENTS:
            self.seconds += duration
            self.compiles += event == _COMPILE_EVENTS[-1]

    def __enter__(self):
        jax.monitoring.register_event_duration_secs_listener(self)
        return self

    def __exit__(self, *exc):
        jax.monitoring.unregister_event_duration_listener(self)


_CLOCK = CompileClock()


@dataclasses.dataclass
class Contender:
    """One thing to time: ``fn()`` returns its result; JAX ones get a separately timed first call."""

    name: str
    fn: object
    is_jax: bool
    rounds: int
    max_s: float = math.inf  # stop repeating once the repeated runs have taken this long (at least one runs)


def _call(contender):
    gc.collect()
    seconds0, compiles0 = _CLOCK.seconds, _CLOCK.compiles
    t0 = time.perf_counter()
    if contender.is_jax:
        out = jax.block_until_ready(contender.fn())
    else:
        with threadpool_limits(1):
            out = contender.fn()
    return time.perf_counter() - t0, _CLOCK.seconds - seconds0, _CLOCK.compiles - compiles0, out


def race(contenders):
    """Time every contender: JAX first calls, then rounds in which the order rotates. Returns {name: record}."""
    records = {c.name: {"times": [], "warm_compiles": 0} for c in contenders}
    for c in contenders:
        if c.is_jax:
            seconds, compile_s, compiles, out = _call(c)
            records[c.name].update(first_call_s=seconds, compile_s=min(compile_s, seconds), compiles=compiles, result=out)
    for i in range(max(c.rounds for c in contenders)):
        for c in contenders[i % len(contenders):] + contenders[: i % len(contenders)]:
            rec = records[c.name]
            if len(rec["times"]) >= c.rounds or sum(rec["times"]) >= c.max_s:
                continue
            seconds, _, compiles, out = _call(c)
            rec["times"].append(seconds)
            rec["warm_compiles"] += compiles
            rec["result"] = out
    return records


def timing(record, per=1):
    """The JSON view of a race record; ``per`` divides the times (per budget, per resample)."""
    times = np.asarray(record["times"]) / per
    out = {"median_s": float(np.median(times)), "min_s": float(np.min(times)), "max_s": float(np.max(times)),
           "runs": len(times)}
    if "first_call_s" in record:
        out.update(first_call_s=record["first_call_s"], compile_s=record["compile_s"],
                   compiles_first_call=record["compiles"], compiles_in_warm_calls=record["warm_compiles"])
    return out


def ratio(a, b):
    return float(a / b) if b > 0 else math.inf


# ---------------------------------------------------------------------------------------------- environment

def device_name(platform_=None, kind=None):
    """``cpu``, ``gpu-nvidia-h100-80gb-hbm3``, ...: the JAX platform and device kind, safe as a file name (this
    process's first device, or the ``platform_`` and ``kind`` given)."""
    if platform_ is None:
        device = jax.devices()[0]
        platform_, kind = device.platform, device.device_kind
    kind = kind.lower()
    name = platform_ if kind == platform_.lower() else f"{platform_}-{kind}"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "unknown"


def _cpu_model():
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def source_state():
    """Which code was measured: the git commit, uncommitted changes under optimal/, and a hash of optimal/*.py
    as imported (the working tree can change while a long run goes on)."""
    import hashlib
    import subprocess

    package = Path(optimal.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    state = {"optimal_py_sha256": digest.hexdigest()[:16], "commit": None, "uncommitted": None}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        git = lambda *a: subprocess.run(["git", *a], cwd=package.parent, capture_output=True, text=True, timeout=10)  # noqa: E731
        commit = git("rev-parse", "--short", "HEAD")
        if commit.returncode == 0:
            state["commit"] = commit.stdout.strip()
            state["uncommitted"] = [line[3:] for line in git("status", "--porcelain", "--", "optimal").stdout.splitlines()]
    return state


def environment(device=None):
    """The machine, versions, threads and source; ``device`` ({"platform", "device_kind", "count"}) where another
    process's device is the one measured (``--cold-start``: this one then never starts a JAX backend)."""
    import jaxlib
    import optax

    if device is None:
        first = jax.devices()[0]
        device = {"platform": first.platform, "device_kind": first.device_kind, "count": len(jax.devices())}
    blas = [{"library": Path(info.get("filepath", "")).name, "api": info.get("internal_api"),
             "num_threads_default": info.get("num_threads")} for info in threadpoolctl.threadpool_info()]
    return {
        "device": {**device, "name": device_name(device["platform"], device["device_kind"])},
        "cpu": {"model": _cpu_model(), "cpu_count": os.cpu_count(),
                "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()},
        "os": platform.platform(),
        "versions": {"optimal": optimal.__version__, "jax": jax.__version__, "jaxlib": jaxlib.__version__,
                     "optax": optax.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
                     "threadpoolctl": threadpoolctl.__version__, "python": platform.python_version()},
        "threads": {"scipy_numpy": "threadpool_limits(1) around every SciPy/NumPy timing",
                    "jax": "XLA's default thread pool (all cores)", "blas": blas,
                    "env": {k: os.environ.get(k) for k in ("XLA_FLAGS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                           "MKL_NUM_THREADS", "JAX_PLATFORMS")}},
        "source": source_state(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "jax_enable_x64": bool(jax.config.jax_enable_x64),
        "dtype": "float64",
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", "benchmarks/run.py", *sys.argv[1:]]) if sys.argv[0].endswith("run.py") else None,
    }


# ---------------------------------------------------------------------------------------------------- data

def synthetic_runs(n_rows, seed=0):
    """Rows drawn from Epoch's law with 1% log-normal loss noise: N log-uniform on [7e7, 1.6e10], D/N on [1, 100]."""
    law = optimal.preset("epoch2024")
    rng = np.random.default_rng(seed)
    n = 10 ** rng.uniform(np.log10(7e7), np.log10(1.6e10), n_rows)
    d = n * 10 ** rng.uniform(0, 2, n_rows)
    loss = (law.E + law.A / n ** law.alpha + law.B / d ** law.beta) * np.exp(0.01 * rng.standard_normal(n_rows))
    return n, d, loss


def epoch_or_synthetic(seed=0):
    """Epoch's 240 Chinchilla rows if ``shared/data`` has them, else 240 synthetic rows; and which it was."""
    path = optimal.shared_data_path()
    if path is not None:
        runs = optimal.load_epoch_chinchilla(path)
        return (runs.n_params, runs.n_tokens, runs.loss), f"Epoch AI's Chinchilla extraction ({path.name}), 240 rows"
    return synthetic_runs(240, seed), "SYNTHETIC: 240 rows from Epoch's law + 1% noise (shared/data absent)"


def resample_counts(seed, indices, n_rows):
    """Row multiplicities of the JAX bootstrap's resamples ``indices`` (R, n): the draw ``_refit_chunk`` makes."""
    key = jax.random.PRNGKey(seed)

    def counts(r):
        drawn = jax.random.randint(jax.random.fold_in(key, r), (n_rows,), 0, n_rows)
        return jnp.bincount(drawn, length=n_rows)

    return np.asarray(jax.vmap(counts)(jnp.asarray(indices, jnp.uint32)))


# ---------------------------------------------------------------------------------------------------- accuracy

def coefficients(theta):
    """(e, a, b, alpha, beta) -> (E, A, B, alpha, beta), last axis."""
    theta = np.asarray(theta, dtype=np.float64)
    return np.concatenate([np.exp(theta[..., :3]), theta[..., 3:]], axis=-1)


def compare_optima(theta_1, objective_1, theta_2, objective_2):
    """Objective and coefficient differences of two optima (arrays of them along the first axis, or one)."""
    f1, f2 = np.asarray(objective_1, float), np.asarray(objective_2, float)
    c1, c2 = coefficients(theta_1), coefficients(theta_2)
    objective_rel = np.abs(f1 - f2) / np.minimum(np.abs(f1), np.abs(f2))
    coef_rel = np.max(np.abs(c1 - c2) / np.abs(c2), axis=-1)
    theta_abs = np.max(np.abs(np.asarray(theta_1) - np.asarray(theta_2)), axis=-1)
    same = (objective_rel <= SAME_OBJECTIVE_RTOL) & (coef_rel <= SAME_COEF_RTOL)
    return objective_rel, coef_rel, theta_abs, same


def widths(thetas, confidence=0.95):
    """Width of the percentile interval of alpha, beta and E over draws (R, 5)."""
    c = coefficients(thetas)
    tail = 100 * (1 - confidence) / 2
    width = lambda x: float(np.subtract(*np.percentile(x, [100 - tail, tail])))  # noqa: E731
    return {"alpha": width(c[:, 3]), "beta": width(c[:, 4]), "E": width(c[:, 0])}


# ---------------------------------------------------------------------------------------------------- solve

def scipy_allocate(law, budgets, k=6.0):
    """N* per budget by ``scipy.optimize.minimize_scalar`` (Brent, default tol) on log L over u = log N."""
    E, A, B, alpha, beta = (float(x) for x in (law.E, law.A, law.B, law.alpha, law.beta))
    out = np.empty(len(budgets))
    for i, c in enumerate(budgets):
        log_c = math.log(c / k)

        def log_loss(u, log_c=log_c):
            return math.log(E + A * math.exp(-alpha * u) + B * math.exp(-beta * (log_c - u)))

        out[i] = math.exp(scipy.optimize.minimize_scalar(log_loss, bracket=(0.4 * log_c, 0.6 * log_c)).x)
    return out


def numpy_closed_form(law, budgets, k=6.0):
    """Hoffmann et al. 2022 eq. 4 in NumPy: N* = G (C/k)^(beta/(alpha+beta))."""
    E, A, B, alpha, beta = (float(x) for x in (law.E, law.A, law.B, law.alpha, law.beta))
    log_c = np.log(budgets / k)
    s = alpha + beta
    log_n = (math.log(alpha * A) - math.log(beta * B)) / s + beta / s * log_c
    return np.exp(log_n), np.exp(log_c - log_n)


def budget_grid(n):
    return np.logspace(18, 26, n) if n > 1 else np.array([5.76e23])


def bench_solve(cfg):
    law = optimal.preset()
    budgets = budget_grid(cfg.solve_budgets)
    subsample = budgets[np.unique(np.linspace(0, len(budgets) - 1, cfg.solve_scipy_budgets).astype(int))]
    log(f"solve: {len(budgets):,} budgets (SciPy on {len(subsample):,})")
    records = race([
        Contender("jax", lambda: optimal.compute_optimal(law, budgets), True, cfg.rounds),
        Contender("scipy", lambda: scipy_allocate(law, subsample), False, cfg.rounds),
        Contender("numpy_closed_form", lambda: numpy_closed_form(law, budgets), False, cfg.rounds),
    ])
    allocation = records["jax"]["result"]
    exact = np.asarray(optimal.closed_form(law, budgets)[0])
    jax_n = np.asarray(allocation.n_params)
    jax_err = float(np.max(np.abs(jax_n / exact - 1)))
    exact_sub = exact[np.searchsorted(budgets, subsample)]
    jax_sub = jax_n[np.searchsorted(budgets, subsample)]
    scipy_n = records["scipy"]["result"]
    scipy_err = float(np.max(np.abs(scipy_n / exact_sub - 1)))
    numpy_err = float(np.max(np.abs(records["numpy_closed_form"]["result"][0] / exact - 1)))
    jax_vs_scipy = float(np.max(np.abs(jax_sub / scipy_n - 1)))
    jax_t = timing(records["jax"])
    scipy_per_budget = timing(records["scipy"], per=len(subsample))
    scipy_s = scipy_per_budget["median_s"] * len(budgets)
    numpy_t = timing(records["numpy_closed_form"])
    return {
        "task": f"compute_optimal(preset(), budgets): {len(budgets):,} budgets in one call",
        "law": optimal.DEFAULT_PRESET, "n_budgets": len(budgets), "budget_range_flops": [float(budgets[0]), float(budgets[-1])],
        "jax_s": jax_t["median_s"], "compile_s": jax_t["compile_s"], "jax": jax_t,
        "scipy_s": scipy_s, "scipy_method": "scipy.optimize.minimize_scalar (Brent, default tol) in log N, one budget at a time",
        "scipy_extrapolated": len(subsample) < len(budgets), "scipy_measured_on": len(subsample),
        "scipy_per_budget": scipy_per_budget,
        "speedup": ratio(scipy_s, jax_t["median_s"]),
        "speedup_first_call": ratio(scipy_s, jax_t["first_call_s"]),
        "numpy_closed_form_s": numpy_t["median_s"], "numpy_closed_form": numpy_t,
        "accuracy": {"jax_max_rel_err_vs_closed_form": jax_err, "scipy_max_rel_err_vs_closed_form": scipy_err,
                     "numpy_closed_form_max_rel_err": numpy_err, "jax_vs_scipy_max_rel_diff": jax_vs_scipy,
                     "jax_all_converged": bool(np.all(np.asarray(allocation.converged)))},
        "same_optimum": bool(jax_vs_scipy <= SAME_ALLOCATION_RTOL and jax_err <= SAME_ALLOCATION_RTOL),
        "same_optimum_rule": f"JAX and SciPy N* within {SAME_ALLOCATION_RTOL:g} relative of each other and of the closed form",
    }


# ---------------------------------------------------------------------------------------------------- fit

def _quiet(fn):
    """Run ``fn`` with the library's warnings recorded rather than printed; returns (result, messages)."""
    def wrapped():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = fn()
        return out, tuple(dict.fromkeys(str(w.message) for w in caught))
    return wrapped


def classic_starts(cfg):
    grid = hoffmann_grid()
    if cfg.classic_starts is None or cfg.classic_starts >= len(grid):
        return grid, "hoffmann"
    subset = np.sort(np.random.default_rng(cfg.seed).permutation(len(grid))[: cfg.classic_starts])
    return grid[subset], grid[subset]


def _method(kind, result, warnings_):
    if kind == "jax":
        return {"objective": result.objective, "theta": result.theta.tolist(), "params": result.params,
                "n_starts": result.n_starts, "n_starts_at_best": result.n_starts_at_best,
                "converged": result.converged, "stopped": result.reason, "iterations": result.iterations,
                "warnings": list(warnings_)}
    best = int(np.argmin(result.objectives))
    return {"objective": result.objective, "theta": result.theta.tolist(),
            "params": dict(zip(("E", "A", "B", "alpha", "beta"), coefficients(result.theta).tolist())),
            "n_starts": len(result.objectives), "n_starts_at_best": result.n_starts_at_best,
            "converged": bool(result.success[best]), "stopped": result.message, "iterations": int(result.nit[best]),
            "starts_not_converged": int(np.sum(~result.success)), "warnings": list(warnings_)}


def bench_fit(cfg, data, source):
    n, d, loss = data
    starts, starts_arg = classic_starts(cfg)
    log(f"fit: {len(loss)} rows; classic = {len(starts)} starts")
    records = race([
        Contender("jax_default", _quiet(lambda: optimal.fit(n, d, loss)), True, cfg.rounds),
        Contender("scipy_screen_polish", _quiet(lambda: baseline.fit_screen_polish(n, d, loss)), False, cfg.rounds),
        Contender("jax_hoffmann", _quiet(lambda: optimal.fit(n, d, loss, starts=starts_arg)), True, cfg.classic_rounds),
        Contender("scipy_classic", _quiet(lambda: baseline.fit_lbfgsb(n, d, loss, starts=starts)), False, cfg.classic_rounds),
    ])
    methods = {}
    for name, rec in records.items():
        result, messages = rec["result"]
        methods[name] = {**_method("jax" if name.startswith("jax") else "scipy", result, messages), **timing(rec)}
    best = min(m["objective"] for m in methods.values())
    for m in methods.values():
        m["objective_gap_rel"] = (m["objective"] - best) / best

    def compare(jax_name, scipy_name, what):
        j, s = methods[jax_name], methods[scipy_name]
        obj_rel, coef_rel, theta_abs, same = compare_optima(j["theta"], j["objective"], s["theta"], s["objective"])
        return {"what": what, "jax": jax_name, "scipy": scipy_name, "jax_s": j["median_s"], "scipy_s": s["median_s"],
                "speedup": ratio(s["median_s"], j["median_s"]), "speedup_first_call": ratio(s["median_s"], j["first_call_s"]),
                "compile_s": j["compile_s"], "jax_objective_gap_rel": j["objective_gap_rel"],
                "scipy_objective_gap_rel": s["objective_gap_rel"], "objective_rel_diff": float(obj_rel),
                "max_coef_rel_diff": float(coef_rel), "max_theta_abs_diff": float(theta_abs), "same_optimum": bool(same)}

    n_classic = len(starts)
    comparisons = {
        "default_vs_classic": compare("jax_default", "scipy_classic",
                                      f"JAX fit (screen + 16-start polish) vs SciPy L-BFGS-B from {n_classic} Hoffmann starts"),
        "default_vs_screen_polish": compare("jax_default", "scipy_screen_polish",
                                            "JAX fit vs SciPy running the same screen-and-polish design"),
        "hoffmann_vs_classic": compare("jax_hoffmann", "scipy_classic",
                                       f"JAX fit(starts=hoffmann) vs SciPy L-BFGS-B, the same {n_classic} starts"),
    }
    head = comparisons["default_vs_classic"]
    return {
        "task": "fit the Chinchilla law (sum of Huber, delta 1e-3)", "data": source, "n_rows": int(len(loss)),
        "classic_starts": n_classic, "classic_rounds": cfg.classic_rounds,
        "jax_s": head["jax_s"], "scipy_s": head["scipy_s"], "speedup": head["speedup"], "compile_s": head["compile_s"],
        "same_optimum": all(c["same_optimum"] for c in comparisons.values()),
        "best_known_objective": best, "objective_gap_rel": methods["jax_default"]["objective_gap_rel"],
        "max_coef_rel_diff": max(c["max_coef_rel_diff"] for c in comparisons.values()),
        "same_optimum_rule": f"objectives within {SAME_OBJECTIVE_RTOL:g} and E, A, B, alpha, beta within {SAME_COEF_RTOL:g} relative",
        "comparisons": comparisons, "methods": methods,
    }


# ---------------------------------------------------------------------------------------------------- bootstrap

def lane_rate(data, weights, starts, n_lanes, n_evals, rounds=3):
    """Objective+gradient lane evaluations per second under ``vmap(value_and_grad(objective))``, ``n_lanes``
    lanes, each with its own row weights; ``n_evals`` dependent evaluations inside one ``jit`` (no dispatch cost).
    Also the same for the polish's objective+gradient+Hessian (``value_grad_hessian``)."""
    log_n, log_d, log_loss = (jnp.asarray(np.log(x)) for x in data)
    thetas = jnp.asarray(np.resize(starts, (n_lanes, 5)))
    w = jnp.asarray(np.resize(weights, (n_lanes, len(log_n))), thetas.dtype)

    def make(evaluate):
        @jax.jit
        def loop(thetas, w):
            def body(_, th):  # each evaluation depends on the last, so none is hoisted or skipped
                return th - 1e-12 * evaluate(th, w)
            return jax.lax.fori_loop(0, n_evals, body, thetas)
        return loop

    value_grad = jax.vmap(jax.value_and_grad(objective), in_axes=(0, None, None, None, 0))
    vgh = jax.vmap(value_grad_hessian, in_axes=(0, None, None, None, 0))
    rates = {}
    for name, evaluate in (("value_and_grad", lambda th, w: value_grad(th, log_n, log_d, log_loss, w)[1]),
                           ("value_grad_hessian", lambda th, w: vgh(th, log_n, log_d, log_loss, w)[1])):
        loop = make(evaluate)
        jax.block_until_ready(loop(thetas, w))
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            jax.block_until_ready(loop(thetas, w))
            times.append(time.perf_counter() - t0)
        rates[name] = n_lanes * n_evals / float(np.median(times))
    return rates


def bench_bootstrap(cfg, data, source, fit_result):
    n, d, loss = data
    B, m = cfg.boot_resamples, cfg.boot_scipy_resamples
    starts = starts_for_resamples(fit_result, 4)
    counts = resample_counts(cfg.seed, np.arange(m), len(loss))
    log(f"bootstrap: B = {B:,} (SciPy on resamples 0..{m - 1}, the same draws)")
    records = race([
        Contender("jax", lambda: optimal.bootstrap(fit_result, n_resamples=B, seed=cfg.seed), True, cfg.boot_rounds),
        Contender("scipy_4_starts", lambda: baseline.bootstrap_lbfgsb(n, d, loss, counts, starts), False, cfg.boot_rounds),
        Contender("scipy_warm_only", lambda: baseline.bootstrap_lbfgsb(n, d, loss, counts, starts[:1]), False, cfg.boot_rounds),
    ])
    boot = records["jax"]["result"]
    jax_t = timing(records["jax"])
    scipy_t = timing(records["scipy_4_starts"], per=m)
    warm_t = timing(records["scipy_warm_only"], per=m)
    scipy_s, warm_s = scipy_t["median_s"] * B, warm_t["median_s"] * B

    # the counts reproduce the JAX draws: the JAX optimum's objective under them is the JAX objective
    reproduced = [baseline.objective_and_grad(boot.thetas[r], *(np.log(x) for x in data), counts[r])[0] for r in range(m)]
    counts_match = bool(np.allclose(reproduced, boot.objectives[:m], rtol=1e-10, atol=0))

    def versus(scipy_result):
        obj_rel, coef_rel, _, same = compare_optima(boot.thetas[:m], boot.objectives[:m], scipy_result.thetas,
                                                    scipy_result.objectives)
        gap = (boot.objectives[:m] - scipy_result.objectives) / scipy_result.objectives
        return {"resamples_compared": m, "same_optimum_count": int(same.sum()),
                "jax_lower_objective": int(np.sum(gap < -SAME_OBJECTIVE_RTOL)),
                "scipy_lower_objective": int(np.sum(gap > SAME_OBJECTIVE_RTOL)),
                "max_objective_rel_diff": float(obj_rel.max()), "max_coef_rel_diff": float(coef_rel.max()),
                "scipy_not_converged": int(np.sum(~scipy_result.success)),
                "scipy_mean_iterations": float(np.mean(scipy_result.nit))}

    four, warm = versus(records["scipy_4_starts"]["result"]), versus(records["scipy_warm_only"]["result"])
    log("bootstrap: evaluation floor")
    rates = lane_rate(data, counts[:1] if m else np.ones((1, len(loss))), starts, cfg.floor_lanes, cfg.floor_evals)
    rate = rates["value_and_grad"]
    floor_s = B * EVALS_PER_WARM_REFIT / rate
    good = boot.good
    return {
        "task": f"bootstrap(fit, n_resamples={B}): refit every resample from 4 warm starts", "data": source,
        "n_resamples": B, "n_starts": len(starts), "seed": cfg.seed,
        "jax_s": jax_t["median_s"], "compile_s": jax_t["compile_s"], "jax": jax_t,
        "scipy_s": scipy_s, "scipy_method": "baseline.bootstrap_lbfgsb, the same 4 starts, tight tolerances",
        "scipy_extrapolated": m < B, "scipy_measured_on": m, "scipy_per_resample": scipy_t,
        "speedup": ratio(scipy_s, jax_t["median_s"]), "speedup_first_call": ratio(scipy_s, jax_t["first_call_s"]),
        "scipy_warm_only_s": warm_s, "scipy_warm_only_per_resample": warm_t,
        "speedup_vs_warm_only": ratio(warm_s, jax_t["median_s"]),
        "same_resamples": "SciPy refits the JAX bootstrap's own resamples 0..m-1 (fold_in(PRNGKey(seed), r), randint, bincount)",
        "counts_reproduce_jax_draws": counts_match,
        "same_optimum": bool(counts_match and four["same_optimum_count"] == m),
        "vs_scipy_4_starts": four, "vs_scipy_warm_only": warm,
        "jax_n_failed": boot.n_failed, "jax_mean_iterations_best_start": float(np.mean(boot.iterations)),
        "interval_widths_95": {f"jax_all_{B}": widths(good), f"jax_first_{m}": widths(boot.thetas[:m]),
                               f"scipy_4_starts_{m}": widths(records["scipy_4_starts"]["result"].thetas),
                               f"scipy_warm_only_{m}": widths(records["scipy_warm_only"]["result"].thetas)},
        "floor": rate, "floor_unit": f"objective+gradient lane evaluations per second, vmap over {cfg.floor_lanes} lanes x {len(loss)} rows",
        "floor_s": floor_s, "floor_ratio": ratio(jax_t["median_s"], floor_s),
        "floor_rule": f"floor_s = B x {EVALS_PER_WARM_REFIT} evaluations (a warm refit, PITFALLS) / floor; floor_ratio = jax_s / floor_s",
        "value_grad_hessian_rate": rates["value_grad_hessian"],
    }


# ---------------------------------------------------------------------------------------------------- run

def run(cfg, out_dir=RESULTS_DIR):
    """Run the solve, fit and bootstrap benchmarks at ``cfg``'s sizes; write ``<device>[-mode].json/.md``."""
    t0 = time.perf_counter()
    with _CLOCK:
        data, source = epoch_or_synthetic(cfg.seed)
        results = {"environment": environment(), "config": dataclasses.asdict(cfg)}
        results["solve"] = bench_solve(cfg)
        results["fit"] = bench_fit(cfg, data, source)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_result = optimal.fit(*data)
        results["bootstrap"] = bench_bootstrap(cfg, data, source, fit_result)
    results["total_s"] = time.perf_counter() - t0
    results["environment"]["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    return write(results, out_dir, "" if cfg.mode == "full" else f"-{cfg.mode}", markdown(results))


def write(results, out_dir, suffix, text, figure=None):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{results['environment']['device']['name']}{suffix}"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=1, default=_jsonable) + "\n")
    stem.with_suffix(".md").write_text(text)
    if figure is not None:
        figure.savefig(stem.with_suffix(".png"), dpi=120)
    log(f"wrote {stem}.json, .md" + (", .png" if figure is not None else "") + f" ({results['total_s']:.0f} s in all)")
    return results


def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"not JSON: {type(x)}")


# ---------------------------------------------------------------------------------------------------- report

def _s(x):
    if x is None or not np.isfinite(x):
        return "-"
    if x >= 100:
        return f"{x:.0f} s"
    if x >= 1:
        return f"{x:.2f} s"
    if x >= 1e-3:
        return f"{x * 1e3:.3g} ms"
    return f"{x * 1e6:.3g} µs"


def _spread(t):
    return f"{_s(t['median_s'])} [{_s(t['min_s'])}, {_s(t['max_s'])}]"


def _x(x):
    return f"{x:.3g}x" if np.isfinite(x) else "-"


def load_line(env):
    start, end = env.get("load_average_at_start"), env.get("load_average_at_end")
    if not start or not end:
        return ""
    return f" Load average (1 min) at start / end: {start[0]:.2f} / {end[0]:.2f} on {env['cpu']['cpus_available']} CPUs."


def machine_line(env):
    v = env["versions"]
    return (f"{env['device']['platform']} / {env['device']['device_kind']} ({env['device']['count']} device(s)), "
            f"{env['cpu']['model']}, {env['cpu']['cpus_available']} CPUs; jax {v['jax']}, jaxlib {v['jaxlib']}, "
            f"optax {v['optax']}, numpy {v['numpy']}, scipy {v['scipy']}, python {v['python']}; float64; "
            f"SciPy on 1 BLAS thread; optimal at {_source(env)}; {env['date_utc']}")


def _source(env):
    src = env.get("source", {})
    dirty = src.get("uncommitted")
    return f"{src.get('commit') or 'unknown commit'}{' + uncommitted changes' if dirty else ''} (optimal/*.py sha256 {src.get('optimal_py_sha256')})"


def markdown(r):
    env, solve, fit, boot = r["environment"], r["solve"], r["fit"], r["bootstrap"]
    methods = fit["methods"]
    lines = [
        f"# Benchmarks: JAX vs the SciPy baseline ({r['config']['mode']})", "",
        f"Machine: {machine_line(env)}.  ",
        f"Command: `{env['command'] or 'benchmarks/run.py'}` ({r['total_s']:.0f} s in all). Data: {fit['data']}."
        + load_line(env), "",
        "Times: median [min, max] of repeated warm runs, JAX and SciPy alternating in one process; JAX compile time "
        "(its first call's tracing and XLA compilation) apart. Speedup = SciPy median / JAX median. "
        "'extrapolated' = SciPy timed on a subsample, scaled linearly.", "",
        "| Benchmark | JAX | JAX compile | SciPy | Speedup | Accuracy |",
        "|---|---|---|---|---|---|",
    ]
    a = solve["accuracy"]
    lines.append(
        f"| solve: {solve['n_budgets']:,} budgets, `compute_optimal` vs `minimize_scalar` per budget | {_spread(solve['jax'])} | "
        f"{_s(solve['compile_s'])} | {_s(solve['scipy_s'])} (extrapolated from {solve['scipy_measured_on']:,}) | "
        f"{_x(solve['speedup'])} | N* max rel. err vs closed form: JAX {a['jax_max_rel_err_vs_closed_form']:.1e}, "
        f"SciPy {a['scipy_max_rel_err_vs_closed_form']:.1e}; same optimum: {_yes(solve['same_optimum'])} |")
    lines.append(
        f"| solve: NumPy closed form (reference), {solve['n_budgets']:,} budgets | - | - | {_spread(solve['numpy_closed_form'])} | "
        f"{_x(ratio(solve['numpy_closed_form_s'], solve['jax_s']))} | exact formula (max rel. diff to `optimal.closed_form` "
        f"{a['numpy_closed_form_max_rel_err']:.1e}) |")
    for c in fit["comparisons"].values():
        j, s = methods[c["jax"]], methods[c["scipy"]]
        scipy_runs = f" ({s['runs']} run)" if s["runs"] == 1 else ""
        lines.append(
            f"| fit: {c['what']} | {_spread(j)} | {_s(j['compile_s'])} | {_spread(s)}{scipy_runs} | {_x(c['speedup'])} | "
            f"objective gap to best: JAX {c['jax_objective_gap_rel']:.1e}, SciPy {c['scipy_objective_gap_rel']:.1e}; "
            f"max coef. rel. diff {c['max_coef_rel_diff']:.1e}; starts at best: JAX {j['n_starts_at_best']}/{j['n_starts']}, "
            f"SciPy {s['n_starts_at_best']}/{s['n_starts']}; same optimum: {_yes(c['same_optimum'])} |")
    m, B = boot["scipy_measured_on"], boot["n_resamples"]
    for label, key, secs, per in (("4 warm starts", "vs_scipy_4_starts", boot["scipy_s"], boot["scipy_per_resample"]),
                                  ("1 warm start (warm-only)", "vs_scipy_warm_only", boot["scipy_warm_only_s"],
                                   boot["scipy_warm_only_per_resample"])):
        v = boot[key]
        lines.append(
            f"| bootstrap: B = {B:,}, JAX (4 starts) vs SciPy L-BFGS-B, {label} | {_spread(boot['jax'])} | {_s(boot['compile_s'])} | "
            f"{_s(secs)} (extrapolated from {m}: {_s(per['median_s'])}/resample) | {_x(ratio(secs, boot['jax_s']))} | "
            f"same optimum on {v['same_optimum_count']}/{m} shared resamples (JAX lower on {v['jax_lower_objective']}, "
            f"SciPy lower on {v['scipy_lower_objective']}); JAX failed: {boot['jax_n_failed']} |")
    lines += [
        "",
        f"Bootstrap evaluation floor: {boot['floor']:.3g} objective+gradient lane evaluations/s "
        f"({boot['floor_unit'].split(', ')[1]}); B x {EVALS_PER_WARM_REFIT} evaluations -> floor {_s(boot['floor_s'])}; "
        f"JAX bootstrap / floor = {boot['floor_ratio']:.2g}. The polish's objective+gradient+Hessian runs at "
        f"{boot['value_grad_hessian_rate']:.3g} lane evaluations/s; JAX's best starts took "
        f"{boot['jax_mean_iterations_best_start']:.1f} Newton iterations on average.", "",
        "95% percentile interval widths:", "",
        "| draws | alpha | beta | E |", "|---|---|---|---|",
    ]
    lines += [f"| {k.replace('_', ' ')} | {w['alpha']:.4f} | {w['beta']:.4f} | {w['E']:.4f} |"
              for k, w in boot["interval_widths_95"].items()]
    lines += ["", f"Same optimum: {fit['same_optimum_rule']}; for allocations, {solve['same_optimum_rule']}.", ""]
    return "\n".join(lines)


def _yes(flag):
    return "yes" if flag else "**NO**"


# ---------------------------------------------------------------------------------------------------- scaling

def _point(records, x, jax_name="jax", scipy_name="scipy", scipy_scale=None, **extra):
    """A curve point: JAX warm median, first call and compile; SciPy measured or extrapolated (scipy_scale)."""
    j = timing(records[jax_name])
    point = {"x": x, "jax_s": j["median_s"], "jax_min_s": j["min_s"], "jax_max_s": j["max_s"],
             "jax_first_call_s": j["first_call_s"], "compile_s": j["compile_s"], **extra}
    if scipy_name in records:
        s = timing(records[scipy_name])
        scale = 1.0 if scipy_scale is None else scipy_scale
        point.update(scipy_s=s["median_s"] * scale, scipy_extrapolated=scipy_scale is not None and scale != 1.0)
    return point


def _extrapolate(curve, key="scipy_s", unit=None):
    """Fill SciPy's time at the points it did not run, linearly from the largest measured point."""
    measured = [p for p in curve if key in p]
    if not measured:
        return
    last = max(measured, key=lambda p: p["x"])
    per = last[key] / (unit(last) if unit else last["x"])
    for p in curve:
        if key not in p:
            p[key] = per * (unit(p) if unit else p["x"])
            p["scipy_extrapolated"] = True


def scaling_rows(sc):
    curve = []
    for n_rows in sc.rows:
        data = synthetic_runs(n_rows, sc.seed)
        log(f"scaling rows: {n_rows}")
        contenders = [Contender("jax", _quiet(lambda: optimal.fit(*data)), True, sc.repeats, sc.max_warm_s)]
        if n_rows <= sc.rows_scipy_max:
            contenders.append(Contender("scipy", lambda: baseline.fit_screen_polish(*data), False, sc.repeats, sc.max_warm_s))
        records = race(contenders)
        extra = {"jax_objective": records["jax"]["result"][0].objective}
        if "scipy" in records:
            s = records["scipy"]["result"]
            j = records["jax"]["result"][0]
            extra.update(scipy_objective=s.objective,
                         same_optimum=bool(compare_optima(j.theta, j.objective, s.theta, s.objective)[3]))
        curve.append(_point(records, n_rows, **extra))
    _extrapolate(curve)  # rows scale the SciPy fit roughly linearly; marked where used
    return {"what": "fit, default design: JAX optimal.fit vs SciPy fit_screen_polish; synthetic rows (Epoch's law + 1% noise)",
            "x_label": "rows", "points": curve}


def scaling_starts(sc, data):
    grid = hoffmann_grid()
    order = np.random.default_rng(sc.seed).permutation(len(grid))
    curve = []
    for n_starts in sc.starts:
        starts = grid[np.sort(order[:n_starts])]
        log(f"scaling starts: {n_starts}")
        contenders = [Contender("jax", _quiet(lambda: optimal.fit(*data, starts=starts)), True, sc.repeats, sc.max_warm_s)]
        if n_starts <= sc.starts_scipy_max:
            contenders.append(Contender("scipy", lambda: baseline.fit_lbfgsb(*data, starts=starts), False, sc.repeats, sc.max_warm_s))
        records = race(contenders)
        j = records["jax"]["result"][0]
        extra = {"jax_objective": j.objective, "jax_starts_at_best": j.n_starts_at_best}
        if "scipy" in records:
            s = records["scipy"]["result"]
            extra.update(scipy_objective=s.objective, scipy_starts_at_best=s.n_starts_at_best,
                         same_optimum=bool(compare_optima(j.theta, j.objective, s.theta, s.objective)[3]))
        curve.append(_point(records, n_starts, **extra))
    _extrapolate(curve)
    return {"what": "fit from a seeded subset of the 4500 Hoffmann starts (the same for both): JAX optimal.fit(starts=...) "
                    "vs SciPy fit_lbfgsb", "x_label": "starts", "points": curve}


def scaling_resamples(sc, data, fit_result):
    starts = starts_for_resamples(fit_result, 4)
    m_max = min(sc.resamples_scipy_max, max(sc.resamples))
    counts = resample_counts(sc.seed, np.arange(m_max), len(data[2]))
    curve = []
    for n_resamples in sc.resamples:
        m = min(n_resamples, m_max)
        log(f"scaling resamples: {n_resamples:,} (SciPy on {m})")
        records = race([
            Contender("jax", lambda: optimal.bootstrap(fit_result, n_resamples=n_resamples, seed=sc.seed), True,
                      sc.repeats, sc.max_warm_s),
            Contender("scipy", lambda: baseline.bootstrap_lbfgsb(*data, counts[:m], starts), False, sc.repeats, sc.max_warm_s),
        ])
        boot, s = records["jax"]["result"], records["scipy"]["result"]
        same = compare_optima(boot.thetas[:m], boot.objectives[:m], s.thetas, s.objectives)[3]
        curve.append(_point(records, n_resamples, scipy_scale=n_resamples / m, scipy_measured_on=m,
                            same_optimum_count=int(same.sum()), jax_n_failed=boot.n_failed))
    return {"what": "bootstrap, 4 warm starts per resample: JAX optimal.bootstrap vs SciPy bootstrap_lbfgsb on the same "
                    "resamples (SciPy per-resample time extrapolated beyond its measured count)",
            "x_label": "resamples", "points": curve}


def scaling_budgets(sc):
    law = optimal.preset()
    curve = []
    for n_budgets in sc.budgets:
        budgets = budget_grid(n_budgets)
        log(f"scaling budgets: {n_budgets:,}")
        contenders = [Contender("jax", lambda: optimal.compute_optimal(law, budgets), True, sc.repeats, sc.max_warm_s),
                      Contender("numpy", lambda: numpy_closed_form(law, budgets), False, sc.repeats, sc.max_warm_s)]
        if n_budgets <= sc.budgets_scipy_max:
            contenders.append(Contender("scipy", lambda: scipy_allocate(law, budgets), False, sc.repeats, sc.max_warm_s))
        records = race(contenders)
        exact = np.asarray(optimal.closed_form(law, budgets)[0])
        extra = {"numpy_closed_form_s": timing(records["numpy"])["median_s"],
                 "jax_max_rel_err": float(np.max(np.abs(np.asarray(records["jax"]["result"].n_params) / exact - 1)))}
        if "scipy" in records:
            extra["scipy_max_rel_err"] = float(np.max(np.abs(records["scipy"]["result"] / exact - 1)))
        curve.append(_point(records, n_budgets, **extra))
    _extrapolate(curve)
    return {"what": "allocation: JAX compute_optimal (one call) vs SciPy minimize_scalar per budget, and the NumPy closed form",
            "x_label": "budgets", "points": curve}


def plot_scaling(curves, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    for ax, (name, curve) in zip(axes.ravel(), curves.items()):
        pts = curve["points"]
        x = np.array([p["x"] for p in pts], float)
        ax.plot(x, [p["jax_s"] for p in pts], "o-", color="C0", label="JAX (warm)")
        ax.plot(x, [p["jax_first_call_s"] for p in pts], ".:", color="C0", alpha=0.6, label="JAX first call (incl. compile)")
        measured = [p for p in pts if "scipy_s" in p and not p.get("scipy_extrapolated")]
        guessed = [p for p in pts if p.get("scipy_extrapolated")]
        if measured:
            ax.plot([p["x"] for p in measured], [p["scipy_s"] for p in measured], "s-", color="C3", label="SciPy (measured)")
        if guessed:
            tail = ([measured[-1]] if measured else []) + guessed
            ax.plot([p["x"] for p in tail], [p["scipy_s"] for p in tail], "--", color="C3")
            ax.plot([p["x"] for p in guessed], [p["scipy_s"] for p in guessed], "s", mfc="none", color="C3",
                    label="SciPy (extrapolated)")
        if name == "budgets":
            ax.plot(x, [p["numpy_closed_form_s"] for p in pts], "^-", color="C2", alpha=0.7, label="NumPy closed form")
        ax.set(xscale="log", yscale="log", xlabel=curve["x_label"], ylabel="seconds", title=name)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("\n".join(textwrap.wrap(title, 150)), fontsize=8)
    fig.tight_layout()
    return fig


def scaling_markdown(r):
    lines = [f"# Scaling: JAX vs SciPy ({r['config']['mode']})", "", f"Machine: {machine_line(r['environment'])}.  ",
             f"Command: `{r['environment']['command'] or 'benchmarks/run.py --scaling'}` ({r['total_s']:.0f} s in all). "
             "Figure: the .png beside this file. '*' = SciPy extrapolated linearly from its largest measured point."
             + load_line(r["environment"]), ""]
    for name, curve in r["curves"].items():
        lines += [f"## {name}", "", curve["what"] + ".", "",
                  f"| {curve['x_label']} | JAX warm | JAX compile | SciPy | speedup | accuracy |", "|---|---|---|---|---|---|"]
        for p in curve["points"]:
            scipy_s = p.get("scipy_s")
            acc = []
            if "same_optimum" in p:
                acc.append(f"same optimum: {_yes(p['same_optimum'])}")
                if not p["same_optimum"]:
                    lower = "JAX" if p["jax_objective"] < p["scipy_objective"] else "SciPy"
                    acc.append(f"objective JAX {p['jax_objective']:.6g}, SciPy {p['scipy_objective']:.6g} ({lower} lower)")
            if "jax_starts_at_best" in p:
                acc.append(f"starts at best: JAX {p['jax_starts_at_best']}"
                           + (f", SciPy {p['scipy_starts_at_best']}" if "scipy_starts_at_best" in p else ""))
            if "same_optimum_count" in p:
                acc.append(f"same optimum {p['same_optimum_count']}/{p['scipy_measured_on']}")
            if "jax_max_rel_err" in p:
                acc.append(f"JAX N* err {p['jax_max_rel_err']:.0e}" + (f", SciPy {p['scipy_max_rel_err']:.0e}" if "scipy_max_rel_err" in p else ""))
            star = "*" if p.get("scipy_extrapolated") else ""
            lines.append(f"| {p['x']:,} | {_s(p['jax_s'])} | {_s(p['compile_s'])} | {_s(scipy_s)}{star} | "
                         f"{_x(ratio(scipy_s, p['jax_s'])) if scipy_s else '-'} | {'; '.join(acc)} |")
        lines.append("")
    return "\n".join(lines)


def run_scaling(sc, out_dir=RESULTS_DIR):
    """The four scaling curves, JAX and SciPy; writes ``<device>-scaling[-smoke].json/.md/.png``."""
    t0 = time.perf_counter()
    with _CLOCK:
        data, source = epoch_or_synthetic(sc.seed)
        results = {"environment": environment(), "config": dataclasses.asdict(sc), "data": source}
        # rows and budgets first: their first calls then show the compile a fresh process pays
        curves = {"rows": scaling_rows(sc), "budgets": scaling_budgets(sc)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_result = optimal.fit(*data)
        curves["starts"] = scaling_starts(sc, data)
        curves["resamples"] = scaling_resamples(sc, data, fit_result)
        curves = {name: curves[name] for name in ("rows", "starts", "resamples", "budgets")}
        results["curves"] = curves
    results["total_s"] = time.perf_counter() - t0
    results["environment"]["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    figure = plot_scaling(curves, f"optimal: JAX vs SciPy — {machine_line(results['environment'])}")
    suffix = "-scaling" if sc.mode == "full" else f"-scaling-{sc.mode}"
    return write(results, out_dir, suffix, scaling_markdown(results), figure)


# ---------------------------------------------------------------------------------------------------- families

@dataclasses.dataclass(frozen=True)
class FamiliesConfig:
    """Sizes of the law-family benchmarks (``--families``): the generic path against the Chinchilla fast path,
    and the data-constrained family against SciPy L-BFGS-B."""

    mode: str
    chinchilla_rows: int = 240
    generic_rounds: int = 21  # warm calls of each path, alternating
    dc_rows: int = 200
    dc_rounds: int = 5  # warm calls of our data-constrained fit
    dc_scipy_rounds: int = 3  # runs of SciPy's (~35 s each on the full grid, 2 cores)
    dc_scipy_stride: int = 1  # SciPy's starts: data_constrained_grid()[::stride]
    noise: float = 0.01
    seed: int = 0


FAMILIES_CONFIGS = {
    "full": FamiliesConfig("full"),
    "quick": FamiliesConfig("quick", generic_rounds=11, dc_rounds=3, dc_scipy_rounds=3, dc_scipy_stride=10),
    "smoke": FamiliesConfig("smoke", chinchilla_rows=60, generic_rounds=1, dc_rows=60, dc_rounds=1, dc_scipy_rounds=1,
                            dc_scipy_stride=200),
}


def natural_rel_diff(params_1, params_2):
    """Largest relative difference, parameter by parameter, of two ``{name: natural value}`` dicts."""
    return max(abs(params_1[k] - params_2[k]) / abs(params_2[k]) for k in params_2)


def bench_generic_vs_fast(fc):
    """The generic path (autodiff Hessian, sampled screen) on the Chinchilla family against the fast path, on the
    same rows; first from the same explicit starts (the solver alone), then the default screen + polish of each."""
    runs = optimal.synthetic_runs(n_runs=fc.chinchilla_rows, noise=fc.noise, seed=fc.seed)
    n, d, loss = runs[0], runs[1], runs[2]
    generic = dataclasses.replace(optimal.laws.CHINCHILLA, name="chinchilla-generic", value_grad_hessian=None, screen=None,
                                  screen_edges=None, start_grids={})  # without the family's capabilities
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimal.fit(n, d, loss)  # compiles the fast default fit
    # the fast path's own screen starts (before polishing), so both solvers do the whole polish
    logs = tuple(jnp.log(jnp.asarray(x, jnp.float64)) for x in (n, d, loss))
    starts = np.asarray(screen(logs, jnp.ones(len(loss), jnp.float64), 64, 16))
    log(f"generic vs fast: {len(loss)} rows, {len(starts)} explicit starts, {fc.generic_rounds} warm rounds")
    lines = {}
    for key, kwargs, what in (
            ("same_starts", {"starts": starts}, f"the same {len(starts)} explicit starts (the fast path's screen starts)"),
            ("default", {}, "default fit: each path's own screen + polish")):
        records = race([
            Contender("fast", _quiet(lambda: optimal.fit(n, d, loss, **kwargs)), True, fc.generic_rounds),
            Contender("generic", _quiet(lambda: optimal.fit(n, d, loss, law=generic, **kwargs)), True, fc.generic_rounds),
        ])
        (f, f_warn), (g, g_warn) = records["fast"]["result"], records["generic"]["result"]
        ft, gt = timing(records["fast"]), timing(records["generic"])
        gap = abs(g.objective - f.objective) / min(abs(f.objective), abs(g.objective))
        lines[key] = {
            "what": what, "fast": ft, "generic": gt,
            "fast_s": ft["median_s"], "generic_s": gt["median_s"],
            "ratio_generic_over_fast": ratio(gt["median_s"], ft["median_s"]),
            "ratio_first_call_generic_over_fast": ratio(gt["first_call_s"], ft["first_call_s"]),
            "fast_objective": f.objective, "generic_objective": g.objective, "objective_rel_gap": gap,
            "objectives_agree": bool(gap <= SAME_OBJECTIVE_RTOL),
            "max_param_rel_diff": natural_rel_diff(g.params, f.params),
            "fast_params": f.params, "generic_params": g.params,
            "n_starts": {"fast": f.n_starts, "generic": g.n_starts},
            "n_starts_at_best": {"fast": f.n_starts_at_best, "generic": g.n_starts_at_best},
            "iterations_best_start": {"fast": f.iterations, "generic": g.iterations},
            "warnings": {"fast": list(f_warn), "generic": list(g_warn)},
        }
    head = lines["same_starts"]
    return {
        "task": "fit the Chinchilla law: the generic path (family 'chinchilla-generic', a copy of CHINCHILLA, so "
                "autodiff Hessian and sampled screen) vs the fast path (hand-derived Hessian, exponent-grid screen)",
        "data": f"SYNTHETIC: optimal.synthetic_runs(n_runs={fc.chinchilla_rows}, noise={fc.noise}, seed={fc.seed})",
        "n_rows": int(len(loss)), "target": "generic within 3x of fast per fit (same starts)",
        "order": "a default fast fit first (to get its starts; compiles the fast default fit), then the same-starts "
                 "race, then the default race; first calls (with compile) are timed apart",
        "ratio_generic_over_fast": head["ratio_generic_over_fast"],
        "within_3x": bool(head["ratio_generic_over_fast"] <= 3.0),
        "objectives_agree": all(v["objectives_agree"] for v in lines.values()),
        "objective_rule": f"relative gap |f_generic - f_fast| / min <= {SAME_OBJECTIVE_RTOL:g}",
        "lines": lines,
    }


def bench_data_constrained(fc):
    """Muennighoff et al.'s data-constrained law: our ``fit(law="data-constrained")`` against SciPy L-BFGS-B from
    the baseline's start grid, on synthetic multi-epoch runs."""
    n, d, u, loss = optimal.data.synthetic.data_constrained_runs(n_runs=fc.dc_rows, noise=fc.noise, seed=fc.seed)
    grid = baseline.data_constrained_grid()
    scipy_starts = grid[::fc.dc_scipy_stride]
    log(f"data-constrained: {len(loss)} rows; SciPy from {len(scipy_starts)} of {len(grid)} grid starts")
    records = race([
        Contender("jax", _quiet(lambda: optimal.fit(n, d, loss, law="data-constrained", covariates={"U": u})), True,
                  fc.dc_rounds),
        Contender("scipy", _quiet(lambda: baseline.fit_data_constrained_lbfgsb(n, d, u, loss, starts=scipy_starts)),
                  False, fc.dc_scipy_rounds),
    ])
    (ours, ours_warn), (sp, sp_warn) = records["jax"]["result"], records["scipy"]["result"]
    jt, st = timing(records["jax"]), timing(records["scipy"])
    names = ("E", "A", "B", "alpha", "beta", "rd_star", "rn_star")
    # SciPy's theta = (e, a, b, alpha, beta, log rd*, log rn*); ours reports natural values in result.params
    scipy_params = dict(zip(names, (*np.exp(sp.theta[:3]), *sp.theta[3:5], *np.exp(sp.theta[5:])), strict=True))
    scipy_params = {k: float(v) for k, v in scipy_params.items()}
    truth = optimal.data.synthetic.MUENNIGHOFF_THETA
    truth_params = {k: float(v) for k, v in zip(names, (*np.exp(truth[:3]), *truth[3:5], *np.exp(truth[5:])), strict=True)}
    gap = (ours.objective - sp.objective) / sp.objective
    best = int(np.argmin(sp.objectives))
    return {
        "task": "fit Muennighoff et al. 2023's data-constrained law (sum of Huber, delta 1e-3)",
        "data": f"SYNTHETIC: optimal.data.synthetic.data_constrained_runs(n_runs={fc.dc_rows}, noise={fc.noise}, seed={fc.seed})",
        "n_rows": int(len(loss)),
        "jax_call": 'optimal.fit(N, D, loss, law="data-constrained", covariates={"U": U}) (default screen + polish)',
        "scipy_call": "baseline.fit_data_constrained_lbfgsb(N, D, U, loss, starts=data_constrained_grid()"
                      + (f"[::{fc.dc_scipy_stride}])" if fc.dc_scipy_stride > 1 else ")"),
        "scipy_starts": int(len(scipy_starts)), "scipy_grid_starts": int(len(grid)),
        "scipy_subset": fc.dc_scipy_stride > 1,
        "jax_s": jt["median_s"], "compile_s": jt["compile_s"], "jax": jt, "scipy_s": st["median_s"], "scipy": st,
        "speedup": ratio(st["median_s"], jt["median_s"]), "speedup_first_call": ratio(st["median_s"], jt["first_call_s"]),
        "jax_objective": ours.objective, "scipy_objective": sp.objective, "objective_rel_gap_jax_minus_scipy": gap,
        "jax_no_worse": bool(ours.objective <= sp.objective * (1 + SAME_OBJECTIVE_RTOL)),
        "jax_no_worse_rule": f"jax objective <= scipy objective x (1 + {SAME_OBJECTIVE_RTOL:g})",
        "jax_params": {k: float(v) for k, v in ours.params.items()}, "scipy_params": scipy_params,
        "truth_params": truth_params,
        "max_param_rel_diff_jax_vs_scipy": natural_rel_diff(ours.params, scipy_params),
        "param_rel_diff_jax_vs_scipy": {k: abs(ours.params[k] - v) / abs(v) for k, v in scipy_params.items()},
        "jax_n_starts": ours.n_starts, "jax_n_starts_at_best": ours.n_starts_at_best, "jax_converged": ours.converged,
        "jax_iterations": ours.iterations,
        "scipy_n_starts_at_best": sp.n_starts_at_best, "scipy_converged_best": bool(sp.success[best]),
        "scipy_starts_not_converged": int(np.sum(~sp.success)),
        "warnings": {"jax": list(ours_warn), "scipy": list(sp_warn)},
    }


def families_markdown(r):
    gv, dc = r["generic_vs_fast"], r["data_constrained"]
    lines = [
        f"# Law families: generic vs fast path, data-constrained vs SciPy ({r['config']['mode']})", "",
        f"Machine: {machine_line(r['environment'])}.  ",
        f"Command: `{r['environment']['command'] or 'benchmarks/run.py --families'}` ({r['total_s']:.0f} s in all)."
        + load_line(r["environment"]), "",
        "Times: median [min, max] of repeated warm runs, alternating in one process; first call's compile time apart.", "",
        f"## Generic path vs fast path, Chinchilla family ({gv['data']})", "",
        "| Fit | fast | fast compile | generic | generic compile | generic / fast | objectives (fast, generic) | rel. gap | max param rel. diff |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in gv["lines"].values():
        lines.append(
            f"| {v['what']} | {_spread(v['fast'])} | {_s(v['fast']['compile_s'])} | {_spread(v['generic'])} | "
            f"{_s(v['generic']['compile_s'])} | {_x(v['ratio_generic_over_fast'])} | {v['fast_objective']:.12g}, "
            f"{v['generic_objective']:.12g} | {v['objective_rel_gap']:.1e} ({'agree' if v['objectives_agree'] else '**DISAGREE**'}) | "
            f"{v['max_param_rel_diff']:.1e} |")
    lines += ["", f"Target: {gv['target']}: {_yes(gv['within_3x'])} ({_x(gv['ratio_generic_over_fast'])}). "
              f"Objective rule: {gv['objective_rule']}. Order: {gv['order']}.", "",
              f"## Data-constrained family vs SciPy L-BFGS-B ({dc['data']})", "",
              "| Fit | ours | ours compile | SciPy | speedup | objective ours | objective SciPy | ours no worse |",
              "|---|---|---|---|---|---|---|---|"]
    subset = f" (SUBSET: {dc['scipy_starts']} of {dc['scipy_grid_starts']} grid starts)" if dc["scipy_subset"] else ""
    lines.append(
        f"| ours: `{dc['jax_call']}`; SciPy: `{dc['scipy_call']}`, {dc['scipy_starts']} starts{subset} | {_spread(dc['jax'])} | "
        f"{_s(dc['compile_s'])} | {_spread(dc['scipy'])} | {_x(dc['speedup'])} | {dc['jax_objective']:.12g} | "
        f"{dc['scipy_objective']:.12g} | {_yes(dc['jax_no_worse'])} (rel. gap {dc['objective_rel_gap_jax_minus_scipy']:.1e}) |")
    lines += ["", "Natural parameters (SciPy's theta (e, a, b, alpha, beta, log rd*, log rn*) mapped to E = exp(e), ..., "
              "rd* = exp(log rd*)):", "", "| param | ours | SciPy | rel. diff | truth |", "|---|---|---|---|---|"]
    for k, v in dc["scipy_params"].items():
        lines.append(f"| {k} | {dc['jax_params'][k]:.8g} | {v:.8g} | {dc['param_rel_diff_jax_vs_scipy'][k]:.1e} | "
                     f"{dc['truth_params'][k]:.6g} |")
    lines += ["", f"Starts at best: ours {dc['jax_n_starts_at_best']}/{dc['jax_n_starts']}, SciPy "
              f"{dc['scipy_n_starts_at_best']}/{dc['scipy_starts']} (SciPy starts not converged: "
              f"{dc['scipy_starts_not_converged']}). Rule: {dc['jax_no_worse_rule']}.", ""]
    return "\n".join(lines)


def run_families(fc, out_dir=RESULTS_DIR):
    """The generic-vs-fast and data-constrained-vs-SciPy benchmarks; writes ``<device>-families[-mode].json/.md``."""
    t0 = time.perf_counter()
    with _CLOCK:
        results = {"environment": environment(), "config": dataclasses.asdict(fc)}
        results["generic_vs_fast"] = bench_generic_vs_fast(fc)
        results["data_constrained"] = bench_data_constrained(fc)
    results["total_s"] = time.perf_counter() - t0
    results["environment"]["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    suffix = "-families" if fc.mode == "full" else f"-families-{fc.mode}"
    return write(results, out_dir, suffix, families_markdown(results))


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
    synthetic: bool = False  # the synthetic CSV even where Epoch's data is present
    n_rows: int = 240
    compute: float = 1e24
    seed: int = 0


COLD_START_CONFIGS = {
    "full": ColdStartConfig("full"),
    "quick": ColdStartConfig("quick", first_runs=1, warm_runs=5, off_runs=1, floor_runs=3, probe_runs=1),
    "smoke": ColdStartConfig("smoke", first_runs=1, warm_runs=1, off_runs=1, floor_runs=1, probe_runs=1, synthetic=True),
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
            first = probe(runner, python, args, next(fresh), tmp / f"probe-{name}-first.json")
            breakdown[name] = {"warm": _median_probe(warm), "warm_run_s_all": [p["run_s"] for p in warm], "first": first}
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
        met = _yes(t["met"]) + ("" if t["met_by_every_run"] else " (not every run)") if t["met"] else _yes(False)
        lines.append(
            f"| `{command}` | {_spread(first)} ({first['runs']}) | {_spread(warm)} ({warm['runs']}) | {_spread(off)} ({off['runs']}) | "
            f"{_s(first['cpu_median_s'])} / {_s(warm['cpu_median_s'])} / {_s(off['cpu_median_s'])} | <= {t['target_s']:g} s | {met} |")
    lines += ["", "Floors:", "", "| Command | wall | CPU |", "|---|---|---|"]
    for label, text in (("python_start", 'python -c "pass"'), ("import_jax", 'python -c "import jax"'),
                        ("import_optimal", 'python -c "import optimal"'), ("optimal_help", "optimal --help")):
        lines.append(f"| `{text}` | {_spread(runs[label])} ({runs[label]['runs']}) | {_s(runs[label]['cpu_median_s'])} |")
    lines += ["", "Checks: " + "; ".join(
        f"{name}: output identical in every run {_yes(t['outputs_identical'])}, warm runs added "
        f"{t['warm_runs_added_cache_entries']} cache entries (first run wrote "
        f"{runs[f'{name}_first']['cache_after_first_run']['entries']}, "
        f"{runs[f'{name}_first']['cache_after_first_run']['bytes'] / 1e3:.0f} kB)" for name, t in r["targets"].items())
        + f"; default cache folder `{r['default_cache']['before']['path']}` unchanged: {_yes(r['default_cache']['unchanged'])}; "
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
        for kind in ("first", "warm"):
            p = b[kind]
            ep = p["eager_programs"]
            imports = ", ".join(f"{k} {_s(v)}" for k, v in p["imports_during_run"].items() if v >= 1e-3) or "none over 1 ms"
            lines.append(
                f"| {name} | {kind} | {_s(p['wall_s'])} | {_s(p['startup_s'])} | {_s(p['import_jax_s'])} | "
                f"{_s(p['import_rest_s'])} | {_s(p['backend_start_s'])} | {_s(p['run_s'])} | {_s(p['trace_s'])} ({p['traces']}) | "
                f"{_s(p['lower_s'])} ({p['lowerings']}) | {_s(p['compile_or_cache_s'])} ({p['compiles']}) | "
                f"{p['cache_hits']} / {p['cache_misses']} | {_s(p['rest_of_run_s'])} | {_s(p['exit_s'])} | "
                f"{_s(ep['total_s'])} ({ep['count']}) | {imports} |")
    lines += ["", "Programs of a warm run (trace + lower + compile or cache read; a lowering includes the imports it "
              "triggers):", ""]
    for name, b in r["breakdown"].items():
        top = ", ".join(f"`{p['name']}` {_s(p['total_s'])} (trace {_s(p['trace_s'])}, lower {_s(p['lower_s'])}, "
                        f"read {_s(p['compile_or_cache_s'])})" for p in b["warm"]["programs"][:4])
        ep = b["warm"]["eager_programs"]
        lines.append(f"- {name}: {top}; and {ep['count']} eager operations ({_s(ep['total_s'])}: "
                     f"{', '.join(ep['names'][:14])}{', ...' if len(ep['names']) > 14 else ''}).")
    it = r["import_time"]
    lines += ["", f"`python -X importtime -c \"import optimal.cli.main\"`: {_s(it['total_s'])} in all; self time by "
              "package: " + ", ".join(f"{k} {_s(v)}" for k, v in list(it["self_s_by_package"].items())[:10])
              + f". SciPy imported: {'yes' if it['scipy_imported'] else 'no'}; matplotlib imported: "
              f"{'yes' if it['matplotlib_imported'] else 'no'}. Modules loaded after a warm fit: "
              f"{', '.join(r['breakdown']['fit']['warm']['modules_loaded']) or 'none of scipy, matplotlib, optax'}; after a warm "
              f"solve: {', '.join(r['breakdown']['solve']['warm']['modules_loaded']) or 'none of them'}.", ""]
    return "\n".join(lines)


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
        fits = optimal.fit(*data, groups=np.array(labels))
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
            optimal.fit(n[keep], d[keep], loss[keep], delta=delta)

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


def run_design(args):
    """The experiment-design simulation (benchmarks/design.py); writes ``<device>-design[-smoke].json/.md``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import design

    mode = "smoke" if args.smoke else "full"
    results = design.simulate_all(mode)
    results["environment"] = environment()
    command = "python benchmarks/run.py --design" + (" --smoke" if args.smoke else "")
    print(design.markdown_all(results, command))
    return write(results, args.out, "-design" if mode == "full" else "-design-smoke", design.markdown_all(results, command))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes (< 3 min on 2 CPU cores)")
    size.add_argument("--smoke", action="store_true", help="tiny sizes, for the tests")
    parser.add_argument("--scaling", action="store_true", help="the scaling curves instead (with --smoke: tiny ones)")
    parser.add_argument("--families", action="store_true",
                        help="the law-family benchmarks instead: generic vs fast path, data-constrained vs SciPy "
                             "(with --quick: SciPy on a tenth of its grid; with --smoke: tiny)")
    parser.add_argument("--cold-start", action="store_true",
                        help="the installed `optimal fit` (240 rows) and `optimal solve` in fresh processes instead: "
                             "empty, warm and no compilation cache, against the issue's targets (with --quick: fewer "
                             "runs; with --smoke: one of each, synthetic rows)")
    parser.add_argument("--batch", action="store_true",
                        help="groups and sweeps as one program vs one at a time instead (with --smoke: tiny)")
    parser.add_argument("--design", action="store_true",
                        help="the experiment-design simulation instead: optimal.suggest's runs vs an IsoFLOP grid, "
                             "spends 1e21 and 1e22 (benchmarks/design.py; with --smoke: 4 seeds)")
    parser.add_argument("--big", action="store_true",
                        help="`optimal fit` on 100k rows, alone and with --bootstrap 1000, in fresh processes: time and "
                             "peak memory (with --quick: --bootstrap 20; with --smoke: tiny)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help=f"results folder (default {RESULTS_DIR})")
    args = parser.parse_args(argv)
    if args.cold_start:  # child processes only: this one starts no JAX backend
        if args.scaling or args.families:
            parser.error("--cold-start is a run of its own")
        results = run_cold_start(COLD_START_CONFIGS["quick" if args.quick else "smoke" if args.smoke else "full"], args.out)
        print(cold_start_markdown(results))
        return results
    # optimal scopes float64 to its own calls; the harness's own JAX work (the SciPy side's resample draws, the
    # evaluation-rate floor) must run in float64 too, or its random draws and rates are float32's
    with jax.enable_x64(True):
        return _run(args, parser)


def _run(args, parser):
    if args.design:
        return run_design(args)
    if args.big:
        results = run_big(BIG_CONFIGS["quick" if args.quick else "smoke" if args.smoke else "full"], args.out)
        print(big_markdown(results))
    elif args.batch:
        results = run_batch(BATCH_CONFIGS["smoke" if args.smoke else "full"], args.out)
        print(batch_markdown(results))
    elif args.families:
        if args.scaling:
            parser.error("--families and --scaling are separate runs")
        results = run_families(FAMILIES_CONFIGS["quick" if args.quick else "smoke" if args.smoke else "full"], args.out)
        print(families_markdown(results))
    elif args.scaling:
        if args.quick:
            parser.error("--scaling is not part of --quick; run it on its own (or with --smoke)")
        results = run_scaling(SCALING["smoke" if args.smoke else "full"], args.out)
        print(scaling_markdown(results))
    else:
        results = run(CONFIGS["quick" if args.quick else "smoke" if args.smoke else "full"], args.out)
        print(markdown(results))
    return results


if __name__ == "__main__":
    main()
