"""Export the image poses of a kapture dataset as an ETH-Microsoft localization benchmark file."""

from __future__ import annotations

import argparse

from kapturelike.converters.ltvl import export_ltvl
from kapturelike.dataset_tools.output import refuse_existing_file
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_export_ETH_MS_LTVL", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    return parser


def action(args: argparse.Namespace) -> int | None:
    refuse_existing_file(args.output, args.force)
    export_ltvl(args.input, args.output)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
