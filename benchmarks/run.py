"""Benchmarks: the JAX paths of ``optimal`` against the SciPy baseline, side by side, in one process.

    python benchmarks/run.py                 # full: 1e6 budgets, Epoch's 240 rows, B = 4000 (~4 min, 2 cores)
    python benchmarks/run.py --quick         # the same at smaller sizes (< 3 min on 2 CPU cores)
    python benchmarks/run.py --scaling       # time vs rows, starts, resamples and budgets, plus a PNG (~15 min)
    python benchmarks/run.py --smoke --out DIR   # tiny sizes, so that tests/test_benchmarks.py keeps it alive
    python benchmarks/run.py --families      # generic vs fast path (Chinchilla), data-constrained vs SciPy (~5 min)
    python benchmarks/run.py --cold-start    # the installed `optimal fit` / `optimal solve` in fresh processes (~1 min)
    python benchmarks/run.py --design        # suggested next runs vs an IsoFLOP grid, 200 seeds (benchmarks/design.py, ~10 min)
    python benchmarks/run.py --batch         # groups and sweeps as one program vs one at a time, and the SciPy loop
    python benchmarks/run.py --big           # `optimal fit` on 100k rows, with --bootstrap 1000: time and peak memory
    python benchmarks/run.py --recommend     # recommend with 2000 draws: at a budget, at a target loss, the old loop

Results go to ``benchmarks/results/<device>.json`` and ``.md`` (``<device>-quick``, ``<device>-scaling``,
``<device>-smoke``, ``<device>-families``, ``<device>-cold-start``, ``<device>-batch``, ``<device>-big``,
``<device>-recommend`` for the other modes), where ``<device>`` is JAX's platform and device kind ("cpu", "gpu-nvidia-h100-80gb-hbm3", ...).

This file is the command line only: the timing, the machine's description and the writing of results are
``benchmarks/harness.py``, and each suite is a module of ``benchmarks/suites/``.

Protocol (``shared/design/PITFALLS.md``, Benchmarking):
- JAX and SciPy run in the same process, alternating (the order rotates every round), repeated; every time is
  reported as median, min and max of the repeated runs.
- A JAX path's first call is timed on its own; its compile time (tracing, lowering and XLA compilation, summed
  from ``jax.monitoring`` events during that call) is reported apart. Repeated calls are warm.
- SciPy and NumPy run under ``threadpool_limits(1)``: one BLAS thread (with the default thread count on 2
  shared cores one L-BFGS-B start went from ~3.5 ms to 10-200 ms). JAX uses XLA's own thread pool.
- Where the SciPy side would take minutes it runs on a subsample and its time is extrapolated linearly; the
  results say so (``scipy_extrapolated``, ``scipy_measured_on``).
- Every time comes with its accuracy: the N* error against the closed form, the objective gap to the best
  optimum any method found, whether JAX and SciPy reached the same optimum.
- ``--cold-start`` times the program as a user runs it instead: each run a fresh process (the ``optimal``
  executable next to this Python), with an empty, a warm or no compilation cache (OPTIMAL_CACHE_DIR, always set,
  so that ``~/.cache`` is never touched), against the floors under it (``python -c "import optimal"``, ...),
  with a breakdown of where a run's time goes from instrumented runs apart from the timed ones.
"""

import argparse
import sys
from pathlib import Path

import jax

sys.path.insert(0, str(Path(__file__).resolve().parent))  # harness and suites, wherever this file is run from

from harness import RESULTS_DIR, device_name  # noqa: E402,F401 (device_name: the results' file names, for the tests)
from suites.batch import BATCH_CONFIGS, batch_markdown, run_batch  # noqa: E402
from suites.big import BIG_CONFIGS, big_markdown, run_big  # noqa: E402
from suites.cold_start import COLD_START_CONFIGS, cold_start_markdown, run_cold_start  # noqa: E402
from suites.design import run_design  # noqa: E402
from suites.families import FAMILIES_CONFIGS, families_markdown, run_families  # noqa: E402
from suites.recommend import RECOMMEND_CONFIGS, recommend_markdown, run_recommend  # noqa: E402
from suites.scaling import SCALING, run_scaling, scaling_markdown  # noqa: E402
from suites.solve_fit_bootstrap import CONFIGS, markdown, run  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes (< 3 min on 2 CPU cores)")
    size.add_argument("--smoke", action="store_true", help="tiny sizes, for the tests")
    parser.add_argument("--scaling", action="store_true", help="the scaling curves instead (with --smoke: tiny ones)")
    parser.add_argument("--families", action="store_true",
                        help="the law-family benchmarks instead: generic vs fast path, data-constrained vs SciPy "
                             "(with --quick: SciPy on a tenth of its grid; with --smoke: tiny)")
    parser.add_argument("--cold-start", action="store_true",
                        help="the installed `optimal fit` (240 rows) and `optimal solve` in fresh processes instead: "
                             "empty, warm and no compilation cache, against the issue's targets (with --quick: fewer "
                             "runs; with --smoke: one of each, synthetic rows, the breakdown of a warm run only)")
    parser.add_argument("--batch", action="store_true",
                        help="groups and sweeps as one program vs one at a time instead (with --smoke: tiny)")
    parser.add_argument("--design", action="store_true",
                        help="the experiment-design simulation instead: optimal.suggest's runs vs an IsoFLOP grid, "
                             "spends 1e21 and 1e22 (benchmarks/design.py; with --smoke: 4 seeds)")
    parser.add_argument("--big", action="store_true",
                        help="`optimal fit` on 100k rows, alone and with --bootstrap 1000, in fresh processes: time and "
                             "peak memory (with --quick: --bootstrap 20; with --smoke: tiny)")
    parser.add_argument("--recommend", action="store_true",
                        help="recommend with 2000 bootstrap draws instead: at a budget, at a target loss (one vmapped "
                             "program) and the per-draw loop it replaced (with --smoke: tiny)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help=f"results folder (default {RESULTS_DIR})")
    args = parser.parse_args(argv)
    if args.cold_start:  # child processes only: this one starts no JAX backend
        if args.scaling or args.families:
            parser.error("--cold-start is a run of its own")
        results = run_cold_start(COLD_START_CONFIGS["quick" if args.quick else "smoke" if args.smoke else "full"], args.out)
        print(cold_start_markdown(results))
        return results
    # optimal scopes float64 to its own calls; the harness's own JAX work (the SciPy side's resample draws, the
    # evaluation-rate floor) must run in float64 too, or its random draws and rates are float32's
    with jax.enable_x64(True):
        return _run(args, parser)


def _run(args, parser):
    if args.design:
        return run_design(args)
    if args.recommend:
        results = run_recommend(RECOMMEND_CONFIGS["smoke" if args.smoke else "full"], args.out)
        print(recommend_markdown(results))
    elif args.big:
        results = run_big(BIG_CONFIGS["quick" if args.quick else "smoke" if args.smoke else "full"], args.out)
        print(big_markdown(results))
    elif args.batch:
        results = run_batch(BATCH_CONFIGS["smoke" if args.smoke else "full"], args.out)
        print(batch_markdown(results))
    elif args.families:
        if args.scaling:
            parser.error("--families and --scaling are separate runs")
        results = run_families(FAMILIES_CONFIGS["quick" if args.quick else "smoke" if args.smoke else "full"], args.out)
        print(families_markdown(results))
    elif args.scaling:
        if args.quick:
            parser.error("--scaling is not part of --quick; run it on its own (or with --smoke)")
        results = run_scaling(SCALING["smoke" if args.smoke else "full"], args.out)
        print(scaling_markdown(results))
    else:
        results = run(CONFIGS["quick" if args.quick else "smoke" if args.smoke else "full"], args.out)
        print(markdown(results))
    return results


if __name__ == "__main__":
    main()