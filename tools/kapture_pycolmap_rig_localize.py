"""Localize the query images of multi-camera rigs with pycolmap's generalized absolute pose (kapture-localization's
kapture_pycolmap_rig_localize): -i holds the map (points3d, observations), the keypoints of map and query images
and their matches; --query the query sensors, records and rigs; at each timestamp the cameras of each rig of
--rig-ids (default: the top-level rigs) are localized together and -o gets one pose per rig and timestamp
(--apply-rigs-remove: one per camera); --write-detailed-report writes OUTPUT/pycolmap_rig_cache/<timestamp>.json."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.rig_localize import pycolmap_rig_localize
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_pycolmap_rig_localize", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_localizer_io(parser)
    flags.add_rig_localization(parser)
    flags.add_pycolmap_ransac(parser, max_error=12.0)
    parser.add_argument("--keypoints-type", help="keypoints type")
    flags.add_correspondence_strategies(parser)
    parser.add_argument("--write-detailed-report", action="store_true", help="write a report per query")
    return parser


def action(args: argparse.Namespace) -> None:
    options = flags.pycolmap_ransac_options(args)
    found = pycolmap_rig_localize(args.input, args.query, args.output, args.pairsfile_path, options, args.rig_ids,
                                  args.apply_rigs_remove, args.keypoints_type, args.duplicate_strategy, args.force,
                                  args.rerank_strategy, args.write_detailed_report)
    print(f"{len(found)} pose(s) found -> {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
