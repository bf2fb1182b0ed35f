"""kapture_pyransaclib_localsfm: accepts the flags of kapture's tool of this name; not offered here: pyransaclib
is not available; kapture_pipeline_localize localizes with pycolmap."""

from __future__ import annotations

import argparse

from kapturelike.tools import flags
from kapturelike.tools.cli import ToolUnavailable, make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_pyransaclib_localsfm", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument("--query", required=True, help="query kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    flags.add_pairsfile_path(parser, required=True)
    parser.add_argument("--inlier-threshold", type=float, default=8.0, help="RANSAC inlier threshold")
    parser.add_argument("--number-lo-steps", type=int, default=10, help="local optimisation steps")
    parser.add_argument("--min-num-iterations", type=int, default=200, help="fewest RANSAC iterations")
    parser.add_argument("--max-num-iterations", type=int, default=100000, help="most RANSAC iterations")
    parser.add_argument("--refine-poses", action="store_true", help="refine the poses")
    parser.add_argument("--keypoints-type", help="keypoints type")
    parser.add_argument("--write-detailed-report", action="store_true", help="write a report per query")
    flags.add_threads(parser)
    return parser


def action(args: argparse.Namespace) -> int | None:
    raise ToolUnavailable("pyransaclib is not available; kapture_pipeline_localize localizes with pycolmap")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
