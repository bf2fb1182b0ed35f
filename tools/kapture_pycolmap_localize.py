"""Localize query images with pycolmap's absolute pose estimation (kapture-localization's
kapture_pycolmap_localize): -i is a dataset holding the map (points3d, observations), the keypoints
of map and query images and their matches; --query gives the images to localize; -o gets them with
their poses (with --write-detailed-report, also OUTPUT/pycolmap_cache/<image>.json per localized image)."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.pycolmap_localize import pycolmap_localize
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_pycolmap_localize", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_localizer_io(parser, "dataset with the map, keypoints and matches",
                           "kapture dataset of the images to localize", "kapture dataset to write the poses to")
    flags.add_pycolmap_ransac(parser)
    parser.add_argument("--keypoints-type", help="keypoints type")
    flags.add_correspondence_strategies(parser)
    parser.add_argument("--write-detailed-report", action="store_true", help="write a report per query")
    return parser


def action(args: argparse.Namespace) -> None:
    options = flags.pycolmap_ransac_options(args)
    found = pycolmap_localize(args.input, args.query, args.output, args.pairsfile_path, options, args.keypoints_type,
                              args.duplicate_strategy, args.force, args.rerank_strategy, args.write_detailed_report)
    print(f"{len(found)} query image(s) localized -> {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
