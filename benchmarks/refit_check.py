"""Does the bootstrap's checked refit (one start, more only where a check fires) give the intervals of refitting
every resample from every candidate start? (issue #19, item 1)

Three programs on the same resamples (same seed: resample r draws the same rows in each):

- ``checked``: today's ``optimal.bootstrap``: every resample refitted from the full-data optimum, its objective
  evaluated at the other 3 candidate starts; refitted from all 4 where it did not converge or a candidate is lower;
- ``every_4``: the program it replaced: every resample refitted from all 4 candidates;
- ``every_16``: a reference, every resample refitted from 16 candidates (the full-data optimum, other local
  minima, screen points).

For each data set: percentile intervals of every parameter and of N*, D* at 1e24 FLOPs (k = 6), failures, resamples
retried, and per resample how often a program's optimum is worse than the reference's (objective higher by more
than 1e-6 relative: a worse basin). Data: Epoch's 240 Chinchilla rows (the 5 highest-loss rows dropped, as Epoch
does) when ../shared/data has them, and ill-posed synthetic sets (N over 1 to 1.3 decades: E not identified), rows
and whole clusters resampled.

    python benchmarks/refit_check.py [--resamples 1000] [--seed 0] [--out benchmarks/results/refit-check.md]

Timings printed are wall seconds of one call (compile included) and mean nothing under load; the check is about the
intervals.
"""

import argparse
import contextlib
import json
import os
import platform
import sys
import time
import warnings

import numpy as np

import optimal
from optimal.allocation.draws import allocate_draws
from optimal.fitting import bootstrap as bootstrap_module

WORSE_RTOL = 1e-6  # a resample's objective above the reference's by more than this: another (worse) basin
BUDGET = 1e24


@contextlib.contextmanager
def every_start_for_every_resample():
    """Run ``optimal.bootstrap`` as the program before the check: every resample from every candidate."""
    saved = bootstrap_module._FIRST_STARTS
    bootstrap_module._FIRST_STARTS = 10**6
    try:
        yield
    finally:
        bootstrap_module._FIRST_STARTS = saved


def data_sets():
    """(name, what, runs, groups for a cluster bootstrap or None)."""
    found = []
    path = optimal.shared_data_path()
    if path is not None:
        runs = optimal.load_epoch_chinchilla(path)
        found.append(("epoch", f"Epoch AI's Chinchilla extraction, {len(runs.loss)} rows (5 highest-loss dropped)", runs, None))
    ill13 = optimal.synthetic_runs(n_runs=81, n_range=(1e8, 2e9), tokens_per_param=(5, 100), noise=0.03, seed=1)
    found.append(("ill_posed_1.3_decades", "synthetic, 81 rows, N in (1e8, 2e9) (1.3 decades), 3% noise, seed 1",
                  ill13, None))
    ill10 = optimal.synthetic_runs(n_runs=120, n_range=(1e8, 1e9), tokens_per_param=(5, 100), noise=0.02, seed=2)
    found.append(("ill_posed_1_decade", "synthetic, 120 rows, N in (1e8, 1e9) (1 decade), 2% noise, seed 2", ill10, None))
    clusters = optimal.synthetic_runs(n_runs=120, n_range=(1e8, 2e9), tokens_per_param=(5, 100), noise=0.02,
                                      n_groups=20, group_noise=0.01, seed=3)
    found.append(("ill_posed_clusters", "synthetic, 120 rows in 20 clusters (same N, 1% cluster offset), N in "
                  "(1e8, 2e9), whole clusters resampled, seed 3", clusters, clusters.groups))
    return found


def intervals(boot):
    """{quantity: (lo, hi)} for every parameter and N*, D* at ``BUDGET``."""
    out = {name: (v["lo"], v["hi"]) for name, v in boot.params().items()}
    (at,) = allocate_draws(boot, [BUDGET])
    out.update({f"N*({BUDGET:.0e})": (at["N"]["lo"], at["N"]["hi"]), f"D*({BUDGET:.0e})": (at["D"]["lo"], at["D"]["hi"])})
    return out


def run_one(fit, runs_groups, n_resamples, seed, n_starts, every):
    t0 = time.perf_counter()
    with warnings.catch_warnings(), (every_start_for_every_resample() if every else contextlib.nullcontext()):
        warnings.simplefilter("ignore")
        boot = optimal.bootstrap(fit, n_resamples=n_resamples, seed=seed, groups=runs_groups,
                                 refit=optimal.Refit(n_starts=n_starts))
    return boot, time.perf_counter() - t0


def compare(name, what, runs, groups, n_resamples, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
    programs = {"checked": (4, False), "every_4": (4, True), "every_16": (16, True)}
    boots, seconds = {}, {}
    for label, (k, every) in programs.items():
        boots[label], seconds[label] = run_one(fit, groups, n_resamples, seed, k, every)
        print(f"{name}: {label} {seconds[label]:.1f} s, retried {boots[label].n_retried}, "
              f"failed {boots[label].n_failed}", file=sys.stderr, flush=True)
    ref = boots["every_16"]
    table = {label: intervals(b) for label, b in boots.items()}
    result = {"what": what, "n_rows": int(len(runs.loss)), "cluster_bootstrap": groups is not None, "programs": {}}
    for label, boot in boots.items():
        gap = (boot.objectives - ref.objectives) / np.abs(ref.objectives)
        both = boot.converged & ref.converged
        shift = {}
        for q, (lo, hi) in table[label].items():
            rlo, rhi = table["every_16"][q]
            width = rhi - rlo
            shift[q] = float(max(abs(lo - rlo), abs(hi - rhi)) / width) if width > 0 else 0.0
        result["programs"][label] = {
            "n_failed": boot.n_failed, "n_retried": boot.n_retried,
            "worse_basin_than_every_16": int(np.sum(both & (gap > WORSE_RTOL))),
            "better_than_every_16": int(np.sum(both & (gap < -WORSE_RTOL))),
            "wall_s_one_call_under_load": round(seconds[label], 2),
            "intervals": {q: [float(lo), float(hi)] for q, (lo, hi) in table[label].items()},
            "max_end_shift_vs_every_16_in_widths": shift,
        }
    return result


def markdown(results, args, header):
    lines = [f"# Bootstrap refit check: one start plus a basin check vs every start for every resample", "",
             *header, "",
             f"Intervals: {100 * 0.95:g}% percentile, B = {args.resamples}, seed {args.seed}. 'shift' is the largest "
             "distance of an interval end from the every_16 reference's, in reference widths. 'worse basin': "
             f"converged resamples whose objective is above every_16's by more than {WORSE_RTOL:g} (relative).", ""]
    for name, r in results.items():
        lines += [f"## {name}: {r['what']}", "",
                  "| program | failed | retried | worse basin than every_16 | better | max shift (widths) | wall s (one call, under load) |",
                  "|---|---|---|---|---|---|---|"]
        for label, p in r["programs"].items():
            worst = max(p["max_end_shift_vs_every_16_in_widths"].items(), key=lambda kv: kv[1])
            lines.append(f"| {label} | {p['n_failed']} | {p['n_retried']} | {p['worse_basin_than_every_16']} | "
                         f"{p['better_than_every_16']} | {worst[1]:.4f} ({worst[0]}) | {p['wall_s_one_call_under_load']} |")
        lines += ["", "| quantity | " + " | ".join(r["programs"]) + " |", "|---" * (1 + len(r["programs"])) + "|"]
        quantities = next(iter(r["programs"].values()))["intervals"]
        for q in quantities:
            cells = [f"({p['intervals'][q][0]:.5g}, {p['intervals'][q][1]:.5g})" for p in r["programs"].values()]
            lines.append(f"| {q} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "refit-check.md"))
    args = parser.parse_args()
    load = os.getloadavg()
    header = [f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}; jax devices: "
              f"{[str(d) for d in __import__('jax').devices()]}.",
              f"Command: `python benchmarks/refit_check.py --resamples {args.resamples} --seed {args.seed}`.",
              f"Load average at the start: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}; timings are one call each, "
              "compile included, and not speed figures."]
    results = {name: compare(name, what, runs, groups, args.resamples, args.seed)
               for name, what, runs, groups in data_sets()}
    text = markdown(results, args, header)
    with open(args.out, "w") as f:
        f.write(text + "\n")
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump({"header": header, "results": results}, f, indent=1)
    print(text)


if __name__ == "__main__":
    main()
