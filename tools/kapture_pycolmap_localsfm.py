"""Localize each query image against a local model (kapture-localization's kapture_pycolmap_localsfm): the query
keypoints matched to two or more posed map images of its pairs are triangulated from those map keypoints (known
poses, pycolmap's LO-RANSAC with --max-error pixels), then the query pose comes from pycolmap's absolute pose
estimation. -i holds the map images (posed) and queries with their keypoints and query-map matches; --query the
images to localize; -o gets them with their poses. --write-detailed-report writes OUTPUT/pycolmap_cache/<image>.json;
--max-number-of-threads images are localized at once (default: one per core)."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.localsfm import pycolmap_localsfm
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_pycolmap_localsfm", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_localizer_io(parser)
    flags.add_pycolmap_ransac(parser)
    parser.add_argument("--keypoints-type", help="keypoints type")
    parser.add_argument("--write-detailed-report", action="store_true", help="write a report per query")
    flags.add_threads(parser)
    return parser


def action(args: argparse.Namespace) -> None:
    options = flags.pycolmap_ransac_options(args)
    found = pycolmap_localsfm(args.input, args.query, args.output, args.pairsfile_path, options, args.keypoints_type,
                              args.max_num_iterations, args.force,
                              "pycolmap_cache" if args.write_detailed_report else None, args.max_number_of_threads)
    print(f"{len(found)} query image(s) localized -> {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
