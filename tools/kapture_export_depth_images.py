"""Write the depth maps of a kapture dataset as 16-bit PNG images (depth scaled into a range)."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.depth import export_depth_images
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_export_depth_images", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument("-o", "--output", help="output folder or file")
    parser.add_argument("-r", "--range", nargs="+", type=float, help="depth range (min max) mapped to the PNG values")
    return parser


def action(args: argparse.Namespace) -> int | None:
    export_depth_images(args.input, args.output, args.range)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
