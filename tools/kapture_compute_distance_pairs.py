"""kapture_compute_distance_pairs: pairs of posed images close in position and viewing direction."""

from __future__ import annotations

import argparse

from kapturelike.pipelines.pairs_files import distance_pairs_file
from kapturelike.retrieval.pose_pairs import DistancePairsOptions
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run
from kapturelike.tools.kapture_compute_image_pairs import add_kapture_arguments


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_compute_distance_pairs", description=__doc__)
    flags.add_verbosity(parser)
    add_kapture_arguments(parser)
    rejected = parser.add_mutually_exclusive_group()  # as kapture-localization: one or the other
    rejected.add_argument("--keep-rejected", action="store_true",
                          help="also keep the pairs outside the limits (they score lowest; --topk still applies)")
    parser.add_argument("--block-size", type=int, default=1000, help="query images processed at once (default: 1000)")
    defaults = DistancePairsOptions()
    parser.add_argument("--max-distance", type=float, default=defaults.max_distance,
                        help=f"largest distance between camera centres (default: {defaults.max_distance})")
    rejected.add_argument("--min-distance", type=float, default=defaults.min_distance,
                          help=f"smallest distance between camera centres (default: {defaults.min_distance})")
    parser.add_argument("--max-angle", type=float, default=defaults.max_angle,
                        help=f"largest angle in degrees between viewing directions (default: {defaults.max_angle})")
    parser.add_argument("--topk", type=int, help="best pairs kept per image (default: all within the limits)")
    return parser


def action(args: argparse.Namespace) -> int:
    options = DistancePairsOptions(max_distance=args.max_distance, min_distance=args.min_distance,
                                   max_angle=args.max_angle, topk=args.topk, query_block=args.block_size,
                                   keep_rejected=args.keep_rejected)
    pairs = distance_pairs_file(args.mapping, args.query, args.output, options)
    print(f"{len(pairs)} pairs written to {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
