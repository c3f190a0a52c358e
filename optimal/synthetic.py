"""Training runs drawn from a known law, for tests, notebooks and benchmarks where no real data is at hand."""

import numpy as np

from .fitting.data import Runs
from .laws import Chinchilla

# Epoch AI's refit of Chinchilla (Besiroglu et al. 2024), rounded: a realistic truth to recover
DEFAULT_TRUTH = Chinchilla(E=1.82, A=482.0, B=2085.0, alpha=0.348, beta=0.366)


def synthetic_runs(n_runs=120, truth=DEFAULT_TRUTH, noise=0.01, n_range=(5e7, 1.6e10), tokens_per_param=(2.0, 200.0),
                   n_groups=None, group_noise=0.0, seed=0) -> Runs:
    """Runs with N log-uniform in ``n_range`` (parameters), D = N x a log-uniform tokens-per-parameter ratio
    (tokens), and loss = truth(N, D) x exp(noise x standard normal) (nats).

    With ``n_groups``, the runs come from that many model configurations (groups): the runs of a group share
    its N and a random log-loss offset of size ``group_noise`` and differ in D, the structure a cluster
    bootstrap resamples.
    """
    rng = np.random.default_rng(seed)
    n = np.exp(rng.uniform(*np.log(n_range), n_runs))
    groups = None
    offset = np.zeros(n_runs)
    if n_groups:
        groups = np.arange(n_runs) % n_groups
        n = n[:n_groups][groups]
        offset = group_noise * rng.standard_normal(n_groups)[groups]
    d = n * np.exp(rng.uniform(*np.log(tokens_per_param), n_runs))
    log_loss = np.log(truth.E + truth.A / n**truth.alpha + truth.B / d**truth.beta) + offset
    loss = np.exp(log_loss + noise * rng.standard_normal(n_runs))
    return Runs(n, d, loss, np.ones(n_runs), groups)
