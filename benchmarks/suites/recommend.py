"""``--recommend``: ``optimal.recommend`` with bootstrap draws, at a budget (every draw's allocation: one vmapped
program) and at a target loss (every draw's ``compute_for_loss``: one vmapped program since issue #19, a Python loop
over draws before, timed here as the reference), written to ``<device>-recommend[-smoke].json/.md``."""

import math
import os
import time
import warnings

import numpy as np

import optimal
from optimal._util.stats import unbounded_interval
from harness import (CLOCK, Contender, RESULTS_DIR, environment, fmt_ratio, fmt_spread, fmt_yes, load_line, log,
                     machine_line, race, ratio, timing, write)

RECOMMEND_CONFIGS = {"full": dict(mode="full", rows=80, draws=2000, rounds=5, loop_rounds=3),
                     "smoke": dict(mode="smoke", rows=40, draws=8, rounds=1, loop_rounds=1)}


def _compute_per_draw_loop(boot, target, k):
    """The pre-#19 path: ``compute_for_loss`` for one draw at a time, +inf where a draw cannot reach ``target``."""
    needed = np.full(len(boot.good), np.inf)
    for j, theta in enumerate(boot.good):
        try:
            needed[j] = optimal.compute_for_loss(boot.fit.family.law_from_theta(np.asarray(theta)), target, k).compute
        except optimal.UnreachableLossError:
            pass
    return needed


def run_recommend(rc, out_dir=RESULTS_DIR):
    """Time ``recommend(boot, compute)`` and ``recommend(boot, target_loss=)`` (R draws, one budget or target each)
    and the per-draw loop the target path replaced; check that the loop and the program give the same interval."""
    started, env = time.time(), environment()
    with CLOCK:
        runs = optimal.synthetic_runs(n_runs=rc["rows"], seed=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            boot = optimal.bootstrap(optimal.fit(runs.n_params, runs.n_tokens, runs.loss), n_resamples=rc["draws"],
                                     seed=0)
        target = optimal.recommend(boot, 1e22).records[0]["loss"]  # reached at about 1e22 FLOPs
        log(f"recommend: {len(boot.good)} draws, budget 1e22, target loss {target:.6g}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            records = race([
                Contender("budget", lambda: optimal.recommend(boot, 1e22), True, rc["rounds"]),
                Contender("target_loss", lambda: optimal.recommend(boot, target_loss=target), True, rc["rounds"]),
                Contender("target_loss_loop", lambda: _compute_per_draw_loop(boot, target, 6.0), True,
                          rc["loop_rounds"]),
            ])
    vmapped = records["target_loss"]["result"].records[0]["intervals"]["compute"]
    looped = unbounded_interval(records["target_loss_loop"]["result"], boot.confidence)
    result = {
        "environment": env, "config": rc, "n_draws": int(len(boot.good)), "target": float(target),
        "budget": timing(records["budget"]), "target_loss": timing(records["target_loss"]),
        "target_loss_loop": timing(records["target_loss_loop"]),
        "interval": {"vmapped": vmapped, "loop": looped}, "interval_max_rel_diff": _max_rel_diff(vmapped, looped),
    }
    # the program's arithmetic over many lanes rounds a few lanes' last digits differently from one law at a time
    result["same_interval"] = result["interval_max_rel_diff"] <= 1e-12
    result["speedup_vs_loop"] = ratio(result["target_loss_loop"]["median_s"], result["target_loss"]["median_s"])
    result["total_s"] = time.time() - started
    env["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    return write(result, out_dir, "-recommend" if rc["mode"] == "full" else "-recommend-smoke", recommend_markdown(result))


def _max_rel_diff(a, b):
    """The largest relative difference between two ``{lo, hi, se}`` intervals (inf where one bound is None and the
    other is not)."""
    diffs = [0.0 if a[k] is None and b[k] is None else math.inf if a[k] is None or b[k] is None
             else abs(a[k] - b[k]) / max(abs(b[k]), 1e-300) for k in ("lo", "hi")]
    return float(max(diffs))


def recommend_markdown(r):
    env = r["environment"]
    lines = [
        f"# recommend with bootstrap draws ({r['n_draws']} draws, one budget or one target loss)", "",
        f"{machine_line(env)}.{load_line(env)}", "",
        "| path | median [min, max] per call | first call | compile |", "|---|---|---|---|",
    ]
    for key, what in (("budget", "`recommend(boot, 1e22)`: every draw's allocation, one vmapped program"),
                      ("target_loss", "`recommend(boot, target_loss=L)`: every draw's compute_for_loss, one vmapped "
                                      "program"),
                      ("target_loss_loop", "the same draws by compute_for_loss one draw at a time (before #19)")):
        t = r[key]
        first = f"{t['first_call_s']:.3g} s" if "first_call_s" in t else "-"
        compile_ = f"{t['compile_s']:.3g} s" if "compile_s" in t else "-"
        lines.append(f"| {what} | {fmt_spread(t)} | {first} | {compile_} |")
    lines += ["", f"Target loss {r['target']:.6g}: the vmapped program is {fmt_ratio(r['speedup_vs_loop'])} the "
                  f"loop's speed; same compute interval as the loop (1e-12 relative): {fmt_yes(r['same_interval'])} "
                  f"(largest relative difference {r['interval_max_rel_diff']:.2g}).", ""]
    return "\n".join(lines)
