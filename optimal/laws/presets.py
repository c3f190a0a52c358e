"""Published laws with their sources, and coefficients read from and written to JSON.

``REGISTRY`` holds one ``Preset`` record per published law: the law (or, for an allocation-only paper, its power
laws for the optimum), its units, the runs it was fitted on, where each number is printed, notes on where the
paper's rounding breaks its own examples, and the paper's own outputs as test vectors
(``optimal.analysis.presets.check_presets`` recomputes them). ``PRESETS`` stays the name -> loss law mapping the
``--preset`` option, ``optimal.preset`` and ``recommend(name)`` use: every loss-law preset of the registry (the
four it always held keep their coefficients). The mixture-of-experts presets (kind "moe") are the one definition
in ``optimal.laws.moe``, referenced here, not copied.
"""

import dataclasses
import math
from typing import Any, NamedTuple, Optional

from ..errors import CoefficientsError, UnknownPresetError, check_positive
from .chinchilla import Chinchilla
from .data_constrained import DataConstrained
from .kaplan import Kaplan
from .moe import KRAJEWSKI2024, KRAJEWSKI2024_EXPANSION, LUDZIEJEWSKI2025, FineGrainedMoE, JointMoE

# a loss law L(N, D); only power laws for the optimum (no loss law); a mixture-of-experts loss law L(N, D, layout)
KINDS = ("loss", "allocation", "moe")


class PowerLawAllocation(NamedTuple):
    """An allocation-only law: the optimum as power laws of the training compute C (FLOPs), no loss law.

    ``model_scale(C) = model_coef * C**model_exp`` in the preset's own model-scale unit (parameters, or M the
    FLOPs per token); ``tokens(C) = tokens_coef * C**tokens_exp`` in tokens. Either pair may be None when the
    paper gives only the other (the missing one is then C / (FLOPs per token) of the one given).
    """

    model_coef: Optional[float]
    model_exp: Optional[float]
    tokens_coef: Optional[float]
    tokens_exp: Optional[float]

    def model_scale(self, compute):
        """The optimal model scale at ``compute`` FLOPs (the preset's unit), or None when not given."""
        return None if self.model_coef is None else self.model_coef * compute ** self.model_exp

    def tokens(self, compute):
        """The optimal training tokens at ``compute`` FLOPs, or None when not given."""
        return None if self.tokens_coef is None else self.tokens_coef * compute ** self.tokens_exp


class Units(NamedTuple):
    """How a preset counts. ``params``: "total" (every parameter, embeddings included), "non-embedding", "active"
    (a mixture's parameters that run per token, embeddings included), or "M" (the model is sized by M,
    non-embedding FLOPs per token, attention included); ``compute``: "C = k N D" (with ``k`` FLOPs per parameter
    per token), "C = k N_active D" (a mixture) or "C = M D"; ``k``: that k, or None for "C = M D"."""

    params: str
    compute: str
    k: Optional[float]


class PresetRange(NamedTuple):
    """The runs a preset was fitted on, as far as the paper says: ``N`` and ``D`` as (min, max) in parameters
    (the preset's own unit) and tokens, ``C`` as (min, max) FLOPs; None where the paper gives no number (one end
    of a pair may be None too). ``source`` says where each number is printed and what was assumed."""

    N: Optional[tuple]
    D: Optional[tuple]
    C: Optional[tuple]
    source: str


class Source(NamedTuple):
    """Where a preset is printed: ``paper`` (authors, year, title), ``where`` (the exact table, equation or
    repository file of every number) and ``url``."""

    paper: str
    where: str
    url: str


class Vector(NamedTuple):
    """One of a paper's own outputs, to recompute from the preset.

    ``quantity`` names what is computed (see ``optimal.analysis.presets.QUANTITIES``) at ``inputs`` (a dict:
    ``C`` FLOPs, ``N`` parameters, ``D`` tokens, ``U`` unique tokens, ``loss`` nats, ``D_inf`` inference tokens);
    ``expected`` is the printed number; ``rel_tol`` the relative tolerance its printed rounding allows;
    ``printed``: where and how it is printed. ``reproduces`` False marks a printed number the printed
    constants are known NOT to give (a rounding that breaks the paper's own example): then ``expected_ratio`` is
    what the preset gives divided by the printed number, checked to ``rel_tol``.
    """

    quantity: str
    inputs: dict
    expected: float
    rel_tol: float
    printed: str
    reproduces: bool = True
    expected_ratio: Optional[float] = None


@dataclasses.dataclass(frozen=True)
class Preset:
    """A published law and everything needed to check it (see the module docstring).

    Attributes:
      name: the registry key. kind: "loss" (``law`` is a loss law L(N, D)), "allocation" (``law`` is None and
      ``allocation`` a ``PowerLawAllocation``) or "moe" (``law`` a mixture-of-experts law of ``optimal.laws.moe``
      at its default layout). units: ``Units``. fitted_range: ``PresetRange``. source:
      ``Source``. notes: sentences on conventions and on where a rounding breaks the paper's own examples.
      vectors: the paper's own outputs (``Vector``).
    """

    name: str
    kind: str
    law: Any
    allocation: Optional[PowerLawAllocation]
    units: Units
    fitted_range: PresetRange
    source: Source
    notes: tuple = ()
    vectors: tuple = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise CoefficientsError(f"preset {self.name}: kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if (self.kind != "allocation") != (self.law is not None) or (self.kind == "allocation") != (self.allocation is not None):
            raise CoefficientsError(f"preset {self.name}: a loss or moe preset has a law and no allocation, an "
                                    "allocation preset an allocation and no law")

    def to_dict(self) -> dict:
        """Strict-JSON form: name, kind, law ({"form", coefficients} or None), allocation, units, fitted_range,
        source, notes, vectors."""
        return {
            "name": self.name,
            "kind": self.kind,
            "law": None if self.law is None else _finite_or_none(_law_dict(self.law)),
            "allocation": None if self.allocation is None else self.allocation._asdict(),
            "units": self.units._asdict(),
            "fitted_range": {"N": _pair(self.fitted_range.N), "D": _pair(self.fitted_range.D),
                             "C": _pair(self.fitted_range.C), "source": self.fitted_range.source},
            "source": self.source._asdict(),
            "notes": list(self.notes),
            "vectors": [v._asdict() for v in self.vectors],
        }


def _finite_or_none(coefficients):
    """A law's dict with a non-finite number (an unlimited ``unique_tokens``) as None: strict JSON."""
    return {k: v if isinstance(v, str) or math.isfinite(v) else None for k, v in coefficients.items()}


_MOE_FORMS = {FineGrainedMoE: "fine-grained-moe", JointMoE: "joint-moe"}  # the families' names (optimal.laws.moe)


def _law_dict(law):
    """``law_to_dict`` for a loss law; ``{"form": family name, field: value}`` for a mixture-of-experts law."""
    if type(law) in _MOE_FORMS:
        return {"form": _MOE_FORMS[type(law)], **{k: float(v) for k, v in law._asdict().items()}}
    return law_to_dict(law)


def _pair(pair):
    return None if pair is None else list(pair)


_TOTAL_6ND = Units("total", "C = k N D", 6.0)
_HOFFMANN_RANGE = PresetRange(
    (7e7, 1.6e10), (5e9, 5e11), (None, 1.2956e22),
    "Hoffmann et al. 2022 abstract: 'over 400 language models ranging from 70 million to over 16 billion parameters "
    "on 5 to 500 billion tokens'; the paper gives no largest compute: 1.30e22 FLOPs (6 N D) is the largest run of "
    "Epoch AI's extraction of the same runs (Fig. 4)")
_HOFFMANN_URL = "https://arxiv.org/abs/2203.15556"
# Hoffmann et al. 2022 fit C ~ 6 N D (Sec. 3.3); the authors of both replications below compute it so: Sardana et
# al.'s utils.py (FLOPMode.TRAINING = 6.0), Muennighoff et al.'s README (N_opt = G (C/6)^a).

REGISTRY = {p.name: p for p in (
    Preset(
        # Besiroglu, Erdil, Barnett, You (Epoch AI 2024), "Chinchilla Scaling: A replication attempt", eq. 4.
        "epoch2024", "loss", Chinchilla(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658), None,
        _TOTAL_6ND,
        # Measured on the 240 rows of Epoch AI's extraction (chinchilla_epoch_svg_extracted.csv, the 5 highest-loss
        # rows dropped; D = C / (6 N)), as optimal.allocation.extrapolation.PRESET_RANGES records them.
        PresetRange((5.73e7, 1.62e10), (8.19e8, 3.18e11), (1.40e18, 1.2956e22),
                    "Epoch AI's extraction of Hoffmann et al. 2022 Fig. 4, 240 rows (5 highest-loss rows dropped), "
                    "D = C / (6 N); measured on those rows"),
        Source("Besiroglu, Erdil, Barnett, You 2024, Chinchilla Scaling: A replication attempt (arXiv:2404.10102)",
               "eq. 4 (the refit of Hoffmann et al.'s Approach 3 on the extracted Fig. 4 data); repository "
               "epoch-research/analyzing-chinchilla, data_analysis.ipynb",
               "https://arxiv.org/abs/2404.10102"),
        notes=("Coefficients as shipped since the first release; the registry did not re-read the paper's table "
               "text (the authors' notebook prints a nearby run: A=477.84, B=2143.86, E=1.8172, alpha=0.3473, "
               "beta=0.3672, not used).",
               "No printed output of this law is reproduced here: no test vector."),
    ),
    Preset(
        # Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", eq. 10 (rounded as printed).
        "hoffmann2022", "loss", Chinchilla(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28), None,
        _TOTAL_6ND, _HOFFMANN_RANGE,
        Source("Hoffmann et al. 2022, Training Compute-Optimal Large Language Models (arXiv:2203.15556)",
               "eq. 10 / Appendix D.2 (Approach 3), as printed: E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28; "
               "the same rounding is epoch-research/analyzing-chinchilla data_analysis.ipynb 'true_params_rounded'",
               _HOFFMANN_URL),
        notes=("Rounded as printed. The unrounded constants (preset hoffmann2022-unrounded) give N* = 40.4e9 at "
               "5.76e23 FLOPs; these give 32.2e9 (the printed rounding moves N* by 20%): Besiroglu et al. "
               "2024 trace part of the disagreement with Hoffmann et al.'s Approaches 1 and 2 to this rounding.",
               "Neither rounding gives Chinchilla itself (70e9 parameters at Gopher's compute budget, abstract).",
               "No printed output of eq. 10 is reproduced here: no test vector (the registry test checks that these "
               "are the unrounded constants rounded)."),
    ),
    Preset(
        "hoffmann2022-unrounded", "loss",
        # epoch-research/analyzing-chinchilla, data_analysis.ipynb: true_params = [log A, log B, log E, alpha,
        # beta] = [6.0073404, 6.0179186, 0.5267228, 0.33917084, 0.2849083], which Besiroglu et al. 2024 read
        # from Hoffmann et al.'s TeX source (abstract: "the parameter estimates reported in the body of the paper
        # (as opposed to the TeX source) are rounded").
        Chinchilla(E=math.exp(0.5267228), A=math.exp(6.0073404), B=math.exp(6.0179186), alpha=0.33917084,
                   beta=0.2849083), None,
        _TOTAL_6ND, _HOFFMANN_RANGE,
        Source("Hoffmann et al. 2022 (arXiv:2203.15556), constants of its TeX source as Besiroglu et al. 2024 "
               "(arXiv:2404.10102) report them",
               "epoch-research/analyzing-chinchilla, data_analysis.ipynb, 'true_params' = (log A, log B, log E, "
               "alpha, beta) = (6.0073404, 6.0179186, 0.5267228, 0.33917084, 0.2849083): E = 1.6934, A = 406.40, "
               "B = 410.72", "https://github.com/epoch-research/analyzing-chinchilla"),
        notes=("Side by side with hoffmann2022 (the same fit, rounded in print): N* at 5.76e23 FLOPs is 40.4e9 here "
               "and 32.2e9 there; tokens per parameter 58.9 and 92.6.",
               "No printed output of these constants is reproduced here: no test vector."),
    ),
    Preset(
        # Kaplan et al. 2020, "Scaling Laws for Neural Language Models", eq. 1.5 with the joint fit of Table 2
        # ("Fits to L(N, D)"); N counts non-embedding parameters. Not the one-variable fits of eqs. 1.1-1.2
        # (alpha_D = 0.095, N_c = 8.8e13, D_c = 5.4e13), which the joint form does not take.
        "kaplan2020", "loss", Kaplan(alpha_N=0.076, alpha_D=0.103, N_c=6.4e13, D_c=1.8e13), None,
        Units("non-embedding", "C = k N D", 6.0),
        # Section 3: models of 768 to 1.5e9 non-embedding parameters, data sets of 22 million to 23 billion
        # tokens (WebText2 holds 2.29e10). ASSUMED: the L(N, D) fit spans that range and its largest run is the
        # 1.5e9 model on all 2.29e10 tokens (as PRESET_RANGES).
        PresetRange((768.0, 1.5e9), (2.2e7, 2.29e10), (None, 6 * 1.5e9 * 2.29e10),
                    "Kaplan et al. 2020 Sec. 3 (N non-embedding); largest run assumed 1.5e9 params on 2.29e10 tokens"),
        Source("Kaplan et al. 2020, Scaling Laws for Neural Language Models (arXiv:2001.08361)",
               "eq. 1.5 with Table 2 'Fits to L(N, D)': alpha_N = 0.076, alpha_D = 0.103, N_c = 6.4e13, "
               "D_c = 1.8e13", "https://arxiv.org/abs/2001.08361"),
        notes=("N counts non-embedding parameters (C = 6 N D with that N): converting to total parameters needs "
               "the embedding count, which the law does not know.",
               "Early-stopped runs (Sec. 4.2): the law is a loss at convergence-or-stopping, not at a set schedule.",
               "No printed output of the joint fit is reproduced here: no test vector."),
    ),
    Preset(
        # Muennighoff et al. 2023, "Scaling Data-Constrained Language Models": the constants of the authors' README
        # (huggingface/datablations, "Parametric Fit"): (a, b, e, alpha, beta, rd*, rn*) with A = e^a, B = e^b,
        # E = e^e; unlimited unique data unless a law is made with ``._replace(unique_tokens=U)``
        "muennighoff2023", "loss",
        DataConstrained(E=math.exp(0.6254804), A=math.exp(6.255414), B=math.exp(7.3049974),
                        alpha=0.3526596, beta=0.3526596, rd_star=15.387756, rn_star=5.309743), None,
        _TOTAL_6ND,
        # abstract: experiments "ranging up to 900 billion training tokens and 9 billion parameter models";
        # ASSUMED (as PRESET_RANGES): N from 1e7, D from 1e8, largest N x D taken as 9e9 x 9e11 (an upper bound).
        PresetRange((1e7, 9e9), (1e8, 9e11), (None, 6 * 9e9 * 9e11),
                    "Muennighoff et al. 2023 abstract (N up to 9e9, D up to 9e11); smallest N, D assumed; the largest "
                    "compute is an upper bound (9e9 x 9e11 x 6)"),
        Source("Muennighoff et al. 2023, Scaling Data-Constrained Language Models (arXiv:2305.16264)",
               "huggingface/datablations README.md, 'Parametric Fit': a, b, e, alpha, beta, rd_star, rn_star = "
               "6.255414, 7.3049974, 0.6254804, 0.3526596, 0.3526596, 15.387756, 5.309743; its worked examples",
               "https://github.com/huggingface/datablations"),
        notes=("The law of the README (A = e^a, B = e^b, E = e^e); unlimited unique data unless U is given, which "
               "makes it a Chinchilla law.",
               "The README's optimum is a grid search (500 ratios between 1.0001 and 3): exact minimisation lands "
               "0.05% away, inside the grid's step."),
        vectors=(
            Vector("loss", {"N": 6.34e9, "D": 242e9, "U": 25e9}, 2.2256440889984477, 1e-9,
                   "README 'Models in Figure 1 (right)': scaling_law(6.34e9, 242e9, 25e9) # 2.2256440889984477 "
                   "(full double precision: tolerance 1e-9)"),
            Vector("loss", {"N": 8.67e9, "D": 178e9, "U": 25e9}, 2.2269634075087867, 1e-9,
                   "README: scaling_law(8.67e9, 178e9, 25e9) # 2.2269634075087867"),
            Vector("data_constrained_N", {"C": 1e22, "U": 25e9}, 7022364735.879969, 5e-3,
                   "README optimal_allocation(10**22, 25e9): 7022364735.879969 parameters (grid search, steps of "
                   "about 0.4% in D: tolerance 0.5%)"),
            Vector("data_constrained_D", {"C": 1e22, "U": 25e9}, 237336955477.55075, 5e-3,
                   "README optimal_allocation(10**22, 25e9): 237336955477.55075 tokens (9.49 epochs; grid search, "
                   "tolerance 0.5%)"),
        ),
    ),
    Preset(
        "sardana2023", "loss",
        # nikhilsardana/beyond-chinchilla, utils.py ChinchillaConstants defaults and README "Advanced Features":
        # "the original coefficients from the Chinchilla paper: alpha=0.336, beta=0.283, A=406.4, B=410.7, E=1.69".
        Chinchilla(E=1.69, A=406.4, B=410.7, alpha=0.336, beta=0.283), None,
        _TOTAL_6ND, _HOFFMANN_RANGE,
        Source("Sardana, Portes, Doubov, Frankle 2023, Beyond Chinchilla-Optimal: Accounting for Inference in "
               "Language Model Scaling Laws (arXiv:2401.00448, ICML 2024)",
               "nikhilsardana/beyond-chinchilla: utils.py ChinchillaConstants (alpha=0.336, beta=0.283, A=406.4, "
               "B=410.7, E=1.69) and the README's worked examples; training FLOPs 6 N D, inference 2 N per token",
               "https://github.com/nikhilsardana/beyond-chinchilla"),
        notes=("Hoffmann et al.'s law with a third rounding of its exponents (0.336, 0.283): N* = 41.7e9 at 5.76e23 "
               "FLOPs, against 32.2e9 (hoffmann2022) and 40.4e9 (hoffmann2022-unrounded).",
               "Inference-aware: the vectors below are optimal.inference_optimal's answers (training 6 N D plus "
               "2 N per inference token), which the README's compute_optimal.py prints."),
        vectors=(
            Vector("loss", {"N": 70e9, "D": 1e12}, 1.947, 2.6e-4,
                   "README, model_calculator.py --model 70e9 --data 1e12: loss 1.947 (3 decimals: +-0.0005)"),
            Vector("loss", {"N": 30e9, "D": 1.556e12}, 1.958253360475841, 1e-5,
                   "README, cost_calculator.py --model 30e9 --chinchilla: Training Data 1.556e+12, Final Training "
                   "loss 1.958253360475841 (D printed to 4 digits: tolerance 1e-5)"),
            Vector("N_opt", {"C": 2.801e23}, 3.000e10, 1e-3,
                   "README, the same example: Train FLOPs 2.801e+23 for the Chinchilla-optimal 3.000e+10 "
                   "parameters (4 digits)"),
            Vector("inference_N", {"loss": 1.947, "D_inf": 2e12}, 2.418e10, 1e-3,
                   "README, compute_optimal.py --loss 1.947 --inference_tokens 2e12: Model Size 2.418e+10"),
            Vector("inference_D", {"loss": 1.947, "D_inf": 2e12}, 2.657e12, 1e-3,
                   "README, the same run: Training Data 2.657e+12"),
            Vector("inference_N_share", {"loss": 1.947, "D_inf": 2e12}, 0.7096, 1e-3,
                   "README, the same run: 70.96% of the parameters of an equal-quality Chinchilla-style model"),
            Vector("inference_D_share", {"loss": 1.947, "D_inf": 2e12}, 1.4677, 1e-3,
                   "README, the same run: 146.77% of the tokens of an equal-quality Chinchilla-style model"),
        ),
    ),
    Preset(
        "deepseek2024", "allocation", None,
        # DeepSeek-AI 2024, "DeepSeek LLM: Scaling Open-Source Language Models with Longtermism", Sec. 3.2, eq. 4:
        # M_opt = M_base C^a, M_base = 0.1715, a = 0.5243; D_opt = D_base C^b, D_base = 5.8316, b = 0.4757.
        PowerLawAllocation(model_coef=0.1715, model_exp=0.5243, tokens_coef=5.8316, tokens_exp=0.4757),
        Units("M", "C = M D", None),
        # Sec. 3.2: "8 different compute budgets ranging from 1e17 to 3e20", about 10 allocations each.
        PresetRange(None, None, (1e17, 3e20),
                    "DeepSeek LLM Sec. 3.2: 8 compute budgets from 1e17 to 3e20 FLOPs, about 10 model/data "
                    "allocations each; N and D ranges not printed"),
        Source("DeepSeek-AI 2024, DeepSeek LLM: Scaling Open-Source Language Models with Longtermism "
               "(arXiv:2401.02954)",
               "Sec. 3.2, eq. 4: M_opt = 0.1715 C^0.5243, D_opt = 5.8316 C^0.4757; eq. 2: M = 72 n_layer "
               "d_model^2 + 12 n_layer d_model l_seq (non-embedding FLOPs per token, attention included)",
               "https://arxiv.org/abs/2401.02954"),
        notes=("Allocation only: the paper fits the optimum (IsoFLOP profiles, bits-per-byte on a 100M-token "
               "validation set), not a loss law; no loss is given.",
               "Model scale is M, non-embedding FLOPs per token including attention, with C = M D. In this "
               "project's convention (C = 6 N D) that is N = M / 6: non-embedding parameters with attention's "
               "FLOPs counted as if they were parameters; embeddings not added.",
               "The printed coefficients round: M_opt x D_opt = 1.00012 C, not C (0.012%).",
               "Table 4: the exponents depend on the data (a = 0.450 early data, 0.524 current, 0.578 OpenWebText2)."),
        vectors=(
            Vector("MD_over_C", {"C": 1e20}, 1.0, 2e-4,
                   "eq. 4 with C = M D (Sec. 3.2): the printed coefficients must multiply to 1 within their "
                   "rounding (0.1715 x 5.8316 = 1.00012; exponents 0.5243 + 0.4757 = 1)"),
        ),
    ),
    Preset(
        "llama3", "allocation", None,
        # Llama Team 2024, "The Llama 3 Herd of Models", Sec. 3.2.1: N*(C) = A C^alpha optimal training tokens,
        # "(alpha, A) = (0.53, 0.29)".
        PowerLawAllocation(model_coef=None, model_exp=None, tokens_coef=0.29, tokens_exp=0.53),
        _TOTAL_6ND,
        # Sec. 3.2.1: "compute budgets between 6 x 10^18 FLOPs and 10^22 FLOPs ... models ranging in size between
        # 40M and 16B parameters".
        PresetRange((4e7, 1.6e10), None, (6e18, 1e22),
                    "Llama 3 Sec. 3.2.1: compute budgets 6e18 to 1e22 FLOPs, models of 40M to 16B parameters; "
                    "tokens not printed"),
        Source("Llama Team, AI @ Meta 2024, The Llama 3 Herd of Models (arXiv:2407.21783)",
               "Sec. 3.2.1 'Scaling law experiments': N*(C) = A C^alpha (optimal training tokens), (alpha, A) = "
               "(0.53, 0.29); extrapolated to 3.8e25 FLOPs: 402B parameters on 16.55T tokens. Figure 3's legend "
               "prints the fit as alpha = 0.537, A = 0.299 (preset llama3-fig3)",
               "https://arxiv.org/abs/2407.21783"),
        notes=("Tokens only: the paper's N*(C) is the optimal number of training TOKENS; parameters here are "
               "C / (6 D), this project's convention (the paper does not print its FLOPs count).",
               "The rounding in the text breaks the paper's own example: 0.29 x (3.8e25)^0.53 = 1.05e13 tokens, "
               "not the 16.55e12 it reports (a 37% shortfall). Figure 3's legend (alpha = 0.537, A = 0.299) gives "
               "1.63e13 (1.6% short).",
               "At 3.8e25 FLOPs, C / (6 x 16.55e12) = 383e9 parameters, not the 402B printed: the paper's 402B "
               "does not follow from 6 N D either."),
        vectors=(
            Vector("D_opt", {"C": 3.8e25}, 16.55e12, 0.01,
                   "Sec. 3.2.1: 'suggests training a 402B parameter model on 16.55T tokens'. NOT reproduced by the "
                   "printed (0.53, 0.29): they give 0.632 of it (ratio checked to 1%)",
                   reproduces=False, expected_ratio=0.6322),
        ),
    ),
    Preset(
        "llama3-fig3", "allocation", None,
        # The Llama 3 Herd of Models, Figure 3 legend: "Fitted Line, alpha = 0.537, A = 0.299".
        PowerLawAllocation(model_coef=None, model_exp=None, tokens_coef=0.299, tokens_exp=0.537),
        _TOTAL_6ND,
        PresetRange((4e7, 1.6e10), None, (6e18, 1e22),
                    "Llama 3 Sec. 3.2.1: compute budgets 6e18 to 1e22 FLOPs, models of 40M to 16B parameters"),
        Source("Llama Team, AI @ Meta 2024, The Llama 3 Herd of Models (arXiv:2407.21783)",
               "Figure 3 legend: 'Fitted Line, alpha = 0.537, A = 0.299' (the text rounds it to (0.53, 0.29))",
               "https://arxiv.org/abs/2407.21783"),
        notes=("The same fit as llama3 with one more printed digit: 1.63e13 tokens at 3.8e25 FLOPs, 1.6% short of "
               "the 16.55e12 the text reports (the legend still rounds).",
               "Tokens only; parameters are C / (6 D) in this project's convention."),
        vectors=(
            Vector("D_opt", {"C": 3.8e25}, 16.55e12, 0.02,
                   "Sec. 3.2.1: 16.55T tokens at 3.8e25 FLOPs; the legend's 3-digit coefficients move the "
                   "answer by up to 2% (0.0005 in alpha is 2.9% at 3.8e25): tolerance 2%"),
        ),
    ),
    Preset(
        # the one definition is optimal.laws.moe.KRAJEWSKI2024 (Table 1, MoE row; its comment says where each
        # number is printed): referenced, not copied
        "krajewski2024", "moe", KRAJEWSKI2024, None,
        Units("non-embedding", "C = k N_active D", 6.0),
        PresetRange((1.29e8, 3.7e9), (1.6e10, 1.3e11), None,
                    "Krajewski et al. 2024 Sec. 5 (as optimal.laws.moe records it): N total non-embedding parameters "
                    "129M to 3.7B at expansion rate 64, G from 1 to 16, D 16B to 130B tokens; compute not printed"),
        Source("Krajewski et al. 2024, Scaling Laws for Fine-Grained Mixture of Experts (arXiv:2402.07871)",
               "eq. 9 with Table 1 'Values of the fitted coefficients' (Sec. 5.4), MoE row (the coefficients are "
               "optimal.laws.moe.KRAJEWSKI2024's, printed in the law field)",
               "https://arxiv.org/abs/2402.07871"),
        notes=(f"N counts every expert's non-embedding parameters, at the expansion rate the law was fitted at "
               f"({KRAJEWSKI2024_EXPANSION:g}); FLOPs follow the active parameters (C = 6 N_active D, the router's "
               "FLOPs of eq. 10 left out). Plan with it: optimal plan --moe-law krajewski2024 --compute C.",
               "No printed output of the law is reproduced here: no test vector (tests/laws/test_moe.py checks the "
               "law at a granularity against Table 1's coefficients)."),
    ),
    Preset(
        # the one definition is optimal.laws.moe.LUDZIEJEWSKI2025 (Table 3, in that module's signs)
        "ludziejewski2025", "moe", LUDZIEJEWSKI2025, None,
        Units("active", "C = k N_active D", 6.0),
        PresetRange((None, 2.7e9), None, None,
                    "Ludziejewski et al. 2025 (as optimal.laws.moe records it): runs up to 2.7B active and 5B total "
                    "parameters, E from 1 to 32, top-1 routing; smallest N, D and compute not recorded"),
        Source("Ludziejewski et al. 2025, Joint MoE Scaling Laws: Mixture of Experts Can Be Memory Efficient "
               "(arXiv:2502.05172)",
               "eq. 6 with Table 3 'Fitted coefficients of our joined formula' (App. B; the coefficients are "
               "optimal.laws.moe.LUDZIEJEWSKI2025's, the paper's alpha', beta', gamma', zeta' with signs flipped to "
               "decay rates); Table 4: the law at E experts", "https://arxiv.org/abs/2502.05172"),
        notes=("N counts the active parameters, embeddings included; memory follows the total. Plan with it: "
               "optimal plan --moe-law ludziejewski2025 --experts E --compute C.",
               "The vectors are Table 4's Chinchilla coefficients at E experts (m and n; Table 3 rounds to 4 "
               "decimals: tolerance 0.5%); tests/laws/test_moe.py also checks Table 1's allocations."),
        vectors=(
            Vector("moe_fixed_A", {"E": 1.0}, 30.3640, 5e-3, "Table 4, E = 1: m = 30.3640"),
            Vector("moe_fixed_A", {"E": 32.0}, 16.5424, 5e-3, "Table 4, E = 32: m = 16.5424"),
            Vector("moe_fixed_B", {"E": 8.0}, 119.9126, 5e-3, "Table 4, E = 8: n = 119.9126"),
        ),
    ),
)}

# The name -> loss law mapping of the --preset option, ``optimal.preset`` and ``recommend(name)``: every loss-law
# preset of the registry, in its order.
PRESETS = {name: record.law for name, record in REGISTRY.items() if record.kind == "loss"}
DEFAULT_PRESET = "epoch2024"


def preset(name: str = DEFAULT_PRESET):
    """The published law called ``name`` (one of ``PRESETS``)."""
    try:
        return PRESETS[name]
    except KeyError:
        record = REGISTRY.get(name) if isinstance(name, str) else None
        if record is not None and record.kind == "moe":
            raise UnknownPresetError(f"preset {name!r} is a mixture-of-experts law (its N and FLOPs count active and "
                                     f"total parameters apart): plan with 'optimal plan --moe-law {name}', or read "
                                     f"optimal.REGISTRY[{name!r}].law; laws: {', '.join(sorted(PRESETS))}") from None
        if record is not None and record.law is None:
            raise UnknownPresetError(f"preset {name!r} is allocation-only (power laws for the optimum, no loss law): "
                                     f"read it from optimal.REGISTRY[{name!r}] or 'optimal presets --compare'; "
                                     f"laws: {', '.join(sorted(PRESETS))}") from None
        raise UnknownPresetError(f"unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}") from None


def preset_name(law):
    """The name of the preset ``law`` is (same law type, every fitted coefficient equal to what ``preset(name)``
    returns; a data-constrained law's ``unique_tokens`` may differ), else None: so that a preset passed as a law
    keeps what is known about it (the runs it was fitted on)."""
    for name, known in PRESETS.items():
        if type(law) is type(known) and all(_same_number(getattr(law, field), getattr(known, field))
                                            for field in known._fields if field != "unique_tokens"):
            return name
    return None


def _same_number(value, known):
    try:
        return float(value) == known  # concrete scalars only: an array or a tracer is not a preset
    except (TypeError, ValueError):
        return False


_FORMS = {"chinchilla": Chinchilla, "kaplan": Kaplan, "data-constrained": DataConstrained}


def law_from_dict(coefficients: dict):
    """Build a law from ``{"E": .., "A": .., "B": .., "alpha": .., "beta": ..}`` (Chinchilla) or
    ``{"alpha_N": .., "alpha_D": .., "N_c": .., "D_c": ..}`` (Kaplan); an optional ``"form"`` key names it.
    A fit record's ``{"params": {...}}`` works too. Every coefficient must be a positive finite number.
    """
    if not isinstance(coefficients, dict):
        raise CoefficientsError("coefficients must be a JSON object such as {\"E\": 1.8, \"A\": 480, ...}")
    if isinstance(coefficients.get("params"), dict):
        coefficients = coefficients["params"]
    form = coefficients.get("form", coefficients.get("law"))
    if form is None:
        form = "kaplan" if "alpha_N" in coefficients else "data-constrained" if "rd_star" in coefficients else "chinchilla"
    if not isinstance(form, str) or form not in _FORMS:
        raise CoefficientsError(f"unknown form {form!r}; choose one of {', '.join(_FORMS)}")
    cls = _FORMS[form]
    fields = [k for k in cls._fields if k != "unique_tokens"]
    missing = [k for k in fields if k not in coefficients]
    if missing:
        raise CoefficientsError(f"{form} coefficients are missing {', '.join(missing)}")
    unknown = [k for k in coefficients if k not in cls._fields and k not in ("form", "law", "family")]
    if unknown:  # was ignored: {"alpha": .., "Beta": ..} read a law without the coefficient meant
        raise CoefficientsError(f"{form} coefficients have no {', '.join(map(repr, unknown))}; they are "
                                f"{', '.join(cls._fields)} (and an optional form)")
    values = {key: check_positive(coefficients[key], f"coefficient {key}", CoefficientsError) for key in fields}
    if "unique_tokens" in cls._fields and coefficients.get("unique_tokens") is not None:
        values["unique_tokens"] = check_positive(coefficients["unique_tokens"], "unique_tokens", CoefficientsError)
    return cls(**values)


def law_to_dict(law) -> dict:
    """The inverse of ``law_from_dict`` for Chinchilla and Kaplan laws (plain floats)."""
    form = {cls: name for name, cls in _FORMS.items()}.get(type(law))
    if form is None:
        raise CoefficientsError(f"cannot serialise a {type(law).__name__}")
    return {"form": form, **{k: float(v) for k, v in law._asdict().items()}}


