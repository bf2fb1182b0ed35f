"""Import a Stanford 12-Scenes scene (data/frame-XXXXXX.{color,depth,pose} files, info.txt, split.txt)
into a kapture dataset: images, depth maps (metres, raw and registered) and world-to-device poses."""

from __future__ import annotations

import argparse

from kapturelike.importers.common import TransferAction
from kapturelike.importers.twelve_scenes import TwelveScenesOptions, import_12scenes
from kapturelike.tools.cli import run
from kapturelike.tools.import_cli import (
    add_image_transfer,
    add_input_output,
    configure_logging,
    importer_parser,
    report,
)


def build_parser() -> argparse.ArgumentParser:
    parser = importer_parser("kapture_import_12scenes", __doc__)
    add_input_output(parser, "12-Scenes scene folder (holding data/, info.txt, split.txt)")
    add_image_transfer(parser, TransferAction.link_absolute)
    parser.add_argument("-p", "--partition", default=None, choices=["mapping", "query"],
                        help="only the mapping or query frames (authors' split.txt)")
    return parser


def action(args: argparse.Namespace) -> None:
    progress = configure_logging(args)
    k = import_12scenes(args.input, args.output, TwelveScenesOptions(args.image_transfer, args.partition,
                                                                      args.force, progress))
    report(k, args.output)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
