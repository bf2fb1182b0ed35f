"""kapture_create_3D_model_from_depth: accepts the flags of kapture's tool of this name; not offered here:
building a 3D model from depth maps is not implemented here."""

from __future__ import annotations

import argparse

from kapturelike.tools import flags
from kapturelike.tools.cli import ToolUnavailable, make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_create_3D_model_from_depth", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    parser.add_argument("--keypoints-type", help="keypoints type")
    parser.add_argument("-d", "--depth", help="depth records to use")
    parser.add_argument("-k", "--topk", type=int, default=20000, help="number of best pairs kept per image")
    parser.add_argument("--cellsizes", nargs="+", default=["10", "1", "0.01"], help="voxel sizes")
    flags.add_force(parser)
    return parser


def action(args: argparse.Namespace) -> int | None:
    raise ToolUnavailable("building a 3D model from depth maps is not implemented here")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
