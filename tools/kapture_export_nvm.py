"""Export the posed images, points and observations of a kapture dataset to VisualSfM NVM_V3."""

from __future__ import annotations

import argparse

from kapturelike.converters.features_io import keypoints_reader
from kapturelike.converters.nvm import export_nvm
from kapturelike.io.dataset import load_kapture
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_export_nvm", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="file.nvm to write")
    parser.add_argument("--keypoints-type", help="keypoints type of the observations (default: the only one)")
    parser.add_argument("--approximate", action="store_true", help="replace cameras NVM cannot hold by the nearest")

    def action(args: argparse.Namespace) -> None:
        k = load_kapture(args.input)
        kpt, read = keypoints_reader(args.input, k, args.keypoints_type)
        n = export_nvm(k, args.output, read, kpt, args.approximate)
        print(f"{n} cameras -> {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
