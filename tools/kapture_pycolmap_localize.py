"""Localize query images with pycolmap's absolute pose estimation (kapture-localization's
kapture_pycolmap_localize): -i is a dataset holding the map (points3d, observations), the keypoints
of map and query images and their matches; --query gives the images to localize; -o gets them with
their poses. --rerank-strategy and --write-detailed-report are accepted and not applied."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.pycolmap_localize import kapture_options, pycolmap_localize
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, note_ignored, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_pycolmap_localize", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="dataset with the map, keypoints and matches")
    parser.add_argument("--query", required=True, help="kapture dataset of the images to localize")
    parser.add_argument("-o", "--output", required=True, help="kapture dataset to write the poses to")
    flags.add_pairsfile_path(parser, required=True)
    parser.add_argument("--max-error", type=float, default=8.0, help="RANSAC inlier threshold in pixels")
    parser.add_argument("--min-inlier-ratio", type=float, default=0.01, help="smallest inlier ratio")
    parser.add_argument("--min-num-iterations", type=int, default=1000, help="fewest RANSAC iterations")
    parser.add_argument("--max-num-iterations", type=int, default=100000, help="most RANSAC iterations")
    parser.add_argument("--confidence", type=float, default=0.9999, help="RANSAC confidence")
    parser.add_argument("--keypoints-type", help="keypoints type")
    parser.add_argument(
        "--duplicate-strategy",
        choices=["keep", "ignore_strict", "ignore", "ignore_same_kpid", "ignore_same_p3did"],
        default="ignore",
        help="what to do with duplicate 2D-3D correspondences",
    )
    parser.add_argument(
        "--rerank-strategy",
        choices=["none", "matches_count", "correspondences_count"],
        default="none",
        help="how to re-rank the map images",
    )
    parser.add_argument("--write-detailed-report", action="store_true", help="write a report per query")
    return parser


def action(args: argparse.Namespace) -> None:
    note_ignored(build_parser(), args, ["rerank_strategy", "write_detailed_report"])
    options = kapture_options(args.max_error, args.min_inlier_ratio, args.min_num_iterations, args.max_num_iterations,
                              args.confidence)
    found = pycolmap_localize(args.input, args.query, args.output, args.pairsfile_path, options, args.keypoints_type,
                              args.duplicate_strategy, args.force)
    print(f"{len(found)} query image(s) localized -> {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
