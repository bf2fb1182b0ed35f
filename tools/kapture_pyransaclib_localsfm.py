"""Localize each query image against a local model (kapture-localization's kapture_pyransaclib_localsfm): as
kapture_pycolmap_localsfm, with pycolmap's P3P LO-RANSAC in place of pyransaclib (not available here);
--inlier-threshold is the threshold in pixels of the triangulation and of the pose RANSAC; --number-lo-steps
local-optimisation steps follow RANSAC (RansacLib's meaning, on pycolmap's refinement); --refine-poses refines
each pose non-linearly on its inliers; --max-number-of-threads images are localized at once (default: one per
core); --write-detailed-report writes OUTPUT/pyransaclib_cache/<image>.json."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.localsfm import pycolmap_localsfm
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_pyransaclib_localsfm", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_localizer_io(parser)
    flags.add_pyransaclib_ransac(parser)
    parser.add_argument("--keypoints-type", help="keypoints type")
    parser.add_argument("--write-detailed-report", action="store_true", help="write a report per query")
    flags.add_threads(parser)
    return parser


def action(args: argparse.Namespace) -> None:
    options = flags.pyransaclib_ransac_options(args, "kapture_pyransaclib_localsfm")
    found = pycolmap_localsfm(args.input, args.query, args.output, args.pairsfile_path, options, args.keypoints_type,
                              args.max_num_iterations, args.force,
                              "pyransaclib_cache" if args.write_detailed_report else None, args.max_number_of_threads)
    print(f"{len(found)} query image(s) localized -> {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
