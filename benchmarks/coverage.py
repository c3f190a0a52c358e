"""Coverage of the bootstrap intervals of the compute-optimal allocation, measured on synthetic sets with a known law.

Issue 21, item 5: do the intervals of N*(C), D*(C) and the loss at the optimum, at budgets 1, 2 and 3 decades beyond
the largest run's compute, cover the truth at their nominal rate? And how far does coverage fall when the law
fitted (Chinchilla) is not the law the runs came from (Muennighoff et al. 2023's data-constrained law, with data
repeated)?

The design (every set draws its own, from its seed):

* ``N_RUNS`` runs per set (one row count, so the fit and the bootstrap compile once for every set);
* N log-uniform over a span of 1.5 to 2.5 decades (the span uniform), starting log-uniformly between 3e7 and 3e8
  parameters;
* D = N x a tokens-per-parameter ratio log-uniform between 5 and 100;
* loss = truth(N, D) x exp(sigma x standard normal), sigma uniform between 0.01 and 0.02 (1-2% multiplicative noise).

Scenarios (the truth):

* ``chinchilla``: the Chinchilla law of ``optimal.data.synthetic.DEFAULT_TRUTH`` (Epoch AI's refit of Hoffmann et al.
  2022, rounded). Its N*(C) is the closed form.
* ``repeat-4`` and ``repeat-40``: Muennighoff et al. 2023's fitted data-constrained law
  (``optimal.data.synthetic.MUENNIGHOFF_THETA``) with U unique tokens per set, U = max D / 4 (the largest runs see
  up to 4 epochs: the authors found up to ~4 nearly harmless) or max D / 40 (heavy repetition). Fitted with
  Chinchilla, which takes every repeated token for a new one. The truth compared is this law's optimum with
  unlimited fresh data (its Chinchilla part, the closed form): what a Chinchilla fit claims to estimate. (The
  optimum with the sets' own U is another question; past hundreds of epochs it is not even determined, see
  ``optimal.allocation.data_constrained``.)

Per set: ``optimal.fit``, ``optimal.bootstrap`` (B resamples, the library's defaults otherwise), every converged draw
allocated at the three budgets (``optimal.allocation.draws.allocations``, C = 6 N D), and the 80% and 95% percentile
intervals (``optimal._util.stats.percentile_bounds``, the one interval) checked against the truth. Also per set:
``optimal.validate`` holding out the ``HOLD_OUT`` largest-compute runs (linearised intervals, or
``--validate-resamples`` bootstrap resamples), whether it flags misspecification.

Coverage rates carry binomial standard errors sqrt(p (1 - p) / n). Sets whose fit did not converge or whose draws are
too few (< 10 converged) count as misses (never dropped), and are counted.

Run (``nice``: the machine is shared; about 15 minutes per truth on 2 shared CPU cores):

    nice python -m benchmarks.coverage --sets 200 --resamples 400 --out benchmarks/results/coverage.md

Results and what they say: docs/coverage.md (benchmarks/results/coverage.md has the runs' machine and load).

``--validate-only``: ``optimal.validate`` alone per set (no bootstrap, no coverage), with its lack-of-fit test, its
trend test against epochs (``epochs_column``) and its repeated-data design check (the sets' ``unique_tokens``
column, ``design_columns``), and the noise-free misfit (``misfit``); the truths also include
``MISSPEC_SCENARIOS``: repeat-mixed (each run its own unique data, epochs log-uniform from 1 to 40), kaplan (the
``kaplan2020`` preset) and curved (Epoch's law with alpha drifting by ``CURVE`` per e-fold of N). The coverage run
leaves the lack-of-fit test out (``simulations=0``), so its records stay as they were. Results:
benchmarks/results/coverage-misspec.md.

Parallel: ``--first-seed`` and ``--sets`` choose a slice of seeds and ``--json PATH`` writes the per-set records;
``--combine A.json B.json ... --out coverage.md`` merges slices from several processes or machines into one table.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings

import numpy as np

DECADES = (1, 2, 3)  # budgets: 10^k x the largest run's compute
LEVELS = (0.80, 0.95)
N_RUNS = 64
HOLD_OUT = 13  # ~20% of the runs held out by validate
K = 6.0  # C = K N D
MIN_DRAWS = 10
SCENARIOS = {"chinchilla": None, "repeat-4": 4.0, "repeat-40": 40.0}  # max epochs of the largest-D run
# truths only --validate-only measures (no coverage: their compute-optimal truth is not a Chinchilla closed form)
MISSPEC_SCENARIOS = ("repeat-mixed", "kaplan", "curved")
MIXED_MAX_EPOCHS = 40.0  # repeat-mixed: every run's own epochs, log-uniform from 1 to this
CURVE = 0.04  # curved: alpha drifts by this per e-fold of N (from 1e9), as in the scale test's measurement
QUANTITIES = ("N", "D", "loss")
TESTS = ("coverage", "bias")  # validate's tests, each reported with its p-value (optimal.analysis.validate)


def design(seed, n_runs=N_RUNS):
    """One set's design (module docstring): ``(N, D, sigma, rng)`` with N and D of shape (n_runs,)."""
    rng = np.random.default_rng(seed)
    span = rng.uniform(1.5, 2.5)
    n_min = np.exp(rng.uniform(np.log(3e7), np.log(3e8)))
    n = n_min * 10.0 ** rng.uniform(0, span, n_runs)
    d = n * np.exp(rng.uniform(np.log(5.0), np.log(100.0), n_runs))
    sigma = rng.uniform(0.01, 0.02)
    return n, d, sigma, rng, span


class _Curved:
    """Epoch's law (``DEFAULT_TRUTH``) with alpha drifting by ``CURVE`` per e-fold of N from 1e9: a bend in log-log
    space that no power law takes up."""

    def log_loss(self, log_n, log_d):
        import jax.numpy as jnp
        from optimal.data.synthetic import DEFAULT_TRUTH as t

        alpha = t.alpha + CURVE * (log_n - jnp.log(1e9))
        return jnp.log(t.E + t.A * jnp.exp(-alpha * log_n) + t.B * jnp.exp(-t.beta * log_d))


def truth_of(scenario, d, seed=0):
    """``(law, unique_tokens, chinchilla_part)``: the law the runs come from (U unique tokens for a repeat
    scenario, per run (n,) for repeat-mixed, else None) and the Chinchilla law whose optimum is the truth compared
    (None for the truths only --validate-only measures)."""
    import optimal
    from optimal.data.synthetic import DEFAULT_TRUTH, MUENNIGHOFF_THETA
    from optimal.laws import DataConstrained

    if scenario == "kaplan":
        from optimal.laws.presets import preset

        return preset("kaplan2020"), None, None
    if scenario == "curved":
        return _Curved(), None, None
    e, a, b, alpha, beta, log_rd, log_rn = MUENNIGHOFF_THETA
    if scenario == "repeat-mixed":  # epochs drawn per run from their own stream: the design's draws are unchanged
        epochs = np.exp(np.random.default_rng([seed, 1]).uniform(0, np.log(MIXED_MAX_EPOCHS), len(d)))
        unique = d / epochs
        law = DataConstrained(np.exp(e), np.exp(a), np.exp(b), alpha, beta, np.exp(log_rd), np.exp(log_rn), unique)
        return law, unique, None
    epochs = SCENARIOS[scenario]
    if epochs is None:
        return DEFAULT_TRUTH, None, DEFAULT_TRUTH
    e, a, b, alpha, beta, log_rd, log_rn = MUENNIGHOFF_THETA
    unique = float(np.max(d) / epochs)
    law = DataConstrained(np.exp(e), np.exp(a), np.exp(b), alpha, beta, np.exp(log_rd), np.exp(log_rn), unique)
    return law, unique, optimal.Chinchilla(np.exp(e), np.exp(a), np.exp(b), alpha, beta)


def true_optimum(chinchilla, budgets):
    """The truth's ``{N, D, loss}`` at ``budgets`` (FLOPs), (3,) each: the closed form."""
    import jax.numpy as jnp
    from optimal._util.precision import float64_scope
    from optimal.laws.chinchilla import compute_optimal_log_params

    @float64_scope
    def run():
        log_n, log_d = compute_optimal_log_params(chinchilla, jnp.log(jnp.asarray(budgets) / K))
        loss = chinchilla.loss(jnp.exp(log_n), jnp.exp(log_d))
        return {"N": np.exp(np.asarray(log_n)), "D": np.exp(np.asarray(log_d)), "loss": np.asarray(loss)}

    return run()


def epochs_column(scenario, d, unique):
    """The column the trend test is run against (``validate(against="epochs")``), (n,), or None: epochs D / U,
    at least 1, for a repeat scenario; for chinchilla a placebo, the epochs repeat-40 would have (a column the loss
    does not depend on); None for kaplan and curved."""
    if scenario == "chinchilla":
        return np.maximum(1.0, d / (np.max(d) / SCENARIOS["repeat-40"]))
    if unique is None:
        return None
    return np.maximum(1.0, d / unique)


def design_columns(scenario, d, unique):
    """What a set's runs file would say of its data, as ``validate``'s ``columns`` (and ``against``): a repeat
    scenario's unique tokens per run (``unique_tokens``: validate's design check reads it and runs its trend test
    against epochs max(1, D / U) by itself); for chinchilla ``unique_tokens`` = the largest D (no run repeats its
    data: the check stays silent) and the placebo epochs under another name, tested with an explicit ``against``;
    nothing for kaplan and curved."""
    if scenario == "chinchilla":
        return {"columns": {"unique_tokens": np.full(len(d), float(np.max(d))),
                            "placebo_epochs": epochs_column(scenario, d, unique)}, "against": "placebo_epochs"}
    if unique is None:
        return {}
    return {"columns": {"unique_tokens": np.broadcast_to(np.asarray(unique, float), np.shape(d)).copy()}}


def _validate_record(check):
    """What a set's validation found: the held-out tests (the fold's flag and p-values) and the lack-of-fit tests."""
    m = check.folds[0].metrics
    found = {"flagged": bool(m["flagged"]), "bias": m["bias"], **{f"{t}_p": m[f"{t}_p"] for t in TESTS}}
    tested = check.lack_of_fit
    if tested is not None:
        found.update(curvature_p=tested["curvature"]["p"], curvature_explained=tested["curvature"]["explained"],
                     trend_p=None if tested["trend"] is None else tested["trend"]["p"],
                     trend_slope=None if tested["trend"] is None else tested["trend"]["slope"],
                     simulations=tested["simulations"], simulations_failed=tested["n_failed"])
    return found


def simulate(seed, scenario):
    """One set's runs: ``(N, D, loss, sigma, span, unique, law, chinchilla part, the truth's log-loss)``."""
    import jax.numpy as jnp
    from optimal._util.precision import float64_scope

    n, d, sigma, rng, span = design(seed)
    law, unique, chinchilla = truth_of(scenario, d, seed)
    log_loss = float64_scope(lambda: np.asarray(law.log_loss(jnp.log(jnp.asarray(n)), jnp.log(jnp.asarray(d)))))()
    loss = np.exp(log_loss + sigma * rng.standard_normal(len(n)))
    return n, d, loss, sigma, span, unique, law, chinchilla, log_loss


def misfit(n, d, log_loss):
    """The RMS of the log-loss residuals of the least-squares Chinchilla fit to the truth's own, noise-free losses:
    the part of a wrong law that no fit of this form can take up, the most any in-sample test could see."""
    import optimal
    from optimal.fitting.residuals import log_residuals

    result = optimal.fit(n, d, np.exp(log_loss), objective=optimal.Objective(robust="squared"))
    return float(np.sqrt(np.mean(np.square(log_residuals(result)))))


def validate_only(seed, scenario, validate_resamples=0, simulations=None):
    """``optimal.validate`` alone on one set (the held-out tests, the lack-of-fit test and the trend test against
    ``epochs_column``): a JSON-able record."""
    import optimal
    from optimal.analysis.validate import LACK_OF_FIT_SIMULATIONS

    n, d, loss, sigma, span, unique, _, _, log_loss = simulate(seed, scenario)
    epochs = epochs_column(scenario, d, unique)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        noise_free = misfit(n, d, log_loss)
        check = optimal.validate(n, d, loss, largest=HOLD_OUT, n_resamples=validate_resamples, seed=seed,
                                 **design_columns(scenario, d, unique),
                                 simulations=simulations or LACK_OF_FIT_SIMULATIONS)
    return {"seed": int(seed), "scenario": scenario, "span_decades": float(span), "sigma": float(sigma),
            "max_epochs": None if epochs is None or scenario == "chinchilla" else float(np.max(epochs)),
            "misfit_rms": noise_free, "validate": {
                **_validate_record(check), "misspecified": bool(check.misspecified),
                "repeated_data": bool(check.repeated_data and check.repeated_data["flagged"])}}


def one_set(seed, scenario, n_resamples, validate=True, validate_resamples=0):
    """Fit, bootstrap and check one set: a JSON-able record of the truth, the intervals and whether they cover it."""
    import optimal
    from optimal._util.stats import percentile_bounds
    from optimal.allocation.draws import allocations

    n, d, loss, sigma, span, unique, law, chinchilla, _ = simulate(seed, scenario)
    budgets = float(np.max(K * n * d)) * 10.0 ** np.asarray(DECADES, float)
    truth = true_optimum(chinchilla, budgets)
    record = {"seed": int(seed), "scenario": scenario, "span_decades": float(span), "sigma": float(sigma),
              "unique_tokens": unique, "max_epochs": None if unique is None else float(np.max(d) / unique),
              "budgets": budgets.tolist(), "truth": {k: v.tolist() for k, v in truth.items()}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings are counted below, not printed per set
        result = optimal.fit(n, d, loss)
        boot = optimal.bootstrap(result, n_resamples=n_resamples, seed=seed)
        check = (optimal.validate(n, d, loss, largest=HOLD_OUT, n_resamples=validate_resamples, seed=seed,
                                  simulations=0) if validate else None)
    record.update(converged=bool(result.converged), fit_warnings=[w.code for w in result.warnings],
                  n_draws=int(len(boot.good)), n_failed=int(boot.n_failed))
    point = optimal.compute_optimal(result.law, budgets, flops_per_param_token=K)
    record["point"] = {"N": np.asarray(point.n_params).tolist(), "D": np.asarray(point.n_tokens).tolist(),
                       "loss": np.asarray(point.loss).tolist()}
    usable = result.converged and len(boot.good) >= MIN_DRAWS
    record["usable"] = bool(usable)
    record["intervals"] = {}
    if usable:
        draws = allocations(boot.good, budgets, K, family=boot.fit.family)
        for q in QUANTITIES:
            for level in LEVELS:
                lo, hi = percentile_bounds(draws[q], level)  # (3,) each, one per budget
                record["intervals"][f"{q}@{level:g}"] = {"lo": np.asarray(lo).tolist(), "hi": np.asarray(hi).tolist()}
    if check is not None:
        record["validate"] = _validate_record(check)
    return record


def covered(record, quantity, level, i):
    """Whether the set's interval of ``quantity`` at budget ``i`` holds the truth (a set without intervals: no)."""
    box = record["intervals"].get(f"{quantity}@{level:g}")
    if box is None:
        return False
    return box["lo"][i] <= record["truth"][quantity][i] <= box["hi"][i]


def rate(hits):
    """``(p, se)``: the share of True and its binomial standard error."""
    hits = np.asarray(hits, bool)
    p = float(np.mean(hits)) if len(hits) else float("nan")
    return p, float(np.sqrt(p * (1 - p) / max(len(hits), 1)))


def summarise(records):
    """Per scenario: ``{n_sets, n_unusable, coverage: {"N@0.8": [(p, se) per budget], ...}, miss_high, log_error,
    validate_flagged, validate_tests}``. ``miss_high``: of the 95% misses, the share where the truth lies above the
    interval; ``log_error``: the median over sets of log(point / truth) per budget; ``width``: the median over sets of
    the 95% interval's hi / lo per budget; ``validate_tests``: each of validate's tests' own rejection rate at its
    level."""
    from optimal.analysis.validate import SIGNIFICANCE
    out = {}
    for scenario in SCENARIOS:
        rows = [r for r in records if r["scenario"] == scenario]
        if not rows:
            continue
        summary = {"n_sets": len(rows), "n_unusable": sum(not r["usable"] for r in rows), "coverage": {},
                   "miss_high": {}, "log_error": {}, "width": {}}
        for q in QUANTITIES:
            for level in LEVELS:
                summary["coverage"][f"{q}@{level:g}"] = [rate([covered(r, q, level, i) for r in rows])
                                                         for i in range(len(DECADES))]
            above = []
            for i in range(len(DECADES)):
                misses = [r for r in rows if r["usable"] and not covered(r, q, 0.95, i)]
                above.append(float(np.mean([r["truth"][q][i] > r["intervals"][f"{q}@0.95"]["hi"][i] for r in misses]))
                             if misses else None)
            summary["miss_high"][q] = above
            usable = [r["intervals"][f"{q}@0.95"] for r in rows if r["usable"]]
            summary["width"][q] = [float(np.median([box["hi"][i] / box["lo"][i] for box in usable])) if usable
                                   else float("nan") for i in range(len(DECADES))]
            summary["log_error"][q] = [float(np.median([np.log(r["point"][q][i] / r["truth"][q][i]) for r in rows]))
                                       for i in range(len(DECADES))]
        checked = [r["validate"] for r in rows if "validate" in r]
        # each test's own rejection rate at validate's level, and validate's flag (any of them); from the p-values,
        # so records made while validate had another test (a "pattern" test, tried and removed) count as now
        rejects = {test: [v[f"{test}_p"] is not None and v[f"{test}_p"] < SIGNIFICANCE for v in checked]
                   for test in TESTS}
        summary["validate_flagged"] = rate(np.any(list(rejects.values()), axis=0)) if checked else None
        summary["validate_tests"] = {test: rate(hits) for test, hits in rejects.items()} if checked else None
        out[scenario] = summary
    return out


def _cell(p_se):
    p, se = p_se
    return f"{100 * p:.1f} ± {100 * se:.1f}"


def table(summary):
    """A Markdown table: one row per scenario and quantity, one column per budget and level."""
    head = ["truth", "quantity"] + [f"{int(100 * lv)}% at +{k} dec" for k in DECADES for lv in LEVELS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for scenario, s in summary.items():
        for q in QUANTITIES:
            cells = [_cell(s["coverage"][f"{q}@{lv:g}"][i]) for i in range(len(DECADES)) for lv in LEVELS]
            lines.append(f"| {scenario} | {q}*(C) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def details(summary):
    """The bias and the validate flag rate per scenario, a Markdown table."""
    head = ["truth", "sets", "unusable"] + [f"median log(point/truth) N* at +{k} dec" for k in DECADES] + [
        f"median 95% hi/lo N* at +{k} dec" for k in DECADES] + [
        "95% N* misses with truth above", "validate flags"] + [f"{t} test" for t in TESTS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for scenario, s in summary.items():
        highs = s["miss_high"]["N"]
        flag = s["validate_flagged"]
        lines.append(f"| {scenario} | {s['n_sets']} | {s['n_unusable']} | "
                     + " | ".join(f"{x:+.3f}" for x in s["log_error"]["N"]) + " | "
                     + " | ".join(f"{x:.2f}" for x in s["width"]["N"]) + " | "
                     + ", ".join("n/a" if h is None else f"{100 * h:.0f}%" for h in highs) + " | "
                     + ("n/a" if flag is None else _cell(flag) + "%") + " | "
                     + " | ".join("n/a" if flag is None else _cell(s["validate_tests"][t]) + "%"
                                  for t in TESTS) + " |")
    return "\n".join(lines)


def misspec_summary(records):
    """Per scenario of validate-only records: ``{n_sets, held_out, curvature, trend, lack_of_fit, any, n_trend,
    simulations_failed}``, each rate ``(p, se)`` (``trend`` over the sets with a column, None without any): the
    share of sets each test flags at its level."""
    from optimal.analysis.validate import LACK_OF_FIT_SIGNIFICANCE

    out = {}
    for scenario in list(SCENARIOS) + list(MISSPEC_SCENARIOS):
        mine = [r for r in records if r["scenario"] == scenario]
        rows = [r["validate"] for r in mine]
        if not rows:
            continue
        curvature = [v["curvature_p"] < LACK_OF_FIT_SIGNIFICANCE for v in rows]
        trend = [v["trend_p"] is not None and v["trend_p"] < LACK_OF_FIT_SIGNIFICANCE for v in rows]
        with_trend = [v["trend_p"] < LACK_OF_FIT_SIGNIFICANCE for v in rows if v["trend_p"] is not None]
        held = [v["flagged"] for v in rows]
        design = [v.get("repeated_data", False) for v in rows]  # records made before the design check: False
        out[scenario] = {"n_sets": len(rows), "held_out": rate(held), "curvature": rate(curvature),
                         "trend": rate(with_trend) if with_trend else None, "n_trend": len(with_trend),
                         "lack_of_fit": rate(np.logical_or(curvature, trend)),
                         "repeated_data": rate(design), "tests": rate(np.logical_or.reduce([held, curvature, trend])),
                         "any": rate(np.logical_or.reduce([held, curvature, trend, design])),
                         "misfit": [float(np.median([r["misfit_rms"] for r in mine])),
                                    float(np.median([r["misfit_rms"] / r["sigma"] for r in mine]))],
                         "simulations_failed": int(sum(v["simulations_failed"] for v in rows)),
                         "simulations": int(sum(v["simulations"] for v in rows))}
    return out


def misspec_table(summary):
    """The validate-only rates, a Markdown table."""
    head = ["truth", "sets", "noise-free misfit RMS (/ noise sd)", "held-out tests", "lack of fit (curvature)",
            "trend with epochs", "curvature or trend", "any test", "repeated data (design check)",
            "validate flags (misspecified)", "refits failed"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for scenario, s in summary.items():
        trend = "n/a" if s["trend"] is None else _cell(s["trend"]) + "%"
        lines.append(f"| {scenario} | {s['n_sets']} | {100 * s['misfit'][0]:.2f}% ({s['misfit'][1]:.2f}) | "
                     f"{_cell(s['held_out'])}% | {_cell(s['curvature'])}% | {trend} | "
                     f"{_cell(s['lack_of_fit'])}% | {_cell(s['tests'])}% | {_cell(s['repeated_data'])}% | "
                     f"{_cell(s['any'])}% | {s['simulations_failed']} of "
                     f"{s['simulations']} |")
    return "\n".join(lines)


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs, {platform.system()}"


def made_by(title, runs):
    """A report's first lines: its ``title`` and, per run that made the records (a slice), its command, machine, load
    and wall time."""
    return [title, "", "Made by (each command a slice of the records; `--combine` merges slices):", ""] + [
        f"- `{meta['command']}`: {meta['machine']}; load average (1, 5, 15 min) at start {meta['load_start']}, at end "
        f"{meta['load_end']} (shared machine, run under nice); wall {meta['wall_s']:.0f} s" for meta in runs]


def report(summary, runs):
    """The Markdown report: per run that made the records (a slice), its command, machine, load and wall time; the
    design; the two tables."""
    lines = made_by("# Coverage of the allocation's bootstrap intervals (benchmarks/coverage.py)", runs)
    resamples = ", ".join(sorted({str(meta["resamples"]) for meta in runs}))
    validate = ", ".join(sorted({str(meta.get("validate_resamples", 0)) for meta in runs}))
    return "\n".join(lines + [
        "", f"Design: {N_RUNS} runs per set, N over 1.5-2.5 decades from 3e7-3e8, D/N 5-100, 1-2% noise; "
        f"B = {resamples} bootstrap resamples per set; budgets 1, 2, 3 decades beyond the largest run's "
        f"compute (C = 6 N D); validate holds out the {HOLD_OUT} largest-compute runs, with {validate} bootstrap "
        "resamples (0: linearised intervals). Cells: coverage % ± binomial standard error.", "",
        table(summary), "", details(summary), ""])


def misspec_report(summary, runs):
    """The Markdown report of a validate-only run: its commands, machine and load, the design and the rates."""
    from optimal.analysis.validate import LACK_OF_FIT_SIGNIFICANCE, SCALE_SIGNIFICANCE, SIGNIFICANCE

    lines = made_by("# validate on right and wrong laws (benchmarks/coverage.py --validate-only)", runs)
    return "\n".join(lines + [
        "", f"Design: as the coverage run ({N_RUNS} runs per set, N over 1.5-2.5 decades from 3e7-3e8, D/N 5-100, "
        f"1-2% noise), fitted with Chinchilla. Held-out tests: the {HOLD_OUT} largest-compute runs held out "
        f"(coverage and bias at {SIGNIFICANCE:g}, scale at {SCALE_SIGNIFICANCE:g}; linearised intervals unless the command "
        "says --validate-resamples). Lack of fit: "
        f"all runs fitted, the curvature test and the trend test against epochs (repeat scenarios: max(1, D / U), "
        f"run by validate itself from the sets' unique_tokens column; chinchilla: the epochs repeat-40 would have, a "
        f"placebo the loss does not depend on, given as against; kaplan and curved: none), each at "
        f"{LACK_OF_FIT_SIGNIFICANCE:g}. Repeated data: validate's design check (not a test) on the sets' "
        f"unique_tokens column (repeat scenarios: their U; chinchilla: U = the largest D, so no run repeats; kaplan "
        f"and curved: no column); validate flags: any test or the design check (Validation.misspecified). "
        "Cells: share of sets flagged, % ± binomial standard error. "
        "Noise-free misfit: the median over sets of the RMS log-loss residual of the least-squares Chinchilla fit to "
        "the truth's noise-free losses (and of its ratio to the set's noise sd): what no fit of this form takes up.",
        "", misspec_table(summary), ""])


def run_sets(seeds, scenarios, n_resamples, validate=True, validate_resamples=0, progress=print, only=False,
             simulations=None):
    """Every (scenario, seed) set's record, printing progress with an estimate of the time left; ``only``: validate
    alone (``validate_only``)."""
    records = []
    jobs = [(s, seed) for s in scenarios for seed in seeds]
    start = time.perf_counter()
    for j, (scenario, seed) in enumerate(jobs):
        records.append(validate_only(seed, scenario, validate_resamples, simulations) if only
                       else one_set(seed, scenario, n_resamples, validate, validate_resamples))
        if progress:
            elapsed = time.perf_counter() - start
            if j == 0:
                first = elapsed  # the first set carries the compilation; the rest go at the steady rate
            left = (elapsed - first) / j * (len(jobs) - j - 1) if j else float("nan")
            progress(f"[{j + 1}/{len(jobs)}] {scenario} seed {seed}: {elapsed:.0f} s, ~{left / 60:.1f} min left",
                     file=sys.stderr, flush=True)
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", type=int, default=200, help="sets per scenario")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--resamples", type=int, default=400, help="bootstrap resamples B per set")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--no-validate", action="store_true", help="skip optimal.validate per set")
    parser.add_argument("--validate-resamples", type=int, default=0,
                        help="bootstrap resamples of validate's fit (0: its linearised intervals)")
    parser.add_argument("--validate-only", action="store_true",
                        help="run optimal.validate alone (held-out, lack-of-fit and trend tests), no coverage; "
                             f"scenarios also {', '.join(MISSPEC_SCENARIOS)}")
    parser.add_argument("--simulations", type=int, default=None,
                        help="validate's lack-of-fit simulations per set (default: the library's)")
    parser.add_argument("--json", help="write the per-set records here")
    parser.add_argument("--combine", nargs="+", help="merge the records of earlier --json runs instead of running")
    parser.add_argument("--out", help="write the Markdown report here")
    args = parser.parse_args(argv)
    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    start = time.perf_counter()
    if args.combine:
        records, runs = [], []
        for path in args.combine:
            with open(path) as f:
                saved = json.load(f)
            records += saved["records"]
            runs.append(saved["meta"])
    else:
        scenarios = [s.strip() for s in args.scenarios.split(",")]
        known = list(SCENARIOS) + (list(MISSPEC_SCENARIOS) if args.validate_only else [])
        unknown = [s for s in scenarios if s not in known]
        if unknown:
            parser.error(f"unknown scenario(s) {unknown}; choose from {known}")
        seeds = range(args.first_seed, args.first_seed + args.sets)
        records = run_sets(seeds, scenarios, args.resamples, not args.no_validate, args.validate_resamples,
                           only=args.validate_only, simulations=args.simulations)
        runs = [{"command": "python -m benchmarks.coverage " + " ".join(argv if argv is not None else sys.argv[1:]),
                 "machine": machine(), "load_start": load_start,
                 "load_end": " ".join(f"{x:.2f}" for x in os.getloadavg()), "wall_s": time.perf_counter() - start,
                 "resamples": args.resamples, "validate_resamples": args.validate_resamples,
                 "validate_only": bool(args.validate_only)}]
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"meta": runs[0], "records": records}, f)
    only = [meta.get("validate_only", False) for meta in runs]
    if any(only) and not all(only):
        parser.error("--combine: records of --validate-only runs and coverage runs do not merge into one report")
    text = misspec_report(misspec_summary(records), runs) if all(only) else report(summarise(records), runs)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
