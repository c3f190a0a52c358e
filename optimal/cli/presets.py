"""``optimal presets``: the published laws with their units, fitted ranges and sources, each checked against the
paper's own outputs; with ``--compare --compute C`` their answers side by side (``optimal.analysis.presets``)."""

import argparse

from optimal.analysis.presets import check_presets, compare_presets
from optimal.errors import BudgetError
from optimal.laws.presets import PRESETS, REGISTRY
from optimal.planning.hparams import HPARAM_PRESETS
from optimal.cli import common
from optimal.cli.common import warn

EPILOG = """
Every preset carries its kind ("loss": a loss law L(N, D), usable as --preset NAME; "allocation": only power
laws for the optimum, no loss; "moe": a mixture-of-experts law, planned with optimal plan --moe-law NAME), its units (N total or non-embedding parameters, or M the non-embedding FLOPs per token; C = k N D or
C = M D), the runs it was fitted on, where each number is printed, and the paper's own outputs as test vectors.
--check recomputes every vector with this project's allocators ("vectors 4/4": all within the printed rounding;
exit status 1 when one is not). A vector the paper's printed constants are known not to reproduce (a rounding
that breaks the paper's example) is checked against the stated shortfall and named in the preset's notes.

--compare --compute C [C ...]: every preset's N*, D*, tokens per parameter and loss (where it has a loss law) at
each budget (mixtures of experts left out: their optimum depends on the layout), in the preset's own convention and converted to this project's (N total parameters, C = 6 N D);
the conversion used is printed for each preset.

JSON (--json): {"schema": "optimal.presets/1", "mode": "list", "preset_option" (the names --preset accepts),
"presets": [{"name", "kind", "law"
({"form", coefficients} or null), "allocation" ({"model_coef", "model_exp", "tokens_coef", "tokens_exp"} or
null), "units": {"params", "compute", "k"}, "fitted_range": {"N", "D", "C" ([min, max] or null), "source"},
"source": {"paper", "where", "url"}, "notes", "vectors": [{"quantity", "inputs", "expected", "rel_tol",
"printed", "reproduces", "expected_ratio"} (with --check also "computed", "rel_error", "ok")]}], "hparam_presets"
(the hyperparameter laws of optimal hparams: [{"name", "title", "source", "learning_rate", "batch_size_tokens",
"convention", "fitted_range", "setting"}]), and with --check
"status", "warnings", "notes" of the check; with
--compare: {"schema", "mode": "compare", "status", "compute", "convention", "answers": [{"preset", "kind",
"compute", "own": {"N", "D", "tokens_per_param", "loss", "N_unit"}, "converted": {"N", "D",
"tokens_per_param"}, "conversion", "compute_decades_outside", "converged"}], "warnings", "notes"}.

examples:
  optimal presets
  optimal presets --check
  optimal presets --json
  optimal presets --compare --compute 5.76e23 3.8e25
"""


def add_parser(commands):
    """Register ``optimal presets`` on the subcommands ``commands``."""
    parser = commands.add_parser(
        "presets", help="the published laws: units, fitted ranges, sources, checked against the papers; --compare",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    parser.add_argument("--check", action="store_true",
                        help="recompute every paper's own outputs (test vectors) from its preset; exit 1 if one fails")
    parser.add_argument("--compare", action="store_true",
                        help="every preset's answer at --compute, own convention and this project's side by side")
    common.add_compute_option(parser, help="training compute budgets in FLOPs (with --compare)")
    common.add_json_option(parser, "presets")
    parser.set_defaults(run=run)


def _fmt_range(pair):
    if pair is None:
        return "not printed"
    return " to ".join("?" if x is None else f"{x:.3g}" for x in pair)


def _listing(check):
    lines = [f"--preset accepts the loss laws {', '.join(PRESETS)}; the mixtures of experts plan with "
             "'optimal plan --moe-law NAME'; allocation-only laws are read with --compare", ""]
    for name, record in REGISTRY.items():
        total = len(record.vectors)
        if check is not None:
            passed, total = check.passed(name)
        u = record.units
        counted = {"total": "N total parameters", "non-embedding": "N non-embedding parameters",
                   "active": "N active parameters", "M": "M non-embedding FLOPs per token"}[u.params]
        if record.kind == "moe" and u.params == "non-embedding":
            counted += " (every expert)"
        compute = u.compute.replace("k", f"{u.k:g}") if u.k is not None else u.compute
        vectors = ("no vectors" if not total else f"{total} vectors (--check recomputes them)" if check is None
                   else f"vectors {passed}/{total} within the printed rounding")
        lines += [f"{name}  [{record.kind}]  {vectors}",
                  f"  units: {counted}; {compute}",
                  f"  fitted: N {_fmt_range(record.fitted_range.N)}; D {_fmt_range(record.fitted_range.D)}; "
                  f"C {_fmt_range(record.fitted_range.C)} FLOPs",
                  f"  source: {record.source.paper}",
                  f"          {record.source.where}"]
        lines += [f"  note: {n}" for n in record.notes]
    lines += ["", "hyperparameter laws (learning rate and batch size; optimal hparams, optimal plan --hparams NAME), "
                  "not loss laws: their names are their own"]
    for name, law in HPARAM_PRESETS.items():
        fitted = "; ".join(f"{k} {_fmt_range(v)}" for k, v in law.fitted_range.items())
        lines += [f"{name}  [hyperparameters]", f"  units: {law.convention}", f"  fitted: {fitted}",
                  f"  source: {law.source}"]
    return "\n".join(lines)


def run(args):
    if args.compare:
        if not args.compute:
            raise BudgetError("--compare needs --compute C [C ...] (training budgets in FLOPs)")
        answer = compare_presets(args.compute)
        for w in answer.warnings:
            warn(w.message)
        if args.json:
            common.emit("presets", {"mode": "compare", **answer.to_dict()})
        else:
            print(answer.summary())
        return 0
    if args.compute:
        raise BudgetError("--compute is for --compare: add --compare, or drop --compute to list the presets")
    check = check_presets() if args.check else None
    for w in () if check is None else check.warnings:
        warn(w.message)
    if args.json:
        presets = [record.to_dict() for record in REGISTRY.values()]
        output = {"mode": "list", "preset_option": list(PRESETS), "presets": presets,
                  "hparam_presets": [law.to_dict() for law in HPARAM_PRESETS.values()]}
        if check is not None:
            rows = iter(check.rows)  # check_presets walks REGISTRY in order, vector by vector
            for entry in presets:
                entry["vectors"] = [v | {k: r[k] for k in ("computed", "rel_error", "ok")}
                                    for v, r in zip(entry["vectors"], rows)]
            output |= {"status": check.status.label, "warnings": [w.to_dict() for w in check.warnings],
                       "notes": [n.to_dict() for n in check.notes]}
        common.emit("presets", output)
    else:
        print(_listing(check))
    return 0 if check is None or check.ok else 1
