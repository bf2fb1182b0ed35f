"""Import Symphony Seasons (file_list/db.txt and the season query lists) into a kapture dataset:
the boat camera, image records and the world-to-camera poses the lists give."""

from __future__ import annotations

import argparse

from kapturelike.importers.common import TransferAction
from kapturelike.importers.symphony_seasons import SymphonyOptions, import_symphony_seasons
from kapturelike.tools.cli import run
from kapturelike.tools.import_cli import (
    add_image_transfer,
    add_input_output,
    configure_logging,
    importer_parser,
    report,
)


def build_parser() -> argparse.ArgumentParser:
    parser = importer_parser("kapture_import_symphony_seasons", __doc__)
    add_input_output(parser, "Symphony Seasons root folder (holding file_list/)")
    add_image_transfer(parser, TransferAction.link_absolute)
    parser.add_argument("-p", "--partition", default=None, choices=["mapping", "query"],
                        help="only the mapping or query lists (authors' split)")
    return parser


def action(args: argparse.Namespace) -> None:
    progress = configure_logging(args)
    k = import_symphony_seasons(args.input, args.output, SymphonyOptions(args.image_transfer, args.partition,
                                                                         args.force, progress))
    report(k, args.output)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
