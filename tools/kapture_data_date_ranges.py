"""Print the time range of each timed file of a kapture dataset (records_*.txt, trajectories.txt), as kapture
prints it: file, timestamp digits, UTC range, number of records."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.date_ranges import date_ranges
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_data_date_ranges", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-k", "--kapture", required=True, help="kapture dataset folder")
    return parser


def action(args: argparse.Namespace) -> int | None:
    print("\n".join(date_ranges(args.kapture)))


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
