"""``optimal plot --fit FIT.json --kind KIND --out FILE``: a figure of a saved fit or a preset law
(``optimal.plot.figure_from_record``)."""

import argparse

import optimal

from . import common

EPILOG = """\
kinds: surface (the loss over N and D with the compute-optimal frontier), fit (the runs against the fitted law),
bootstrap (the record's bootstrap draws; save the fit with --bootstrap B), frontier (N*(C) and D*(C) beside the
published laws), profile (the fit's objective with each parameter held on a grid: identifiability). --compute marks
those budgets (default: Chinchilla's 5.76e23 FLOPs). A record of a joint fit (fit --by COL --shared ...) holds one
law per group: --group LABEL plots that group's law and draws. k in C = k N D (--flops-per-param-token) sets where N
and D become compute: the frontier, the surface's iso-compute lines and the draws' D*/N* at the budgets.

examples:
  optimal plot --fit fit.json --kind fit --out fit.png
  optimal plot --preset hoffmann2022 --kind frontier --compute 1e22 1e24 --out frontier.pdf
  optimal plot --fit joint.json --group web --kind frontier --out web.png
"""


def add_parser(commands):
    """Register ``optimal plot`` on ``commands`` (the subparsers of ``optimal``)."""
    plot = commands.add_parser("plot", help="figures: loss surface, data vs fit, bootstrap draws, frontier",
                               formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    common.add_fit_option(plot, positional_alias=True)
    # the kinds are spelled out here so that the CLI does not import matplotlib unless it plots
    plot.add_argument("--kind", required=True, choices=("surface", "fit", "bootstrap", "frontier", "profile"))
    plot.add_argument("--preset", type=common.name, help="plot a published law (surface, frontier) instead of a fit")
    common.add_compute_option(plot, help="budgets (FLOPs) to mark (default 5.76e23, Chinchilla's)")
    common.add_group_option(plot, "the group whose law and draws to plot")
    common.add_k_option(plot, record=True)
    plot.add_argument("--out", required=True, metavar="FILE.png", type=common.name,
                      help="output file (.png, .pdf, .svg)")
    plot.add_argument("--dpi", type=int, default=150, help="resolution of png/jpg output, 10 to 2000 (default 150)")
    plot.set_defaults(run=run)
    return plot


def run(args):
    from optimal import plot  # loads matplotlib only for this command

    plot.check_output(args.out, args.dpi)  # before drawing
    if args.kind == "profile":
        figure = plot.profile_figure(optimal.load_record(args.fit).fit)
    else:
        figure = plot.figure_from_record(args.fit, args.kind, preset=args.preset, compute=args.compute,
                                         group=args.group, flops_per_param_token=args.flops_per_param_token)
    common.wrote(plot.save_figure(figure, args.out, dpi=args.dpi))
    return 0
