"""Import a query list with intrinsics (name MODEL width height params...) into a kapture dataset."""

from __future__ import annotations

import argparse

from kapturelike.converters.query_list import QueryListOptions, import_query_list
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_import_query_list", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="query list file")
    parser.add_argument("-o", "--output", required=True, help="kapture dataset folder to write")
    flags.add_force(parser)
    parser.add_argument("--camera-per-image", action="store_true", help="one sensor per image, even if equal")

    def action(args: argparse.Namespace) -> None:
        k = import_query_list(args.input, args.output, QueryListOptions(share_cameras=not args.camera_per_image),
                              force=args.force)
        print(f"{len(k.image_names())} images, {len(k.sensors)} cameras -> {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
