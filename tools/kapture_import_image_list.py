"""Make a kapture dataset from an image list, one image a line, whitespace separated:
``name``, ``name MODEL width height params...``, ``name qw qx qy qz tx ty tz`` (world-to-camera)
or ``name MODEL width height params... qw qx qy qz tx ty tz``; '#' starts a comment."""

from __future__ import annotations

import argparse
import sys

from kapturelike.core.sensors import CAMERA_MODEL_PARAMS
from kapturelike.dataset_tools import ImportOptions, import_image_list
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_import_image_list", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-l", "--list", required=True, help="image list file")
    parser.add_argument("-i", "--images", required=True, help="folder the names of the list are relative to")
    parser.add_argument("-o", "--output", required=True, help="kapture dataset folder to create")
    parser.add_argument("--camera-model", default="UNKNOWN_CAMERA", choices=list(CAMERA_MODEL_PARAMS),
                        help="model of cameras for lines without intrinsics (default: %(default)s)")
    parser.add_argument("--copy", action="store_true", help="copy images instead of symlinking them")
    parser.add_argument("-f", "--force", action="store_true", help="write into a non-empty output folder")

    def action(args: argparse.Namespace) -> None:
        k = import_image_list(args.list, args.images, args.output,
                              ImportOptions(camera_model=args.camera_model, copy=args.copy, force=args.force))
        poses = 0 if k.trajectories is None else len(k.trajectories)
        print(f"imported {len(k.image_names())} images, {len(k.sensors)} camera(s), {poses} poses "
              f"into {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    sys.exit(main())
