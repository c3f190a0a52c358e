"""The family contract: what a fit needs to know about a loss surface to fit it to runs.

A family names its parameters, says how each is represented while fitting (a positive parameter as its log,
a bounded one through a scaled logistic, the rest as is), where starting points are drawn from, which per-run
covariates it reads besides N and D, and which parameters enter the loss linearly (the screen solves those by
least squares instead of searching them). ``log_loss`` evaluates the family for named natural values, row by
row; ``law`` turns fitted values into the law pytree that ``compute_optimal`` takes.

A coefficient vector in *fitting space* ``theta`` has one entry per parameter, in ``params`` order: for the
Chinchilla family ``(log E, log A, log B, alpha, beta)``, the vector the fit has always used.
"""

import dataclasses
import math
from typing import Callable

import jax.numpy as jnp
import numpy as np

from ..errors import CoefficientsError


@dataclasses.dataclass(frozen=True, eq=False)  # hashed by identity: a family keys the compile cache
class Family:
    """A law family.

    Attributes:
      name: what ``--law`` and fit records call it.
      params: parameter names, in the order of a fitting-space vector.
      log_loss: ``log_loss(p, log_n, log_d, covariates) -> log L``: ``p`` maps each name to its natural value
        (a scalar or an array of one value per row), ``log_n``, ``log_d`` are natural logs of N (parameters)
        and D (tokens), shape (n,), and ``covariates`` maps each covariate name to its (n,) values.
      law: ``law(p, covariates) -> `` a law pytree (``log_loss(log_n, log_d)``), covariates as scalars.
      positive: parameters fitted as their log (they stay positive).
      bounds: ``{name: (lo, hi)}`` natural bounds (either may be infinite) a fit cannot leave.
      covariates: per-run columns the family reads besides N and D, e.g. ``("U",)`` unique tokens.
      covariate_defaults: values ``law`` uses for a covariate the caller does not give (stated in answers).
      linear: parameters the loss is linear in (or nearly so): the screen solves them by weighted least squares.
      start_box: ``{name: (lo, hi)}`` natural ranges the screen samples starts from (log-uniformly for a
        positive parameter); a linear parameter's range only seeds the other terms.
      formula: the law, in one line, for summaries.
      irreducible: the parameter that is the irreducible loss (Chinchilla: E), if any: the identifiability check
        judges its spread as a ratio and says when the fit pushed it to 0.
      search_edges: ``{name: (lo, hi)}`` the range a fit searches a parameter in (Chinchilla: the exponents in
        (0, 2], the Hoffmann grid's); an estimate at the upper edge (or, after the family's own screen, at its
        lowest point) is reported as not identified.
      fitting_names: names of the fitting-space entries, in ``params`` order (Chinchilla: e, a, b, alpha, beta), for
        a fit's ``log_params``; empty: the free entries' names.

    Capabilities (optional; speed only, the fit is the same problem with or without them; used for one group of
    runs, the identity structure or, for the derivatives, any fixed or tied parameters):
      value_grad_hessian: ``(theta (P,), log_n, log_d, log_loss, covariates, weights, delta, loss) -> (value,
        grad (P,), hess (P, P), grad_scale (P,))``: the summed robust objective at fitting-space ``theta``, its
        gradient and exact Hessian, and the gradient's rounding scale ``sum_i |w_i rho'(r_i) dr_i/dtheta|``
        (``optimal.fitting.problem.evaluator`` computes the same by autodiff when this is None).
      screen: ``(log_n, log_d, log_loss, covariates, weights, n_starts, delta, loss, grid_size) -> (starts (S, P),
        candidates (K, P), values (K,))`` NumPy: the family's own screen for a problem with nothing fixed or tied
        (starts best first, and every screened candidate with its objective, for the identifiability check).
      screen_edges: ``grid_size -> {name: (lo, hi)}``: the range that ``screen`` searches (replaces
        ``search_edges`` when the screen applies).
      start_grids: ``{name: () -> (S, P)}`` named grids of fitting-space starts (``fit(search=Search(starts=name))``).
    """

    name: str
    params: tuple
    log_loss: Callable
    law: Callable
    positive: tuple = ()
    bounds: dict = dataclasses.field(default_factory=dict)
    covariates: tuple = ()
    covariate_defaults: dict = dataclasses.field(default_factory=dict)
    linear: tuple = ()
    start_box: dict = dataclasses.field(default_factory=dict)
    formula: str = ""
    irreducible: str | None = None
    search_edges: dict = dataclasses.field(default_factory=dict)
    fitting_names: tuple = ()
    value_grad_hessian: Callable | None = None
    screen: Callable | None = None
    screen_edges: Callable | None = None
    start_grids: dict = dataclasses.field(default_factory=dict)
    display_name: str = ""
    coefficient_lines: Callable | None = None

    def __post_init__(self):
        names = set(self.params)
        if len(names) != len(self.params) or not self.params:
            raise CoefficientsError(f"family {self.name!r}: parameter names must be distinct and at least one")
        for group, label in ((self.positive, "positive"), (self.bounds, "bounds"), (self.linear, "linear"),
                             (self.start_box, "start_box"), (self.search_edges, "search_edges"),
                             ((self.irreducible,) if self.irreducible else (), "irreducible")):
            unknown = [k for k in group if k not in names]
            if unknown:
                raise CoefficientsError(f"family {self.name!r}: {label} names unknown parameters {', '.join(unknown)}")
        if self.fitting_names and len(self.fitting_names) != len(self.params):
            raise CoefficientsError(f"family {self.name!r}: fitting_names needs one name per parameter")
        if (self.screen is None) != (self.screen_edges is None):
            raise CoefficientsError(f"family {self.name!r}: a screen needs its screen_edges (and edges a screen)")
        missing = [k for k in self.params if k not in self.start_box]
        if missing:
            raise CoefficientsError(f"family {self.name!r}: start_box needs a range for {', '.join(missing)}")
        for name, (lo, hi) in self.bounds.items():
            if not lo < hi or (name in self.positive):
                raise CoefficientsError(f"family {self.name!r}: bounds for {name} must have lo < hi and not be "
                                        "combined with positive (which is the bound (0, inf))")

    def index(self, name):
        """Position of parameter ``name`` in a fitting-space vector; ``CoefficientsError`` if unknown."""
        try:
            return self.params.index(name)
        except ValueError:
            raise CoefficientsError(f"the {self.name} law has no parameter {name!r}; its parameters are "
                                    f"{', '.join(self.params)}") from None

    def transform(self, name):
        """How ``name`` is represented while fitting: "log", "identity", or ("interval", lo, hi)."""
        if name in self.positive:
            return "log"
        if name in self.bounds:
            return ("interval", *map(float, self.bounds[name]))
        return "identity"

    def to_natural(self, theta):
        """Fitting space (..., P) -> ``{name: natural value (...)}``: NumPy float64 for NumPy input (so results keep
        float64 whatever JAX's settings), JAX arrays for JAX input (traced, differentiable)."""
        xp = np if isinstance(theta, (np.ndarray, list, tuple, float, int)) else jnp
        if xp is jnp:
            return {name: _from_fitting(self.transform(name), theta[..., i], xp) for i, name in enumerate(self.params)}
        theta = np.asarray(theta, dtype=np.float64)
        with np.errstate(over="ignore"):  # an out-of-range value becomes inf, which the caller's checks name
            return {name: _from_fitting(self.transform(name), theta[..., i], xp) for i, name in enumerate(self.params)}

    def to_fitting(self, values: dict):
        """``{name: natural value}`` -> fitting space (P,) NumPy float64; raises ``CoefficientsError`` for a value
        outside the parameter's domain (a non-positive value of a positive parameter, one outside its bounds)."""
        out = []
        for name in self.params:
            value = float(values[name])
            kind = self.transform(name)
            ok = math.isfinite(value) and (kind != "log" or value > 0) and (
                not isinstance(kind, tuple) or kind[1] < value < kind[2])
            if not ok:
                domain = "positive" if kind == "log" else f"in ({kind[1]:g}, {kind[2]:g})" if isinstance(kind, tuple) else "finite"
                raise CoefficientsError(f"{self.name} parameter {name} = {value!r} must be {domain}")
            out.append(float(_to_fitting(kind, value)))
        return np.asarray(out)

    def law_from_theta(self, theta, covariates=None):
        """The law pytree at fitting-space ``theta`` (P,) (or a batch (..., P), as arrays); covariates the
        family reads default to ``covariate_defaults``."""
        return self.law_from_values(self.to_natural(theta), covariates)

    def law_from_values(self, values: dict, covariates=None):
        """The law pytree for natural ``values`` ``{name: value}``; covariates as in ``law_from_theta``."""
        given = dict(self.covariate_defaults, **(covariates or {}))
        return self.law({name: values[name] for name in self.params}, {k: given[k] for k in self.covariates})


def _from_fitting(kind, t, xp=jnp):
    if kind == "log":
        return xp.exp(t)
    if kind == "identity":
        return t
    _, lo, hi = kind
    if math.isinf(hi):
        return lo + xp.exp(t)
    if math.isinf(lo):
        return hi - xp.exp(-t)
    return lo + (hi - lo) * (0.5 * xp.tanh(0.5 * t) + 0.5)  # the logistic, without overflow


def _to_fitting(kind, x):
    if kind == "log":
        return math.log(x)
    if kind == "identity":
        return x
    _, lo, hi = kind
    if math.isinf(hi):
        return math.log(x - lo)
    if math.isinf(lo):
        return -math.log(hi - x)
    s = (x - lo) / (hi - lo)
    return math.log(s) - math.log1p(-s)


def sample_starts(family: Family, n, seed=0):
    """``n`` fitting-space points (n, P) drawn from the family's ``start_box``: a scrambled Halton-like
    low-discrepancy sequence (so a few thousand points cover 5-7 dimensions evenly), log-uniform for positive
    parameters, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    dims = len(family.params)
    primes = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53][:dims]
    if dims > len(primes):
        unit = rng.random((n, dims))
    else:
        unit = np.stack([_radical_inverse(np.arange(1, n + 1), p) for p in primes], axis=1)
        unit = (unit + rng.random(dims)) % 1.0  # a random shift keeps the points evenly spread
    out = np.empty((n, dims))
    for j, name in enumerate(family.params):
        lo, hi = map(float, family.start_box[name])
        kind = family.transform(name)
        if kind == "log":
            out[:, j] = np.log(lo) + unit[:, j] * (np.log(hi) - np.log(lo))
        else:
            natural = lo + unit[:, j] * (hi - lo)
            out[:, j] = [_to_fitting(kind, x) for x in natural] if isinstance(kind, tuple) else natural
    return out


def _radical_inverse(i, base):
    """Van der Corput sequence in ``base`` for the integers ``i`` (n,): values in [0, 1)."""
    out = np.zeros(len(i))
    scale = 1.0 / base
    i = i.copy()
    while np.any(i > 0):
        out += (i % base) * scale
        i //= base
        scale /= base
    return out
