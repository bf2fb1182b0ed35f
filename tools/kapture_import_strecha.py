"""Import a Strecha scene (gt_dense_cameras/*.camera + images/) into a kapture dataset."""

from __future__ import annotations

import argparse

from kapturelike.converters.camera_files import StrechaOptions, import_strecha
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_import_strecha", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="scene folder (fountain-P11, Herz-Jesus-P25, ...)")
    parser.add_argument("-o", "--output", required=True, help="kapture dataset folder to write")
    flags.add_force(parser)
    parser.add_argument("--images", choices=("symlink", "copy", "skip"), default="symlink",
                        help="how images get into sensors/records_data [symlink]")
    parser.add_argument("--prefix", default="", help="prefix of the image names (e.g. mapping/)")

    def action(args: argparse.Namespace) -> None:
        k = import_strecha(args.input, args.output, StrechaOptions(images=args.images, name_prefix=args.prefix),
                           force=args.force)
        print(f"{len(k.image_names())} images -> {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
