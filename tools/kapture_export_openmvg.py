"""Export a kapture dataset to OpenMVG: sfm_data.json in the -o folder (or -s file; -o FILE.json works too).

Accepts every flag of kapture's kapture_export_openmvg; -im, -r, -m, --image_action,
--image_path_flatten, -desc and --use_v2_intrinsics_format are accepted and not applied."""

from __future__ import annotations

import argparse

from kapturelike.converters.common import ConversionError
from kapturelike.converters.features_io import keypoints_reader
from kapturelike.converters.openmvg import export_openmvg
from kapturelike.io.dataset import load_kapture
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, note_ignored, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_export_openmvg", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_kapture(parser, flags=("-i", "-k", "--kapture"))
    parser.add_argument("-o", "--openmvg", default=None, help="OpenMVG folder to write sfm_data.json into")
    parser.add_argument("-s", "--sfm_data", default=None, help="sfm_data.json file to write")
    parser.add_argument("-im", "--images", default=None, help="accepted and not applied")
    parser.add_argument("-r", "--regions", default=None, help="accepted and not applied")
    parser.add_argument("-m", "--matches", default=None, help="accepted and not applied")
    parser.add_argument("--image_action", default="skip", help="accepted and not applied")
    parser.add_argument("--image_path_flatten", action="store_true", help="accepted and not applied")
    flags.add_keypoints_type(parser)
    flags.add_descriptors_type(parser)
    parser.add_argument("--use_v2_intrinsics_format", action="store_true", help="accepted and not applied")
    parser.add_argument("--root-path", default="", help="root_path written in the file (the images folder)")
    parser.add_argument("--approximate", action="store_true", help="replace cameras OpenMVG cannot hold")
    return parser


def action(args: argparse.Namespace) -> None:
    note_ignored(build_parser(), args, ["images", "regions", "matches", "image_action", "image_path_flatten",
                                        "descriptors_type", "use_v2_intrinsics_format"])
    if not (args.sfm_data or args.openmvg):
        raise ConversionError("give -o OPENMVG_FOLDER or -s SFM_DATA_FILE")
    out = args.sfm_data or flags.file_in(args.openmvg, "sfm_data.json")
    k = load_kapture(args.kapture)
    kpt, read = keypoints_reader(args.kapture, k, args.keypoints_type)
    doc = export_openmvg(k, out, read, kpt, args.root_path, args.approximate)
    print(f"{len(doc['views'])} views, {len(doc['structure'])} points -> {out}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
