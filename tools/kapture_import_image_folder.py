"""Make a kapture dataset from a folder of images (one camera per image size, timestamps = index)."""

from __future__ import annotations

import argparse
import sys

from kapturelike.core.sensors import CAMERA_MODEL_PARAMS
from kapturelike.dataset_tools import ImportOptions, import_image_folder
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_import_image_folder", description=__doc__)
    parser.add_argument("-i", "--images", required=True, help="folder of images (searched recursively)")
    parser.add_argument("-o", "--output", required=True, help="kapture dataset folder to create")
    parser.add_argument("--camera-model", default="UNKNOWN_CAMERA", choices=list(CAMERA_MODEL_PARAMS),
                        help="camera model; calibrated models get a guessed focal (default: %(default)s)")
    parser.add_argument("--copy", action="store_true", help="copy images instead of symlinking them")
    parser.add_argument("-f", "--force", action="store_true", help="write into a non-empty output folder")

    def action(args: argparse.Namespace) -> None:
        options = ImportOptions(camera_model=args.camera_model, copy=args.copy, force=args.force)
        k = import_image_folder(args.images, args.output, options)
        print(f"imported {len(k.image_names())} images with {len(k.sensors)} camera(s) into {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    sys.exit(main())
