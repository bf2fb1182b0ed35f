"""kapture_compute_sequence_pairs: pairs of images of one camera close in capture order."""

from __future__ import annotations

import argparse
import logging

from kapturelike.retrieval.pose_pairs import compute_sequence_pairs_files
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_compute_sequence_pairs", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset (its camera records are used)")
    parser.add_argument("-o", "--output", required=True, help="pairs file to write ('query, map, score' lines)")
    parser.add_argument("--window", type=int, default=5,
                        help="frames before and after each image it is paired with (default: 5)")
    parser.add_argument("--max-interval", type=int,
                        help="timestamp gap that starts a new sequence (default: one sequence per camera)")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def action(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    pairs = compute_sequence_pairs_files(args.input, args.output, args.window, args.max_interval)
    print(f"{len(pairs)} pairs written to {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
