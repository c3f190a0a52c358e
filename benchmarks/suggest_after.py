"""Does ``optimal.suggest``'s sd of ln N*(C) *after* the design agree with what a bootstrap says once the runs exist?
(issue #21, deliver 2)

``suggest`` reports the sd after the chosen runs under two assumptions (optimal/analysis/design.py, docs/suggest.md):
"as the old rows" (``sd_after``: the calibration c = bootstrap spread / linearised sd carries over to the new runs,
every variance the linearised one times c^2) and "as the law's noise" (``sd_after_noise``: the old rows' information
scaled by 1/c^2, the new runs' at the residual noise scale). This script measures both, and the linearised figure,
against a post-design bootstrap: for every seed (or noise draw),

1. the initial runs and their fit (``Search(grid_size=32, n_polish=4)`` on synthetic sets, the default search on
   Epoch's rows);
2. ``optimal.suggest(fit, 1e24, spend, n_resamples=R, seed=seed)``: the chosen runs and the three figures;
3. the chosen runs' losses drawn: from the truth with 1% log-normal noise (synthetic sets), or on Epoch's rows from
   the fit's law times a residual drawn from ``optimal.analysis.predict.new_run_residuals`` (the fit's residuals,
   dof-inflated);
4. a refit of all the runs and ``optimal.bootstrap(refit, n_resamples=R)``: its spread of ln N*(1e24), half the
   central 68.27% interval (``optimal.analysis.design.bootstrap_spread``, the figure ``suggest`` calibrates on).

Reported per scenario: the median (and quartiles) over seeds of each figure / the post-design bootstrap's spread,
and the spread across seeds of the refits' ln N* (the sampling spread, on synthetic sets only, where seeds are
independent data sets).

Scenarios (``--scenarios``, comma-separated): ``random80`` (``optimal.synthetic_runs(80, noise=0.01, seed=s)``,
spend 1e21), ``isoflop21`` (7 sizes N*/4 to 4 N* at 1e18, 3e18, 1e19 FLOPs with 1% noise: the tests' ``noisy_fit``
design, spend 1e21), ``epoch1e22`` and ``epoch1e23`` (Epoch's 240 Chinchilla rows, spends 1e22 and 1e23; skipped
where ../shared/data is absent: it carries no license).

    nice python benchmarks/suggest_after.py [--scenarios random80,isoflop21,epoch1e22,epoch1e23] [--seeds 24]
        [--draws 6] [--resamples 200] [--epoch-resamples 400] [--out benchmarks/results/suggest-after.md]
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import optimal
from optimal.analysis.design import bootstrap_spread
from optimal.analysis.predict import new_run_residuals
from optimal.data.synthetic import DEFAULT_TRUTH

TARGET = 1e24
K = 6.0
NOISE = 0.01
SEARCH = dict(grid_size=32, n_polish=4)
SCENARIOS = {"random80": 1e21, "isoflop21": 1e21, "epoch1e22": 1e22, "epoch1e23": 1e23}
FIGURES = ("sd_after", "sd_after_noise", "sd_linearised_after")  # suggest's three figures after the design


def _quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


def _fit(n, d, loss, synthetic):
    search = optimal.Search(**SEARCH) if synthetic else None
    return _quiet(optimal.fit, n, d, loss, **({"search": search} if search else {}))


def _initial(scenario, seed):
    """``(N, D, loss)`` of a scenario's initial runs for a seed (synthetic sets; Epoch's rows are fixed)."""
    if scenario == "random80":
        runs = optimal.synthetic_runs(80, noise=NOISE, seed=seed)
        return runs.n_params, runs.n_tokens, runs.loss
    budgets = np.array([1e18, 3e18, 1e19])
    n_star = np.asarray(optimal.compute_optimal(DEFAULT_TRUTH, budgets).n_params)
    n = (n_star[:, None] * np.geomspace(0.25, 4, 7)[None, :]).ravel()
    d = np.repeat(budgets, 7) / (K * n)
    rng = np.random.default_rng(seed)
    return n, d, np.asarray(DEFAULT_TRUTH.loss(n, d)) * np.exp(NOISE * rng.standard_normal(len(n)))


def _after(fit, answer, n, d, loss, new_loss, synthetic, resamples, seed):
    """One seed's record: suggest's figures, the post-design refit's bootstrap spread and ln N*."""
    nn = np.array([r["N"] for r in answer.runs])
    nd = np.array([r["D"] for r in answer.runs])
    refit = _fit(np.r_[n, nn], np.r_[d, nd], np.r_[loss, new_loss(nn, nd)], synthetic)
    boot = _quiet(optimal.bootstrap, refit, n_resamples=resamples, seed=seed)
    spread, used, _ = bootstrap_spread(boot, TARGET, K)
    return {"seed": seed, "runs": len(nn), "compute": answer.total_compute, "calibration": answer.calibration,
            "sd_before": answer.sd_before, "sd_after": answer.sd_after, "sd_after_noise": answer.sd_after_noise,
            "sd_linearised_after": answer.sd_after / answer.calibration, "post_spread": spread, "post_draws": used,
            "log_n_star_after": float(np.log(optimal.compute_optimal(refit.law, TARGET, K).n_params))}


def synthetic(scenario, seeds, resamples):
    records = []
    for seed in range(seeds):
        n, d, loss = _initial(scenario, seed)
        fit = _fit(n, d, loss, True)
        answer = _quiet(optimal.suggest, fit, TARGET, SCENARIOS[scenario], n_resamples=resamples, seed=seed)
        rng = np.random.default_rng([seed, 1])  # the new runs' noise: apart from the initial runs'

        def new_loss(nn, nd):
            return np.asarray(DEFAULT_TRUTH.loss(nn, nd)) * np.exp(NOISE * rng.standard_normal(len(nn)))

        records.append(_after(fit, answer, n, d, loss, new_loss, True, resamples, seed))
        print(scenario, json.dumps(records[-1]), flush=True)
    return records


def epoch(scenario, draws, resamples, epoch_resamples):
    path = optimal.shared_data_path()
    if path is None:
        print(f"{scenario}: skipped (../shared/data is absent)", flush=True)
        return []
    runs = optimal.load_epoch_chinchilla(path)
    n, d, loss = runs.n_params, runs.n_tokens, runs.loss
    fit = _fit(n, d, loss, False)
    answer = _quiet(optimal.suggest, fit, TARGET, SCENARIOS[scenario], n_resamples=epoch_resamples, seed=0)
    residuals = new_run_residuals(fit)
    records = []
    for draw in range(draws):
        rng = np.random.default_rng([draw, 2])

        def new_loss(nn, nd):
            return np.asarray(fit.law.loss(nn, nd)) * np.exp(rng.choice(residuals, len(nn)))

        records.append(_after(fit, answer, n, d, loss, new_loss, False, resamples, draw))
        print(scenario, json.dumps(records[-1]), flush=True)
    return records


def summarise(records, synthetic_set):
    """Medians and quartiles of each figure / the post-design spread; the sampling spread across seeds."""
    out = {"n": len(records)}
    spread = np.array([r["post_spread"] for r in records], float)
    for name in FIGURES:
        ratio = np.array([r[name] for r in records], float) / spread
        out[name] = [float(x) for x in np.nanpercentile(ratio, [50, 25, 75])]
    for name in ("calibration", "post_spread", "sd_after", "sd_after_noise"):
        out[f"median_{name}"] = float(np.nanmedian([r[name] for r in records]))
    values = np.array([r["log_n_star_after"] for r in records])
    out["sampling_sd_after"] = float(np.std(values, ddof=1)) if synthetic_set and len(values) > 2 else None
    return out


def markdown(results, command, seconds):
    lines = ["# suggest: the sd of ln N*(1e24) after the design against a post-design bootstrap", "",
             f"Command: `{command}` ({seconds:.0f} s in all, niced, on a shared 2-core machine)", "",
             "Each figure / the post-design bootstrap's spread of ln N*(1e24) (half its central 68% interval): median "
             "(quartiles) over seeds or noise draws. \"as the old rows\": `sd_log_n_star_after` (the calibration c "
             "carries over to the new runs); \"as the law's noise\": `sd_log_n_star_after_noise` (the old rows' "
             "information / c^2, the new runs' at the residual noise scale); linearised: c = 1 for every row. "
             "Protocol: benchmarks/suggest_after.py's docstring.", "",
             "| set | spend (FLOPs) | seeds or draws | median c | as the old rows | as the law's noise | linearised | "
             "median post-design spread | sampling sd across seeds |", "|---|---|---|---|---|---|---|---|---|"]
    for scenario, s in results.items():
        if not s["n"]:
            continue
        cells = [f"{s[name][0]:.2f} ({s[name][1]:.2f}, {s[name][2]:.2f})" for name in FIGURES]
        sampling = "-" if s["sampling_sd_after"] is None else f"{s['sampling_sd_after']:.3f}"
        lines.append(f"| {scenario} | {SCENARIOS[scenario]:.0e} | {s['n']} | {s['median_calibration']:.2f} | "
                     f"{' | '.join(cells)} | {s['median_post_spread']:.3f} | {sampling} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--seeds", type=int, default=24, help="seeds of each synthetic scenario (default 24)")
    parser.add_argument("--draws", type=int, default=6, help="noise draws of each Epoch scenario (default 6)")
    parser.add_argument("--resamples", type=int, default=200, help="bootstrap resamples (default 200)")
    parser.add_argument("--epoch-resamples", type=int, default=400, help="suggest's resamples on Epoch (default 400)")
    parser.add_argument("--out", help="write the markdown table (and the records as JSON beside it) here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results, records = {}, {}
    for scenario in args.scenarios.split(","):
        if scenario not in SCENARIOS:
            parser.error(f"unknown scenario {scenario!r}: one of {', '.join(SCENARIOS)}")
        synthetic_set = not scenario.startswith("epoch")
        records[scenario] = (synthetic(scenario, args.seeds, args.resamples) if synthetic_set
                             else epoch(scenario, args.draws, args.resamples, args.epoch_resamples))
        results[scenario] = summarise(records[scenario], synthetic_set) if records[scenario] else {"n": 0}
    command = "nice python benchmarks/suggest_after.py " + " ".join(sys.argv[1:] if argv is None else argv)
    text = markdown(results, command.strip(), time.perf_counter() - started)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
        Path(args.out).with_suffix(".json").write_text(json.dumps({"summary": results, "records": records}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
