"""Import one 4Seasons recording (e.g. recording_2020-10-07_14-47-51) into a kapture dataset: stereo
cameras and rig, images, car poses (ECEF when Transformations.txt is there), keyframe depth maps,
IMU and GNSS records. Images are expected undistorted (undistorted_images/)."""

from __future__ import annotations

import argparse

from kapturelike.importers.common import TransferAction
from kapturelike.importers.four_seasons import FourSeasonsOptions, import_4seasons
from kapturelike.tools.cli import run
from kapturelike.tools.import_cli import (
    add_image_transfer,
    add_input_output,
    configure_logging,
    importer_parser,
    report,
)


def build_parser() -> argparse.ArgumentParser:
    parser = importer_parser("kapture_import_4seasons", __doc__)
    add_input_output(parser, "4Seasons recording folder (e.g. ./recording_2020-10-07_14-47-51)")
    parser.add_argument("-c", "--calibration",
                        help="4Seasons calibration folder; default: beside the recording (../calibration)")
    add_image_transfer(parser, TransferAction.link_absolute)
    return parser


def action(args: argparse.Namespace) -> None:
    progress = configure_logging(args)
    k = import_4seasons(args.input, args.output, FourSeasonsOptions(args.calibration, args.image_transfer,
                                                                    args.force, progress))
    report(k, args.output)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
