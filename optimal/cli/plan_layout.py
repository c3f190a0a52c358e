"""``optimal plan``'s layout options: activation memory and memory per accelerator for a parallel layout
(``optimal.planning.layout_memory``), or, with no degree given, the layout search's best layout
(``optimal.planning.search_layouts``). plan.py registers the options (``add_options``) and prints what
``section`` returns."""

import argparse

from optimal import planning
from optimal.errors import OptimalError

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


def section(args, found, device):
    """``(json, lines)`` for a plan ``found`` (a ``TrainingPlan``) on ``device``: None and [] when no layout option
    was given. Memory is for ``found``'s total parameters placed by its shape's proportions."""
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
        return {"mode": "search", "shape_from": found.shape_from, **found_layouts.to_dict()}, lines
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
    return {"mode": "given", "shape_from": found.shape_from, "memory": memory.to_dict(), "fits": fits,
            "accelerator_memory_bytes": room, "largest_micro_batch": largest, "assumptions": assumptions}, lines
