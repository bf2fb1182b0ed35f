"""kapture_pairsfile_fusion: fuse the scores of several pairs files into one pairs file."""

from __future__ import annotations

import argparse

from kapturelike.pipelines.pairs_files import fuse_pairs_files
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run
from kapturelike.tools.kapture_image_retrieval_late_fusion import add_fusion_arguments, fusion_options


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_pairsfile_fusion", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-i", "--input", "--inputs", dest="input", nargs="+", default=[], metavar="PAIRS",
                        help="pairs files to fuse ('query, map, score' lines), at least 2")
    flags.add_output(parser, what="fused pairs file to write")
    parser.add_argument("--topk", type=int, help="pairs kept per query (default: all)")
    parser.add_argument("--fill-missing", type=float, metavar="SCORE",
                        help="score of a pair absent from some inputs (default: such pairs are dropped)")
    add_fusion_arguments(parser, "mean")
    return parser


def action(args: argparse.Namespace) -> int:
    if args.topk is not None and args.topk < 1:
        raise ValueError(f"--topk must be >= 1, got {args.topk}")
    pairs = fuse_pairs_files(args.input, args.output, fusion_options(args, len(args.input)), args.topk,
                             args.fill_missing)
    print(f"{len(pairs)} pairs written to {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
