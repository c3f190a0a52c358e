"""Seed noise from repeated runs, and whether a law's residuals are larger than it (a lack-of-fit test).

Runs repeated at the same setting (the same N and D, and the same covariates and group) under different seeds differ
only by the noise of training: their spread is an estimate of that noise that needs no law. With ``m_s`` runs at
setting s, log-losses ``y_si`` and their mean ``ybar_s`` (the log-loss is what the fit's residuals measure):

    pure error       SS_pe  = sum_s sum_i (y_si - ybar_s)^2       df_pe  = sum_s (m_s - 1)
    lack of fit      SS_lof = sum_s m_s (ybar_s - yhat_s)^2        df_lof = S - p
    F = (SS_lof / df_lof) / (SS_pe / df_pe)

with ``yhat_s`` the law's log-loss at setting s, S the settings and p the fit's free coefficients. SS_pe + SS_lof is
the sum of the squared residuals. Under a law that is right and Gaussian noise of one size, F follows an F(df_lof,
df_pe) distribution; its upper tail, the p-value, is the regularised incomplete beta function
``I_x(df_pe/2, df_lof/2)`` at ``x = df_pe / (df_pe + df_lof F)`` (``jax.scipy.special.betainc``). A small p-value
says the law misses the settings' means by more than the seeds scatter around them. The fit minimises a robust
(Huber) loss rather than squares, so the test is approximate (the textbook lack-of-fit test is for least squares:
e.g. Draper and Smith, Applied Regression Analysis, 3rd ed., section 2.1); the variances themselves need no such
assumption. Rows of weight 0 are left out; the weights do not enter otherwise.
"""

import dataclasses
import math

import jax.numpy as jnp
import jax.scipy.special
import numpy as np

from .._util.precision import float64_scope
from .._util.results import Issue, Judged, Status, issues
from ..data.runs import Runs, validate_runs
from ..errors import DataError, OptimalError
from .fit import FitResult
from .problem import residuals

# a lack-of-fit p-value below this: a warning. Not 0.05: on small synthetic designs (10 settings x 4 seeds, 20 x 2;
# 1% noise, the right law, 12 data sets each) p fell below 0.05 in 5 of 24 (the fit's weakly identified coefficients
# absorb less than their p degrees of freedom), below 0.01 in none
SIGNIFICANCE = 0.01


@dataclasses.dataclass(frozen=True)
class ReplicateNoise(Judged):
    """The seed noise of repeated runs, and (with a fit) the law's lack of fit against it.

    Attributes (variances of log-loss, dimensionless; sd = sqrt):
      n_rows: the runs used (weight > 0); n_settings: distinct settings S; n_replicated: settings with 2 or more runs.
      pure_error_variance: SS_pe / df_pe (None without a repeated setting); pure_error_df: df_pe.
      residual_variance: the fit's residual variance SS_res / (n - p) (None without a fit, or n <= p);
        residual_df: n - p; n_free: p.
      lack_of_fit_variance: SS_lof / df_lof; lack_of_fit_df: df_lof = S - p; f_ratio: F; p_value: its upper tail
        under F(df_lof, df_pe) (each None where it cannot be computed: no fit, no repeat, df_lof < 1).
    """

    n_rows: int
    n_settings: int
    n_replicated: int
    pure_error_variance: float | None
    pure_error_df: int
    residual_variance: float | None = None
    residual_df: int | None = None
    n_free: int | None = None
    lack_of_fit_variance: float | None = None
    lack_of_fit_df: int | None = None
    f_ratio: float | None = None
    p_value: float | None = None

    @property
    def pure_error_sd(self):
        return None if self.pure_error_variance is None else math.sqrt(self.pure_error_variance)

    @property
    def residual_sd(self):
        return None if self.residual_variance is None else math.sqrt(self.residual_variance)

    @property
    def status(self) -> Status:
        """SUCCESS with a pure-error estimate, FAILED without a repeated setting."""
        return Status.SUCCESS if self.pure_error_variance is not None else Status.FAILED

    @property
    def warnings(self) -> tuple:
        found = []
        if self.pure_error_variance is None:
            found.append(("no setting (N, D) was run more than once with weight > 0: the seed noise cannot be "
                          "estimated from replicates"))
        elif self.pure_error_variance == 0:
            found.append("the repeated runs have identical losses: the seed noise is estimated as 0")
        if self.p_value is not None and self.p_value < SIGNIFICANCE:
            found.append(f"lack of fit: the law misses the repeated settings' mean log-loss by more than the seeds "
                         f"scatter (F = {self.f_ratio:.3g} on {self.lack_of_fit_df} and {self.pure_error_df} degrees "
                         f"of freedom, p = {self.p_value:.2g}): the residuals are not seed noise alone")
        return issues(found, "replicates")

    @property
    def notes(self) -> tuple:
        return (Issue("replicates", "variances of log-loss; the F test treats the robust fit as least squares, so "
                                    "its p-value is approximate"),)

    def to_dict(self) -> dict:
        return {"n_rows": self.n_rows, "n_settings": self.n_settings, "n_replicated": self.n_replicated,
                "pure_error_variance": self.pure_error_variance, "pure_error_sd": self.pure_error_sd,
                "pure_error_df": self.pure_error_df, "residual_variance": self.residual_variance,
                "residual_sd": self.residual_sd, "residual_df": self.residual_df, "n_free": self.n_free,
                "lack_of_fit_variance": self.lack_of_fit_variance, "lack_of_fit_df": self.lack_of_fit_df,
                "f_ratio": self.f_ratio, "p_value": self.p_value, "status": self.status.label,
                "warnings": list(self.warnings)}

    def summary(self) -> str:
        def sd(v):
            return "n/a" if v is None else f"{v:.3g}"

        lines = [f"replicates: {self.n_rows} runs at {self.n_settings} settings (N, D), {self.n_replicated} run more "
                 f"than once",
                 f"  seed noise (pure error) sd {sd(self.pure_error_sd)} in log-loss, {self.pure_error_df} degrees of "
                 f"freedom"]
        if self.residual_variance is not None:
            lines.append(f"  the law's residual sd {sd(self.residual_sd)}, {self.residual_df} degrees of freedom "
                         f"({self.n_free} coefficients fitted)")
        if self.f_ratio is not None:
            lines.append(f"  lack of fit: F = {self.f_ratio:.4g} on ({self.lack_of_fit_df}, {self.pure_error_df}) "
                         f"degrees of freedom, p = {self.p_value:.3g}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


@float64_scope
def f_tail(f_ratio, df1, df2) -> float:
    """``P(F > f_ratio)`` for F ~ F(df1, df2) (df1, df2 > 0): ``I_x(df2/2, df1/2)`` at ``x = df2 / (df2 + df1 f)``,
    the regularised incomplete beta function of ``jax.scipy.special.betainc``; 1 for ``f_ratio <= 0``."""
    if f_ratio <= 0:
        return 1.0
    if math.isinf(f_ratio):
        return 0.0
    x = df2 / (df2 + df1 * f_ratio)
    return float(jax.scipy.special.betainc(jnp.asarray(df2 / 2.0), jnp.asarray(df1 / 2.0), jnp.asarray(x)))


def _settings(columns):
    """Each row's setting id (n,) from the columns (n,) that define a setting (equal values: one setting)."""
    stacked = np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=1)
    return np.unique(stacked, axis=0, return_inverse=True)[1].ravel()


@float64_scope
def replicate_noise(runs, fit=None) -> ReplicateNoise:
    """The seed noise of runs repeated at the same setting, and a fit's lack of fit against it (module docstring).

    Args:
      runs: a ``Runs`` (``optimal.read_runs_csv``, ``optimal.validate_runs``, ``optimal.synthetic_runs``), or a
        ``FitResult`` (its own rows, and the fit itself when ``fit`` is None).
      fit: optional ``FitResult`` of a law to test; with a ``Runs``, its law predicts at their N and D (a law with
        covariates or a joint fit: pass the ``FitResult`` as ``runs`` instead, so its own rows are used).

    Returns a ``ReplicateNoise``. Settings: equal N and D (and, for a fit's own rows, equal covariates and group).
    Raises ``OptimalError`` for arguments of the wrong kind, ``DataError`` without rows of positive weight.
    """
    if isinstance(runs, FitResult):
        if fit is not None and fit is not runs:
            raise OptimalError("replicate_noise(fit_result) tests that fit on its own rows: pass fit=None, or pass "
                               "the runs (optimal.Runs) with fit=")
        fit = runs
        n, d, loss, weights = (np.asarray(x, np.float64) for x in fit.data)
        struct, data = fit.problem()
        z = jnp.asarray(fit.theta if fit.free is None else fit.free, data.log_n.dtype)
        predicted = np.asarray(residuals(fit.family, z, data), np.float64) + np.log(loss)
        extra = [np.asarray(v) for v in fit.covariates.values()]
        if fit.group_ids is not None:
            extra.append(np.asarray(fit.group_ids))
    elif isinstance(runs, Runs):
        runs = validate_runs(*runs[:4], n_free=1)  # a Runs built by hand is checked like any runs (loss > 0, ...)
        n, d, loss, weights = (np.asarray(x, np.float64) for x in runs[:4])
        extra, predicted = [], None
        if fit is not None:
            if not isinstance(fit, FitResult):
                raise OptimalError(f"fit must be the FitResult of optimal.fit, not {type(fit).__name__}")
            if fit.covariates or fit.group_labels is not None:
                raise OptimalError("this fit's law needs covariates or groups beside N and D: call "
                                   "replicate_noise(fit_result) to use the fit's own rows")
            predicted = np.log(np.asarray(fit.law.loss(n, d), np.float64))
    else:
        raise OptimalError(f"runs must be an optimal.Runs or the FitResult of optimal.fit, not {type(runs).__name__}")
    keep = weights > 0
    if not keep.any():
        raise DataError("replicate_noise needs runs of positive weight")
    y = np.log(loss[keep])
    setting = _settings([n[keep], d[keep]] + [e[keep] for e in extra])
    n_settings = int(setting.max()) + 1
    counts = np.bincount(setting, minlength=n_settings)
    means = np.bincount(setting, weights=y, minlength=n_settings) / counts
    ss_pe = float(np.sum((y - means[setting]) ** 2))
    df_pe = int(np.sum(counts - 1))
    found = dict(n_rows=int(keep.sum()), n_settings=n_settings, n_replicated=int(np.sum(counts > 1)),
                 pure_error_variance=ss_pe / df_pe if df_pe else None, pure_error_df=df_pe)
    if fit is None:
        return ReplicateNoise(**found)
    p = len(fit.free_names) if fit.free_names else int(np.size(fit.theta))
    r = y - predicted[keep]
    n_rows = found["n_rows"]
    found.update(n_free=p, residual_df=n_rows - p,
                 residual_variance=float(np.sum(r**2)) / (n_rows - p) if n_rows > p else None)
    fitted_at = np.bincount(setting, weights=predicted[keep], minlength=n_settings) / counts
    ss_lof = float(np.sum(counts * (means - fitted_at) ** 2))
    df_lof = n_settings - p
    if df_lof >= 1:
        found.update(lack_of_fit_variance=ss_lof / df_lof, lack_of_fit_df=df_lof)
        if df_pe and ss_pe > 0:
            f_ratio = (ss_lof / df_lof) / (ss_pe / df_pe)
            found.update(f_ratio=f_ratio, p_value=f_tail(f_ratio, df_lof, df_pe))
    return ReplicateNoise(**found)
