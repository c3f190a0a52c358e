"""``optimal plan --moe-law NAME --compute C``: a mixture-of-experts law's compute-optimal run, planned with its
active parameters (the FLOPs) and its total parameters (the memory) apart.

The allocation is ``optimal.moe_optimal`` (C = k N_active D); the run is planned on a shape built for the allocated
N_active with the law's expert layout (``optimal.planning.shape_for_params(..., count="active", n_experts=...)``),
so memory comes from the shape's total parameters. plan.py hooks this in with two lines.
"""

import optimal
from optimal import planning
from optimal.errors import OptimalError
from optimal.laws.moe import KRAJEWSKI2024, KRAJEWSKI2024_EXPANSION, LUDZIEJEWSKI2025

from . import common

MOE_LAWS = {
    "krajewski2024": ("Krajewski et al. 2024, Table 1 (MoE row): N total non-embedding parameters, expansion 64",
                      KRAJEWSKI2024),
    "ludziejewski2025": ("Ludziejewski et al. 2025, Table 3: N active parameters, top-1 routing", LUDZIEJEWSKI2025),
}
_FAMILIES = {"krajewski2024": "fine-grained-moe", "ludziejewski2025": "joint-moe"}
_DEFAULT_EXPERTS = {"krajewski2024": KRAJEWSKI2024_EXPANSION, "ludziejewski2025": 8.0}
# every other question or law option of optimal plan: the MoE plan answers --compute alone under its own law
_REFUSED = ("target_loss", "params", "tokens", "shape", "fit", "preset", "coefficients", "unique_tokens",
            "inference_tokens", "decide", "context", "max_tokens", "max_params", "group")


def add_options(parser):
    """The MoE options of ``optimal plan``."""
    parser.add_argument("--moe-law", choices=tuple(MOE_LAWS), metavar="NAME",
                        help=f"plan a mixture of experts under a published MoE law ({', '.join(MOE_LAWS)}) with "
                             "--compute: N_active and D from C = k N_active D, memory from the total parameters")
    parser.add_argument("--experts", type=common.number, metavar="E",
                        help="with --moe-law: experts (ludziejewski2025, top-1; default 8) or the expansion rate "
                             "(krajewski2024: total over active expert parameters; default 64, the paper's)")
    parser.add_argument("--granularity", type=common.number, metavar="G",
                        help="with --moe-law krajewski2024: experts G times smaller, G per token (default 1)")


def run(args, device, plan):
    """Answer ``--moe-law`` (``plan(args, device, **what)`` is plan.py's ``plan_training`` with the command's
    hardware options); print the text or the JSON. Returns the exit code."""
    section, lines, found = answer(args, device, plan)
    if args.json:
        common.emit("plan", {"question": "moe", "moe": section, "plan": found.to_dict()},
                    {"family": _FAMILIES[args.moe_law], "params": section["params"]})
        return 0
    print("\n".join(lines))
    print(found.summary())
    return 0


def answer(args, device, plan):
    """``(JSON section, text lines, TrainingPlan)`` for ``--moe-law``; ``OptimalError`` for options it does not take."""
    given = [name for name in _REFUSED if getattr(args, name, None) not in (None, False, [], ())]
    if given or args.compute is None:
        raise OptimalError("--moe-law plans one --compute budget under its own law: give --compute, and not "
                           + ", ".join("--" + name.replace("_", "-") for name in given or ("(nothing else)",)))
    source, law = MOE_LAWS[args.moe_law]
    experts_given = args.experts is not None
    experts = _DEFAULT_EXPERTS[args.moe_law] if args.experts is None else args.experts
    granularity = 1.0 if args.granularity is None else args.granularity
    if args.moe_law == "ludziejewski2025" and args.granularity is not None:
        raise OptimalError("--granularity goes with --moe-law krajewski2024 (the joint law's experts are not granular)")
    if not (experts >= 1 and granularity >= 1 and float(experts * granularity).is_integer()
            and float(granularity).is_integer()):
        raise OptimalError(f"--experts ({experts:g}) and --granularity ({granularity:g}) must be at least 1 and give "
                           "whole numbers of experts and of experts per token")
    if args.moe_law == "ludziejewski2025":
        law = law._replace(experts=experts)
    else:
        law = law._replace(granularity=granularity)
    # each expert is the dense FFN (a SwiGLU of 8/3 d_model) split G ways; G of them run per token
    layout = dict(n_experts=int(experts * granularity), experts_per_token=int(granularity),
                  ffn_multiplier=8.0 / 3.0 / granularity)
    k = common.k_or_default(args)
    allocation = optimal.moe_optimal(law, args.compute, expansion=experts, flops=k)
    record = allocation.to_records()[0]
    shape = planning.shape_for_params(record["N_active"], count="active", **layout)
    found = plan(args, device, shape=shape, n_tokens=record["D"], flops_per_param_token=k)
    section = {
        "law": args.moe_law, "source": source, "params": {name: float(v) for name, v in law._asdict().items()},
        "layout": {"experts": experts, "experts_from": "given" if experts_given else "default",
                   "granularity": granularity if args.moe_law == "krajewski2024" else None,
                   "expansion": allocation.expansion, "expert_share": allocation.expert_share},
        "allocation": record, "status": allocation.status.label,
    }
    lines = [f"mixture-of-experts allocation under {args.moe_law} ({source})",
             f"  layout: {experts:g} {'experts' if args.moe_law == 'ludziejewski2025' else 'expansion rate'} "
             f"[{'given' if experts_given else 'default'}]"
             + (f", granularity {granularity:g}" if args.moe_law == "krajewski2024" else "")
             + f"; experts {allocation.expert_share:.3g} of the active parameters [default]",
             allocation.summary(), "", "the plan below is for a shape with the allocation's active parameters "
             "(its counts include the embeddings, the law's N may not):"]
    return section, lines, found
