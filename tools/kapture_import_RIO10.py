"""Import RIO10 (sceneXX/seqXX/seqXX_YY sequences of colour, pose and rendered depth frames): per scene
a mapping (_01), a validation (_02) and a testing (the others) kapture with images, depth maps and poses."""

from __future__ import annotations

import argparse

from kapturelike.importers.common import TransferAction
from kapturelike.importers.rio10 import Rio10Options, import_rio10
from kapturelike.tools.cli import run
from kapturelike.tools.import_cli import (
    add_image_transfer,
    add_input_output,
    configure_logging,
    importer_parser,
    report,
)


def build_parser() -> argparse.ArgumentParser:
    parser = importer_parser("kapture_import_RIO10", __doc__)
    add_input_output(parser, "RIO10 root folder (holding sceneXX/)")
    add_image_transfer(parser, TransferAction.link_absolute)
    return parser


def action(args: argparse.Namespace) -> None:
    progress = configure_logging(args)
    written = import_rio10(args.input, args.output, Rio10Options(args.image_transfer, args.force, progress))
    report(written, args.output)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
