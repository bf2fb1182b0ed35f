"""Print a summary of a kapture dataset: sensors, rigs, poses, records, features, matches, points."""

from __future__ import annotations

import argparse
import sys

from kapturelike.dataset_tools import format_summary, summary
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_print", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset folder")

    def action(args: argparse.Namespace) -> None:
        print("\n".join(format_summary(summary(args.input))))

    return run(parser, action, argv)


if __name__ == "__main__":
    sys.exit(main())
