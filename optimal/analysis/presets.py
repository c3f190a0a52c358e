"""The preset registry checking itself, and the presets' answers side by side.

``check_presets`` recomputes every paper's own outputs (``Preset.vectors``) from the preset's law or power laws with
this project's allocators, and says which reproduce within the printed rounding. ``compare_presets`` answers one
question, "what should I train at C FLOPs?", for every preset: N*, D*, tokens per parameter and (where the preset has
a loss law) the loss, each in the preset's own convention and converted to this project's (N total parameters,
C = 6 N D), with the conversion said for each.
"""

import dataclasses

import numpy as np

from ..allocation.allocate import check_budgets, closed_form, compute_optimal
from ..allocation.data_constrained import data_constrained_optimal
from ..allocation.extrapolation import MAX_DECADES_OUTSIDE
from ..allocation.inference import inference_optimal
from ..errors import BudgetError, UnknownPresetError, check_positive, float_array
from ..laws.chinchilla import Chinchilla
from ..laws.presets import REGISTRY
from .._util.precision import float64_scope
from .._util.results import Issue, Judged, Status
from .._util.text import format_table

K_PROJECT = 6.0  # this project's convention: C = 6 N D with N total parameters
QUANTITIES = ("loss", "N_opt", "D_opt", "data_constrained_N", "data_constrained_D", "inference_N", "inference_D",
              "inference_N_share", "inference_D_share", "MD_over_C", "moe_fixed_A", "moe_fixed_B")


def _names(names):
    if names is None:
        return tuple(REGISTRY)
    names = tuple(names)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise UnknownPresetError(f"unknown preset {unknown[0]!r}; choose among {', '.join(REGISTRY)}")
    return names


@float64_scope
def vector_value(record, vector):
    """What ``record`` (a ``Preset``) gives for ``vector`` (a ``Vector``): a float in the vector's unit."""
    q, x = vector.quantity, vector.inputs
    law, alloc = record.law, record.allocation
    if q == "loss":
        if "U" in x:
            law = law._replace(unique_tokens=x["U"])
        return float(law.loss(x["N"], x["D"]))
    if q in ("N_opt", "D_opt") and law is not None:
        n, d, _, _ = _optimum(law, x["C"], record.units.k)
        return n if q == "N_opt" else d
    if q == "D_opt":
        return float(alloc.tokens(x["C"]))
    if q in ("moe_fixed_A", "moe_fixed_B"):  # a mixture's law reduced to Chinchilla at E experts
        fixed = law._replace(experts=x["E"]).at_fixed()
        return float(fixed.A if q == "moe_fixed_A" else fixed.B)
    if q == "MD_over_C":
        return float(alloc.model_scale(x["C"]) * alloc.tokens(x["C"]) / x["C"])
    if q.startswith("data_constrained_"):
        a = data_constrained_optimal(law, x["C"], x["U"], flops=record.units.k)
        return float(a.n_params if q.endswith("_N") else a.n_tokens)
    if q.startswith("inference_"):
        served = inference_optimal(law, x["loss"], inference_tokens=x["D_inf"], flops=record.units.k)
        if q in ("inference_N", "inference_D"):
            return float(served.n_params if q.endswith("_N") else served.n_tokens)
        alone = inference_optimal(law, x["loss"], inference_tokens=0.0, flops=record.units.k)
        return float(served.n_params / alone.n_params if q == "inference_N_share" else served.n_tokens / alone.n_tokens)
    raise BudgetError(f"preset {record.name}: unknown vector quantity {q!r}; known: {', '.join(QUANTITIES)}")


@dataclasses.dataclass(frozen=True)
class PresetCheck(Judged):
    """Every vector of the presets checked (``check_presets``).

    Attributes:
      rows: one dict per vector: ``preset``, ``quantity``, ``inputs``, ``expected`` (the printed number),
        ``computed`` (what the preset gives), ``rel_error`` (computed / expected - 1), ``rel_tol``,
        ``reproduces`` (False: the paper's printed number is known not to follow from its printed constants,
        then ``expected_ratio`` is what computed / expected must be), ``ok`` (within tolerance), ``printed``.
    """

    rows: tuple

    @property
    def status(self) -> Status:
        return Status.SUCCESS if all(r["ok"] for r in self.rows) else Status.FAILED

    @property
    def warnings(self) -> tuple:
        return tuple(Issue("vector-mismatch", f"{r['preset']}: {r['quantity']} at {r['inputs']} gives "
                                              f"{r['computed']:.6g}, printed {r['expected']:.6g} "
                                              f"({r['printed']})") for r in self.rows if not r["ok"])

    @property
    def notes(self) -> tuple:
        return tuple(Issue("rounding-breaks-example", f"{r['preset']}: the printed {r['quantity']} "
                                                      f"{r['expected']:.6g} at {r['inputs']} does not follow from "
                                                      f"the printed constants (they give {r['computed']:.6g})")
                     for r in self.rows if not r["reproduces"])

    def passed(self, name):
        """(vectors within tolerance, vectors) of preset ``name``."""
        mine = [r for r in self.rows if r["preset"] == name]
        return sum(r["ok"] for r in mine), len(mine)

    def to_dict(self) -> dict:
        return {"status": self.status.label, "vectors": [dict(r) for r in self.rows],
                "warnings": [w.to_dict() for w in self.warnings], "notes": [n.to_dict() for n in self.notes]}

    def summary(self) -> str:
        rows = [[r["preset"], r["quantity"], _inputs(r["inputs"]), f"{r['expected']:.6g}", f"{r['computed']:.6g}",
                 f"{r['rel_error']:+.2e}", "yes" if r["reproduces"] else "no", "ok" if r["ok"] else "FAIL"]
                for r in self.rows]
        return format_table(["preset", "quantity", "at", "printed", "computed", "rel. error", "reproduces",
                             "check"], rows)


def _inputs(inputs):
    return " ".join(f"{k}={v:.4g}" for k, v in inputs.items())


def check_presets(names=None) -> PresetCheck:
    """Recompute the papers' own outputs of the presets ``names`` (default: every preset in ``REGISTRY``).

    A vector is ``ok`` when ``|computed / expected - 1| <= rel_tol`` (the printed rounding); for a vector the
    paper's printed constants are known not to reproduce (``reproduces`` False), when
    ``|computed / expected / expected_ratio - 1| <= rel_tol``: the registry states by how much the rounding misses.
    """
    rows = []
    for name in _names(names):
        record = REGISTRY[name]
        for v in record.vectors:
            computed = vector_value(record, v)
            ratio = computed / v.expected
            target = 1.0 if v.reproduces else v.expected_ratio
            rows.append({"preset": name, "quantity": v.quantity, "inputs": dict(v.inputs), "expected": v.expected,
                         "computed": computed, "rel_error": ratio - 1.0, "rel_tol": v.rel_tol,
                         "reproduces": v.reproduces, "expected_ratio": v.expected_ratio,
                         "ok": bool(abs(ratio / target - 1.0) <= v.rel_tol), "printed": v.printed})
    return PresetCheck(tuple(rows))


@dataclasses.dataclass(frozen=True)
class PresetComparison(Judged):
    """The presets' answers at each budget (``compare_presets``).

    Attributes:
      compute: the budgets, FLOPs.
      rows: one dict per (preset, budget): ``preset``, ``kind``, ``compute``; ``own``: ``{"N", "D",
        "tokens_per_param", "loss", "N_unit"}`` in the preset's own convention (N in its ``N_unit``: "total",
        "non-embedding" parameters or "M" FLOPs per token; loss None without a loss law); ``converted``: ``{"N",
        "D", "tokens_per_param"}`` in this project's (N total parameters, C = 6 N D); ``conversion``: how;
        ``compute_decades_outside``: how far the budget lies outside the preset's fitted compute range (None when
        the paper gives none); ``converged`` (None for power laws).
    """

    compute: tuple
    rows: tuple

    @property
    def status(self) -> Status:
        solved = [r["converged"] for r in self.rows if r["converged"] is not None]
        if all(solved):
            return Status.SUCCESS
        return Status.PARTIAL if any(solved) else Status.FAILED

    @property
    def warnings(self) -> tuple:
        out = [Issue("not-converged", f"{r['preset']} at {r['compute']:.4g} FLOPs: the allocation did not converge")
               for r in self.rows if r["converged"] is False]
        out += [Issue("extrapolation", f"{r['preset']} at {r['compute']:.4g} FLOPs: "
                                       f"{r['compute_decades_outside']:.1f} decades beyond its fitted compute range")
                for r in self.rows if (r["compute_decades_outside"] or 0.0) > MAX_DECADES_OUTSIDE]
        return tuple(out)

    @property
    def notes(self) -> tuple:
        seen, out = set(), []
        for r in self.rows:
            if r["preset"] not in seen:
                seen.add(r["preset"])
                out.append(Issue("conversion", f"{r['preset']}: {r['conversion']}"))
        return tuple(out)

    def to_dict(self) -> dict:
        return {"status": self.status.label, "compute": list(self.compute),
                "convention": f"N total parameters, C = {K_PROJECT:g} N D",
                "answers": [dict(r) for r in self.rows],
                "warnings": [w.to_dict() for w in self.warnings], "notes": [n.to_dict() for n in self.notes]}

    def summary(self) -> str:
        def g(x):
            return "-" if x is None else f"{x:.4g}"

        table = [[r["preset"], f"{r['compute']:.3g}", f"{g(r['own']['N'])} ({r['own']['N_unit']})", g(r["own"]["D"]),
                  g(r["own"]["tokens_per_param"]), g(r["own"]["loss"]), g(r["converted"]["N"]),
                  g(r["converted"]["tokens_per_param"])] for r in self.rows]
        lines = [f"the presets at C FLOPs: own convention, then this project's (N total parameters, "
                 f"C = {K_PROJECT:g} N D)",
                 format_table(["preset", "C", "N* (own unit)", "D*", "D/N", "loss", "N* (project)", "D/N (project)"],
                              table),
                 "conversions:"]
        lines += [f"  {n.message}" for n in self.notes]
        return "\n".join(lines)


def _decades_outside(c, c_range):
    if c_range is None:
        return None
    lo, hi = c_range
    out = 0.0
    if lo is not None and c < lo:
        out = np.log10(lo / c)
    if hi is not None and c > hi:
        out = np.log10(c / hi)
    return float(out)


@float64_scope
def _optimum(law, c, k):
    """(N*, D*, loss, converged) of a loss law at ``c`` FLOPs with C = k N D: the closed form for a Chinchilla law
    (exact, and no solver to compile), ``compute_optimal`` otherwise."""
    if type(law) is Chinchilla:
        n, d = closed_form(law, c, k)
        return float(n), float(d), float(law.loss(n, d)), True
    a = compute_optimal(law, c, k)
    return float(a.n_params), float(a.n_tokens), float(a.loss), bool(a.converged)


@float64_scope
def _answer(record, c):
    units, law, alloc = record.units, record.law, record.allocation
    if law is not None:
        n, d, loss, converged = _optimum(law, c, units.k)
    else:
        converged, loss = None, None
        d = float(alloc.tokens(c))
        scale = alloc.model_scale(c)
        if units.params == "M":
            n = float(scale) if scale is not None else c / d
        else:
            n = float(scale) if scale is not None else c / (units.k * d)
    own = {"N": n, "D": d, "tokens_per_param": None if units.params == "M" else d / n, "loss": loss,
           "N_unit": units.params}
    if units.params == "M":
        converted_n = n / K_PROJECT
        conversion = (f"N = M / {K_PROJECT:g} (M non-embedding FLOPs per token with attention, C = M D = "
                      f"{K_PROJECT:g} N D): non-embedding parameters, attention counted as parameters, embeddings "
                      "not added; D unchanged")
    elif units.params == "non-embedding":
        converted_n = n
        conversion = ("N non-embedding parameters shown unchanged (total parameters add the embeddings, which the law "
                      f"does not know); C = {units.k:g} N D as in this project")
    elif law is None and alloc.model_coef is None:
        converted_n = n
        conversion = (f"the paper gives tokens only: N = C / ({units.k:g} D), this project's convention (the paper "
                      "does not print its FLOPs count)")
    else:
        converted_n = n if units.k == K_PROJECT else n * units.k / K_PROJECT
        conversion = ("none: N total parameters, C = 6 N D, as in this project" if units.k == K_PROJECT else
                      f"N x {units.k:g} / {K_PROJECT:g}: the paper's C = {units.k:g} N D")
    converted = {"N": converted_n, "D": d, "tokens_per_param": d / converted_n}
    return {"preset": record.name, "kind": record.kind, "compute": float(c), "own": own, "converted": converted,
            "conversion": conversion, "compute_decades_outside": _decades_outside(c, record.fitted_range.C),
            "converged": converged}


def compare_presets(compute, names=None) -> PresetComparison:
    """Every preset's answer (or those named; mixtures of experts, kind "moe", are left out: their optimum depends on
    the expert layout, ``optimal plan --moe-law``) at each budget ``compute`` (FLOPs, a number or a sequence): the
    optimum in the preset's own convention and in this project's, with the conversion used (see
    ``PresetComparison``). Loss laws are allocated with ``compute_optimal`` at the preset's own k; allocation-only
    presets evaluate their power laws.

    Example:
      >>> from optimal.analysis.presets import compare_presets
      >>> answer = compare_presets(5.76e23, ["hoffmann2022", "hoffmann2022-unrounded"])
      >>> [round(r["own"]["N"] / 1e9, 1) for r in answer.rows]
      [32.2, 40.4]
    """
    budgets = np.atleast_1d(float_array(compute, "compute", BudgetError, "finite numbers of FLOPs", invalid=True)).ravel()
    if budgets.size == 0:
        raise BudgetError("compute: give at least one budget in FLOPs")
    for c in budgets:
        check_positive(float(c), "compute", BudgetError)
    check_budgets(budgets, K_PROJECT)  # each buys one parameter trained on one token (C >= 6): N*, D* at least 1
    names = tuple(n for n in REGISTRY if REGISTRY[n].kind != "moe") if names is None else _names(names)
    mixtures = [n for n in names if REGISTRY[n].kind == "moe"]
    if mixtures:
        raise UnknownPresetError(f"preset {mixtures[0]!r} is a mixture-of-experts law: its optimum depends on the "
                                 f"expert layout; plan it with 'optimal plan --moe-law {mixtures[0]} --compute C'")
    rows = tuple(_answer(REGISTRY[name], float(c)) for c in budgets for name in names)
    return PresetComparison(tuple(float(c) for c in budgets), rows)
