"""Import a COLMAP sparse model (text or binary) and/or database.db into a kapture dataset."""

from __future__ import annotations

import argparse

from kapturelike.converters.colmap import import_colmap
from kapturelike.converters.common import ConversionError
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_import_colmap", description=__doc__)
    parser.add_argument("-i", "--input", dest="model",
                        help="COLMAP model folder (cameras/images/points3D .txt or .bin)")
    parser.add_argument("-db", "--database", help="COLMAP database.db")
    parser.add_argument("-o", "--output", required=True, help="kapture dataset folder to write")
    parser.add_argument("--keypoints-type", default="colmap", help="name of the keypoints type [colmap]")
    parser.add_argument("--descriptors-type", default="colmap", help="name of the descriptors type [colmap]")

    def action(args: argparse.Namespace) -> None:
        if args.model is None and args.database is None:
            raise ConversionError("give -i MODEL and/or -db DATABASE")
        k = import_colmap(args.output, args.model, args.database, args.keypoints_type, args.descriptors_type)
        print(f"{len(k.image_names())} images, {0 if k.points3d is None else len(k.points3d)} points -> {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
