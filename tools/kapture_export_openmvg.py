"""Export a kapture dataset to an OpenMVG sfm_data.json."""

from __future__ import annotations

import argparse

from kapturelike.converters.features_io import keypoints_reader
from kapturelike.converters.openmvg import export_openmvg
from kapturelike.io.dataset import load_kapture
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_export_openmvg", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="sfm_data.json to write")
    parser.add_argument("--keypoints-type", help="keypoints type of the observations (default: the only one)")
    parser.add_argument("--root-path", default="", help="root_path written in the file (the images folder)")
    parser.add_argument("--approximate", action="store_true", help="replace cameras OpenMVG cannot hold")

    def action(args: argparse.Namespace) -> None:
        k = load_kapture(args.input)
        kpt, read = keypoints_reader(args.input, k, args.keypoints_type)
        doc = export_openmvg(k, args.output, read, kpt, args.root_path, args.approximate)
        print(f"{len(doc['views'])} views, {len(doc['structure'])} points -> {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
