"""The default suite (``python benchmarks/run.py [--quick | --smoke]``): solve, fit and bootstrap, JAX against the
SciPy baseline, written to ``<device>[-quick|-smoke].json/.md``."""

import dataclasses
import math
import os
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import scipy
import scipy.optimize

import optimal
from optimal import baseline
from optimal.fitting.bootstrap import starts_for_resamples
from optimal.fitting.objective import objective
from optimal.laws.chinchilla import hoffmann_grid, value_grad_hessian
from harness import (CLOCK, Contender, EVALS_PER_WARM_REFIT, RESULTS_DIR, SAME_ALLOCATION_RTOL, SAME_COEF_RTOL,
                     SAME_OBJECTIVE_RTOL, coefficients, compare_optima, environment, epoch_or_synthetic, fmt_ratio,
                     fmt_seconds, fmt_spread, fmt_yes, load_line, log, machine_line, quiet, race, ratio,
                     resample_counts, timing, widths, write)


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
    classic = optimal.Search(starts=starts_arg)  # built once, outside the clock
    log(f"fit: {len(loss)} rows; classic = {len(starts)} starts")
    records = race([
        Contender("jax_default", quiet(lambda: optimal.fit(n, d, loss)), True, cfg.rounds),
        Contender("scipy_screen_polish", quiet(lambda: baseline.fit_screen_polish(n, d, loss)), False, cfg.rounds),
        Contender("jax_hoffmann", quiet(lambda: optimal.fit(n, d, loss, search=classic)), True, cfg.classic_rounds),
        Contender("scipy_classic", quiet(lambda: baseline.fit_lbfgsb(n, d, loss, starts=starts)), False, cfg.classic_rounds),
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
                                       f"JAX fit(search=Search(starts='hoffmann')) vs SciPy L-BFGS-B, the same {n_classic} starts"),
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
        "task": f"bootstrap(fit, n_resamples={B}): refit every resample from the full-data optimum, checked at 3 more "
                "candidate starts and refitted from all 4 where it did not converge or a candidate is lower", "data": source,
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
        "jax_n_failed": boot.n_failed, "jax_n_retried": boot.n_retried,
        "jax_mean_iterations_best_start": float(np.mean(boot.iterations)),
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
    with CLOCK:
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
        f"| solve: {solve['n_budgets']:,} budgets, `compute_optimal` vs `minimize_scalar` per budget | {fmt_spread(solve['jax'])} | "
        f"{fmt_seconds(solve['compile_s'])} | {fmt_seconds(solve['scipy_s'])} (extrapolated from {solve['scipy_measured_on']:,}) | "
        f"{fmt_ratio(solve['speedup'])} | N* max rel. err vs closed form: JAX {a['jax_max_rel_err_vs_closed_form']:.1e}, "
        f"SciPy {a['scipy_max_rel_err_vs_closed_form']:.1e}; same optimum: {fmt_yes(solve['same_optimum'])} |")
    lines.append(
        f"| solve: NumPy closed form (reference), {solve['n_budgets']:,} budgets | - | - | {fmt_spread(solve['numpy_closed_form'])} | "
        f"{fmt_ratio(ratio(solve['numpy_closed_form_s'], solve['jax_s']))} | exact formula (max rel. diff to `optimal.closed_form` "
        f"{a['numpy_closed_form_max_rel_err']:.1e}) |")
    for c in fit["comparisons"].values():
        j, s = methods[c["jax"]], methods[c["scipy"]]
        scipy_runs = f" ({s['runs']} run)" if s["runs"] == 1 else ""
        lines.append(
            f"| fit: {c['what']} | {fmt_spread(j)} | {fmt_seconds(j['compile_s'])} | {fmt_spread(s)}{scipy_runs} | {fmt_ratio(c['speedup'])} | "
            f"objective gap to best: JAX {c['jax_objective_gap_rel']:.1e}, SciPy {c['scipy_objective_gap_rel']:.1e}; "
            f"max coef. rel. diff {c['max_coef_rel_diff']:.1e}; starts at best: JAX {j['n_starts_at_best']}/{j['n_starts']}, "
            f"SciPy {s['n_starts_at_best']}/{s['n_starts']}; same optimum: {fmt_yes(c['same_optimum'])} |")
    m, B = boot["scipy_measured_on"], boot["n_resamples"]
    for label, key, secs, per in (("4 warm starts", "vs_scipy_4_starts", boot["scipy_s"], boot["scipy_per_resample"]),
                                  ("1 warm start (warm-only)", "vs_scipy_warm_only", boot["scipy_warm_only_s"],
                                   boot["scipy_warm_only_per_resample"])):
        v = boot[key]
        lines.append(
            f"| bootstrap: B = {B:,}, JAX (1 start + check of 4) vs SciPy L-BFGS-B, {label} | {fmt_spread(boot['jax'])} | {fmt_seconds(boot['compile_s'])} | "
            f"{fmt_seconds(secs)} (extrapolated from {m}: {fmt_seconds(per['median_s'])}/resample) | {fmt_ratio(ratio(secs, boot['jax_s']))} | "
            f"same optimum on {v['same_optimum_count']}/{m} shared resamples (JAX lower on {v['jax_lower_objective']}, "
            f"SciPy lower on {v['scipy_lower_objective']}); JAX failed: {boot['jax_n_failed']}, "
            f"refitted from all 4 starts: {boot.get('jax_n_retried', 'n/a')} |")
    lines += [
        "",
        f"Bootstrap evaluation floor: {boot['floor']:.3g} objective+gradient lane evaluations/s "
        f"({boot['floor_unit'].split(', ')[1]}); B x {EVALS_PER_WARM_REFIT} evaluations -> floor {fmt_seconds(boot['floor_s'])}; "
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
