"""Approximate the pose of query images from the poses of the map images a pairs file gives them.

Sub-commands choose the weights: equal_weighted_barycenter, cosine_similarity (--alpha, on the scores).
"""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.pose_approximation import approximate_poses
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run
from kapturelike.tools.kapture_pose_approximation import add_methods


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_pose_approximation_from_pairsfile", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("--mapping", required=True, help="map kapture dataset (poses)")
    flags.add_output(parser, what="kapture dataset to write the query poses to")
    parser.add_argument("--query", default=None, help="query kapture dataset (sensors and records of the output)")
    flags.add_pairsfile_path(parser)
    parser.add_argument("--topk", type=int, default=None, help="map images per query (default: all of the file)")
    flags.add_force(parser)
    add_methods(parser, descriptor_interpolation=False)
    return parser


def action(args: argparse.Namespace) -> None:
    approximate_poses(args.mapping, args.query, args.output, args.method, args.topk, getattr(args, "alpha", 8.0),
                      pairsfile=args.pairsfile_path, force=args.force)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
