"""kapture_image_retrieval_late_fusion: pairs file of the late fusion of several global feature types."""

from __future__ import annotations

import argparse
import logging

from kapturelike.retrieval.fusion import FusionMethod, FusionOptions, image_retrieval_late_fusion_files
from kapturelike.tools.cli import make_parser, run
from kapturelike.tools.kapture_compute_image_pairs import add_kapture_arguments

# kapture-localization's names of the operators that kapturelike names differently
METHOD_ALIASES = {"maximum": "max", "minimum": "min", "harmonic_mean": "harmonic",
                  "generalized_harmonic_mean": "generalized_harmonic"}


def add_fusion_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--method", default=default,
                        choices=[m.value for m in FusionMethod] + sorted(METHOD_ALIASES),
                        help=f"fusion operator (default: {default})")
    parser.add_argument("--weights", type=float, nargs="+",
                        help="one weight per input (mean, power and harmonic families; default: equal)")
    parser.add_argument("--gamma", type=float, default=0.5,
                        help="mean_and_power / mean_and_min: share of the mean; generalized_harmonic: offset")
    parser.add_argument("--alpha", type=float, default=0.5, help="villena_roman: share of the min^2/(max+min) term")
    parser.add_argument("--min-weight", type=float, default=0.5, help="min_and_max: weight of the min")
    parser.add_argument("--max-weight", type=float, default=0.5, help="min_and_max: weight of the max")


def fusion_options(args: argparse.Namespace, count: int) -> FusionOptions:
    """FusionOptions of the parsed arguments; ``count`` inputs are fused (one weight each)."""
    if args.weights is not None and len(args.weights) != count:
        raise ValueError(f"--weights: {len(args.weights)} weights given for {count} inputs")
    return FusionOptions(method=METHOD_ALIASES.get(args.method, args.method), weights=args.weights,
                         gamma=args.gamma, alpha=args.alpha, min_weight=args.min_weight,
                         max_weight=args.max_weight)


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_image_retrieval_late_fusion", description=__doc__)
    add_kapture_arguments(parser)
    parser.add_argument("-gfeat", "--global-features-type", dest="global_types", nargs="+", required=True,
                        metavar="TYPE", help="global feature types to fuse")
    parser.add_argument("--topk", type=int, default=20, help="map images kept per query (default: 20)")
    add_fusion_arguments(parser, "generalized_harmonic")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def action(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    if args.topk < 1:
        raise ValueError(f"--topk must be >= 1, got {args.topk}")
    pairs = image_retrieval_late_fusion_files(args.mapping, args.query, args.global_types, args.output, args.topk,
                                              fusion_options(args, len(args.global_types)))
    print(f"{len(pairs)} pairs written to {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
