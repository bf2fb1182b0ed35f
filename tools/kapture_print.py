"""Print statistics about a kapture dataset, as kapture_print prints them (to stdout or -o FILE).

-d/--detail prints a section per part, -a/--all also parts that are absent; -t/-f say how to show
timestamps. --summary prints kapturelike's one-line-per-part summary instead.
"""

from __future__ import annotations

import argparse
import sys

from kapturelike.dataset_tools import format_summary, summary
from kapturelike.dataset_tools.summary import kapture_printout
from kapturelike.io.text import atomic_write
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_print", __doc__)
    flags.add_verbosity(parser)
    flags.add_input(parser, flags=("-i", "--input", "-k", "--kapture"), what="kapture dataset folder")
    parser.add_argument("-o", "--output", default="-", help="file to print to (default: - for stdout)")
    parser.add_argument("-a", "--all", action="store_true", help="print absent parts too")
    parser.add_argument("-d", "--detail", action="store_true", help="print a detailed section per part")
    parser.add_argument("-t", "--timestamp_unit", default="auto",
                        choices=["auto", "index", "second", "millisecond", "microsecond"],
                        help="what the timestamps count, to show them as dates (default: auto, guessed)")
    parser.add_argument("-f", "--timestamp_formatting", default=None,
                        help="strftime format of the dates of timestamps")
    parser.add_argument("--summary", action="store_true", help="kapturelike's one-line-per-part summary")
    return parser


def action(args: argparse.Namespace) -> None:
    if args.summary:
        lines = format_summary(summary(args.input))
    else:
        lines = kapture_printout(args.input, args.detail, args.all, args.timestamp_unit, args.timestamp_formatting)
    text = "".join(line + "\n" for line in lines)
    if args.output in ("-", None):
        sys.stdout.write(text)
    else:
        with atomic_write(args.output) as f:
            f.write(text)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
