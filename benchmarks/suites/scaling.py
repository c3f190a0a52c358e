"""``--scaling``: time against rows, starts, resamples and budgets, JAX and SciPy, with a PNG of the curves."""

import dataclasses
import os
import textwrap
import time
import warnings

import numpy as np

import optimal
from optimal import baseline
from optimal.fitting.bootstrap import starts_for_resamples
from optimal.laws.chinchilla import hoffmann_grid
from harness import (CLOCK, Contender, RESULTS_DIR, compare_optima, environment, epoch_or_synthetic, fmt_ratio,
                     fmt_seconds, fmt_yes, load_line, log, machine_line, quiet, race, ratio, resample_counts,
                     synthetic_runs, timing, write)
from suites.solve_fit_bootstrap import budget_grid, numpy_closed_form, scipy_allocate


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
        contenders = [Contender("jax", quiet(lambda: optimal.fit(*data)), True, sc.repeats, sc.max_warm_s)]
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
        search = optimal.Search(starts=starts)  # built once, outside the clock
        contenders = [Contender("jax", quiet(lambda: optimal.fit(*data, search=search)), True, sc.repeats, sc.max_warm_s)]
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
    return {"what": "fit from a seeded subset of the 4500 Hoffmann starts (the same for both): JAX optimal.fit(search=Search(starts=...)) "
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
    return {"what": "bootstrap: JAX optimal.bootstrap (1 warm start, checked at 4) vs SciPy bootstrap_lbfgsb (4 warm "
                    "starts) on the same resamples (SciPy per-resample time extrapolated beyond its measured count)",
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
                acc.append(f"same optimum: {fmt_yes(p['same_optimum'])}")
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
            lines.append(f"| {p['x']:,} | {fmt_seconds(p['jax_s'])} | {fmt_seconds(p['compile_s'])} | {fmt_seconds(scipy_s)}{star} | "
                         f"{fmt_ratio(ratio(scipy_s, p['jax_s'])) if scipy_s else '-'} | {'; '.join(acc)} |")
        lines.append("")
    return "\n".join(lines)


def run_scaling(sc, out_dir=RESULTS_DIR):
    """The four scaling curves, JAX and SciPy; writes ``<device>-scaling[-smoke].json/.md/.png``."""
    t0 = time.perf_counter()
    with CLOCK:
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
