"""Write tests/slow_tests.txt from the durations of a whole run: every test (all its parametrisations together)
whose setup, call and teardown took longer than a threshold goes to the slow tier (listing one that a decorator
or conftest's SLOW_FILES already marks changes nothing).

    python -m pytest --durations=0 -p no:cacheprovider > run.log
    python tests/tiers.py run.log --over 1.0   # seconds, on a quiet 2-core machine

Read the run's load before choosing the threshold: under load every duration grows. The list's ``fixture FILE::NAME``
lines (a module fixture whose compiles would land on whichever of its tests runs first: every test using it is slow)
are chosen by hand from the fast tier's own setup times and kept when the file is rewritten.
"""

import argparse
import collections
import re
from pathlib import Path

LINE = re.compile(r"\s*([\d.]+)s (?:call|setup|teardown)\s+(\S+?)(?:\[.*\])?$")


def durations(log_text):
    """Seconds per ``file::name`` (parametrisations summed) from pytest's ``--durations=0`` lines."""
    total = collections.Counter()
    for line in log_text.splitlines():
        match = LINE.match(line)
        if match:
            total[match.group(2)] += float(match.group(1))
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path, help="output of a whole run with --durations=0")
    parser.add_argument("--over", type=float, default=1.0, help="seconds above which a test is slow (default 1)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("slow_tests.txt"))
    args = parser.parse_args(argv)
    slow = sorted((name for name, seconds in durations(args.log.read_text()).items() if seconds > args.over))
    header = (f"# tests over {args.over:g} s in a whole run (setup + call + teardown, parametrisations summed), "
              f"written by tests/tiers.py from {args.log.name}; conftest marks them slow\n")
    old = args.out.read_text().splitlines() if args.out.exists() else []
    kept = [line for line in old if line.startswith("fixture ")]
    args.out.write_text(header + "".join(f"{name}\n" for name in slow)
                        + ("# module fixtures, chosen by hand (kept by tests/tiers.py)\n" if kept else "")
                        + "".join(f"{line}\n" for line in kept))
    print(f"{len(slow)} tests over {args.over:g} s written to {args.out}")


if __name__ == "__main__":
    main()
