"""Import Extended CMU Seasons: one kapture per slice, <out>/sliceN/mapping (database images with
their poses) and <out>/sliceN/query (test images, with the released query poses)."""

from __future__ import annotations

import argparse

from kapturelike.importers.common import TransferAction
from kapturelike.importers.extended_cmu_seasons import ExtendedCmuOptions, import_extended_cmu_seasons
from kapturelike.tools.cli import run
from kapturelike.tools.import_cli import (
    add_image_transfer,
    add_input_output,
    configure_logging,
    importer_parser,
    report,
)


def build_parser() -> argparse.ArgumentParser:
    parser = importer_parser("kapture_import_Extended_CMU_Seasons", __doc__)
    add_input_output(parser, "Extended CMU Seasons root folder")
    add_image_transfer(parser, TransferAction.skip)
    parser.add_argument("--slice-range", nargs="+", default=list(range(2, 26)), type=int, help="slices to import")
    parser.add_argument("--all-files", action="store_true", default=False,
                        help="add images present in the folders yet not listed in the txt files")
    return parser


def action(args: argparse.Namespace) -> None:
    progress = configure_logging(args)
    written = import_extended_cmu_seasons(args.input, args.output, ExtendedCmuOptions(
        args.slice_range, args.all_files, args.image_transfer, args.force, progress))
    report(written, args.output)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
