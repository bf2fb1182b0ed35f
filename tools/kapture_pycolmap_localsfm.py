"""kapture_pycolmap_localsfm: accepts the flags of kapture's tool of this name; not offered here: this localizer
is not offered; kapture_pipeline_localize localizes with pycolmap."""

from __future__ import annotations

import argparse

from kapturelike.tools import flags
from kapturelike.tools.cli import ToolUnavailable, make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_pycolmap_localsfm", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument("--query", required=True, help="query kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    flags.add_pairsfile_path(parser, required=True)
    parser.add_argument("--max-error", type=float, default=8.0, help="RANSAC inlier threshold in pixels")
    parser.add_argument("--min-inlier-ratio", type=float, default=0.01, help="smallest inlier ratio")
    parser.add_argument("--min-num-iterations", type=int, default=1000, help="fewest RANSAC iterations")
    parser.add_argument("--max-num-iterations", type=int, default=100000, help="most RANSAC iterations")
    parser.add_argument("--confidence", type=float, default=0.9999, help="RANSAC confidence")
    parser.add_argument("--keypoints-type", help="keypoints type")
    parser.add_argument("--write-detailed-report", action="store_true", help="write a report per query")
    flags.add_threads(parser)
    return parser


def action(args: argparse.Namespace) -> int | None:
    raise ToolUnavailable("this localizer is not offered; kapture_pipeline_localize localizes with pycolmap")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
