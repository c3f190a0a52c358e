"""``optimal plan``: from a budget (or a target loss, or N and D, or a shape) to a training run: the allocation, the
parameters and a shape, memory, accelerator-hours, days, energy and cost, each figure with its assumptions.

It calls the public API only (``optimal.recommend`` for the allocation, ``optimal.planning`` for the rest); the
command-line helpers (number parsing, JSON printing, warnings, the allocation table) are common.py's.
"""

import argparse
import dataclasses
import math
import textwrap

import numpy as np

import optimal
from optimal import planning
from optimal.errors import OptimalError, PlanningError
from optimal._util.precision import float64_scope
from optimal.planning.cost import MAX_PUE, energy_text, origin_text
from optimal.planning.hf_config import looks_like_config_path, read_hf_config

from . import common, plan_constraints, plan_hparams, plan_layout, plan_moe, plan_serving, plan_shapes

SHAPE_FIELDS = tuple(f.name for f in dataclasses.fields(planning.TransformerShape))

EPILOG = f"""\
what to plan (one of):
  --compute C                      the law's compute-optimal N* and D* at C FLOPs (as 'optimal solve')
  --target-loss L                  the least compute that reaches loss L, and its N*, D*
  --params N --tokens D            a run you have in mind (C = k N D; the loss is the law's at N, D)
  --shape ... --tokens D | --compute C
                                   a transformer shape (its active parameters are N; memory from its total)
  --compute C --inference-tokens T  the least-loss N, D when training plus serving T tokens costs C FLOPs
  --target-loss L --inference-tokens T
                                   the N, D that reach L for the least training plus serving FLOPs
  --compute C --unique-tokens U    N, D and epochs with only U unique tokens (a data-constrained law)
--unique-tokens U also goes with --target-loss, --params/--tokens and --inference-tokens; a data-constrained law
answers every question with its unique-data assumption stated (unlimited unless U is given).

{textwrap.fill(f"--shape takes a published shape ({', '.join(planning.PUBLISHED_SHAPES)}), KEY=VALUE fields "
                f"of optimal.TransformerShape ({', '.join(SHAPE_FIELDS)}), or a published shape then fields that "
                "change it; a Hugging Face config.json path (llama, mistral, qwen2, mixtral) in place of the "
                "published name.", 110)}
--context T adds attention FLOPs to every question (the point's and every bootstrap draw's allocation).
Without --shape a shape is built for N at --aspect-ratio (d_model / n_layer, default {planning.DEFAULT_ASPECT_RATIO:g})
as an illustration (for the KV cache); memory and FLOPs use N itself.

Every figure is printed beside the assumptions that produced it, each marked as given or default. Memory is in
decimal GB (1e9 bytes); activations are not counted unless given (--activation-memory) or sized by the layout
options (--micro-batch, --tensor-parallel, ...: Korthikanti et al. 2022; docs/layout.md).
With a --fit record's bootstrap draws every question of a law is answered by each draw too (intervals of N, D,
loss, compute and the extrapolation distances), and each figure of the plan is computed for every draw's N and
training FLOPs under the same assumptions: its interval is the draws' figures. Memory moves with N; hours, days,
energy and cost move with the compute: with --compute C every draw spends C, so they have none (said, not printed
as an interval of zero width).
--decide RULE (with --compute and a --fit record holding bootstrap draws) plans the run the rule chooses under the
law's uncertainty (plug-in, expected-loss, quantile:Q: docs/decisions.md) and prints its deadweight compute beside
the plug-in and 20 tokens/param runs; the loss is then the draws' mean at the chosen run.

JSON (--json): one object, "schema": "optimal.plan/1", "law" ({{"family", "params"}}, or null with --shape: the
loss is not computed), "question", "recommendation", "unique_data", "allocation", "flops_model",
"inference", "data_constrained", "loss", "loss_from", "plan", "intervals" (the figures that have one), "serving",
"layout" (with the layout options: memory per accelerator, or the layout search; else null),
"hyperparameters" (--hparams) and, with --decide, "decision" (as in solve --json); with --serve-* "serving_cost",
with --snap-shape "snap" (docs/shapes.md).

examples:
  optimal plan --compute 1e24 --accelerator h100 --accelerators 2048 --mfu 0.4
  optimal plan --params 7e9 --tokens 2e12 --accelerator a100 --accelerators 512 --price-per-hour 1.5 --json
  optimal plan --shape mixtral-8x7b --tokens 1e12 --accelerator mi300x --accelerators 256
  optimal plan --compute 1e23 --accelerator-file my_gpu.json --precision fp8
  optimal plan --target-loss 2.0 --inference-tokens 1e13 --accelerators 1024
  optimal plan --compute 1e22 --unique-tokens 25e9 --accelerator a100 --accelerators 256
  optimal plan --compute 1e22 --fit fit.json --decide expected-loss   (a fit saved with --bootstrap)
"""


def add_parser(commands):
    """Register ``optimal plan`` on ``commands`` (the subparsers of ``optimal``)."""
    parser = commands.add_parser(
        "plan", help="plan a training run: N, D, memory, accelerator-hours, days, energy and cost",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    common.add_compute_option(parser, help="training compute in FLOPs", single=True)
    parser.add_argument("--target-loss", type=common.number, metavar="L", help="loss to reach (nats)")
    parser.add_argument("--params", type=common.number, metavar="N", help="parameters (with --tokens)")
    parser.add_argument("--tokens", type=common.number, metavar="D", help="training tokens")
    common.add_law_options(parser)
    common.add_group_option(parser)
    common.add_k_option(parser, record=True)
    parser.add_argument("--max-tokens", type=common.number, metavar="D", help="cap on training tokens (unique data)")
    parser.add_argument("--max-params", type=common.number, metavar="N", help="cap on model parameters")
    parser.add_argument("--shape", nargs="+", metavar="NAME|CONFIG.json|KEY=VALUE",
                        help="a transformer shape (see below)")
    common.add_decide_option(parser)
    parser.add_argument("--inference-tokens", type=common.number, metavar="T",
                        help="tokens the model will serve over its life: the inference-aware allocation (Sardana et "
                             "al. 2023) with --compute (training plus serving FLOPs) or --target-loss")
    common.add_unique_tokens_option(parser, help="unique tokens available: the data-constrained allocation (Muennighoff "
                                    "et al. 2023) with --compute, or the loss with U unique tokens with any question of a "
                                    "law; the law must be data-constrained (default --preset muennighoff2023)")
    parser.add_argument("--accelerator", metavar="NAME", type=common.name,
                        help=f"one of {', '.join([*planning.ACCELERATORS, *planning.ALIASES])} (default h100)")
    parser.add_argument("--accelerator-file", metavar="X.json", type=common.name, help="your own accelerator (format in the README)")
    parser.add_argument("--accelerators", type=int, metavar="COUNT", help="accelerators running at once (for days)")
    parser.add_argument("--precision", default="bf16", choices=("fp32", "tf32", "bf16", "fp16", "fp8", "int8"),
                        help="the precision the run computes at: its dense peak, and the weights' bytes (default bf16)")
    parser.add_argument("--optimizer", default="adam", choices=tuple(planning.OPTIMIZERS),
                        help="optimiser whose state the training memory counts (default adam: 16 bytes/param)")
    parser.add_argument("--mfu", type=common.number, help=f"model FLOPs utilisation (default {planning.DEFAULT_MFU:g})")
    parser.add_argument("--pue", type=common.number,
                        help=f"power usage effectiveness, 1 to {MAX_PUE:g} (default {planning.DEFAULT_PUE:g})")
    parser.add_argument("--power", type=common.number, metavar="W",
                        help="power per accelerator in watts (default: the accelerator's TDP)")
    parser.add_argument("--price-per-hour", type=common.number, metavar="P",
                        help=f"price per accelerator-hour (default {planning.DEFAULT_PRICE_PER_ACCELERATOR_HOUR:g}, a "
                             "placeholder)")
    common.add_flops_model_options(parser, context_help="tokens per training sequence: counts attention FLOPs (k n_layer "
                                   "T d_model per token, Kaplan et al. 2020) in the allocation (the point's and every "
                                   "bootstrap draw's) and the plan, and sizes one sequence's KV cache")
    parser.add_argument("--activation-memory", type=common.number, metavar="GB",
                        help="activation memory per accelerator to count in 'to hold it' (GB; default 0: not counted)")
    plan_constraints.add_options(parser)
    plan_layout.add_options(parser)
    plan_hparams.add_options(parser)
    plan_serving.add_options(parser)
    plan_shapes.add_options(parser)
    plan_moe.add_options(parser)
    common.add_json_option(parser, "plan", "keys above")
    parser.set_defaults(run=run)
    return parser


def _shape(words):
    """A ``TransformerShape`` from ``--shape`` words: an optional published name first, then KEY=VALUE fields."""
    base = {}
    if words and "=" not in words[0] and looks_like_config_path(words[0]):  # a Hugging Face config.json
        shape, words = read_hf_config(words[0]).shape, words[1:]
        base = {f: getattr(shape, f) for f in SHAPE_FIELDS}
    elif words and "=" not in words[0]:
        name, words = words[0], words[1:]
        if name not in planning.PUBLISHED_SHAPES:
            raise PlanningError(f"--shape: unknown shape {name!r}; the published ones are "
                                f"{', '.join(planning.PUBLISHED_SHAPES)}, or give KEY=VALUE fields")
        shape = planning.PUBLISHED_SHAPES[name].shape
        base = {f: getattr(shape, f) for f in SHAPE_FIELDS}
    try:
        pairs = [common.assignment("KEY=VALUE (e.g. n_layer=32)")(word) for word in words]
    except argparse.ArgumentTypeError as exc:  # a word after the first that is not KEY=VALUE
        raise PlanningError(f"--shape: {exc}") from None
    for key, value in common.named_once(pairs, "--shape").items():
        if key not in SHAPE_FIELDS:
            raise PlanningError(f"--shape: unknown field {key!r}; the fields are {', '.join(SHAPE_FIELDS)}")
        base[key] = _shape_value(key, value)
    missing = [f for f in ("n_layer", "d_model", "n_heads", "vocab_size") if f not in base]
    if missing:
        raise PlanningError(f"--shape: {', '.join(missing)} missing (or start with a published shape)")
    return planning.TransformerShape(**base)


def _shape_value(key, text):
    if key in ("gated_ffn", "tied_embeddings"):
        if text.lower() not in ("true", "false"):
            raise PlanningError(f"--shape: {key} must be true or false, got {text!r}")
        return text.lower() == "true"
    if key in ("biases", "norm"):
        return text
    if key == "ffn_multiplier":
        try:
            return float(text)
        except ValueError:
            raise PlanningError(f"--shape: {key} must be a number, got {text!r}") from None
    try:
        return int(text)
    except ValueError:
        raise PlanningError(f"--shape: {key} must be an integer, got {text!r}") from None


def _mode(args):
    """Which question is asked: "compute", "target_loss", "params_tokens", "shape", "inference" or
    "data_constrained" (--compute with --unique-tokens); every other mix is an error. --unique-tokens also goes with
    --target-loss, --params and --tokens, and --inference-tokens: wherever a data-constrained law answers."""
    if args.inference_tokens is not None:
        if args.shape or args.params is not None or args.tokens is not None or (args.compute is None) == (
                args.target_loss is None):
            raise OptimalError("--inference-tokens goes with one of --compute C (training plus serving FLOPs) and "
                               "--target-loss L, not with --params, --tokens or --shape")
        return "inference"
    if args.unique_tokens is not None and args.shape:
        raise OptimalError("--unique-tokens goes with a law's question (--compute, --target-loss, --params with "
                           "--tokens), not with --shape (the loss of a shape is not computed)")
    if args.shape:
        if args.params is not None or args.target_loss is not None:
            raise OptimalError("--shape gives the parameters: use it with --tokens or --compute, not --params or "
                               "--target-loss")
        if (args.tokens is None) == (args.compute is None):
            raise OptimalError("with --shape give one of --tokens and --compute")
        return "shape"
    given = [name for name, value in (("--compute", args.compute), ("--target-loss", args.target_loss),
                                      ("--params", args.params), ("--tokens", args.tokens)) if value is not None]
    if given == ["--compute"]:
        return "compute" if args.unique_tokens is None else "data_constrained"
    if given == ["--target-loss"]:
        return "target_loss"
    if given == ["--params", "--tokens"]:
        return "params_tokens"
    raise OptimalError("give one of --compute C, --target-loss L, --params N with --tokens D, or --shape with --tokens "
                       f"or --compute (got {', '.join(given) or 'none'})")


def _device(args):
    if args.accelerator and args.accelerator_file:
        raise OptimalError("give --accelerator or --accelerator-file, not both")
    if args.accelerator_file:
        return planning.load_accelerator(args.accelerator_file)
    return planning.accelerator(args.accelerator or "h100")


def _plan(args, device, **what):
    return planning.plan_training(
        **what, aspect_ratio=planning.DEFAULT_ASPECT_RATIO if args.aspect_ratio is None else args.aspect_ratio,
        accelerator=device, n_accelerators=args.accelerators, precision=args.precision, optimizer=args.optimizer,
        mfu=args.mfu, pue=args.pue, price_per_accelerator_hour=args.price_per_hour, power_watts=args.power,
        context=args.context,
        activation_bytes=0.0 if args.activation_memory is None else _activation_bytes(args.activation_memory))


def _activation_bytes(gb):
    if not (math.isfinite(gb) and gb >= 0):
        raise PlanningError(f"--activation-memory must be a finite number of GB >= 0, got {gb:g}")
    return gb * 1e9


def _law_name(args):
    if args.fit:
        return f"fit record {args.fit}"
    if args.coefficients:
        return f"coefficients {args.coefficients}"
    return f"preset {args.preset or optimal.DEFAULT_PRESET}"


_TITLES = {
    "attention": "allocation with attention FLOPs (Kaplan et al. 2020, section 2.1: 6 N + 6 n_layer n_ctx d_model per "
                 "token)",
    "inference": "inference-aware allocation (Sardana et al. 2023: the least training plus serving FLOPs)",
    "data_constrained": "data-constrained allocation (Muennighoff et al. 2023)",
}
_INFERENCE_KEYS = ("N", "D", "inference_tokens", "loss", "training_flops", "inference_flops", "total_flops", "converged")
_DATA_CONSTRAINED_KEYS = ("compute", "N", "D", "unique_tokens", "epochs", "loss", "tokens_per_param", "converged")
_ALLOCATION_KEYS = ("compute", "N", "D", "loss", "tokens_per_param", "converged", "bound")


def run(args):
    if plan_constraints.asked(args):  # --deadline-days, --max-cost, --max-energy-mwh: the best run under constraints
        return plan_constraints.run(args, _device(args), lambda **what: _plan(args, _device(args), **what))
    if args.moe_law is not None:  # a mixture of experts, active and total parameters apart (plan_moe.py)
        return plan_moe.run(args, _device(args), _plan)
    mode = _mode(args)
    if mode not in ("compute", "target_loss", "data_constrained") and args.max_params is not None or \
            mode not in ("compute", "target_loss") and args.max_tokens is not None or \
            mode == "shape" and args.group is not None:
        raise OptimalError("--max-tokens, --max-params and --group shape the law's allocation: use them with --compute "
                           "or --target-loss (--max-params also with --unique-tokens; --group with every question of "
                           "a law)")
    if args.decide is not None:
        if mode not in ("compute", "data_constrained"):
            raise OptimalError("--decide chooses N at a compute budget: use it with --compute alone (or with "
                               "--unique-tokens)")
        common.check_decide(args)
    plan_shapes.check(args, mode)
    device = _device(args)
    shape = _shape(args.shape) if mode == "shape" else None
    k = common.k_or_default(args)
    # every planning option is checked before the allocation's solve (a dry plan with the same options)
    _plan(args, device, **({"shape": shape, "n_tokens": 1.0} if shape else {"n_params": args.params, "n_tokens": args.tokens}
                           if mode == "params_tokens" else {"n_params": 1e9, "n_tokens": 1e10}),
          **({} if shape or mode == "params_tokens" else {"flops_per_param_token": k}))
    counts = None if shape is None else planning.parameter_count(shape)
    flops = _flops_model(args, k, shape, counts)  # None without --context: k N per token
    flops = plan_serving.flops_model(args, flops, k, device, mode)  # --serve-*: serving weighed by its cost
    answer, loss, loss_from, record, intervals, decision = None, None, None, None, None, None
    if mode == "shape":
        found = _plan(args, device, shape=shape, n_tokens=args.tokens, compute=args.compute, flops_per_param_token=k,
                      training_flops_per_token=_per_token(flops, None if counts is None else counts.total))
        loss_from = "not computed: a law's N is not a shape's (a mixture's active parameters, say)"
    else:
        answer = _answer(args, mode, flops)
        record = answer.records[0]
        if flops is None:
            k = answer.flops_per_param_token
        n_params, n_tokens = record["N"], record["D"]
        if args.decide is not None:  # the run planned is the one the rule chooses under the draws
            decision = common.decide_from_args(args, answer.point.compute, flops, answer.flops_per_param_token)
            n_params, n_tokens = float(decision.chosen_params[0]), float(decision.chosen_tokens[0])
        found = _plan(args, device, n_params=n_params, n_tokens=n_tokens,
                      compute=None if mode == "params_tokens" else record["compute"], flops_per_param_token=k,
                      training_flops_per_token=_per_token(flops, n_params))
        loss = record["loss"]
        loss_from = f"the law of {_law_name(args)} at N and D" if mode == "params_tokens" else \
            "the allocation" if mode in ("compute", "target_loss") and flops is None else \
            f"the {'attention' if mode in ('compute', 'target_loss') else mode.replace('_', '-')} allocation under " \
            f"{_law_name(args)}"
        if decision is None:
            intervals = _intervals(answer, found)
        else:  # the planned run is fixed: its figures are the chosen N's; the loss is the draws' mean there
            loss = decision.allocation("chosen")["expected_loss"]
            loss_from = f"the mean over the fit's bootstrap draws at the {decision.rule} allocation"
    drawn = answer if decision is None else None  # the draws' N is the planned run's (not under --decide)
    layout, layout_lines = plan_layout.section(args, found, device, drawn)
    hparams, hparams_lines = plan_hparams.section(args, found, answer if decision is None else None)
    serving = None
    serving_cost, serving_lines = plan_serving.section(args, device, found, mode, record, drawn)
    snap, snap_lines = plan_shapes.section(args, _law(args) if args.snap_shape else None, k)
    if mode == "inference" and record["inference_flops"] > 0 and serving_cost is None:  # on the training terms
        serving = planning.hardware_estimate(
            record["inference_flops"], device, precision=args.precision, mfu=args.mfu,
            n_accelerators=args.accelerators, power_watts=args.power, pue=args.pue,
            price_per_accelerator_hour=args.price_per_hour)
    if args.json:
        law = None if mode == "shape" else common.law_json(_law(args), getattr(args, "unique_tokens", None))
        common.emit("plan", {"question": mode, "recommendation": None if answer is None else answer.to_dict(),
                         "allocation": _subset(record, _ALLOCATION_KEYS) if mode in ("compute", "target_loss") else None,
                         "flops_model": None if flops is None else {key: float(v) for key, v in flops._asdict().items()},
                         "inference": _subset(record, _INFERENCE_KEYS) if mode == "inference" else None,
                         "data_constrained": _subset(record, _DATA_CONSTRAINED_KEYS)
                         if args.unique_tokens is not None else None,
                         "unique_data": None if answer is None else answer.unique_data,
                         "loss": loss, "loss_from": loss_from, "plan": found.to_dict(), "intervals": intervals,
                         "serving": None if serving is None else serving.to_dict(), "layout": layout,
                         "hyperparameters": hparams,
                         **({} if serving_cost is None else {"serving_cost": serving_cost}),
                         **({} if snap is None else {"snap": snap}),
                         **({} if decision is None else {"decision": decision.to_dict()})}, law)
        if answer is not None:
            common.warn_answer(answer)
        common.warn_decision(decision)
        return 0
    if answer is not None:
        title = _TITLES.get("attention" if flops is not None and mode in ("compute", "target_loss") else mode)
        if title:
            print(title)
        common.print_recommendation(answer)
        print()
        if decision is not None:
            print(decision.summary())
            print(f"the plan below is for the {decision.rule} allocation: N = {n_params:.4g}, D = {n_tokens:.4g}")
            print()
            common.warn_decision(decision)
    else:
        print(f"loss: {loss_from}")
    print(found.summary(intervals=intervals))
    flat = [] if intervals is None else [name for name in planning.DRAW_FIGURES if name not in intervals
                                         and _has_figure(found, name)]
    if flat:
        print(f"  (no interval for {', '.join(name.replace('_', ' ') for name in flat)}: every bootstrap draw gives the "
              "same figure; they follow the compute, which is given)")
    for line in hparams_lines:
        print(line)
    if serving is not None:
        print(_serving_text(serving))
    for line in layout_lines + serving_lines + snap_lines:
        print(line)
    return 0


def _subset(record, keys):
    return {key: record[key] for key in keys}


def _law(args):
    return common.law_from_args(common.data_constrained_default(args))


def _answer(args, mode, flops):
    """The law's answer to the question (``optimal.recommend``): the point, and with a fit record's bootstrap draws
    every figure's interval and extrapolation distances, each draw answering the same question."""
    _law(args)  # checks the law options (and picks the data-constrained preset for --unique-tokens)
    question = {"compute": dict(compute=args.compute), "data_constrained": dict(compute=args.compute),
                "target_loss": dict(target_loss=args.target_loss),
                "params_tokens": dict(n_params=args.params, n_tokens=args.tokens),
                "inference": dict(compute=args.compute, target_loss=args.target_loss,
                                  inference_tokens=args.inference_tokens)}[mode]
    per_token = dict(flops=flops) if flops is not None else dict(flops_per_param_token=args.flops_per_param_token)
    answer = optimal.recommend(common.source_from_args(args), **question, **per_token, max_tokens=args.max_tokens,
                               max_params=args.max_params, group=args.group, unique_tokens=args.unique_tokens)
    bad = [key for key in ("N", "D") if not (math.isfinite(answer.records[0][key]) and answer.records[0][key] > 0)]
    if bad:
        raise OptimalError(f"the {mode.replace('_', '-')} allocation found no finite {' and '.join(bad)} for these "
                           "inputs (is the budget enough to serve the inference tokens?)")
    return answer


def _has_figure(found, name):
    return not (name == "wall_clock_days" and found.hardware.wall_clock_days is None
                or name == "energy_kwh" and found.hardware.energy_kwh is None)


def _intervals(answer, found):
    """With bootstrap draws: the plan's figures of every draw (its N and training FLOPs through the plan's own
    assumptions and formulas, ``planning.draw_intervals``), as percentile intervals. A figure every draw gives
    alike (hours at a given compute) has no interval: it is not printed as one of zero width."""
    if answer.per_draw is None or "N" not in answer.per_draw:  # a given run: the draws move only its loss
        return None
    n, compute = answer.per_draw["N"][:, 0], answer.per_draw["compute"][:, 0]
    found_intervals = planning.draw_intervals(found, n, compute, answer.confidence)
    per_draw = planning.figures_of_draws(found, n, compute)
    out = {"confidence": found_intervals.pop("confidence")}
    for name, bounds in found_intervals.items():
        values = per_draw[name]
        finite = values[np.isfinite(values)]
        if finite.size < values.size or np.ptp(finite) > 1e-9 * np.max(np.abs(finite)):
            out[name] = bounds
    return out


def _flops_model(args, k, shape, counts):
    """With --context, training FLOPs per token with Kaplan et al.'s attention term (``optimal.FlopsPerToken``):
    ``k (N_active + n_ctx n_layer d_model)``, for the given shape, or for a shape that keeps --aspect-ratio as N
    varies (N ~= 12 n_layer d_model^2); None without --context (k N per token)."""
    if args.context is None:
        return None
    if shape is not None:
        return optimal.FlopsPerToken.attention(args.context, n_layer=shape.n_layer, d_model=shape.d_model,
                                               active_fraction=counts.active / counts.total, training_per_param=k)
    return common.flops_model_from_args(args, k)


@float64_scope
def _per_token(flops, n_params):
    """Training FLOPs per token of ``flops`` at N = ``n_params`` (in float64), or None without a model."""
    return None if flops is None else float(np.asarray(flops.training(np.float64(n_params))))


def _serving_text(serving):
    a = serving.assumptions
    days = "" if serving.wall_clock_days is None else f", {serving.wall_clock_days:.4g} days on {serving.n_accelerators}"
    energy = "energy n/a (no power)" if serving.energy_kwh is None else f"{energy_text(serving.energy_kwh)}"
    return (f"  serving          {serving.compute:.4g} inference FLOPs: {serving.accelerator_hours:.4g} accelerator-hours"
            f"{days}, {energy}, cost {serving.cost:.4g}, under the same assumptions (MFU {serving.mfu:g} "
            f"[{origin_text(a['mfu'])}]; serving often runs at a lower MFU than training)")
