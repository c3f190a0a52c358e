"""Writes examples/curves.csv: learning curves of 54 synthetic runs from a known law, so that every command of
docs/envelope.md runs on a fresh clone.

The truth is ``optimal.data.synthetic.DEFAULT_TRUTH``, Epoch AI's refit of Chinchilla (Besiroglu et al. 2024)
rounded: L(N, D) = 1.82 + 482 / N^0.348 + 2085 / D^0.366 (nats per token), whose compute-optimal N* grows as C^a with
a = 0.366 / (0.348 + 0.366) = 0.513. The design (``optimal.data.curves.synthetic_curves``): 9 sizes log-spaced from
3e7 to 3e9 parameters, each trained to 6 schedule lengths of 5 to 160 tokens per parameter, 12 checkpoints per run
log-spaced from 2% of its schedule to its end; each loss is the truth's at the tokens seen times exp(0.005 x a
standard normal draw) (seed 0), with no penalty for an undecayed schedule. N, D and the schedule length are rounded to
whole parameters and tokens, the loss to 5 decimals.

Columns: run (its id), N (parameters), D (tokens seen so far), schedule (the run's schedule length, tokens),
loss (nats per token).

Run from the repository root: ``python examples/make_curves.py`` (it rewrites examples/curves.csv byte for byte).
"""

from pathlib import Path

import optimal

OUT = Path(__file__).resolve().parent / "curves.csv"


def make_rows():
    """The rows of examples/curves.csv as strings, header first."""
    curves = optimal.synthetic_curves(checkpoints=12, noise=0.005, seed=0)
    rows = ["run,N,D,schedule,loss"]
    for r, n, d, t, loss in zip(curves.run, curves.n_params, curves.n_tokens, curves.schedule, curves.loss):
        rows.append(f"{curves.run_ids[r]},{round(float(n))},{round(float(d))},{round(float(t))},{float(loss):.5f}")
    return rows


if __name__ == "__main__":
    OUT.write_text("\n".join(make_rows()) + "\n")
    print(f"wrote {OUT}")
