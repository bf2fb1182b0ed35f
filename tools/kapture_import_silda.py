"""Import SILDa (Scape-Imperial Localisation Dataset) into a kapture dataset: the two fisheye
cameras and their rig, image records and world-to-camera poses."""

from __future__ import annotations

import argparse

from kapturelike.importers.common import TransferAction
from kapturelike.importers.silda import SildaOptions, import_silda
from kapturelike.tools import flags
from kapturelike.tools.cli import run
from kapturelike.tools.import_cli import add_image_transfer, configure_logging, importer_parser, report


def build_parser() -> argparse.ArgumentParser:
    parser = importer_parser("kapture_import_silda", __doc__)
    flags.add_input(parser, required=False, what="SILDa root folder")
    flags.add_output(parser, what="output kapture folder")
    parser.add_argument("-s", "--split_cams", action="store_true", default=False,
                        help="reorganise the image files per camera folders")
    add_image_transfer(parser, TransferAction.link_absolute)
    parser.add_argument("--corpus", choices=["mapping", "query"], help="only the mapping or query images")
    parser.add_argument("--cam_model", choices=["OPENCV_FISHEYE", "FOV"], default="FOV", help="camera model")
    parser.add_argument("--rig_collapse", action="store_true", default=False,
                        help="replace camera poses with rig poses")
    return parser


def action(args: argparse.Namespace) -> None:
    progress = configure_logging(args)
    if args.input is None:
        raise ValueError("give the SILDa folder with -i/--input")
    k = import_silda(args.input, args.output, SildaOptions(args.cam_model, args.split_cams, args.corpus,
                                                           args.rig_collapse, args.image_transfer, args.force,
                                                           progress))
    report(k, args.output)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
