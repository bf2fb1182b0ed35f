"""Export a kapture dataset to OpenSfM: reconstruction.json in the -o folder (-o FILE.json works too).

kapture's form (-o FOLDER) also writes camera_models.json, images/ (--transfer), features/ and matches/
(-kpt, -desc: the keypoints and descriptors types) as kapture's kapture_export_opensfm; -o FILE.json writes
the reconstruction only."""

from __future__ import annotations

import argparse
from pathlib import Path

from kapturelike.converters.opensfm import export_opensfm
from kapturelike.dataset_tools.opensfm_folder import export_opensfm_folder
from kapturelike.dataset_tools.output import IMAGE_TRANSFERS
from kapturelike.io.dataset import load_kapture
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_export_opensfm", __doc__)
    flags.add_verbosity(parser)
    flags.add_kapture(parser, flags=("-k", "--kapture", "-i", "--input"))
    parser.add_argument("-o", "--opensfm", required=True, help="OpenSfM folder to write reconstruction.json into")
    parser.add_argument("--transfer", default="link_absolute", choices=list(IMAGE_TRANSFERS),
                        help="how the images reach FOLDER/images (kapture's TransferAction; default link_absolute)")
    flags.add_force(parser)
    flags.add_keypoints_type(parser)
    flags.add_descriptors_type(parser)
    parser.add_argument("--approximate", action="store_true", help="replace cameras OpenSfM cannot hold")
    return parser


def action(args: argparse.Namespace) -> None:
    out = flags.file_in(args.opensfm, "reconstruction.json")
    if Path(args.opensfm).suffix == ".json":
        doc = export_opensfm(load_kapture(args.kapture), out, args.approximate)
    else:
        doc = export_opensfm_folder(args.kapture, args.opensfm, args.transfer, args.keypoints_type,
                                    args.descriptors_type, args.approximate)
    print(f"{len(doc[0]['shots'])} shots -> {out}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
