"""kapture_compute_sequence_pairs: pairs of images of one camera close in capture order."""

from __future__ import annotations

import argparse

from kapturelike.pipelines.pairs_files import sequence_pairs_file
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_compute_sequence_pairs", description=__doc__)
    flags.add_verbosity(parser)
    parser.add_argument("--mapping", "-i", "--input", dest="mapping", required=True,
                        help="kapture dataset (its camera records are used)")
    variant = parser.add_mutually_exclusive_group()  # as kapture-localization: one or the other
    variant.add_argument("--loop", action="store_true", help="every sequence loops (its end pairs with its start)")
    variant.add_argument("--expand-window", action="store_true",
                         help="near an end of a sequence, take the missing frames on the other side")
    parser.add_argument("-o", "--output", required=True, help="pairs file to write ('query, map, score' lines)")
    parser.add_argument("--window-size", "--window", dest="window_size", type=int, default=10,
                        help="frames before and after each image it is paired with (default: 10)")
    parser.add_argument("--max-interval", type=int, default=5000000,
                        help="timestamp gap that starts a new sequence (default: 5000000)")
    return parser


def action(args: argparse.Namespace) -> int:
    pairs = sequence_pairs_file(args.mapping, args.output, args.window_size, args.max_interval, args.loop,
                                args.expand_window)
    print(f"{len(pairs)} pairs written to {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
