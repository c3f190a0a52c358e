"""``optimal solve``: N*, D* and the loss for compute budgets, or the least compute that reaches a target loss
(``optimal.recommend``), from a preset, a coefficients file or a saved fit."""

import argparse

import numpy as np

import optimal
from optimal.errors import OptimalError

from . import common

EPILOG = """\
JSON (--json): one object, "schema": "optimal.solve/1", "law": {"family", "params"} (the law's coefficients; a
file written from it reads back with --coefficients), and optimal.recommend's answer: "source",
"flops_per_param_token" and "flops_per_param_token_from", "max_tokens", "max_params", "fitted_range",
"bootstrap", "question", "flops_model" (with --context), "unique_data" (a data-constrained law's unique
tokens, null when unlimited, and the assumption in words), "allocations" (one object per budget or target loss:
"compute", "N", "D", "loss", "tokens_per_param", "converged", "bound", "fit_converged", "extrapolation", and with
bootstrap draws
"intervals", "extrapolation_intervals" and "draws", each draw answering the same question), "warnings", "notes",
"status"; with --decide, "decision": optimal.decide's answer
("status", "rule", "confidence", "n_draws", "flops_per_param_token", "flops_model", "tokens_per_param_rule",
"budgets": one object per budget with "compute", "converged" and "allocations": "plug-in", "chosen",
"rule-of-thumb", each with "N", "D", "tokens_per_param", "expected_loss", "loss_gap_nats" and "deadweight":
{"median", "mean", "lo", "hi"}, a share of the budget; "warnings", "notes").

examples:
  optimal solve --compute 5.76e23
  optimal solve --compute 1e22 1e23 1e24 --preset hoffmann2022 --json
  optimal solve --target-loss 2.0 --fit fit.json
  optimal solve --compute 1e22 --fit fit.json --decide expected-loss   (a fit saved with --bootstrap)
"""


def add_parser(commands):
    """Register ``optimal solve`` on ``commands`` (the subparsers of ``optimal``)."""
    solve = commands.add_parser("solve", help="N*, D* and loss for compute budgets (or for a target loss)",
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    common.add_compute_option(solve, help="training compute budgets in FLOPs")
    solve.add_argument("--target-loss", type=common.number, nargs="+", metavar="L", help="loss to reach (nats)")
    common.add_law_options(solve)
    common.add_group_option(solve)
    common.add_k_option(solve, record=True)
    solve.add_argument("--max-tokens", type=common.number, metavar="D", help="cap on training tokens (unique data)")
    solve.add_argument("--max-params", type=common.number, metavar="N", help="cap on model parameters")
    common.add_decide_option(solve)
    common.add_flops_model_options(solve)
    common.add_unique_tokens_option(solve)
    common.add_json_option(solve, "solve", "the law's coefficients and one allocation per budget: below")
    solve.set_defaults(run=run)
    return solve


def run(args):
    if (args.compute is None) == (args.target_loss is None):
        raise OptimalError("give either --compute or --target-loss")
    if args.decide is not None:
        common.check_decide(args)
    source = common.source_from_args(common.data_constrained_default(args))
    flops = common.flops_model_from_args(args, common.k_or_default(args))
    answer = optimal.recommend(
        source, None if args.compute is None else np.asarray(args.compute),
        target_loss=None if args.target_loss is None else np.asarray(args.target_loss),
        flops_per_param_token=None if args.context is not None else args.flops_per_param_token,
        flops=flops, max_tokens=args.max_tokens,
        max_params=args.max_params, group=args.group, unique_tokens=args.unique_tokens)
    decision = None if args.decide is None else common.decide_from_args(args, answer.point.compute, flops,
                                                                        answer.flops_per_param_token)
    if args.json:
        output = answer.to_dict() if decision is None else answer.to_dict() | {"decision": decision.to_dict()}
        common.emit("solve", output, common.law_json(common.law_from_args(args), args.unique_tokens))
        common.warn_answer(answer)
        common.warn_decision(decision)
        return 0
    common.print_recommendation(answer)
    if decision is not None:
        print()
        print(decision.summary())
        common.warn_decision(decision)
    return 0
