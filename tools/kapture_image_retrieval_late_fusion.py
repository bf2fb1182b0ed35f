"""kapture_image_retrieval_late_fusion: pairs file of the late fusion of several global feature types.

As in kapture-localization, the fusion operator is a sub-command (mean, power, maximum, minimum,
mean_and_power, min_and_max, mean_and_min, harmonic_mean, generalized_harmonic_mean, villena_roman,
round_robin) with its own options; --method selects it too (kapturelike).
"""

from __future__ import annotations

import argparse

from kapturelike.pipelines.pairs_files import image_pairs_file
from kapturelike.retrieval.fusion import FusionMethod, FusionOptions
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run

# kapture-localization's names of the operators that kapturelike names differently
METHOD_ALIASES = {"maximum": "max", "minimum": "min", "harmonic_mean": "harmonic",
                  "generalized_harmonic_mean": "generalized_harmonic"}
# each sub-command's options: kapture-localization's
SUBCOMMAND_OPTIONS = {"generalized_harmonic_mean": ("weights", "gamma"), "harmonic_mean": ("weights",),
                      "maximum": (), "mean": ("weights",), "mean_and_min": ("weights", "gamma"),
                      "mean_and_power": ("weights", "gamma"), "min_and_max": ("min_weight", "max_weight"),
                      "minimum": (), "power": ("weights",), "round_robin": (), "villena_roman": ("alpha",)}
OPTION_HELP = {"weights": "one weight per input (default: equal)",
               "gamma": "mean_and_power / mean_and_min: share of the mean; generalized_harmonic: offset",
               "alpha": "share of the min^2/(max+min) term", "min_weight": "weight of the min",
               "max_weight": "weight of the max"}


def _add_option(parser: argparse.ArgumentParser, name: str, dest: str) -> None:
    flag = "--" + name.replace("_", "-")
    if name == "weights":
        parser.add_argument(flag, dest=dest, type=float, nargs="+", default=[], help=OPTION_HELP[name])
    else:
        parser.add_argument(flag, dest=dest, type=float, default=0.5, help=OPTION_HELP[name])


def add_fusion_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    """--method and its options (kapturelike), and kapture-localization's sub-commands (optional here)."""
    parser.add_argument("--method", default=default, choices=[m.value for m in FusionMethod] + sorted(METHOD_ALIASES),
                        help=f"fusion operator (default: {default}; a sub-command overrides it)")
    for name in OPTION_HELP:  # the top-level spelling keeps its own dest: sub-command defaults never override it
        _add_option(parser, name, f"method_{name}")
    methods = parser.add_subparsers(dest="subcommand", metavar="METHOD", help="fusion operator (kapture-localization)")
    for command, options in SUBCOMMAND_OPTIONS.items():
        sub = methods.add_parser(command, help=f"fusion by {command.replace('_', ' ')}")
        for name in options:
            _add_option(sub, name, name)


def fusion_options(args: argparse.Namespace, count: int) -> FusionOptions:
    """FusionOptions of the parsed arguments; ``count`` inputs are fused (one weight each)."""
    method = args.subcommand or args.method

    def value(name: str):
        return getattr(args, name) if args.subcommand and hasattr(args, name) else getattr(args, f"method_{name}")

    weights = value("weights") or None
    if weights is not None and len(weights) != count:
        raise ValueError(f"--weights: {len(weights)} weights given for {count} inputs")
    return FusionOptions(method=METHOD_ALIASES.get(method, method), weights=weights, gamma=value("gamma"),
                         alpha=value("alpha"), min_weight=value("min_weight"), max_weight=value("max_weight"))


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_image_retrieval_late_fusion", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-i", "--input", "--mapping", dest="input", required=True,
                        help="kapture dataset of the map images")
    parser.add_argument("--query", default=None, help="kapture dataset of the query images (default: the map)")
    parser.add_argument("-gfeat", "--global_features_types", "--global-features-type", dest="global_features_types",
                        nargs="+", default=[], metavar="TYPE", help="global feature types to fuse")
    flags.add_output(parser, what="pairs file to write ('query, map, score' lines)")
    parser.add_argument("--topk", type=int, default=None, help="map images kept per query (default: 20)")
    add_fusion_arguments(parser, "generalized_harmonic")
    return parser


def action(args: argparse.Namespace) -> int:
    topk = 20 if args.topk is None else args.topk
    if topk < 1:
        raise ValueError(f"--topk must be >= 1, got {topk}")
    if not args.global_features_types:
        raise ValueError("give the global feature types to fuse (-gfeat TYPE TYPE...)")
    types = args.global_features_types
    pairs = image_pairs_file(args.input, args.query, types, args.output, topk,
                                              fusion_options(args, len(types)))
    print(f"{len(pairs)} pairs written to {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
