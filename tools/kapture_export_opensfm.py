"""Export a kapture dataset to OpenSfM: reconstruction.json in the -o folder (-o FILE.json works too).

Accepts every flag of kapture's kapture_export_opensfm; --transfer, -kpt and -desc are accepted and not applied."""

from __future__ import annotations

import argparse

from kapturelike.converters.opensfm import export_opensfm
from kapturelike.io.dataset import load_kapture
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, note_ignored, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_export_opensfm", __doc__)
    flags.add_verbosity(parser)
    flags.add_kapture(parser, flags=("-k", "--kapture", "-i", "--input"))
    parser.add_argument("-o", "--opensfm", required=True, help="OpenSfM folder to write reconstruction.json into")
    parser.add_argument("--transfer", default="link_absolute", help="accepted and not applied")
    flags.add_force(parser)
    flags.add_keypoints_type(parser)
    flags.add_descriptors_type(parser)
    parser.add_argument("--approximate", action="store_true", help="replace cameras OpenSfM cannot hold")
    return parser


def action(args: argparse.Namespace) -> None:
    note_ignored(build_parser(), args, ["transfer", "keypoints_type", "descriptors_type"])
    out = flags.file_in(args.opensfm, "reconstruction.json")
    doc = export_opensfm(load_kapture(args.kapture), out, args.approximate)
    print(f"{len(doc[0]['shots'])} shots -> {out}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
