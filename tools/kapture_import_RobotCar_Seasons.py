"""Import RobotCar Seasons (v2 by default, v1 with --v1): one kapture per location, <out>/<loc>/mapping
from the location's COLMAP model and <out>/<loc>/query from its query list."""

from __future__ import annotations

import argparse

from kapturelike.importers.common import TransferAction
from kapturelike.importers.robotcar_seasons import RobotCarOptions, import_robotcar_seasons
from kapturelike.tools.cli import run
from kapturelike.tools.import_cli import (
    add_image_transfer,
    add_input_output,
    configure_logging,
    importer_parser,
    report,
)


def build_parser() -> argparse.ArgumentParser:
    parser = importer_parser("kapture_import_RobotCar_Seasons", __doc__)
    add_input_output(parser, "RobotCar Seasons root folder")
    parser.add_argument("--import_feature_db", action="store_true", default=False,
                        help="also convert the COLMAP feature database (3D-models/overcast-reference.db)")
    parser.add_argument("--skip_reconstruction", action="store_true", default=False,
                        help="do not import the reconstruction (3D points, keypoints, observations)")
    add_image_transfer(parser, TransferAction.root_link)
    parser.add_argument("--rig_collapse", action="store_true", default=False,
                        help="replace camera poses with rig (car) poses")
    parser.add_argument("--use_colmap_intrinsics", action="store_true", default=False,
                        help="mapping cameras from the reconstruction (SIMPLE_RADIAL) instead of the intrinsics "
                             "files (PINHOLE)")
    parser.add_argument("--v1", action="store_true", default=False, help="RobotCar Seasons v1 instead of v2")
    return parser


def action(args: argparse.Namespace) -> None:
    progress = configure_logging(args)
    written = import_robotcar_seasons(args.input, args.output, RobotCarOptions(
        args.image_transfer, args.import_feature_db, args.skip_reconstruction, args.rig_collapse,
        args.use_colmap_intrinsics, args.v1, args.force, progress))
    report(written, args.output)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
