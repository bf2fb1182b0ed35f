"""Import a UTBM robocar ROS bag into a kapture dataset: the Bumblebee images (BB2 by default, --xb3 for
the trinocular camera) with the cameras of the dataset's calibration files. Reads bags with the
pure-Python 'rosbags' package (pip install -r requirements-rosbag.txt)."""

from __future__ import annotations

import argparse

from kapturelike.importers.rosbag import RosbagOptions
from kapturelike.importers.utbm import (
    BB2_CAMERA_IDENTIFIERS,
    TOPICS_BB2,
    TOPICS_XB3,
    XB3_CAMERA_IDENTIFIERS,
    import_utbm,
)
from kapturelike.tools.cli import run
from kapturelike.tools.import_cli import configure_logging, importer_parser, report


def build_parser() -> argparse.ArgumentParser:
    parser = importer_parser("kapture_import_utbm", __doc__, force_flags=("-y", "--force"))
    parser.add_argument("-b", "--bag_file", default="input.bag", help="bag file")
    parser.add_argument("--camera_info", nargs="*", required=True,
                        help="camera calibration YAML files, as published with the UTBM dataset")
    parser.add_argument("-i", "--image_topics", nargs="*", help=f"image topics [{' '.join(TOPICS_BB2)}]")
    parser.add_argument("-c", "--camera_identifiers", nargs="*",
                        help=f"camera ids, one per image topic [{' '.join(BB2_CAMERA_IDENTIFIERS)}]")
    parser.add_argument("--force_same_time", action="store_true", default=True,
                        help="images of a group must be taken at the same time (within 1 ms)")
    parser.add_argument("--no-force_same_time", action="store_false", dest="force_same_time",
                        help="only warn when images of a group are more than 1 ms apart")
    parser.add_argument("--bb2", action="store_true", default=False, help="BB2 image topics and camera ids")
    parser.add_argument("--xb3", action="store_true", default=False, help="XB3 image topics and camera ids")
    parser.add_argument("-p", "--percent", type=int, default=100, help="percentage of images to keep")
    parser.add_argument("-k", "--kapture_output", required=True, help="kapture folder to write")
    return parser


def action(args: argparse.Namespace) -> None:
    progress = configure_logging(args)
    if args.bb2:
        topics, ids = TOPICS_BB2, BB2_CAMERA_IDENTIFIERS
    elif args.xb3:
        topics, ids = TOPICS_XB3, XB3_CAMERA_IDENTIFIERS
    else:
        topics, ids = args.image_topics or TOPICS_BB2, args.camera_identifiers or BB2_CAMERA_IDENTIFIERS
    options = RosbagOptions(list(topics), list(ids), None, None, False, False, args.force_same_time, args.percent,
                            args.force, progress)
    k = import_utbm(args.bag_file, args.camera_info, args.kapture_output, options)
    report(k, args.kapture_output)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
