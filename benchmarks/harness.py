"""The benchmark harness: timing (alternating contenders, compile time apart), the machine's environment,
the shared data and accuracy checks, writing results (JSON + Markdown) and the Markdown helpers every suite uses.

The protocol is in ``benchmarks/run.py``'s docstring; the suites are ``benchmarks/suites/*.py``.
"""

import contextlib
import dataclasses
import datetime
import gc
import json
import math
import os
import platform
import re
import sys
import time
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy
import threadpoolctl
from threadpoolctl import threadpool_limits

import optimal
from optimal._util.stats import percentile_bounds


RESULTS_DIR = Path(__file__).resolve().parent / "results"

# Same optimum: objectives within 1e-9 relative and coefficients (E, A, B, alpha, beta) within 1e-5 relative.
SAME_OBJECTIVE_RTOL = 1e-9
SAME_COEF_RTOL = 1e-5
# Allocation: SciPy's Brent stops at ~1.5e-8 relative in log N (its default tol), i.e. ~4e-7 relative in N*
SAME_ALLOCATION_RTOL = 1e-6
# PITFALLS: a warm refit needs ~70 objective+gradient evaluations
EVALS_PER_WARM_REFIT = 70


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


CLOCK = CompileClock()


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
    seconds0, compiles0 = CLOCK.seconds, CLOCK.compiles
    t0 = time.perf_counter()
    if contender.is_jax:
        out = jax.block_until_ready(contender.fn())
    else:
        with threadpool_limits(1):
            out = contender.fn()
    return time.perf_counter() - t0, CLOCK.seconds - seconds0, CLOCK.compiles - compiles0, out


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
    width = lambda x: float(np.subtract(*percentile_bounds(x, confidence)[::-1]))  # noqa: E731
    return {"alpha": width(c[:, 3]), "beta": width(c[:, 4]), "E": width(c[:, 0])}


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

def fmt_seconds(x):
    if x is None or not np.isfinite(x):
        return "-"
    if x >= 100:
        return f"{x:.0f} s"
    if x >= 1:
        return f"{x:.2f} s"
    if x >= 1e-3:
        return f"{x * 1e3:.3g} ms"
    return f"{x * 1e6:.3g} µs"


def fmt_spread(t):
    return f"{fmt_seconds(t['median_s'])} [{fmt_seconds(t['min_s'])}, {fmt_seconds(t['max_s'])}]"


def fmt_ratio(x):
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


def fmt_yes(flag):
    return "yes" if flag else "**NO**"


# ----------------------------------------------------------------------------------------------- warnings

def quiet(fn):
    """Run ``fn`` with the library's warnings recorded rather than printed; returns (result, messages)."""
    def wrapped():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = fn()
        return out, tuple(dict.fromkeys(str(w.message) for w in caught))
    return wrapped
