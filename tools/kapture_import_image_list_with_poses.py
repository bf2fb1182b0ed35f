"""Import a list of images with their world-to-camera poses (``timestamp, camera_id, image_path, qw, qx,
qy, qz, tx, ty, tz`` per line) into a kapture dataset: cameras, image records and trajectories."""

from __future__ import annotations

import argparse

from kapturelike.importers.common import TransferAction
from kapturelike.importers.image_list_with_poses import ImageListWithPosesOptions, import_image_list_with_poses
from kapturelike.tools.cli import run
from kapturelike.tools.import_cli import add_image_transfer, configure_logging, importer_parser, report


def build_parser() -> argparse.ArgumentParser:
    parser = importer_parser("kapture_import_image_list_with_poses", __doc__)
    parser.add_argument("-l", "--images_list_file", required=True, help="list of images with their poses")
    parser.add_argument("--top_dir_images", default="",
                        help="folder of the images; needed only when the list's image paths are relative")
    parser.add_argument("-c", "--camera_model_file",
                        help="OpenCV camera calibration YAML; without it, cameras are made from image sizes")
    parser.add_argument("-k", "--kapture", "-o", "--output", dest="kapture", required=True,
                        help="kapture folder to write")
    add_image_transfer(parser, TransferAction.copy, ("--image_action", "--image_transfer"), "image_action")
    parser.add_argument("--do_not_import_images", action="store_true", default=False,
                        help="import the poses (trajectories) only, not the image files")
    return parser


def action(args: argparse.Namespace) -> None:
    progress = configure_logging(args)
    k = import_image_list_with_poses(args.images_list_file, args.kapture, ImageListWithPosesOptions(
        args.top_dir_images, args.camera_model_file, args.image_action, args.do_not_import_images,
        args.force, progress))
    report(k, args.kapture)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
