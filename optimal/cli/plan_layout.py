"""``optimal plan``'s layout options: activation memory and memory per accelerator for a parallel layout
(``optimal.planning.layout_memory``), or, with no degree given, the layout search's best layout
(``optimal.planning.search_layouts``). plan.py registers the options (``add_options``) and prints what
``section`` returns."""

import argparse
import math

import numpy as np

from optimal import planning
from optimal._util.stats import figure_intervals
from optimal.errors import OptimalError, PlanningError
from optimal.planning.shapes import MAX_PARAMS

from .plan_serving import interval_lines, plan_draws

DEGREES = ("tensor_parallel", "pipeline_parallel", "expert_parallel", "zero", "sequence_parallel", "recompute")
LAYOUT_OPTIONS = DEGREES + ("micro_batch", "global_batch")


def _whole(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def add_options(parser):
    """The layout options of ``optimal plan`` (with --context T for the tokens per sequence)."""
    group = parser.add_argument_group(
        "layout (activation memory and parallel degrees; needs --context)",
        "Activations per layer from Korthikanti et al. 2022 (Table 2); memory on the busiest accelerator (the first "
        "pipeline stage). Give degrees to size that layout; give none (only --micro-batch or --global-batch, with "
        "--accelerators) to search for the layout with the best estimated throughput.")
    group.add_argument("--micro-batch", type=_whole, metavar="B", help="sequences per micro-batch (default 1)")
    group.add_argument("--tensor-parallel", type=_whole, metavar="T", help="tensor-parallel degree (default 1)")
    group.add_argument("--pipeline-parallel", type=_whole, metavar="P", help="pipeline-parallel degree (default 1)")
    group.add_argument("--expert-parallel", type=_whole, metavar="E",
                       help="expert-parallel degree, dividing the data-parallel degree and the experts (default 1)")
    group.add_argument("--zero", type=int, choices=planning.layout.ZERO_STAGES,
                       help="ZeRO stage over the data-parallel replicas (default 0: nothing sharded)")
    group.add_argument("--sequence-parallel", action="store_true", default=None,
                       help="sequence parallelism over the tensor-parallel group (Korthikanti et al. 2022)")
    group.add_argument("--recompute", choices=planning.RECOMPUTE,
                       help="activation recomputation (default none)")
    group.add_argument("--global-batch", type=_whole, metavar="SEQUENCES",
                       help="sequences per step: the micro-batches in flight and the pipeline bubble (default: "
                            f"{planning.layout.DEFAULT_GLOBAL_BATCH_TOKENS:,} tokens / --context, in the search; a "
                            "full pipeline otherwise)")


def _origin(value, default):
    return ("given", value) if value is not None else ("default", default)


# the layout figures that move with N (each draw's total parameters through ``layout_memory``)
DRAW_FIGURES = ("weights", "gradients", "optimizer_state", "activations", "total_bytes", "largest_micro_batch")
_SEARCH_WHY = "the layout search runs once, at the point's N"


def _memory_draws(totals, found, layout, b, args, m, override, device):
    """Each draw's layout figures (bytes; the largest micro-batch in sequences): ``{name: (draws,) array}``, the
    draw's total parameters placed by the plan's shape, everything else the point's; +inf for a draw whose N
    no layout can hold (not finite, or beyond the planner's range)."""
    rows = []
    for total in totals:
        try:
            memory = planning.layout_memory(float(total), found.shape, layout, b, args.context,
                                            optimizer=args.optimizer, precision=args.precision, n_microbatches=m,
                                            activation_bytes=override)
            largest = planning.largest_micro_batch(float(total), found.shape, layout, args.context, device,
                                                   optimizer=args.optimizer, precision=args.precision,
                                                   n_microbatches=m)
        except PlanningError:
            if math.isfinite(total) and total <= MAX_PARAMS:
                raise
            rows.append([math.inf] * len(DRAW_FIGURES))
            continue
        rows.append([memory.weights, memory.gradients, memory.optimizer_state, memory.activations,
                     memory.total_bytes, largest])
    table = np.asarray(rows, dtype=np.float64).reshape(-1, len(DRAW_FIGURES))
    return {name: table[:, i] for i, name in enumerate(DRAW_FIGURES)}


def section(args, found, device, answer=None):
    """``(json, lines)`` for a plan ``found`` (a ``TrainingPlan``) on ``device``: None and [] when no layout option
    was given. Memory is for ``found``'s total parameters placed by its shape's proportions. With ``answer``'s
    bootstrap draws (``optimal.recommend``), "intervals": each figure at every draw's N (its total keeps the plan's
    total / active ratio; the shape, hence the activations, stays the point's); "no_interval" names the figures
    without one and why."""
    if all(getattr(args, name) is None for name in LAYOUT_OPTIONS):
        return None, []
    if args.context is None:
        raise OptimalError("the layout options need --context T (tokens per sequence) to size the activations")
    override = None if args.activation_memory is None else args.activation_memory * 1e9
    b_from, b = _origin(args.micro_batch, 1)
    room = device.memory_bytes
    if all(getattr(args, name) is None for name in DEGREES):
        if override is not None:
            raise OptimalError("--activation-memory sizes one layout: give its degrees (--tensor-parallel, "
                               "--pipeline-parallel, ...) or leave --activation-memory out of the search")
        if args.accelerators is None:
            raise OptimalError("the layout search needs --accelerators COUNT (or give degrees: --tensor-parallel, "
                               "--pipeline-parallel, ...)")
        found_layouts = planning.search_layouts(found.total_params, found.shape, args.accelerators, device,
                                                args.context, micro_batch=args.micro_batch,
                                                global_batch=args.global_batch,
                                                optimizer=args.optimizer, precision=args.precision)
        lines = ["layout search (the feasible layout with the best estimated throughput):",
                 f"  {found_layouts.summary()}"]
        if found_layouts.best is not None:
            lines += [f"  {found_layouts.best.memory.summary()}", f"  {found_layouts.best.memory.activation.summary()}"]
        lines += [f"  assumption: {note}" for note in found_layouts.notes]
        lines.append(f"  note: {planning.layout.MEGATRON_NOTE}")
        n_draws, _, why = plan_draws(args, answer)
        why = _SEARCH_WHY if n_draws is not None else why
        if why is not None:
            lines.append(f"  (no interval for the layout figures: {why})")
        return {"mode": "search", "shape_from": found.shape_from, **found_layouts.to_dict(), "intervals": None,
                "no_interval": None if why is None else {"figures": list(DRAW_FIGURES), "why": why}}, lines
    t_from, t = _origin(args.tensor_parallel, 1)
    p_from, p = _origin(args.pipeline_parallel, 1)
    e_from, e = _origin(args.expert_parallel, 1)
    z_from, z = _origin(args.zero, 0)
    r_from, recompute = _origin(args.recompute, "none")
    sp = bool(args.sequence_parallel)
    if args.accelerators is None:
        d, d_from = 1, "default (no --accelerators)"
    else:
        if args.accelerators % (t * p):
            raise OptimalError(f"--accelerators {args.accelerators} is not a multiple of tensor x pipeline parallel "
                               f"{t} x {p}: the data-parallel degree is accelerators / (t p)")
        d, d_from = args.accelerators // (t * p), "--accelerators / (t p)"
    m = None
    if args.global_batch is not None:
        m = args.global_batch // (d * b)
        if m < 1:
            raise OptimalError(f"--global-batch {args.global_batch} is fewer sequences than one micro-batch of {b} on "
                               f"each of {d} data-parallel replicas")
    layout = planning.Layout(t, p, d, e, z, sp, recompute)
    memory = planning.layout_memory(found.total_params, found.shape, layout, b, args.context, optimizer=args.optimizer,
                                    precision=args.precision, n_microbatches=m, activation_bytes=override)
    largest = planning.largest_micro_batch(found.total_params, found.shape, layout, args.context, device,
                                           optimizer=args.optimizer, precision=args.precision, n_microbatches=m)
    assumptions = {"micro_batch": {"value": b, "from": b_from}, "tensor_parallel": {"value": t, "from": t_from},
                   "pipeline_parallel": {"value": p, "from": p_from}, "data_parallel": {"value": d, "from": d_from},
                   "expert_parallel": {"value": e, "from": e_from}, "zero": {"value": z, "from": z_from},
                   "sequence_parallel": {"value": sp, "from": "given" if sp else "default"},
                   "recompute": {"value": recompute, "from": r_from},
                   "micro_batches_per_step": {"value": m, "from": "--global-batch / (d b)" if m is not None else
                                              "default: enough to fill the pipeline"}}
    fits = memory.total_bytes <= room
    act = memory.activation
    lines = ["layout (memory on the busiest accelerator, the first pipeline stage):",
             f"  layout           {layout.summary()}; data parallel {d} [{d_from}]",
             (f"  activations      {memory.activations / 1e9:.4g} GB  = {act.in_flight} micro-batch(es) in flight x "
              f"{act.layers_per_stage} layers x sbh x {act.coefficient:.4g} (b {b} [{b_from}], s {args.context}, h "
              f"{found.shape.d_model}, a {found.shape.n_heads}: Korthikanti et al. 2022, Table 2) + embedding "
              f"{act.embedding / 1e6:.4g} MB + output layer {act.output / 1e6:.4g} MB" if act is not None else
              f"  activations      {memory.activations / 1e9:.4g} GB  given (--activation-memory)"),
             f"  per accelerator  {memory.total_bytes / 1e9:.4g} GB  = weights {memory.weights / 1e9:.4g} + gradients "
             f"{memory.gradients / 1e9:.4g} + optimizer state {memory.optimizer_state / 1e9:.4g} + activations "
             f"{memory.activations / 1e9:.4g} ({memory.bytes_per_param:g} bytes/param, ZeRO-{z}); of "
             f"{room / 1e9:g} GB on {device.name}: {'fits' if fits else 'does NOT fit'}",
             f"  largest micro-batch that fits: {largest or 'none (not even 1 sequence)'}",
             f"  note: {planning.layout.MEGATRON_NOTE}"]
    if found.shape_from != "given":
        lines.append(f"  note: the parameters are placed by the proportions of a shape {found.shape_from}")
    lines += [f"  note: {note}" for note in memory.notes if note.code == "approximation"]
    n_draws, confidence, why = plan_draws(args, answer)
    intervals, no_interval = None, None if why is None else {"figures": list(DRAW_FIGURES), "why": why}
    if n_draws is not None:
        per_draw = _memory_draws(n_draws * (found.total_params / found.n_params), found, layout, b, args, m, override,
                                 device)
        found_intervals, flat = figure_intervals(per_draw, confidence)
        intervals = {"confidence": confidence, **found_intervals}
        if flat:
            no_interval = {"figures": flat, "why": "every bootstrap draw gives the same figure" +
                           ("; the activations follow the shape, the point's for every draw" if "activations" in flat
                            else "")}
        lines += interval_lines({k: v for k, v in found_intervals.items() if k != "largest_micro_batch"}, [],
                                confidence, "GB per accelerator, each draw's total parameters on this layout",
                                fmt=lambda v: f"{v / 1e9:.4g}")
        if "largest_micro_batch" in found_intervals:
            bounds = found_intervals["largest_micro_batch"]
            lines += interval_lines({"largest_micro_batch": bounds}, [], confidence, "sequences")[1:]
        if flat:
            lines.append(f"  (no interval for {', '.join(n.replace('_', ' ') for n in flat)}: {no_interval['why']})")
    elif why is not None:
        lines.append(f"  (no interval for the layout figures: {why})")
    return {"mode": "given", "shape_from": found.shape_from, "memory": memory.to_dict(), "fits": fits,
            "accelerator_memory_bytes": room, "largest_micro_batch": largest, "assumptions": assumptions,
            "intervals": intervals, "no_interval": no_interval}, lines
