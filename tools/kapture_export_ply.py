"""Export the 3D points (with colours) and camera positions of a kapture dataset to PLY."""

from __future__ import annotations

import argparse

from kapturelike.converters.ply import PlyOptions, export_ply
from kapturelike.io.dataset import load_kapture
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_export_ply", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="file.ply to write")
    parser.add_argument("--binary", action="store_true", help="binary little endian instead of ascii")
    parser.add_argument("--no-points", action="store_true", help="leave the 3D points out")
    parser.add_argument("--no-cameras", action="store_true", help="leave the camera positions out")

    def action(args: argparse.Namespace) -> None:
        options = PlyOptions(binary=args.binary, points=not args.no_points, cameras=not args.no_cameras)
        n = export_ply(load_kapture(args.input), args.output, options)
        print(f"{n} vertices -> {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
