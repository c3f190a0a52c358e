"""``--design``: the experiment-design simulation of ``benchmarks/design.py``, written as a result like the others."""

import sys
from pathlib import Path

from harness import environment, write


def run_design(args):
    """The experiment-design simulation (benchmarks/design.py); writes ``<device>-design[-smoke].json/.md``."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import design

    mode = "smoke" if args.smoke else "full"
    results = design.simulate_all(mode)
    results["environment"] = environment()
    command = "python benchmarks/run.py --design" + (" --smoke" if args.smoke else "")
    print(design.markdown_all(results, command))
    return write(results, args.out, "-design" if mode == "full" else "-design-smoke", design.markdown_all(results, command))
