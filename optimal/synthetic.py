"""Training runs drawn from a known law, for tests, notebooks and benchmarks where no real data is at hand."""

import numpy as np

from .data import Runs
from .laws import Chinchilla

# Epoch AI's refit of Chinchilla (Besiroglu et al. 2024), rounded: a realistic truth to recover
DEFAULT_TRUTH = Chinchilla(E=1.82, A=482.0, B=2085.0, alpha=0.348, beta=0.366)


def synthetic_runs(n_runs=120, truth=DEFAULT_TRUTH, noise=0.01, n_range=(5e7, 1.6e10), tokens_per_param=(2.0, 200.0),
                   n_groups=None, group_noise=0.0, seed=0) -> Runs:
    """Runs with N log-uniform in ``n_range`` (parameters), D = N x a log-uniform tokens-per-parameter ratio
    (tokens), and loss = truth(N, D) x exp(noise x standard normal) (nats).

    With ``n_groups``, runs are spread over that many groups (model configurations) that share a random
    log-loss offset of size ``group_noise``: the structure a cluster bootstrap resamples.
    """
    rng = np.random.default_rng(seed)
    n = np.exp(rng.uniform(*np.log(n_range), n_runs))
    d = n * np.exp(rng.uniform(*np.log(tokens_per_param), n_runs))
    log_loss = np.log(truth.E + truth.A / n**truth.alpha + truth.B / d**truth.beta)
    groups = None
    if n_groups:
        groups = rng.integers(0, n_groups, n_runs)
        log_loss = log_loss + group_noise * rng.standard_normal(n_groups)[groups]
    loss = np.exp(log_loss + noise * rng.standard_normal(n_runs))
    return Runs(n, d, loss, np.ones(n_runs), groups)
