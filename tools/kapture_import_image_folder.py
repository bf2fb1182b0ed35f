"""Make a kapture dataset from a folder of images, named as kapture names them: the n-th file of the sorted
listing gets timestamp n and its own camera sensor<n> (a sensors.txt in the folder gives the cameras
instead); --camera-per-size: one camera per image size (cam0, ...) and timestamps 0, 1, ..."""

from __future__ import annotations

import argparse

from kapturelike.core.sensors import CAMERA_MODEL_PARAMS
from kapturelike.dataset_tools import ImportOptions, import_image_folder
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_import_image_folder", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_input(parser, flags=("-i", "--input", "--images"), what="folder of images (searched recursively)")
    flags.add_output(parser, what="kapture dataset folder to create")
    flags.add_image_transfer(parser, default="link_absolute")
    parser.add_argument("--camera-model", default="UNKNOWN_CAMERA", choices=list(CAMERA_MODEL_PARAMS),
                        help="camera model; calibrated models get a guessed focal (default: %(default)s)")
    parser.add_argument("--copy", action="store_true", help="copy images (same as --image_transfer copy)")
    parser.add_argument("--camera-per-size", action="store_true",
                        help="one camera per image size (cam0, cam1, ...) instead of one per image")
    return parser


def action(args: argparse.Namespace) -> None:
    options = ImportOptions(camera_model=args.camera_model, image_transfer="copy" if args.copy else args.image_transfer,
                            force=args.force, camera_per_size=args.camera_per_size)
    k = import_image_folder(args.input, args.output, options)
    print(f"imported {len(k.image_names())} images with {len(k.sensors)} camera(s) into {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
