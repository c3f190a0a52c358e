"""Which bootstrap gives a fit its intervals, and the answer a fit gives, part by part.

``fit_report(result, ...)`` is what ``optimal fit`` computes after fitting, and what a Python user calls to get the
same: the bootstrap that matches how the runs were grouped (``bootstrap_strategy`` says which), the allocations at
the budgets, and one ``FitPart`` per fit the user reads about. ``FitReport.save`` writes the one fit record that
belongs to it (``optimal.io.records.save_fit``).

The strategy, for a fit ``result`` and the rows' cluster labels ``clusters`` (or None):

* one fit (``optimal.fit`` without groups): ``bootstrap(result, groups=clusters)`` (rows, or whole clusters);
* a joint fit (``optimal.fit(..., groups=labels, shared=...)``): one ``bootstrap(result, groups=clusters)`` of the
  joint fit, so that every group's draws come from the same resamples; each group's view is ``.group(label)``;
* every group's own fit (``optimal.fit_groups``, a ``GroupFits``) without clusters: ``bootstrap_groups`` (every
  group's resamples as lanes of one program, a stratified bootstrap);
* a ``GroupFits`` with clusters: one ``bootstrap(fit, groups=clusters of its rows, seed=group_seed(seed, g))`` per
  group, the group at position g (``bootstrap_groups`` resamples rows, not clusters; a seed per group, so that groups
  with as many clusters are not redrawn alike).
"""

import dataclasses

import numpy as np

from ..allocation.draws import bootstrap_to_dict
from ..errors import OptimalError
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from ..fitting.bootstrap import BootstrapResult, bootstrap, bootstrap_groups, group_seed
from ..fitting.fit import FitResult
from ..fitting.groups import GroupFits
from .recommend import Recommendation, recommend

STRATEGIES = ("one fit", "joint fit", "groups' fits", "groups' fits with clusters")


def bootstrap_strategy(result, clusters=None) -> str:
    """Which bootstrap ``fit_report`` runs for ``result`` (a ``FitResult`` or a ``GroupFits``) with cluster labels
    ``clusters`` ((n,) or None): one of ``STRATEGIES`` (the module docstring says what each does)."""
    if isinstance(result, GroupFits):
        return "groups' fits" if clusters is None else "groups' fits with clusters"
    if isinstance(result, FitResult):
        return "one fit" if result.group_labels is None else "joint fit"
    raise OptimalError(f"a fit report needs a FitResult or a GroupFits (optimal.fit, optimal.fit_groups), not "
                       f"{type(result).__name__}")


def _parts(result):
    """``[(label, fit)]``: the fit (label None), each group's view of a joint fit, or each group's own fit."""
    if isinstance(result, GroupFits):
        return list(result.items())
    if result.group_labels is None:
        return [(None, result)]
    return [(str(label), result.group(str(label))) for label in result.group_labels]


def bootstrap_fits(result, clusters=None, by=None, *, progress=None, **options):
    """``({label: BootstrapResult}, joint BootstrapResult or None)`` for the parts of ``result`` (``_parts``), by
    ``bootstrap_strategy``. ``by``: the (n,) group labels of every row the runs were read with (needed to split
    ``clusters`` between the groups of a ``GroupFits``). ``progress``: None, or ``progress(label) -> callback``
    (label None for the whole). ``options``: ``bootstrap``'s (n_resamples, seed, confidence, refit, ...)."""
    strategy = bootstrap_strategy(result, clusters)
    show = (lambda label: None) if progress is None else progress
    fits = _parts(result)
    if strategy in ("one fit", "joint fit"):
        boot = bootstrap(result, groups=clusters, progress=show(None), **options)
        if strategy == "one fit":
            return {None: boot}, None
        return {label: boot.group(label) for label, _ in fits}, boot
    if strategy == "groups' fits":
        return dict(bootstrap_groups(dict(fits), progress=show("every group"), **options)), None
    if by is None or np.shape(by) != np.shape(clusters):
        raise OptimalError("a cluster bootstrap of every group's own fit needs the rows' group labels (by) beside "
                           "their cluster labels, one of each per row")
    labels = np.asarray(by).astype(str)
    seed = options.pop("seed", 0)
    return {label: bootstrap(part, groups=np.asarray(clusters)[labels == label], progress=show(label),
                             seed=group_seed(seed, g), **options)
            for g, (label, part) in enumerate(fits)}, None


@dataclasses.dataclass(frozen=True)
class FitPart:
    """One fit a user reads about: the fit (label None), one group's own fit, or one group's view of a joint fit;
    its bootstrap (or None) and its allocations at the budgets (a ``Recommendation``, or None without budgets)."""

    label: str | None
    fit: FitResult
    bootstrap: BootstrapResult | None = None
    recommendation: Recommendation | None = None

    def to_dict(self, budgets=(), flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN) -> dict:
        """``{"group": label (with groups), **fit.to_dict(), "bootstrap": ..., "recommendation": ...}`` (the last
        two only when there are draws and budgets); the draws' allocations at ``budgets`` with k."""
        output = ({} if self.label is None else {"group": self.label}) | self.fit.to_dict()
        if self.bootstrap is not None:
            output["bootstrap"] = bootstrap_to_dict(self.bootstrap, budgets, flops_per_param_token)
        if self.recommendation is not None:
            output["recommendation"] = self.recommendation.to_dict()
        return output


@dataclasses.dataclass(frozen=True)
class FitReport:
    """A fit with what the user asked of it: ``result`` (a ``FitResult``, joint or not, or a ``GroupFits``),
    ``parts`` (one ``FitPart`` per fit the user reads about, in label order), the joint fit's own bootstrap (or
    None) and the budgets (FLOPs) with the k they were allocated with."""

    result: object
    parts: tuple
    joint_bootstrap: BootstrapResult | None = None
    budgets: tuple = ()
    flops_per_param_token: float | None = None

    @property
    def joint(self) -> bool:
        return isinstance(self.result, FitResult) and self.result.group_labels is not None

    @property
    def grouped(self) -> bool:
        return self.parts[0].label is not None

    def record_contents(self) -> dict:
        """What the one fit record of this report holds beside the fit: ``{"bootstrap", "recommendation"}`` (the
        joint fit's bootstrap and ``{group: recommendation}``, or the one fit's). ``OptimalError`` for every
        group's own fit: those are several fits, not one record."""
        if isinstance(self.result, GroupFits):
            raise OptimalError("a fit record holds one fit: every group's own fit is several (fit them jointly with "
                               "shared parameters, or save each group's fit on its own)")
        if self.joint:
            answers = {part.label: part.recommendation for part in self.parts}
            return {"bootstrap": self.joint_bootstrap,
                    "recommendation": None if not self.budgets else answers}
        return {"bootstrap": self.parts[0].bootstrap, "recommendation": self.parts[0].recommendation}

    def save(self, path, *, flops_per_param_token=None, selection=None):
        """Write the report's one fit record (``optimal.save_fit``: the fit, its draws, k, what each filter kept
        and the allocations); returns the path."""
        from ..io.records import save_fit

        return save_fit(path, self.result, flops_per_param_token=flops_per_param_token, selection=selection,
                        **self.record_contents())

    def to_dict(self) -> dict:
        """``{"fits": [part.to_dict(budgets, k), ...]}`` (one entry per part, in label order)."""
        k = DEFAULT_FLOPS_PER_PARAM_TOKEN if self.flops_per_param_token is None else self.flops_per_param_token
        return {"fits": [part.to_dict(self.budgets, k) for part in self.parts]}


def fit_report(result, *, budgets=None, flops_per_param_token=None, n_resamples=0, clusters=None, by=None,
               progress=None, **bootstrap_options) -> FitReport:
    """The answer to a fit: its bootstrap (``n_resamples`` > 0; by ``bootstrap_strategy``), and the allocations at
    ``budgets`` (FLOPs; ``optimal.recommend`` of the bootstrap, or of the fit alone) with k
    ``flops_per_param_token`` (None: 6, and the answer says it is the default), for every part of ``result``.
    ``clusters``, ``by``, ``progress`` and ``bootstrap_options`` as ``bootstrap_fits`` takes them."""
    bootstrap_strategy(result, clusters)  # a result of the wrong kind is refused here
    fits = _parts(result)
    boots, joint = ({label: None for label, _ in fits}, None)
    if n_resamples:
        boots, joint = bootstrap_fits(result, clusters, by, progress=progress, n_resamples=n_resamples,
                                      **bootstrap_options)
    budgets = () if budgets is None else tuple(float(c) for c in np.atleast_1d(budgets))
    parts = []
    for label, part in fits:
        boot = boots[label]
        answer = None if not budgets else recommend(boot if boot is not None else part, np.asarray(budgets),
                                                    flops_per_param_token=flops_per_param_token)
        parts.append(FitPart(label, part, boot, answer))
    return FitReport(result, tuple(parts), joint, budgets, flops_per_param_token)


__all__ = ["STRATEGIES", "FitPart", "FitReport", "bootstrap_fits", "bootstrap_strategy", "fit_report"]
