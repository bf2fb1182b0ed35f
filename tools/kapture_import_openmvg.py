"""Import an OpenMVG sfm_data.json into a kapture dataset."""

from __future__ import annotations

import argparse

from kapturelike.converters.openmvg import import_openmvg
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_import_openmvg", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="sfm_data.json")
    parser.add_argument("-o", "--output", required=True, help="kapture dataset folder to write")
    parser.add_argument("--keypoints-type", default="openmvg", help="name of the keypoints type [openmvg]")

    def action(args: argparse.Namespace) -> None:
        k = import_openmvg(args.input, args.output, args.keypoints_type)
        print(f"{len(k.image_names())} images, {len(k.points3d)} points -> {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
