"""Give the images of a kapture dataset the timestamps and sensor ids they have in a reference dataset."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.recover import recover_timestamps_and_ids
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_recover_timestamps_and_ids", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument("-ref", "--reference", required=True, help="reference kapture dataset folder")
    parser.add_argument("-o", "--output", help="output folder or file")
    flags.add_image_transfer(parser, default="skip")
    flags.add_force(parser)
    return parser


def action(args: argparse.Namespace) -> int | None:
    recover_timestamps_and_ids(args.input, args.reference, args.output, args.image_transfer, args.force)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
