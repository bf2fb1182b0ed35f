"""Import the IDL dataset (CVPR 2017 image-based localization benchmark) into a kapture dataset: one
camera per image, PINHOLE with its world-to-camera pose where a ground-truth .camera file exists."""

from __future__ import annotations

import argparse

from kapturelike.importers.common import TransferAction
from kapturelike.importers.idl_dataset_cvpr17 import IdlOptions, import_idl_dataset_cvpr17
from kapturelike.tools.cli import run
from kapturelike.tools.import_cli import (
    add_image_transfer,
    add_input_output,
    configure_logging,
    importer_parser,
    report,
)


def build_parser() -> argparse.ArgumentParser:
    parser = importer_parser("kapture_import_IDL_dataset_cvpr17", __doc__)
    add_input_output(parser, "images folder")
    parser.add_argument("-gt", "--gt_path", default=None, help="ground truth folder (.camera files)")
    add_image_transfer(parser, TransferAction.link_absolute)
    return parser


def action(args: argparse.Namespace) -> None:
    progress = configure_logging(args)
    k = import_idl_dataset_cvpr17(args.input, args.output, IdlOptions(args.gt_path, args.image_transfer, args.force,
                                                                      progress))
    report(k, args.output)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
