"""``optimal plan``'s serving options: serving priced on its own accelerator, precision, MFU and memory bandwidth
(``optimal.planning.serving``), the cost per million tokens of the planned model, and with ``--inference-tokens``
the inference-aware allocation weighted by those prices (plan.py calls ``flops_model`` and ``section``)."""

import numpy as np

from optimal import FlopsPerToken
from optimal._util.stats import figure_intervals
from optimal.planning import serving as serve
from optimal.planning.accelerators import ACCELERATORS, ALIASES

from . import common

OPTIONS = ("serve_accelerator", "serve_precision", "serve_mfu", "serve_bandwidth_utilisation", "serve_batch",
           "serve_prompt_share", "serve_price_per_hour", "serve_bandwidth")


def add_options(parser):
    """The --serve-* options (each default said in its help)."""
    group = parser.add_argument_group(
        "serving on its own terms (planning.serving: prefill compute bound, decode memory-bandwidth bound; with "
        "--inference-tokens the allocation weighs a served token by its cost in training FLOPs)")
    group.add_argument("--serve-accelerator", metavar="NAME", type=common.name,
                       help=f"accelerator that serves: one of {', '.join([*ACCELERATORS, *ALIASES])} (default: the "
                            "training accelerator)")
    group.add_argument("--serve-precision", choices=("fp32", "tf32", "bf16", "fp16", "fp8", "int8"),
                       help="precision of the served weights and their compute (default: --precision)")
    group.add_argument("--serve-mfu", type=common.number, metavar="M",
                       help=f"prefill MFU (default {serve.DEFAULT_SERVE_MFU:g}, a placeholder)")
    group.add_argument("--serve-bandwidth-utilisation", type=common.number, metavar="U",
                       help=f"achieved / peak memory bandwidth in decode (default {serve.DEFAULT_BANDWIDTH_UTILISATION:g}"
                            ", a placeholder)")
    group.add_argument("--serve-batch", type=common.number, metavar="B",
                       help=f"sequences decoded at once (default {serve.DEFAULT_DECODE_BATCH}, a placeholder)")
    group.add_argument("--serve-prompt-share", type=common.number, metavar="S",
                       help=f"share of served tokens that are prompt tokens (default {serve.DEFAULT_PROMPT_SHARE:g})")
    group.add_argument("--serve-price-per-hour", type=common.number, metavar="P",
                       help="price per serving accelerator-hour (default: --price-per-hour's)")
    group.add_argument("--serve-bandwidth", type=common.number, metavar="GB/s",
                       help="memory bandwidth of the serving accelerator in GB/s (default: the table's; needed for an "
                            "accelerator file)")


def given(args) -> bool:
    """Whether any --serve-* option was given."""
    return any(getattr(args, name, None) is not None for name in OPTIONS)


def _options(args, device):
    """``serving_cost``'s options from the --serve-* options (their defaults the training ones)."""
    return dict(
        accelerator=args.serve_accelerator or device,
        precision=args.serve_precision or args.precision, mfu=args.serve_mfu,
        bandwidth_utilisation=args.serve_bandwidth_utilisation, decode_batch=args.serve_batch,
        prompt_share=args.serve_prompt_share,
        price_per_accelerator_hour=args.price_per_hour if args.serve_price_per_hour is None else args.serve_price_per_hour,
        bandwidth_bytes_per_second=None if args.serve_bandwidth is None else args.serve_bandwidth * 1e9)


def _cost(args, device, n_params, total_params):
    return serve.serving_cost(n_params, total_params=total_params, **_options(args, device))


def _weight(args, device, active_fraction):
    """(the FLOPs weight of a served token per active parameter, the training cost per FLOP); the weight does not
    depend on N (planning.serving), so it is computed at N = 1e9 active."""
    cost = _cost(args, device, 1e9, 1e9 / active_fraction)
    per_flop = serve.training_cost_per_flop(device, args.precision, args.mfu, args.price_per_hour)
    return serve.inference_flops_weight(cost, per_flop), per_flop


def flops_model(args, flops, k, device, mode):
    """``flops`` with its inference FLOPs per active parameter replaced by the serving weight, when --serve-* options
    are given with --inference-tokens; otherwise ``flops`` unchanged (None: k N training, 2 N inference). Checks
    the --serve-* options whenever one is given (a one-line error before any solve)."""
    if not given(args):
        return flops
    _cost(args, device, 1e9, 1e9)  # checks every --serve-* option before the allocation's solve
    if mode != "inference":
        return flops
    base = FlopsPerToken.dense(k) if flops is None else flops
    weight, _ = _weight(args, device, float(base.active_fraction))
    return base._replace(inference_per_param=weight)


def plan_draws(args, answer):
    """``(n_params, confidence, why)`` for the plan's figures that move with N: each bootstrap draw's N (active
    parameters, (draws,)) and the interval level, or ``(None, None, why)`` with why there is no interval (None
    when there is nothing to say: no fit record)."""
    if answer is None or answer.per_draw is None:
        return None, None, ("the fit record holds no bootstrap draws (optimal fit --bootstrap B --save)"
                            if getattr(args, "fit", None) and answer is not None else
                            "the draws' N is not the planned run's (--decide plans one N)" if answer is None and
                            getattr(args, "decide", None) else None)
    if "N" not in answer.per_draw:
        return None, None, "the run's N is given: the bootstrap draws move only its loss"
    return np.asarray(answer.per_draw["N"][:, 0], dtype=np.float64), answer.confidence, None


def interval_lines(intervals, flat, confidence, label, fmt=lambda v: f"{v:.4g}"):
    """Text lines for ``figure_intervals``'s answer: each interval, then the figures without one, said."""
    def end(v):
        return "unbounded" if v is None else fmt(v)

    lines = [f"  {100 * confidence:g}% over the bootstrap draws' N ({label}):"] if intervals else []
    lines += [f"    {name.replace('_', ' ')}: {end(b['lo'])} .. {end(b['hi'])}" for name, b in intervals.items()]
    if flat:
        lines.append(f"  (no interval for {', '.join(n.replace('_', ' ') for n in flat)}: every bootstrap draw gives "
                     "the same figure)")
    return lines


def section(args, device, found, mode, record, answer=None):
    """The "serving_cost" JSON section and its text lines (None and [] without --serve-* options): the planned
    model's cost per token (prefill, decode, blended), and with --inference-tokens the serving bill and the weight
    the allocation used. With ``answer``'s bootstrap draws (``optimal.recommend``), "intervals": each figure that
    moves with N computed at every draw's N (``serve.serving_cost_draws``); "no_interval" names those that do not
    and why."""
    if not given(args):
        return None, []
    cost = _cost(args, device, found.n_params, found.total_params)
    out = {"model": cost.to_dict(), "inference_tokens": None, "accelerator_hours": None, "cost": None,
           "inference_flops_per_param": None, "training_cost_per_flop": None}
    lines = [cost.summary()]
    if mode == "inference":
        weight, per_flop = _weight(args, device, found.n_params / found.total_params)
        tokens = record["inference_tokens"]
        out.update(inference_tokens=tokens, accelerator_hours=tokens * cost.seconds_per_token / 3600.0,
                   cost=tokens * cost.cost_per_token, inference_flops_per_param=weight, training_cost_per_flop=per_flop)
        lines.append(f"  serving bill     {tokens:.4g} tokens: {out['accelerator_hours']:.4g} accelerator-hours, cost "
                     f"{out['cost']:.4g}; the allocation weighed each served token as {weight:.4g} x N training FLOPs "
                     f"(its cost / {per_flop:.4g} per training FLOP) in place of 2 N")
    n_draws, confidence, why = plan_draws(args, answer)
    out.update(intervals=None, no_interval=None)
    if n_draws is not None:
        per_draw = serve.serving_cost_draws(n_draws, found.total_params / found.n_params, **_options(args, device))
        if mode == "inference":
            per_draw["cost"] = record["inference_tokens"] * per_draw["cost_per_million_tokens"] / 1e6
            per_draw["accelerator_hours"] = record["inference_tokens"] * per_draw["seconds_per_token"] / 3600.0
        intervals, flat = figure_intervals(per_draw, confidence)
        out["intervals"] = {"confidence": confidence, **intervals}
        if flat:
            out["no_interval"] = {"figures": flat, "why": "every bootstrap draw gives the same figure"}
        lines += interval_lines(intervals, flat, confidence, "each draw's N through the same serving model")
    elif why is not None:
        out["no_interval"] = {"figures": list(serve.SERVING_DRAW_FIGURES), "why": why}
        lines.append(f"  (no interval for the serving figures: {why})")
    return out, lines
