"""``optimal audit RUNS.csv``: the FLOP-accounting audit: each run's training FLOPs counted from its shape, and how far
N*(C), the tokens per parameter and the exponent move between C = 6ND and those exact FLOPs
(``optimal.analysis.flop_audit``)."""

import argparse

from optimal.analysis.flop_audit import MASKS, SHAPE_COLUMNS, flop_audit, read_shaped_runs
from optimal.errors import OptimalError, check_confidence, check_count
from optimal.fitting.bootstrap import MAX_RESAMPLES, MAX_SEED
from optimal.cli import common
from optimal.cli.common import add_column_options, assignment, named_once, number

EPILOG = f"""
Each run's shape is read from columns: n_layer, d_model, n_heads, vocab_size and context (tokens per training
sequence) are required; n_kv_heads, d_head, d_ff, n_experts, experts_per_token and gated_ffn (0/1) are read when
present. --shape-col FIELD=COLUMN renames one ({', '.join(SHAPE_COLUMNS)}). --config-col COLUMN reads each run's
shape from the Hugging Face config.json its cell names instead (a path relative to the CSV's folder; llama, mistral,
qwen2, mixtral: docs/shapes.md); the context column is still read.

The count (per token, forward; training = 3 x forward): 2 FLOPs per weight of every linear layer of the blocks (the
active experts only), the output layer (2 vocab d_model), the attention scores and values (with --mask causal, the
default, 2 n_layer context n_heads d_head: the half of the s^2 products the causal mask keeps; --mask full counts
all), embeddings 0 (lookups). The law is fitted once (the fit takes N and D); N*(C) is then found on C = 6ND and on
C = M(N) D, M the runs' exact FLOPs per token modelled near each budget's N*.

JSON (--json): {{"schema": "optimal.audit/1", "law": {{"family", "params"}}, "status", "ok", "mask", "n_runs",
"ratio": {{"min", "median", "max"}} (exact / 6ND per run), "per_run_ratio", "flops_models", "flops_model_miss",
"compute", "six_nd": {{"N", "D", "tokens_per_param", "exponent"}}, "exact": (the same), "N_shift" (exact N* / 6ND N*,
per budget), "intervals": {{"N_shift", "tokens_per_param_6nd", "tokens_per_param_exact", "exponent_shift"}} (each a
list of {{"lo", "hi", "se"}} per budget; empty without --bootstrap), "confidence", "n_resamples", "n_failed_draws",
"warnings", "notes"}}.

examples:
  optimal audit runs_with_shapes.csv --compute 1e21 1e23
  optimal audit runs_with_shapes.csv --compute 1e22 --bootstrap 200 --seed 1 --json
"""


def add_parser(commands):
    """Register ``optimal audit`` on the subcommands ``commands``."""
    parser = commands.add_parser(
        "audit", help="FLOP-accounting audit: exact FLOPs from each run's shape against C = 6ND",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    parser.add_argument("runs", metavar="RUNS.csv", type=common.name, help="runs with their shapes, one per row")
    common.add_compute_option(parser, help="budgets in FLOPs (default: the largest run's exact training FLOPs)")
    parser.add_argument("--mask", choices=MASKS, default="causal",
                        help="attention FLOPs: causal (default; the half the mask keeps) or full (all s^2 products)")
    parser.add_argument("--shape-col", type=assignment("FIELD=COLUMN"), action="extend", nargs="+",
                        metavar="FIELD=COLUMN", help="the column of a shape field (default: the field's name)")
    parser.add_argument("--config-col", metavar="COLUMN",
                        help="a column naming each run's Hugging Face config.json (relative to the CSV's folder): "
                             "the shape from the file instead of the shape columns")
    add_column_options(parser)
    parser.add_argument("--where", action="append", metavar="EXPR", help="audit only the rows where EXPR holds")
    parser.add_argument("--bootstrap", type=int, default=0, metavar="B",
                        help="bootstrap resamples for intervals (default 0: none)")
    parser.add_argument("--seed", type=int, default=0, help=f"bootstrap seed, 0 to {MAX_SEED} (default 0)")
    parser.add_argument("--confidence", type=number, default=0.95, help="interval level (default 0.95)")
    common.add_json_option(parser, "audit")
    parser.set_defaults(run=run)


def run(args):
    if args.flops_col:
        raise OptimalError("--flops-col: the audit reads D (tokens) and counts the FLOPs itself; give --tokens-col")
    if args.bootstrap:
        check_count(args.bootstrap, "--bootstrap", 2, MAX_RESAMPLES)
    check_count(args.seed, "--seed", 0, MAX_SEED)
    check_confidence(args.confidence)
    common.check_filters("--where", args.where)
    runs, shapes, contexts = read_shaped_runs(
        args.runs, shape_cols=named_once(args.shape_col, "--shape-col"), config_col=args.config_col, params_col=args.params_col,
        tokens_col=args.tokens_col, loss_col=args.loss_col, weight_col=args.weight_col, where=args.where)
    audit = flop_audit(runs, shapes, contexts, compute=args.compute, mask=args.mask, n_resamples=args.bootstrap,
                       seed=args.seed, confidence=args.confidence)
    if args.json:
        common.emit("audit", audit.to_dict(), law=common.law_json(audit.fit.law))
    else:
        lines = audit.summary().splitlines()
        print("\n".join(line for line in lines if not line.startswith("warning: ")))
    for warning in audit.warnings:
        common.warn(warning)
    return 0
