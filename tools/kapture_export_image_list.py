"""Write the image names of a kapture dataset to a list file, optionally with intrinsics and poses."""

from __future__ import annotations

import argparse
import sys

from kapturelike.dataset_tools import export_image_list
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_export_image_list", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="image list file to write")
    parser.add_argument("--intrinsics", action="store_true", help="append MODEL width height params...")
    parser.add_argument("--poses", action="store_true", help="append qw qx qy qz tx ty tz where known")

    def action(args: argparse.Namespace) -> None:
        n = export_image_list(args.input, args.output, intrinsics=args.intrinsics, poses=args.poses)
        print(f"wrote {n} image names to {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    sys.exit(main())
