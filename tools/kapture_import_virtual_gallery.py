"""Import NAVER LABS' Virtual Gallery (training loops and/or testing occlusion levels) into a kapture
dataset: cameras, the training rig, image records and world-to-camera poses."""

from __future__ import annotations

import argparse

from kapturelike.importers.common import TransferAction
from kapturelike.importers.virtual_gallery import VirtualGalleryOptions, import_virtual_gallery
from kapturelike.tools.cli import run
from kapturelike.tools.import_cli import (
    add_image_transfer,
    add_input_output,
    configure_logging,
    importer_parser,
    report,
)


def build_parser() -> argparse.ArgumentParser:
    parser = importer_parser("kapture_import_virtual_gallery", __doc__)
    add_input_output(parser, "Virtual Gallery root folder (holding training/ and testing/)")
    parser.add_argument("-c", "--configuration", default="all", choices=["training", "testing", "all"],
                        help="training, testing or all (both)")
    parser.add_argument("--light-range", nargs="+", default=list(range(1, 7)), type=int,
                        help="lights to include")
    parser.add_argument("--loop-range", nargs="+", default=list(range(1, 6)), type=int,
                        help="training loops to include")
    parser.add_argument("--camera-range", nargs="+", default=list(range(0, 6)), type=int,
                        help="training cameras to include")
    parser.add_argument("--occlusion-range", nargs="+", default=list(range(1, 5)), type=int,
                        help="testing occlusion levels to include")
    parser.add_argument("--as-rig", action="store_true", default=False,
                        help="training trajectories hold the rig's pose instead of each camera's")
    add_image_transfer(parser, TransferAction.skip)
    return parser


def action(args: argparse.Namespace) -> None:
    progress = configure_logging(args)
    k = import_virtual_gallery(args.input, args.output, VirtualGalleryOptions(
        args.configuration, args.light_range, args.loop_range, args.camera_range, args.occlusion_range,
        args.as_rig, args.image_transfer, args.force, progress))
    report(k, args.output)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
