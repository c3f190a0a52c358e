"""``optimal plan --deadline-days D | --max-cost X | --max-energy-mwh E``: the best run under the real constraints.

With any of the three, the question ``optimal plan`` answers is "which N and D give the least loss within these
limits" (``optimal.best_run``): the wall clock on ``--accelerators`` (their memory caps N too), money at
``--price-per-hour``, energy at the accelerator's power and ``--pue``, and ``--unique-tokens`` (a cap on D with a
plain law, the law's U with a data-constrained one). It prints the run, which limits bind and each one's shadow
price, then the plan of that run (``optimal.plan_training``, as for every other question).

With ``--context T`` the compute counts attention and the memory cap counts activations
(``optimal.planning.layout_memory`` on the shape built for N at ``--aspect-ratio``), for ``--micro-batch`` and the
layout options (``--tensor-parallel``, ``--pipeline-parallel``, ``--zero``, ``--sequence-parallel``,
``--recompute``; ZeRO-3 over all accelerators when none is given); the layout section of the plan then shows the
best run's memory as ``optimal plan`` shows any run's.
"""

import optimal
from optimal.analysis.constrained import check_compute_limits
from optimal.errors import OptimalError, PlanningError, check_positive

from . import common, plan_layout

OPTIONS = ("deadline_days", "max_cost", "max_energy_mwh")
FLAGS = {name: "--" + name.replace("_", "-") for name in OPTIONS}  # the options, as the errors name them
# the options of other questions, which a constrained plan answers for itself
_OTHER_QUESTIONS = {"compute": "--compute", "target_loss": "--target-loss", "params": "--params", "tokens": "--tokens",
                    "shape": "--shape", "inference_tokens": "--inference-tokens", "decide": "--decide",
                    "max_tokens": "--max-tokens", "max_params": "--max-params",
                    "global_batch": "--global-batch (the constrained plan assumes a full pipeline)",
                    "expert_parallel": "--expert-parallel (the shapes at the aspect ratio are dense)"}


def add_options(parser):
    """Add --deadline-days, --max-cost and --max-energy-mwh to ``optimal plan``'s ``parser``."""
    parser.add_argument("--deadline-days", type=common.number, metavar="D",
                        help="wall-clock days on --accelerators: with --max-cost and --max-energy-mwh, plan the "
                             "least-loss run within the limits given, with each limit's shadow price "
                             "(docs/constraints.md)")
    parser.add_argument("--max-cost", type=common.number, metavar="X",
                        help="most money to spend (accelerator-hours x --price-per-hour, in its unit)")
    parser.add_argument("--max-energy-mwh", type=common.number, metavar="E",
                        help="most facility energy to spend in MWh (accelerator-hours x power x PUE)")


def asked(args) -> bool:
    """Whether the question is the best run under constraints (any of the three options given)."""
    return any(getattr(args, name, None) is not None for name in OPTIONS)


def best_run_from_args(args, device):
    """``optimal.best_run`` for the options: the law (a data-constrained one by default with --unique-tokens), its
    fit record's draws and k, the accelerator and every assumption as ``optimal plan`` takes them."""
    other = [flag for name, flag in _OTHER_QUESTIONS.items() if getattr(args, name, None) not in (None, False, [])]
    if other:
        raise OptimalError(f"--deadline-days, --max-cost and --max-energy-mwh choose N and D themselves: not with "
                           f"{', '.join(other)}")
    law = common.law_from_args(common.data_constrained_default(args))
    draws, k = None, common.k_or_default(args)
    if args.fit:
        record = optimal.load_record(args.fit)
        k = common.k_for_record(args, record)
        draws = record.bootstrap
        if draws is not None and args.group is not None:
            draws = draws.group(str(args.group))
    elif args.group is not None:
        raise OptimalError("--group names a group of a joint fit record: give --fit")
    layout = None
    if any(getattr(args, name, None) is not None for name in plan_layout.DEGREES):
        layout = optimal.planning.Layout(tensor=args.tensor_parallel or 1, pipeline=args.pipeline_parallel or 1,
                                         zero=0 if args.zero is None else args.zero,
                                         sequence_parallel=bool(args.sequence_parallel),
                                         recompute=args.recompute or "none")
    if args.context is None and (layout is not None or args.micro_batch is not None):
        raise OptimalError("the layout options need --context T (tokens per sequence) to size the activations")
    if args.context is not None and args.activation_memory is not None:
        raise OptimalError("--context sizes the activations in the constrained plan's memory cap: not with "
                           "--activation-memory")
    for name, flag in FLAGS.items():  # as the options are written (the library names its arguments)
        getattr(args, name) is None or check_positive(getattr(args, name), flag)
    if args.deadline_days is not None and args.accelerators is None:
        raise OptimalError("--deadline-days needs --accelerators COUNT: the wall clock caps compute only for a number "
                           "of accelerators running at once")
    constraints = optimal.Constraints(deadline_days=args.deadline_days, n_accelerators=args.accelerators,
                                      max_cost=args.max_cost, max_energy_mwh=args.max_energy_mwh,
                                      unique_tokens=args.unique_tokens)
    hardware = optimal.planning.hardware_estimate(1.0, device, precision=args.precision, mfu=args.mfu, pue=args.pue,
                                                  power_watts=args.power, n_accelerators=args.accelerators,
                                                  price_per_accelerator_hour=args.price_per_hour)
    check_compute_limits(constraints, hardware, k, FLAGS)  # best_run checks them too, named as its arguments
    return optimal.best_run(law, constraints, accelerator=device, precision=args.precision, mfu=args.mfu, pue=args.pue,
                            power_watts=args.power, price_per_accelerator_hour=args.price_per_hour,
                            optimizer=args.optimizer, flops_per_param_token=k, context=args.context,
                            micro_batch=args.micro_batch, layout=layout, aspect_ratio=args.aspect_ratio,
                            draws=draws), law, k


def section(args, device, plan):
    """``(json, lines, run)``: the JSON keys of a constrained plan, the text lines, and the ``BestRun``. ``plan`` is
    ``optimal plan``'s own planner (``plan(n_params=, n_tokens=, flops_per_param_token=)``)."""
    run, law, k = best_run_from_args(args, device)
    per_token = {} if run.flops_model is None else {"training_flops_per_token": run.compute_flops / run.n_tokens}
    try:
        found = plan(n_params=run.n_params, n_tokens=run.n_tokens, flops_per_param_token=k, **per_token)
    except PlanningError as exc:  # a best run too large to plan: name the limits that chose it
        limits = ", ".join(f"{FLAGS[name]} {getattr(args, name):g}" for name in run.binding if name in FLAGS)
        raise PlanningError(f"the best run under {limits or 'the limits given'}: {exc}") from None
    layout, layout_lines = plan_layout.section(args, found, device)
    how = None if run.unique_data is None else {
        "cap": f"unique data: D <= U = {args.unique_tokens:.4g} tokens (a plain law: no repetition)",
        "law": f"unique data: U = {args.unique_tokens:.4g} tokens in the data-constrained law (Muennighoff et al. "
               "2023): D may repeat it"}[run.unique_data]
    output = {"question": "constrained", "constrained": run.to_dict(), "loss": run.loss_nats,
              "loss_from": "the law at the best run under the constraints", "plan": found.to_dict(),
              "unique_data": how, "layout": layout, "law": common.law_json(law)}
    source = f"fit record {args.fit}" if args.fit else f"coefficients {args.coefficients}" if args.coefficients else \
        f"preset {args.preset or optimal.DEFAULT_PRESET}"
    lines = [run.summary(), f"  law: {source}"] + ([f"  {how}"] if how else []) + \
        [f"  shadow price: d loss / d limit; compute-equivalent: the FLOPs that buy the same loss at the compute-optimal "
         f"run (no cap on N or D) spending {run.compute_flops:.4g} FLOPs"] + \
        [f"  note: {note.message}" for note in run.notes if note.code in ("activations", "attention-flops",
                                                                             "memory-boundary")] + \
        ["", found.summary()] + layout_lines
    return output, lines, run


def run(args, device, plan):
    """Print the constrained plan (text, or --json with "schema": "optimal.plan/1"); its warnings on stderr."""
    output, lines, best = section(args, device, plan)
    if args.json:
        common.emit("plan", output, output.pop("law"))
    else:
        print("\n".join(lines))
    for warning in best.warnings:
        common.warn(warning)
    return 0
