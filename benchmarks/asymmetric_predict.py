"""Tails of the linearised (no draws) new-run interval of ``optimal.predict`` for a fit with an asymmetric loss.

An ``asymmetric-huber:A`` fit puts its law near the A / (1 + A) quantile of the runs' log loss (a lower envelope),
so new runs land mostly above it. For each of ``--sets`` data sets (``optimal.synthetic_runs``: 80 runs of the
default truth, losses times exp(0.01 x standard normal)), the fit (asymmetric-huber:0.25) predicts 200 new runs of
the same truth and noise at N log-uniform in 1e8..1e10 and 5..100 tokens per parameter (inside the fitted range).
Reported: the share of new runs below and above the 95% interval, for the interval ``optimal.predict`` gives now
(each side: the fit's inflated residuals' own percentile, and the loss's own variance factor) and for the one it gave
before (t s on both sides, factor 1), rebuilt here from the same fit.

    python benchmarks/asymmetric_predict.py --sets 6 --out benchmarks/results/asymmetric-predict.md
"""

import argparse
import sys
import warnings

import numpy as np
from scipy.stats import t as student_t

import optimal
from optimal.analysis import predict as module


def new_run_set(seed):
    """One set: 80 runs of ``DEFAULT_TRUTH`` with 1% normal noise in log loss, fitted with asymmetric-huber:0.25, and
    200 new runs at N 1e8..1e10 and 5-100 tokens per parameter (log-uniform) with the same noise. Returns
    ``(fit, n (200,), d (200,), new runs' log loss (200,))``; ``tests/analysis/test_predict.py`` checks its tails on
    the same sets."""
    truth = optimal.data.synthetic.DEFAULT_TRUTH
    rng = np.random.default_rng(2000 + seed)
    runs = optimal.synthetic_runs(n_runs=80, seed=2000 + seed, noise=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = optimal.fit(runs.n_params, runs.n_tokens, runs.loss * np.exp(0.01 * rng.standard_normal(80)),
                          objective=optimal.Objective(robust="asymmetric-huber:0.25"))
    n = np.exp(rng.uniform(np.log(1e8), np.log(1e10), 200))
    d = n * np.exp(rng.uniform(np.log(5), np.log(100), 200))
    return fit, n, d, np.log(np.asarray(truth.loss(n, d))) + 0.01 * rng.standard_normal(200)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=6)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    rows = {"now": [], "before": []}
    for s in range(args.sets):
        fit, n, d, new = new_run_set(s)
        p = optimal.predict(fit, n, d)
        rows["now"].append([np.mean(new < np.log(p.new_lo)), np.mean(new > np.log(p.new_hi))])
        scale, dof = module.residual_scale(fit)
        q = student_t.ppf(0.975, dof)
        factor = module.huber_variance_factor(fit.config["delta"], scale, fit.config["robust"])
        half = q * np.hypot(p.log_se / np.sqrt(factor), scale)  # factor 1, t s on both sides
        rows["before"].append([np.mean(new < np.log(p.loss) - half), np.mean(new > np.log(p.loss) + half)])
    lines = [f"# New-run intervals of an asymmetric-huber:0.25 fit without draws ({args.sets} sets x 200 new runs)",
             "", "Command: `python benchmarks/asymmetric_predict.py " + " ".join(argv or sys.argv[1:]) + "`", "",
             "| interval | below the 95% interval | above | covered |", "|---|---|---|---|"]
    for name, values in rows.items():
        below, above = np.mean(values, axis=0)
        lines.append(f"| {name} | {100 * below:.1f}% | {100 * above:.1f}% | {100 * (1 - below - above):.1f}% |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as file:
            file.write(text)


if __name__ == "__main__":
    main()
