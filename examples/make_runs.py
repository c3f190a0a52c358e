"""Writes examples/runs.csv: 84 synthetic training runs from a known law, so that every command in the README
and docs/ runs on a fresh clone.

The truth is ``optimal.data.synthetic.DEFAULT_TRUTH``, Epoch AI's refit of Chinchilla (Besiroglu et al. 2024)
rounded: L(N, D) = 1.82 + 482 / N^0.348 + 2085 / D^0.366 (nats per token), with C = 6 N D. The design is
Hoffmann et al. 2022's IsoFLOP grid (their Approach 2): at each of 7 budgets from 1e17 to 1e20 FLOPs, 12 model
sizes evenly spaced in log N over 1.5 decades, centred on the truth's own N*(C); D = C / (6 N); each loss is the
truth's times exp(0.01 x a standard normal draw) (seed 0). N and D are rounded to whole parameters and tokens,
the loss to 5 decimals.

Columns: N (parameters), D (training tokens), C (the run's IsoFLOP budget, FLOPs), loss (nats per token).

Run from the repository root: ``python examples/make_runs.py`` (it rewrites examples/runs.csv byte for byte).
"""

from pathlib import Path

import numpy as np

import optimal
from optimal.data.synthetic import DEFAULT_TRUTH

BUDGETS = (1e17, 3e17, 1e18, 3e18, 1e19, 3e19, 1e20)
OUT = Path(__file__).resolve().parent / "runs.csv"


def make_rows():
    """The rows of examples/runs.csv as strings, header first."""
    runs = optimal.isoflop_runs(budgets=BUDGETS, truth=DEFAULT_TRUTH, n_sizes=12, width_decades=1.5, noise=0.01,
                                seed=0)
    budgets = np.asarray(BUDGETS)[runs.groups]
    rows = ["N,D,C,loss"]
    for n, d, c, loss in zip(runs.n_params, runs.n_tokens, budgets, runs.loss):
        rows.append(f"{round(float(n))},{round(float(d))},{c:.0e},{float(loss):.5f}")
    return rows


if __name__ == "__main__":
    OUT.write_text("\n".join(make_rows()) + "\n")
    print(f"wrote {OUT}")
