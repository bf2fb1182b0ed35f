"""Image pairs scored by the 3D points they share (observations), as a pairs file. The counts come from one sparse
product, so --max-number-of-threads (kapture-localization's worker count for its per-pair loop) changes nothing
in the result and is not needed for speed."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.pairs import observation_pairs
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_compute_observations_pairs", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("--mapping", required=True, help="map kapture dataset folder")
    parser.add_argument("--query", help="query kapture dataset folder")
    parser.add_argument("--keypoints-type", help="keypoints type")
    parser.add_argument("--iou", action="store_true", help="score pairs by intersection over union")
    flags.add_threads(parser)
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    parser.add_argument("--topk", type=int, help="number of best pairs kept per image")
    return parser


def action(args: argparse.Namespace) -> int | None:
    observation_pairs(args.mapping, args.output, args.query, args.keypoints_type, args.iou, args.topk)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
