"""kapture_extract_exif: GNSS records (sensors GPS_<camera>, records_gnss.txt) from the EXIF GPS tags of the
images of a kapture dataset, written in place as kapture's tool writes them."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.exif_gps import extract_gps_from_exif
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_extract_exif", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-i", "--input", "--kapture", required=True, help="input kapture dataset folder")
    return parser


def action(args: argparse.Namespace) -> int | None:
    extract_gps_from_exif(args.input)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
