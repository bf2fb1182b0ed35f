"""Import a Bundler bundle.out (v0.3) with its image list into a kapture dataset."""

from __future__ import annotations

import argparse

from kapturelike.converters.bundler import import_bundler
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_import_bundler", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="bundle.out")
    parser.add_argument("-l", "--image-list", required=True, help="image list, one name per camera")
    parser.add_argument("--images", required=True, help="folder of the images (their sizes are read)")
    parser.add_argument("-o", "--output", required=True, help="kapture dataset folder to write")

    def action(args: argparse.Namespace) -> None:
        k = import_bundler(args.input, args.image_list, args.output, images_dir=args.images)
        print(f"{len(k.image_names())} posed images, {len(k.points3d)} points -> {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
