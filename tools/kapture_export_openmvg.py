"""Export a kapture dataset to OpenMVG as kapture's kapture_export_openmvg does.

-o DIR writes DIR/sfm_data.json and, unless given otherwise, takes DIR/images as the images folder
(-im), DIR/matches as the regions folder (-r: image_describer.json, .feat, .desc) and
DIR/matches/matches.txt as the matches file (-m); -s FILE names the sfm_data file alone (-o FILE.json
works too). --image_action (default skip) transfers the images into the -im folder (skip when none);
--image_path_flatten turns a/b.jpg into a_b.jpg; -kpt/-desc pick the feature types (default: the
dataset's only one); --use_v2_intrinsics_format writes brown/fisheye intrinsics without value0."""

from __future__ import annotations

import argparse
from pathlib import Path

from kapturelike.converters.common import ConversionError
from kapturelike.converters.openmvg import SFM_DATA_FILE, OpenMVGExportOptions, export_openmvg
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_export_openmvg", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_kapture(parser, flags=("-i", "-k", "--kapture"))
    parser.add_argument("-o", "--openmvg", default=None, help="OpenMVG folder (sfm_data.json, images, matches)")
    parser.add_argument("-s", "--sfm_data", default=None, help="sfm_data.json file to write")
    parser.add_argument("-im", "--images", default=None, help="OpenMVG image folder [OPENMVG/images]")
    parser.add_argument("-r", "--regions", default=None,
                        help="OpenMVG regions folder (image_describer.json, .feat, .desc) [OPENMVG/matches]")
    parser.add_argument("-m", "--matches", default=None, help="OpenMVG matches file [OPENMVG/matches/matches.txt]")
    parser.add_argument("--image_action", default="skip", choices=flags.IMAGE_TRANSFERS,
                        help="how images reach the -im folder (default: skip)")
    parser.add_argument("--image_path_flatten", action="store_true",
                        help="flatten image paths (a/b.jpg -> a_b.jpg) so that names cannot collide")
    flags.add_keypoints_type(parser)
    flags.add_descriptors_type(parser)
    parser.add_argument("--use_v2_intrinsics_format", action="store_true",
                        help="do not nest pinhole_brown_t2 and fisheye intrinsics in value0")
    parser.add_argument("--root-path", default=None, help="root_path to write instead of the images folder")
    parser.add_argument("--approximate", action="store_true",
                        help="write cameras kapture refuses (FOV, THIN_PRISM...) as pinholes")
    return parser


def action(args: argparse.Namespace) -> None:
    if not (args.sfm_data or args.openmvg):
        raise ConversionError("give -o OPENMVG_FOLDER or -s SFM_DATA_FILE")
    folder = args.openmvg if args.openmvg and Path(args.openmvg).suffix != ".json" else None
    out = args.sfm_data or flags.file_in(args.openmvg, SFM_DATA_FILE)
    if folder is not None:  # kapture's guesses below the openMVG folder
        args.images = args.images or str(Path(folder) / "images")
        args.regions = args.regions or str(Path(folder) / "matches")
        args.matches = args.matches or str(Path(folder) / "matches" / "matches.txt")
    image_action = args.image_action if args.images is not None else "skip"
    doc = export_openmvg(args.kapture, out, OpenMVGExportOptions(
        images=args.images if image_action != "skip" else None, regions=args.regions, matches=args.matches,
        image_action=image_action, image_path_flatten=args.image_path_flatten, keypoints_type=args.keypoints_type,
        descriptors_type=args.descriptors_type, use_v2_intrinsics_format=args.use_v2_intrinsics_format,
        approximate=args.approximate, force=args.force, root_path=args.root_path))
    print(f"{len(doc['views'])} views, {len(doc['structure'])} points -> {out}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
