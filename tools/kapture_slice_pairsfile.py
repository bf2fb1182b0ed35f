"""Keep a slice of each image's retrieval pairs of a pairs file: ranks startk..topk, score above a threshold."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.pairs import slice_pairsfile
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_slice_pairsfile", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    parser.add_argument("--topk", type=int, default=float("inf"), help="number of best pairs kept per image")
    parser.add_argument("--threshold", type=float, default=0, help="smallest score kept")
    parser.add_argument("--startk", type=int, default=0, help="first rank kept")
    parser.add_argument("--skip-if-na", action="store_true", help="leave out pairs without a score")
    return parser


def action(args: argparse.Namespace) -> int | None:
    slice_pairsfile(args.input, args.output, args.topk, args.threshold, args.startk, args.skip_if_na)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
