"""Import OpenSfM's reconstruction.json (first reconstruction; in the -i folder, or -i FILE.json) into kapture.

Accepts every flag of kapture's kapture_import_opensfm; --transfer, --keypoints-type and --descriptors-type
are accepted and not applied."""

from __future__ import annotations

import argparse

from kapturelike.converters.opensfm import import_opensfm
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, note_ignored, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_import_opensfm", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-i", "--input", "--opensfm", dest="input", required=True,
                        help="OpenSfM folder holding reconstruction.json")
    parser.add_argument("-o", "-k", "--output", "--kapture", dest="output", required=True,
                        help="kapture dataset folder to write")
    parser.add_argument("--transfer", default="link_absolute", help="accepted and not applied")
    flags.add_force(parser)
    parser.add_argument("--keypoints-type", default="HessianAffine", help="accepted and not applied")
    parser.add_argument("--descriptors-type", default="HOG", help="accepted and not applied")
    return parser


def action(args: argparse.Namespace) -> None:
    note_ignored(build_parser(), args, ["transfer", "keypoints_type", "descriptors_type"])
    k = import_opensfm(flags.file_in(args.input, "reconstruction.json"), args.output, force=args.force)
    print(f"{len(k.image_names())} images, {0 if k.points3d is None else len(k.points3d)} points -> {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
