"""Localize query rigs against local models (kapture-localization's kapture_pycolmap_rig_localsfm): each query
camera's keypoints matched to two or more posed map images of its pairs are triangulated from those map
keypoints, then at each timestamp the cameras of each rig of --rig-ids (default: the top-level rigs) are
localized together with pycolmap's generalized absolute pose; -o gets one pose per rig and timestamp
(--apply-rigs-remove: one per camera); --write-detailed-report writes OUTPUT/pycolmap_rig_cache/<timestamp>.json;
--max-number-of-threads rigs are localized at once (default: one per core)."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.localsfm import pycolmap_rig_localsfm
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_pycolmap_rig_localsfm", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_localizer_io(parser)
    flags.add_rig_localization(parser)
    flags.add_pycolmap_ransac(parser)
    parser.add_argument("--keypoints-type", help="keypoints type")
    parser.add_argument("--write-detailed-report", action="store_true", help="write a report per query")
    flags.add_threads(parser)
    return parser


def action(args: argparse.Namespace) -> None:
    options = flags.pycolmap_ransac_options(args)
    found = pycolmap_rig_localsfm(args.input, args.query, args.output, args.pairsfile_path, options, args.rig_ids,
                                  args.apply_rigs_remove, args.keypoints_type, args.max_num_iterations, args.force,
                                  args.write_detailed_report, args.max_number_of_threads)
    print(f"{len(found)} pose(s) found -> {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
