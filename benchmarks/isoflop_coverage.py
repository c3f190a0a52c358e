"""Coverage of the IsoFLOP (Approach 2) bootstrap intervals on synthetic IsoFLOP designs with a known law (issue 21).

For each design and noise level, ``--sets`` data sets are drawn (``optimal.isoflop_runs``: every budget's sizes evenly
spaced in log N, losses times exp(noise x standard normal)), and ``optimal.isoflop(runs, n_resamples=B, seed=s,
parametric=False)`` gives the exponent a of N*(C) = G C^a with its interval, and N*(C) at 100 x the largest budget
with its interval, each read off the same draws by each of its interval methods (``interval="percentile"``,
``"bc"``, Efron's bias-corrected percentile interval, ``"calibrated"``, the percentile interval calibrated by a
second-level bootstrap of each draw, and ``"studentized"``, the bootstrap-t interval), so the methods are compared on
the same sets and resamples.
Each interval is checked against two values:

- the truth: the law's own a = beta / (alpha + beta) and N*(C) (its closed form);
- the estimator's noise-free limit: what ``optimal.isoflop`` gives on the same design without noise. Approach 2 is
  biased even without noise (module docstring of ``optimal.analysis.isoflop``): when alpha != beta or the grid is
  off-centre, and a grid that drifts relative to N*(C) bends a. A bootstrap can only cover this limit; the truth's
  coverage then also measures the bias.

Reported per row: sets answered (an error, e.g. fewer than 2 accepted vertices, is counted), the coverage of each
value with a 95% Wilson interval over the sets, the median percentile of the point among its own draws (0.5: the
point sits in the middle of its draws), the median width of the exponent's interval, the sd of the point across
sets against the median bootstrap se (their ratio should be near 1), and the resamples and sets with a failed
vertex (a parabola with no minimum) or a refused budget.

    python benchmarks/isoflop_coverage.py                      # 200 sets per row, B = 1000 (a few minutes)
    python benchmarks/isoflop_coverage.py --sets 20 --resamples 200 --out /tmp/smoke.md   # to see that it runs

The same script measures the scheme of any checkout, e.g. the row resampling it replaced:
``PYTHONPATH=/path/to/old/checkout python benchmarks/isoflop_coverage.py --out /tmp/old.md``.
"""

import argparse
import dataclasses
import datetime
import math
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import optimal
from optimal.errors import OptimalError
from optimal.laws import Chinchilla

HOFFMANN = Chinchilla(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)  # Hoffmann et al. 2022, rounded (Approach 3)
OUT = Path(__file__).resolve().parent / "results" / "isoflop-coverage.md"
TARGET_FACTOR = 100.0  # N*(C) is checked at this many times the largest budget (optimal.isoflop's default target)
METHODS = ("percentile", "bc", "calibrated", "studentized", "auto")  # optimal.isoflop's interval methods, read
# off the same draws


@dataclasses.dataclass(frozen=True)
class Design:
    """One IsoFLOP design (``optimal.isoflop_runs``'s arguments) and what it stands for."""

    name: str
    what: str
    budgets: tuple
    n_sizes: int
    width_decades: float
    offset_decades: float = 0.0
    drift: float = 0.0
    noises: tuple = (0.01, 0.02)
    law: Chinchilla = HOFFMANN

    def runs(self, noise, seed):
        return optimal.isoflop_runs(self.budgets, self.law, n_sizes=self.n_sizes, width_decades=self.width_decades,
                                    offset_decades=self.offset_decades, drift=self.drift, noise=noise, seed=seed)


DESIGNS = (
    Design("centred", "10 budgets 1e18-1e21, 9 sizes over 1.5 decades centred on N*(C)",
           tuple(np.geomspace(1e18, 1e21, 10)), 9, 1.5),
    Design("drifting", "12 budgets 1e18-1e21, 10 sizes over 2 decades, 0.3 decades above N* at the first budget and "
           "drifting -0.25 decades per decade of C (sizes chosen ahead of the optimum)",
           tuple(np.geomspace(1e18, 1e21, 12)), 10, 2.0, 0.3, -0.25),
    Design("wide", "8 budgets 1e18-1e21, 12 sizes over 2.5 decades centred on N*(C)",
           tuple(np.geomspace(1e18, 1e21, 8)), 12, 2.5),
    Design("like-88-real", "12 budgets 6e18-3e21, 7 sizes over 1.2 decades, one run per size, drifting -0.2 "
           "(the shape of the 88 real runs of issue 21; at 1% noise its narrow grid already loses vertices, so 0.5% "
           "too)",
           tuple(np.geomspace(6e18, 3e21, 12)), 7, 1.2, 0.0, -0.2, (0.005, 0.01, 0.02)),
    # four more shapes, added to check interval="auto" on designs it was not chosen on
    Design("few", "5 budgets 1e18-1e20, 5 sizes over 1 decade centred on N*(C) (a small study)",
           tuple(np.geomspace(1e18, 1e20, 5)), 5, 1.0, noises=(0.005, 0.01)),
    Design("offset", "8 budgets 1e18-1e21, 8 sizes over 1.5 decades, 0.4 decades above N*(C) at every budget",
           tuple(np.geomspace(1e18, 1e21, 8)), 8, 1.5, 0.4),
    Design("equal-exponents", "10 budgets 1e18-1e21, 9 sizes over 2 decades centred, a law with alpha = beta = 0.3 "
           "(E 1.8, A = B = 400)", tuple(np.geomspace(1e18, 1e21, 10)), 9, 2.0,
           law=Chinchilla(E=1.8, A=400.0, B=400.0, alpha=0.3, beta=0.3)),
    Design("narrow-many", "15 budgets 1e18-1e22, 6 sizes over 1 decade, drifting -0.15 (a narrow grid)",
           tuple(np.geomspace(1e18, 1e22, 15)), 6, 1.0, 0.0, -0.15, (0.005, 0.01)),
)


def wilson(hits, n, z=1.959963984540054):
    """The 95% Wilson score interval of a binomial proportion hits / n."""
    if n == 0:
        return (math.nan, math.nan)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def inside(value, found):
    """Whether the interval holds ``value``; an end that is None is unbounded (failed resamples beyond it)."""
    lo = -math.inf if found["lo"] is None else found["lo"]
    hi = math.inf if found["hi"] is None else found["hi"]
    return lo <= value <= hi


def one_set(design, noise, seed, n_resamples, confidence, methods=METHODS):
    """The exponent's and N*(target)'s intervals on one noisy set by each interval method (all from the same draws:
    the methods are compared on the same sets and resamples), or None when ``optimal.isoflop`` refuses it. The
    second level (``interval="calibrated"``) and the draws' standard errors (``interval="studentized"``) are computed
    only when that method is asked for, each in its own call with the same seed: the first level's draws are the same
    in every call."""
    runs = design.runs(noise, seed)
    calls = {}  # the extra pieces of the calibrated and studentized intervals, each from its own call (same draws)
    # interval="auto" computes the studentized interval's pieces too: one call serves both
    own = [m for m in ("calibrated",) if m in methods] + (["auto"] if {"studentized", "auto"} & set(methods) else [])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for method in own or ["percentile"]:
                calls[method] = optimal.isoflop(runs, n_resamples=n_resamples, seed=seed, confidence=confidence,
                                                parametric=False, interval=method)
    except OptimalError:
        return None
    if "auto" in calls:  # the auto call holds the studentized interval's pieces too
        calls.setdefault("studentized", calls["auto"])
    found = next(iter(calls.values()))
    boot = found.bootstrap
    draws = boot["a"][np.isfinite(boot["a"])]
    intervals = {}
    for method in methods:
        read = calls.get(method, found)
        read = dataclasses.replace(read, bootstrap=read.bootstrap | {"interval_method": method})
        target = read.comparison()[-1]  # at TARGET_FACTOR x the largest budget
        intervals[method] = {"a_interval": read.to_dict()["approach2"]["bootstrap"]["a"],
                             "n_interval": target["approach2"]["N_interval"]}
    return {"a": found.exponent, "percentile": float(np.mean(draws < found.exponent)), "intervals": intervals,
            "failed": int(boot["n_with_failure"]), "refused": len(found.profiles) - len(found.accepted),
            "auto": calls["auto"].bootstrap["auto"]["chosen"] if "auto" in calls else None}


def measure(design, noise, n_sets, n_resamples, confidence, methods=METHODS):
    """One row per interval method: the coverage and the rest (module docstring) over ``n_sets`` sets."""
    sets = [one_set(design, noise, seed, n_resamples, confidence, methods) for seed in range(n_sets)]
    done = [s for s in sets if s is not None]
    return [_row(design, noise, n_sets, [s | s["intervals"][m] for s in done], confidence) | {"interval": m}
            for m in methods]


def _row(design, noise, n_sets, done, confidence):
    limit = optimal.isoflop(design.runs(0.0, 0), parametric=False)
    target = TARGET_FACTOR * max(design.budgets)
    truth_a = design.law.beta / (design.law.alpha + design.law.beta)
    truth_n = float(np.asarray(optimal.closed_form(design.law, np.asarray([target]))[0])[0])
    limit_n = float(limit.n_star(target))
    count = lambda test: sum(1 for s in done if test(s))  # noqa: E731
    row = {"design": design.name, "noise": noise, "n_sets": n_sets, "answered": len(done),
           "truth_a": truth_a, "limit_a": limit.exponent, "truth_n": truth_n, "limit_n": limit_n}
    for key, value, interval_key in (("a_truth", truth_a, "a_interval"), ("a_limit", limit.exponent, "a_interval"),
                                     ("n_truth", truth_n, "n_interval"), ("n_limit", limit_n, "n_interval")):
        hits = count(lambda s: inside(value, s[interval_key]))
        row[key] = (hits / len(done) if done else math.nan, *wilson(hits, len(done)))
    points = np.array([s["a"] for s in done])
    row["misses"] = (count(lambda s: s["a_interval"]["lo"] is not None and limit.exponent < s["a_interval"]["lo"]),
                     count(lambda s: s["a_interval"]["hi"] is not None and limit.exponent > s["a_interval"]["hi"]))
    row["median_percentile"] = float(np.median([s["percentile"] for s in done])) if done else math.nan
    widths = [math.inf if None in (s["a_interval"]["lo"], s["a_interval"]["hi"]) else
              s["a_interval"]["hi"] - s["a_interval"]["lo"] for s in done]
    row["median_width"] = float(np.median(widths)) if done else math.nan
    places = [(s["a"] - s["a_interval"]["lo"]) / (s["a_interval"]["hi"] - s["a_interval"]["lo"]) for s in done
              if None not in (s["a_interval"]["lo"], s["a_interval"]["hi"]) and s["a_interval"]["hi"] > s["a_interval"]["lo"]]
    row["median_place"] = float(np.median(places)) if places else math.nan
    row["unbounded"] = sum(1 for w in widths if math.isinf(w))
    tail = 50 * (1 - confidence)
    row["spread_points"] = float(np.subtract(*np.percentile(points, [100 - tail, tail]))) if len(done) > 1 else math.nan
    row["resamples_failed"] = int(sum(s["failed"] for s in done))
    row["sets_with_failure"] = count(lambda s: s["failed"] > 0)
    row["sets_with_refusal"] = count(lambda s: s["refused"] > 0)
    row["auto_studentized"] = count(lambda s: s["auto"] == "studentized")
    return row


def machine():
    commit = "unknown"
    try:
        root = Path(optimal.__file__).resolve().parents[1]
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "optimal"], cwd=root, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        commit += " + uncommitted changes" if dirty else ""
    except (OSError, subprocess.SubprocessError):
        pass
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} CPUs, {platform.platform()}; python {platform.python_version()}, numpy "
            f"{np.__version__}, optimal {optimal.__version__} from {Path(optimal.__file__).resolve().parent} at "
            f"{commit}; {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}")


def fmt_cover(cell):
    share, lo, hi = cell
    return "-" if math.isnan(share) else f"{100 * share:.1f}% ({100 * lo:.0f}-{100 * hi:.0f})"


def report(rows, command, n_sets, n_resamples, confidence, seconds, where=None):
    lines = ["# IsoFLOP (Approach 2) bootstrap: coverage on synthetic IsoFLOP designs", "",
             f"Command: `{command}`.", f"Machine: {where or machine()}.",
             f"Wall time {seconds:.0f} s (not a speed figure: the machine is shared).", "",
             f"Law: Hoffmann et al. 2022's rounded Approach 3 coefficients (E {HOFFMANN.E}, A {HOFFMANN.A}, B "
             f"{HOFFMANN.B}, alpha {HOFFMANN.alpha}, beta {HOFFMANN.beta}; a = beta / (alpha + beta) = "
             f"{HOFFMANN.beta / (HOFFMANN.alpha + HOFFMANN.beta):.4f}), k = 6. Per row {n_sets} data sets (noise seeds "
             f"0-{n_sets - 1}; the bootstrap seed is the set's), B = {n_resamples} resamples, "
             f"{100 * confidence:g}% intervals read off the same draws by each method ('interval': percentile; bc: "
             "Efron's bias-corrected percentile interval; calibrated: the percentile interval at levels calibrated by "
             f"a second-level bootstrap, {optimal.analysis.isoflop.INNER_RESAMPLES} resamples per draw; studentized: "
             "the bootstrap-t interval, each draw's delta-method se; auto: the studentized interval where every "
             "vertex is at least 1.96 delta-method se inside the bounds its budget is accepted within (its sizes "
             "and half their width beyond) and no budget was refused for its losses, else "
             "the envelope of the percentile and studentized intervals). Noise: loss x "
             "exp(noise x standard normal).", "",
             "Coverage: the share of sets whose interval holds the value, with its 95% Wilson interval over the sets. "
             "'limit': the estimator's noise-free value on the same design (Approach 2's own bias removed); 'truth': "
             "the law's; 'misses': sets whose interval of a lies above / below the limit. "
             f"N* is N*(C) at {TARGET_FACTOR:g} x the largest budget. 'point pct': the median, over sets, "
             "of the share of a set's draws below its point (0.5: in the middle; the same draws for both methods). 'point "
             "place': the median, over sets, of (a - lo) / (hi - lo), where the point sits in its own interval of a "
             "(0.5: the middle). 'width / spread': the median width "
             "of a's interval over the width of the central interval (same level) of the points across sets (near 1 "
             "when the intervals are as wide as the estimator's own scatter; the scatter includes the noise-free "
             "bias only as a shift). 'failed': resamples (all sets) with a parabola without minimum (that vertex "
             "is left out of the resample's line), and the sets they occur in; 'unbounded': sets whose interval of a "
             "has an unbounded end; 'refused': sets with a budget refused by the data's own tests; 'auto: "
             "studentized': sets where auto chose the studentized interval (the rest: the envelope).", ""]
    for design in DESIGNS:
        lines.append(f"- `{design.name}`: {design.what}.")
    lines += ["", "| design | noise | interval | sets answered | a: limit / truth | a cover (limit) | a cover (truth) | "
              "misses | N* cover (limit) | N* cover (truth) | point pct | point place | median width of a | width / spread | "
              "failed (sets) | unbounded | refused | auto: studentized |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['design']} | {100 * r['noise']:g}% | {r['interval']} | {r['answered']}/{r['n_sets']} | {r['limit_a']:.4f} / "
            f"{r['truth_a']:.4f} | {fmt_cover(r['a_limit'])} | {fmt_cover(r['a_truth'])} | {r['misses'][0]} / "
            f"{r['misses'][1]} | {fmt_cover(r['n_limit'])} | "
            f"{fmt_cover(r['n_truth'])} | {r['median_percentile']:.2f} | {r['median_place']:.2f} | {r['median_width']:.4f} | "
            f"{r['median_width'] / r['spread_points']:.2f} | {r['resamples_failed']} ({r['sets_with_failure']}) | "
            f"{r['unbounded']} | {r['sets_with_refusal']} | {r['auto_studentized']} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=int, default=200, help="data sets per design and noise (default 200)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples per set (default 1000)")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--designs", nargs="+", choices=[d.name for d in DESIGNS], help="default: all")
    parser.add_argument("--noise", type=float, nargs="+", help="default: each design's own (1%% and 2%%; 0.5%% too for "
                                                                 "like-88-real)")
    parser.add_argument("--interval", nargs="+", choices=METHODS, default=list(METHODS),
                        help="interval methods to read off the same draws (default: all)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"the Markdown report (default {OUT})")
    args = parser.parse_args(argv)
    where = machine()  # the checkout as it was when the run started: the code that ran
    started = time.monotonic()
    rows = []
    for design in DESIGNS:
        if args.designs and design.name not in args.designs:
            continue
        for noise in args.noise or design.noises:
            for r in measure(design, noise, args.sets, args.resamples, args.confidence, tuple(args.interval)):
                rows.append(r)
                print(f"{design.name} noise {noise:g} {r['interval']}: a cover limit {r['a_limit'][0]:.3f} truth "
                      f"{r['a_truth'][0]:.3f}, misses {r['misses'][0]} / {r['misses'][1]}, N* cover limit "
                      f"{r['n_limit'][0]:.3f}, point pct {r['median_percentile']:.2f}, failed {r['resamples_failed']}",
                      file=sys.stderr, flush=True)
    command = "python benchmarks/isoflop_coverage.py" + ("" if argv is None and len(sys.argv) == 1 else
                                                         " " + " ".join(sys.argv[1:] if argv is None else argv))
    text = report(rows, command, args.sets, args.resamples, args.confidence, time.monotonic() - started, where)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}", file=sys.stderr)
    return rows


if __name__ == "__main__":
    main()
