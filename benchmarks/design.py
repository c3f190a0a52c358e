"""Simulation: do the runs ``optimal.suggest`` picks narrow N*(C) more than the same compute on an IsoFLOP grid?

    python benchmarks/run.py --design            # 200 noise seeds, spends 1e21 and 1e22 (~10 min on 2 CPU cores)
    python benchmarks/run.py --design --smoke    # 4 seeds, to see that it runs

A known truth (``optimal.data.synthetic.DEFAULT_TRUTH``, Epoch's refit of Chinchilla rounded: Besiroglu et al. 2024),
and for every noise seed:

1. the initial runs: an IsoFLOP grid at 3 small budgets (7 sizes each, N*/4 to 4 N* of the truth, factors of
   16^(1/6) = 1.59 apart), losses with log-normal noise; fitted (``optimal.fit``);
2. (a) the suggested runs: ``optimal.suggest(fit, target, spend, n=...)`` from that fit (default candidates);
   (b) an IsoFLOP grid: 5 sizes x 2 budgets (spend/15 and 2 spend/15, so its total is the whole spend), sizes
   log-spaced from N*/s to s N* around that fit's own N* at each budget (how a practitioner centres the next
   grid), for s = 2 ("grid x2", a usual width) and s = 4 ("grid x4", a wide one);
3. both sets drawn with fresh noise, added to the initial runs and refitted; log N*(target) of each refit.

The initial runs' noise is the same for both arms in a seed (paired). Reported: the spread of log N*(target)
across seeds for each arm (sd, and 1.4826 x MAD, which a few outlying seeds do not dominate), the sd ratio with a
bootstrap interval over seeds, the RMSE against the truth's log N*, the compute each arm spent, and the median
sd that the information model predicted (for the initial runs alone and for each arm), as a check of that model.
Seeds are fitted together (one fit with a group per seed: one compiled program).
"""

import dataclasses
import math
import time
import warnings

import numpy as np

import optimal
from optimal._util.stats import percentile_bounds
from optimal.analysis.design import predicted_sd
from optimal.data.synthetic import DEFAULT_TRUTH


@dataclasses.dataclass(frozen=True)
class DesignConfig:
    """One simulation."""

    mode: str
    seeds: int = 200
    initial_budgets: tuple = (1e18, 3e18, 1e19)
    initial_sizes: int = 7  # per budget, log-spaced from N*/4 to 4 N* (the truth's N*)
    noise: float = 0.01  # sd of the log-loss noise
    target_compute: float = 1e24
    spend: float = 1e21
    n_runs: int = 10  # runs suggest may choose
    grid_sizes: int = 5  # the IsoFLOP grid arms: sizes per budget, N*/span to span N*
    grid_spans: tuple = (2.0, 4.0)  # one grid arm per span: "grid x2" (N*/2 to 2 N*), "grid x4" (N*/4 to 4 N*)
    grid_budget_shares: tuple = (1 / 15, 2 / 15)  # of the spend, per budget; x grid_sizes sums to 1
    grid_size: int = 32  # fit options (the exponent screen; starts polished)
    n_polish: int = 4
    k: float = 6.0
    seed: int = 0
    interval_resamples: int = 2000  # bootstrap over seeds for the sd ratio's interval


DESIGN_CONFIGS = {
    "full": DesignConfig("full"),
    "smoke": DesignConfig("smoke", seeds=4, interval_resamples=100),
}
SPENDS = (1e21, 1e22)  # the scenarios ``run.py --design`` simulates: 100x and 1000x the largest initial budget


def isoflop_grid(law, budgets, sizes, span, k):
    """``(N, D)`` of an IsoFLOP grid (``optimal.isoflop_runs``): at each budget, ``sizes`` sizes log-spaced from
    N*/span to span N* of ``law``'s optimum."""
    runs = optimal.isoflop_runs(budgets, truth=law, n_sizes=sizes, width_decades=2 * math.log10(span),
                                flops_per_param_token=k)
    return runs.n_params, runs.n_tokens


def noisy_loss(n, d, noise, rng, truth=DEFAULT_TRUTH):
    return np.exp(np.log(np.asarray(truth.loss(n, d), np.float64)) + noise * rng.standard_normal(len(n)))


def _fit_each(sets, cfg):
    """One fit per seed's (N, D, loss), all as groups of one call; ``{seed: FitResult}``."""
    labels = np.concatenate([np.full(len(n), f"{s:05d}") for s, (n, _, _) in enumerate(sets)])
    n, d, loss = (np.concatenate([x[i] for x in sets]) for i in range(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # identifiability warnings on a few seeds: counted below, not printed
        fits = optimal.fit_groups(n, d, loss, groups=labels,
                                  search=optimal.Search(grid_size=cfg.grid_size, n_polish=cfg.n_polish))
    return [fits[f"{s:05d}"] for s in range(len(sets))]


def _log_n_star(fit, cfg):
    return float(np.log(optimal.compute_optimal(fit.law, cfg.target_compute, cfg.k).n_params))


def _robust_sd(x):
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def simulate(cfg: DesignConfig) -> dict:
    """Run the simulation (module docstring); a JSON-ready dict of the results."""
    started = time.perf_counter()
    truth_log = _log_n_star_law(DEFAULT_TRUTH, cfg)
    init_n, init_d = isoflop_grid(DEFAULT_TRUTH, cfg.initial_budgets, cfg.initial_sizes, 4.0, cfg.k)
    rngs = [np.random.default_rng([cfg.seed, s]) for s in range(cfg.seeds)]
    initial = [(init_n, init_d, noisy_loss(init_n, init_d, cfg.noise, rng)) for rng in rngs]
    first = _fit_each(initial, cfg)
    grid_budgets = [share * cfg.spend for share in cfg.grid_budget_shares]
    grids = [f"grid x{span:g}" for span in cfg.grid_spans]
    sets = {name: [] for name in ["suggested", *grids]}
    predicted = {name: [] for name in ["initial", *sets]}
    spent = {name: [] for name in sets}
    for (n0, d0, l0), fit, rng in zip(initial, first, rngs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # the linearised figures, like predicted_sd's for the grid arms (the runs chosen do not depend on it)
            s = optimal.suggest(fit, cfg.target_compute, cfg.spend, n=cfg.n_runs, flops_per_param_token=cfg.k,
                                n_resamples=0)
        sn = np.array([r["N"] for r in s.runs])
        sd_ = np.array([r["D"] for r in s.runs])
        predicted["initial"].append(s.sd_before)
        predicted["suggested"].append(s.sd_after)
        spent["suggested"].append(s.total_compute)
        # fresh noise for the new runs; the same initial losses in every arm
        sets["suggested"].append((np.r_[n0, sn], np.r_[d0, sd_], np.r_[l0, noisy_loss(sn, sd_, cfg.noise, rng)]))
        for name, span in zip(grids, cfg.grid_spans):
            gn, gd = isoflop_grid(fit.law, grid_budgets, cfg.grid_sizes, span, cfg.k)
            predicted[name].append(predicted_sd(fit, cfg.target_compute, gn, gd, flops_per_param_token=cfg.k,
                                                noise_sd=s.noise_sd))
            spent[name].append(float(np.sum(cfg.k * gn * gd)))
            sets[name].append((np.r_[n0, gn], np.r_[d0, gd], np.r_[l0, noisy_loss(gn, gd, cfg.noise, rng)]))
    arms = {"initial": first, **{name: _fit_each(runs, cfg) for name, runs in sets.items()}}
    estimates = {name: np.array([_log_n_star(f, cfg) for f in fits]) for name, fits in arms.items()}
    out = {"config": dataclasses.asdict(cfg), "truth_log_n_star": truth_log,
           "truth_n_star": math.exp(truth_log), "arms": {}}
    for name, values in estimates.items():
        out["arms"][name] = {
            "sd": float(np.std(values, ddof=1)), "robust_sd": _robust_sd(values),
            "rmse_vs_truth": float(np.sqrt(np.mean((values - truth_log) ** 2))),
            "median_error": float(np.median(values - truth_log)),
            "predicted_sd_median": float(np.median(predicted[name])),
            "fits_converged": int(sum(f.converged for f in arms[name])),
            **({"compute_median": float(np.median(spent[name])), "compute_max": float(np.max(spent[name]))}
               if name in spent else {}),
        }
    out["versus"] = {name: _versus(estimates["suggested"], estimates[name], truth_log, cfg) for name in grids}
    out["total_s"] = time.perf_counter() - started
    return out


def _versus(suggested, grid, truth_log, cfg):
    """The suggested arm against one grid arm: sd ratios, a bootstrap interval over seeds (pairs kept together),
    and in how many seeds the suggested refit was closer to the truth."""
    rng = np.random.default_rng(cfg.seed)
    ratios = []
    for _ in range(cfg.interval_resamples):
        pick = rng.integers(0, len(grid), len(grid))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios.append(np.std(suggested[pick], ddof=1) / np.std(grid[pick], ddof=1))
    ratios = np.asarray(ratios)
    ratios = ratios[np.isfinite(ratios)]  # a resample of one repeated seed has no spread
    interval = [float(x) for x in percentile_bounds(ratios, 0.95)] if len(ratios) else [math.nan, math.nan]
    return {"sd_ratio": float(np.std(suggested, ddof=1) / np.std(grid, ddof=1)),
            "robust_sd_ratio": _robust_sd(suggested) / _robust_sd(grid),
            "sd_ratio_interval_95": interval,
            "seeds_suggested_closer": int(np.sum(np.abs(suggested - truth_log) < np.abs(grid - truth_log)))}


def _log_n_star_law(law, cfg):
    return float(np.log(optimal.compute_optimal(law, cfg.target_compute, cfg.k).n_params))


def simulate_all(mode="full", spends=SPENDS) -> dict:
    """``simulate`` for every spend of ``spends`` with the ``mode``'s configuration: ``{"scenarios": [...],
    "total_s"}``."""
    started = time.perf_counter()
    scenarios = [simulate(dataclasses.replace(DESIGN_CONFIGS[mode], spend=spend)) for spend in spends]
    return {"scenarios": scenarios, "total_s": time.perf_counter() - started}


def markdown_all(r, command="python benchmarks/run.py --design"):
    seeds = r["scenarios"][0]["config"]["seeds"]
    lines = [f"# Experiment design: suggested runs vs an IsoFLOP grid ({seeds} noise seeds)", "",
             f"Command: `{command}` ({r['total_s']:.0f} s in all)", ""]
    return "\n".join(lines + [markdown(s) for s in r["scenarios"]])


def markdown(r):
    """One scenario's table and comparisons."""
    c = r["config"]
    lines = [f"## Spend F = {c['spend']:.0e} FLOPs ({r['total_s']:.0f} s)", "",
             f"Truth: Epoch's refit of Chinchilla, rounded (optimal.data.synthetic.DEFAULT_TRUTH); log-loss noise sd "
             f"{c['noise']:g}. Initial runs: {c['initial_sizes']} sizes at each of "
             f"{', '.join(f'{b:.0e}' for b in c['initial_budgets'])} FLOPs. Target C = {c['target_compute']:.0e} FLOPs "
             f"(true N* = {r['truth_n_star']:.4g}); spend F = {c['spend']:.0e} FLOPs. Suggested: at most "
             f"{c['n_runs']} runs from the default candidates. Grids: {c['grid_sizes']} sizes from N*/s to s N* (s = "
             f"{', '.join(f'{x:g}' for x in c['grid_spans'])}; N* of the initial fit) at "
             f"{', '.join(f'{s:.3g} F' for s in c['grid_budget_shares'])}.", "",
             "| arm | sd of ln N*(C) | 1.4826 MAD | RMSE vs truth | median error | predicted sd (median) "
             "| fits converged | compute (median) |", "|---|---|---|---|---|---|---|---|"]
    for name, a in r["arms"].items():
        compute = f"{a['compute_median']:.3g}" if "compute_median" in a else "-"
        lines.append(f"| {name} | {a['sd']:.4f} | {a['robust_sd']:.4f} | {a['rmse_vs_truth']:.4f} | "
                     f"{a['median_error']:+.4f} | {a['predicted_sd_median']:.4f} | "
                     f"{a['fits_converged']}/{c['seeds']} | {compute} |")
    lines.append("")
    for name, v in r["versus"].items():
        lo, hi = v["sd_ratio_interval_95"]  # nan when too few seeds for an interval
        lines.append(f"- suggested vs {name}: sd ratio {v['sd_ratio']:.3f} (95% bootstrap interval over seeds {lo:.3f} "
                     f"to {hi:.3f}); 1.4826 MAD ratio {v['robust_sd_ratio']:.3f}; the suggested refit was closer to "
                     f"the truth in {v['seeds_suggested_closer']} of {c['seeds']} seeds.")
    lines.append("")
    return "\n".join(lines)
