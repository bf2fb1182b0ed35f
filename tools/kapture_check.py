"""Validate a kapture dataset and list every problem (file, line, field); exit 1 if any."""

from __future__ import annotations

import argparse
import sys

from kapturelike.dataset_tools import check_kapture
from kapturelike.tools.cli import make_parser, one_line, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_check", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset folder")

    def action(args: argparse.Namespace) -> int:
        problems = check_kapture(args.input)
        for problem in problems:
            print(one_line(problem))
        print(f"{len(problems)} problem(s) found" if problems else "ok: no problem found")
        return 1 if problems else 0

    return run(parser, action, argv)


if __name__ == "__main__":
    sys.exit(main())
