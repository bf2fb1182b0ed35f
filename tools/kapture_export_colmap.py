"""Export a kapture dataset to a COLMAP sparse model (text or binary) and optionally a database.db."""

from __future__ import annotations

import argparse

from kapturelike.converters.colmap import ColmapExportOptions, export_colmap
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_export_colmap", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="COLMAP model folder to write")
    parser.add_argument("-db", "--database", help="also write this COLMAP database.db")
    parser.add_argument("--binary", action="store_true", help="write .bin files instead of .txt")
    parser.add_argument("--keypoints-type", help="keypoints type (default: the only one)")
    parser.add_argument("--approximate", action="store_true", help="replace cameras COLMAP cannot hold by the nearest")

    def action(args: argparse.Namespace) -> None:
        model = export_colmap(args.input, args.output, args.binary, args.database,
                              ColmapExportOptions(args.keypoints_type, args.approximate))
        print(f"{len(model.images)} images, {len(model.points)} points -> {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
