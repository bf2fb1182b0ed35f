"""Localize query images from 2D-3D correspondences (kapture-localization's kapture_pyransaclib_localize): the
same job as kapture_pycolmap_localize, with pycolmap's P3P LO-RANSAC in place of pyransaclib (not available
here); -i holds the map (points3d, observations), the keypoints of map and query images and their matches,
--query the images to localize, -o gets them with their poses. --inlier-threshold is the RANSAC threshold in
pixels; --number-lo-steps local-optimisation steps follow RANSAC (RansacLib's meaning, on pycolmap's
refinement); --refine-poses refines each pose non-linearly on its inliers; --write-detailed-report writes
OUTPUT/pyransaclib_cache/<image>.json."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.pycolmap_localize import pycolmap_localize
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_pyransaclib_localize", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_localizer_io(parser)
    flags.add_pyransaclib_ransac(parser)
    parser.add_argument("--keypoints-type", help="keypoints type")
    flags.add_correspondence_strategies(parser)
    parser.add_argument("--write-detailed-report", action="store_true", help="write a report per query")
    return parser


def action(args: argparse.Namespace) -> None:
    options = flags.pyransaclib_ransac_options(args, "kapture_pyransaclib_localize")
    found = pycolmap_localize(args.input, args.query, args.output, args.pairsfile_path, options, args.keypoints_type,
                              args.duplicate_strategy, args.force, args.rerank_strategy, args.write_detailed_report,
                              "pyransaclib_cache")
    print(f"{len(found)} query image(s) localized -> {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
