"""Write the image names of a kapture dataset to a list file, optionally with intrinsics
(-c/--camera-params, or --intrinsics) and poses (--poses)."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools import export_image_list
from kapturelike.dataset_tools.output import refuse_existing_file
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_export_image_list", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser, ("-f", "--force"))
    flags.add_input(parser, what="kapture dataset folder")
    flags.add_output(parser, what="image list file to write")
    parser.add_argument("-c", "--camera-params", "--intrinsics", dest="camera_params", action="store_true",
                        help="append MODEL width height params...")
    parser.add_argument("--poses", action="store_true", help="append qw qx qy qz tx ty tz where known")
    return parser


def action(args: argparse.Namespace) -> None:
    refuse_existing_file(args.output, args.force)
    n = export_image_list(args.input, args.output, intrinsics=args.camera_params, poses=args.poses)
    print(f"{n} images -> {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
