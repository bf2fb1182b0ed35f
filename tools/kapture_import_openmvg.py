"""Import OpenMVG's sfm_data.json (-s file, or in the -i folder; -i FILE.json works too) into a kapture dataset.

Accepts every flag of kapture's kapture_import_openmvg; -r, -m and --image_action are accepted and not applied."""

from __future__ import annotations

import argparse

from kapturelike.converters.common import ConversionError
from kapturelike.converters.openmvg import import_openmvg
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, note_ignored, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_import_openmvg", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser, ("-y", "--force"))
    parser.add_argument("-i", "--openmvg", default=None, help="OpenMVG folder holding sfm_data.json")
    parser.add_argument("-s", "--sfm_data", default=None, help="sfm_data.json file")
    parser.add_argument("-r", "--regions", default=None, help="accepted and not applied")
    parser.add_argument("-m", "--matches", default=None, help="accepted and not applied")
    parser.add_argument("-o", "-k", "--kapture", dest="kapture", required=True, help="kapture dataset folder to write")
    parser.add_argument("--image_action", default="root_link", help="accepted and not applied")
    parser.add_argument("--keypoints-type", default="openmvg", help="name of the keypoints type [openmvg]")
    return parser


def action(args: argparse.Namespace) -> None:
    note_ignored(build_parser(), args, ["regions", "matches", "image_action"])
    if not (args.sfm_data or args.openmvg):
        raise ConversionError("give -i OPENMVG_FOLDER or -s SFM_DATA_FILE")
    source = args.sfm_data or flags.file_in(args.openmvg, "sfm_data.json")
    k = import_openmvg(source, args.kapture, args.keypoints_type, force=args.force)
    print(f"{len(k.image_names())} images, {len(k.points3d)} points -> {args.kapture}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
