"""``--families``: the generic path against the Chinchilla fast path, and the data-constrained law against SciPy."""

import dataclasses
import os
import time
import warnings

import jax.numpy as jnp
import numpy as np

import optimal
from optimal import baseline
from optimal.laws.chinchilla import screen
from harness import (CLOCK, Contender, RESULTS_DIR, SAME_OBJECTIVE_RTOL, environment, fmt_ratio, fmt_seconds,
                     fmt_spread, fmt_yes, load_line, log, machine_line, quiet, race, ratio, timing, write)


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
            ("same_starts", {"search": optimal.Search(starts=starts)}, f"the same {len(starts)} explicit starts (the fast path's screen starts)"),
            ("default", {}, "default fit: each path's own screen + polish")):
        records = race([
            Contender("fast", quiet(lambda: optimal.fit(n, d, loss, **kwargs)), True, fc.generic_rounds),
            Contender("generic", quiet(lambda: optimal.fit(n, d, loss, law=generic, **kwargs)), True, fc.generic_rounds),
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
        Contender("jax", quiet(lambda: optimal.fit(n, d, loss, law="data-constrained", covariates={"U": u})), True,
                  fc.dc_rounds),
        Contender("scipy", quiet(lambda: baseline.fit_data_constrained_lbfgsb(n, d, u, loss, starts=scipy_starts)),
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
            f"| {v['what']} | {fmt_spread(v['fast'])} | {fmt_seconds(v['fast']['compile_s'])} | {fmt_spread(v['generic'])} | "
            f"{fmt_seconds(v['generic']['compile_s'])} | {fmt_ratio(v['ratio_generic_over_fast'])} | {v['fast_objective']:.12g}, "
            f"{v['generic_objective']:.12g} | {v['objective_rel_gap']:.1e} ({'agree' if v['objectives_agree'] else '**DISAGREE**'}) | "
            f"{v['max_param_rel_diff']:.1e} |")
    lines += ["", f"Target: {gv['target']}: {fmt_yes(gv['within_3x'])} ({fmt_ratio(gv['ratio_generic_over_fast'])}). "
              f"Objective rule: {gv['objective_rule']}. Order: {gv['order']}.", "",
              f"## Data-constrained family vs SciPy L-BFGS-B ({dc['data']})", "",
              "| Fit | ours | ours compile | SciPy | speedup | objective ours | objective SciPy | ours no worse |",
              "|---|---|---|---|---|---|---|---|"]
    subset = f" (SUBSET: {dc['scipy_starts']} of {dc['scipy_grid_starts']} grid starts)" if dc["scipy_subset"] else ""
    lines.append(
        f"| ours: `{dc['jax_call']}`; SciPy: `{dc['scipy_call']}`, {dc['scipy_starts']} starts{subset} | {fmt_spread(dc['jax'])} | "
        f"{fmt_seconds(dc['compile_s'])} | {fmt_spread(dc['scipy'])} | {fmt_ratio(dc['speedup'])} | {dc['jax_objective']:.12g} | "
        f"{dc['scipy_objective']:.12g} | {fmt_yes(dc['jax_no_worse'])} (rel. gap {dc['objective_rel_gap_jax_minus_scipy']:.1e}) |")
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
    with CLOCK:
        results = {"environment": environment(), "config": dataclasses.asdict(fc)}
        results["generic_vs_fast"] = bench_generic_vs_fast(fc)
        results["data_constrained"] = bench_data_constrained(fc)
    results["total_s"] = time.perf_counter() - t0
    results["environment"]["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    suffix = "-families" if fc.mode == "full" else f"-families-{fc.mode}"
    return write(results, out_dir, suffix, families_markdown(results))
