"""Import a VisualSfM NVM_V3 file (e.g. Aachen Day-Night's) into a kapture dataset."""

from __future__ import annotations

import argparse

from kapturelike.converters.nvm import NvmImportOptions, import_nvm
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_import_nvm", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="file.nvm")
    parser.add_argument("--images", required=True, help="folder of the images (NVM holds no image size)")
    parser.add_argument("-o", "--output", required=True, help="kapture dataset folder to write")
    parser.add_argument("--keypoints-type", default="nvm", help="name of the keypoints type [nvm]")

    def action(args: argparse.Namespace) -> None:
        k = import_nvm(args.input, args.output, images_dir=args.images,
                       options=NvmImportOptions(keypoints_type=args.keypoints_type))
        print(f"{len(k.image_names())} images, {len(k.points3d)} points -> {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
