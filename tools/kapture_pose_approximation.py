"""Approximate the pose of query images from the poses of their most similar map images (global features).

Sub-commands choose the weights: equal_weighted_barycenter, cosine_similarity (--alpha),
barycentric_descriptor_interpolation.
"""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.pose_approximation import approximate_poses
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def add_methods(parser: argparse.ArgumentParser, descriptor_interpolation: bool) -> None:
    """kapture-localization's sub-commands, one per weighting."""
    methods = parser.add_subparsers(dest="method", required=True, help="how map poses are weighted")
    if descriptor_interpolation:
        methods.add_parser("barycentric_descriptor_interpolation",
                           help="affine weights reproducing the query's global feature")
    cosine = methods.add_parser("cosine_similarity", help="weights: similarity ** alpha")
    cosine.add_argument("--alpha", type=float, default=8.0, help="exponent of the similarity (default: 8)")
    methods.add_parser("equal_weighted_barycenter", help="equal weights")


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_pose_approximation", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("--mapping", required=True, help="map kapture dataset (poses, global features)")
    parser.add_argument("--query", required=True, help="query kapture dataset (global features)")
    flags.add_output(parser, what="kapture dataset to write the query poses to")
    flags.add_global_features_type(parser)
    parser.add_argument("--topk", type=int, default=20, help="number of map images per query (default: 20)")
    add_methods(parser, descriptor_interpolation=True)
    return parser


def action(args: argparse.Namespace) -> None:
    approximate_poses(args.mapping, args.query, args.output, args.method, args.topk, getattr(args, "alpha", 8.0),
                      global_features_type=args.global_features_type, force=args.force)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
