"""Training runs drawn from a known law, for tests, notebooks and benchmarks where no real data is at hand."""

import numbers

import jax.numpy as jnp
import numpy as np

from .runs import Runs
from ..errors import CoefficientsError, DataError, check_count, check_positive, float_array
from .._util.precision import float64_scope
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from ..laws.chinchilla import Chinchilla, compute_optimal_log_params
from ..laws.coefficients import check_coefficients
from ..laws.data_constrained import DataConstrained

# Epoch AI's refit of Chinchilla (Besiroglu et al. 2024), rounded: a realistic truth to recover
DEFAULT_TRUTH = Chinchilla(E=1.82, A=482.0, B=2085.0, alpha=0.348, beta=0.366)


def _truth_log_loss(law, n, d):
    """log L of ``law`` (its own ``log_loss``, the one formula) at N, D (NumPy arrays), as float64 NumPy."""
    return np.asarray(law.log_loss(jnp.log(jnp.asarray(n, jnp.float64)), jnp.log(jnp.asarray(d, jnp.float64))))


# rows a synthetic set holds at most (per budget for isoflop_runs): 10**7 is 80 MB a column
MAX_SYNTHETIC_ROWS = 10**7


def _check_range(value, name):
    """``(low, high)``: two positive finite numbers, low <= high (reversed was NumPy's ValueError, a 0 its
    OverflowError)."""
    try:
        low, high = value
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a pair (low, high), got {value!r:.40}") from None
    low, high = check_positive(low, f"{name}[0]", DataError), check_positive(high, f"{name}[1]", DataError)
    if low > high:
        raise DataError(f"{name} must be (low, high) with low <= high, got {value!r:.60}")
    return low, high


def _check_truth(truth, cls=None):
    """``truth`` when it is a law (of class ``cls`` where given) whose coefficients are in range; else a
    ``CoefficientsError`` (a str was an AttributeError, a negative coefficient NaN runs)."""
    if not hasattr(truth, "log_loss") or (cls is not None and not isinstance(truth, cls)):
        raise CoefficientsError(f"truth must be a{' ' + cls.__name__ if cls else ''} law such as "
                                f"optimal.preset('epoch2024'), got {type(truth).__name__}")
    return check_coefficients(truth)


def _check_noise(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 10:
        raise DataError(f"{name} must be a log-loss sd from 0 to 10 (e.g. 0.01), got {value!r:.40}")


@float64_scope
def synthetic_runs(n_runs=120, truth=DEFAULT_TRUTH, noise=0.01, n_range=(5e7, 1.6e10), tokens_per_param=(2.0, 200.0),
                   n_groups=None, group_noise=0.0, seed=0) -> Runs:
    """Runs with N log-uniform in ``n_range`` (parameters), D = N x a log-uniform tokens-per-parameter ratio
    (tokens), and loss = truth(N, D) x exp(noise x standard normal) (nats).

    With ``n_groups``, the runs come from that many model configurations (groups): the runs of a group share
    its N and a random log-loss offset of size ``group_noise`` and differ in D, the structure a cluster
    bootstrap resamples.
    """
    _check_noise(noise, "noise")
    _check_noise(group_noise, "group_noise")
    check_count(n_runs, "n_runs", 1, MAX_SYNTHETIC_ROWS, DataError)  # 10**12 asked NumPy for 7 TiB
    n_range, tokens_per_param = _check_range(n_range, "n_range"), _check_range(tokens_per_param, "tokens_per_param")
    truth = _check_truth(truth)
    rng = np.random.default_rng(check_count(seed, "seed", 0, error=DataError))
    n = np.exp(rng.uniform(*np.log(n_range), n_runs))
    groups = None
    offset = np.zeros(n_runs)
    if n_groups:
        groups = np.arange(n_runs) % n_groups
        n = n[:n_groups][groups]
        offset = group_noise * rng.standard_normal(n_groups)[groups]
    d = n * np.exp(rng.uniform(*np.log(tokens_per_param), n_runs))
    log_loss = _truth_log_loss(truth, n, d) + offset
    with np.errstate(over="ignore", invalid="ignore"):
        loss = np.exp(log_loss + noise * rng.standard_normal(n_runs))
    if not np.all(np.isfinite(loss) & (loss > 0)):
        raise DataError(f"synthetic losses are not finite and positive (noise {noise!r:.40}, group_noise "
                        f"{group_noise!r:.40}, truth {truth!r:.80}): give noise levels of a few percent in log-loss")
    return Runs(n, d, loss, np.ones(n_runs), groups)


# Muennighoff et al. 2023's fitted data-constrained law (huggingface/datablations README, "Parametric Fit"), in the
# fitting space of optimal.baseline.fit_data_constrained_lbfgsb: (e, a, b, alpha, beta, log rd_star, log rn_star)
# with E = exp(e), A = exp(a), B = exp(b).
MUENNIGHOFF_THETA = np.array([0.6254804, 6.255414, 7.3049974, 0.3526596, 0.3526596, np.log(15.387756),
                              np.log(5.309743)])


@float64_scope
def data_constrained_runs(n_runs=200, truth_theta=MUENNIGHOFF_THETA, noise=0.01, seed=0, n_range=(1e8, 1e10),
                          unique_per_param=(0.5, 100.0), epochs=(1.0, 60.0)):
    """Multi-epoch runs drawn from a data-constrained law (Muennighoff et al. 2023) with a known truth.

    N is log-uniform in ``n_range`` (parameters); U = N x a log-uniform ratio in ``unique_per_param`` (unique
    tokens); D = U x a log-uniform number of epochs in ``epochs`` (tokens); loss = L(N, D, U) x exp(noise x standard
    normal) (nats). With the default truth, N_opt(U) ~= 0.051 U, so N / N_opt(U) runs from ~0.2 to ~40 (about
    56% of runs have N above twice the compute-optimal size for their unique data: rn_star is identifiable)
    and 44% run more than 10 epochs (rd_star is identifiable).

    Args:
        n_runs: number of runs.
        truth_theta: ``(e, a, b, alpha, beta, log_rd_star, log_rn_star)``, shape (7,).
        noise: standard deviation of the multiplicative log-normal noise on the loss; 0 gives exact losses.
        seed: seed of NumPy's default generator.
        n_range, unique_per_param, epochs: the ranges described above.

    Returns:
        ``(N, D, U, loss)``, float64 arrays of shape (n_runs,).
    """
    rng = np.random.default_rng(seed)
    n = np.exp(rng.uniform(*np.log(n_range), n_runs))
    u = n * np.exp(rng.uniform(*np.log(unique_per_param), n_runs))
    d = u * np.exp(rng.uniform(*np.log(epochs), n_runs))
    e, a, b, alpha, beta, log_rd_star, log_rn_star = np.asarray(truth_theta, dtype=np.float64)
    truth = DataConstrained(np.exp(e), np.exp(a), np.exp(b), alpha, beta, np.exp(log_rd_star), np.exp(log_rn_star),
                            jnp.asarray(u, jnp.float64))
    log_loss = _truth_log_loss(truth, n, d)
    loss = np.exp(log_loss + noise * rng.standard_normal(n_runs))
    return n, d, u, loss


@float64_scope
def isoflop_runs(budgets=(1e18, 1e19, 1e20, 1e21), truth=DEFAULT_TRUTH, n_sizes=7, width_decades=1.5, offset_decades=0.0,
                 drift=0.0, noise=0.0, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, seed=0) -> Runs:
    """IsoFLOP-grid runs (Hoffmann et al. 2022's Approach 2 design) drawn from a known Chinchilla law.

    At each budget C (FLOPs), ``n_sizes`` model sizes N (parameters) evenly spaced in log N over ``width_decades``
    decades, centred ``offset_decades + drift x log10(C / budgets[0])`` decades above the law's compute-optimal
    N*(C) (its closed form, ``compute_optimal_log_params``); D = C / (k N) (tokens) and loss = truth(N, D) x exp(noise x standard normal) (nats).

    Args:
      budgets: the IsoFLOP budgets in FLOPs, shape (G,). truth: the ``Chinchilla`` law the runs come from.
      n_sizes: sizes per budget (>= 1). width_decades: log10(N_max / N_min) of every budget's sizes.
      offset_decades: where the grid's centre sits relative to N*(C) (0: centred on the true optimum).
      drift: how far the centre moves per decade of compute, in decades (a grid that drifts with compute; -a keeps
        the sizes the same at every budget).
      noise: standard deviation of the multiplicative log-normal noise on the loss; 0 gives exact losses.
      flops_per_param_token: k in C = k N D. seed: seed of NumPy's default generator.

    Returns:
      ``Runs`` with G x n_sizes rows, budget by budget, and ``groups`` the budget index of each row.

    Example:
      >>> runs = isoflop_runs(budgets=(1e19, 1e20), n_sizes=5)
      >>> runs.n_params.shape, sorted(set(runs.groups.tolist()))
      ((10,), [0, 1])
    """
    _check_noise(noise, "noise")  # NaN gave NaN losses
    check_count(n_sizes, "n_sizes", 1, MAX_SYNTHETIC_ROWS, DataError)
    truth = _check_truth(truth, Chinchilla)  # the grid is centred on its closed-form optimum
    k = check_positive(flops_per_param_token, "flops_per_param_token", DataError)
    budgets = float_array(budgets, "budgets", DataError, "positive finite numbers of FLOPs", invalid=True).reshape(-1)
    if budgets.size == 0 or not np.all(np.isfinite(budgets) & (budgets > 0)):  # () was an IndexError, -1 NaN runs
        raise DataError(f"budgets must be one or more positive finite numbers of FLOPs, got {budgets!r:.60}")
    rng = np.random.default_rng(check_count(seed, "seed", 0, error=DataError))
    log_c = jnp.log(jnp.asarray(budgets)) - jnp.log(jnp.asarray(k, jnp.float64))
    optimum = np.asarray(jnp.exp(compute_optimal_log_params(truth, log_c)[0]))  # the truth's own optimum
    centre = np.log10(optimum) + offset_decades + drift * np.log10(budgets / budgets[0])
    steps = np.linspace(-0.5, 0.5, n_sizes) * width_decades if n_sizes > 1 else np.zeros(1)
    n = 10.0 ** (centre[:, None] + steps[None, :])
    c = np.broadcast_to(budgets[:, None], n.shape)
    d = c / (k * n)
    log_loss = _truth_log_loss(truth, n, d)
    loss = np.exp(log_loss + noise * rng.standard_normal(n.shape))
    groups = np.repeat(np.arange(len(budgets)), n_sizes)
    return Runs(n.reshape(-1), d.reshape(-1), loss.reshape(-1), np.ones(n.size), groups)
