"""kapture_export_4seasons_pairs: relative poses of timestamp pairs (reference, query) in the 4Seasons
relocalization format: ``ref_ts query_ts tx ty tz qx qy qz qw`` per pair (the output file is overwritten,
as kapture's tool does)."""

from __future__ import annotations

import argparse

from kapturelike.converters.four_seasons_pairs import export_4seasons_pairs
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_export_4seasons_pairs", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument("-p", "--pairs", required=True, help="timestamp pairs file (reference query per line)")
    parser.add_argument("--no_heal", action="store_true", help="keep the timestamps of records_camera.txt "
                        "(default: the number each image is named after)")
    parser.add_argument("-o", "--output", required=True, help="output relative poses file")
    return parser


def action(args: argparse.Namespace) -> int | None:
    export_4seasons_pairs(args.input, args.pairs, args.output, heal=not args.no_heal)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
