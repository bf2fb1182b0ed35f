"""Import OpenMVG's sfm_data.json into a kapture dataset as kapture's kapture_import_openmvg does.

-i DIR reads DIR/sfm_data.json and, unless given otherwise, the regions in DIR (-r: image_describer.json,
.feat, .desc) and the matches file DIR/matches.f.txt (-m; skipped when that default file is absent);
-s FILE names the sfm_data file (-i FILE.json works too). --image_action (default root_link) links the
images folder (root_path) into the dataset, or links, copies or moves each image."""

from __future__ import annotations

import argparse
from pathlib import Path

from kapturelike.converters.common import ConversionError
from kapturelike.converters.openmvg import SFM_DATA_FILE, OpenMVGImportOptions, import_openmvg
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_import_openmvg", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser, ("-y", "--force"))
    parser.add_argument("-i", "--openmvg", default=None, help="OpenMVG folder holding sfm_data.json")
    parser.add_argument("-s", "--sfm_data", default=None, help="sfm_data.json file")
    parser.add_argument("-r", "--regions", default=None,
                        help="folder of the regions (image_describer.json, .feat, .desc) [OPENMVG]")
    parser.add_argument("-m", "--matches", default=None, help="OpenMVG text matches file [OPENMVG/matches.f.txt]")
    parser.add_argument("-o", "-k", "--kapture", dest="kapture", required=True, help="kapture dataset folder to write")
    parser.add_argument("--image_action", default="root_link", choices=flags.IMAGE_TRANSFERS,
                        help="how images reach the dataset (default: root_link)")
    parser.add_argument("--keypoints-type", default="openmvg",
                        help="keypoints type of the observed keypoints when there are no regions [openmvg]")
    return parser


def action(args: argparse.Namespace) -> None:
    if not (args.sfm_data or args.openmvg):
        raise ConversionError("give -i OPENMVG_FOLDER or -s SFM_DATA_FILE")
    source = args.sfm_data or flags.file_in(args.openmvg, SFM_DATA_FILE)
    folder = Path(args.openmvg) if args.openmvg and Path(args.openmvg).suffix != ".json" else None
    regions, matches = args.regions, args.matches
    if folder is not None:  # kapture's guesses in the openMVG folder
        regions = regions or str(folder)
        if matches is None and (folder / "matches.f.txt").is_file():
            matches = str(folder / "matches.f.txt")
    if matches is not None and Path(matches).suffix != ".txt":
        raise ConversionError(f"{matches}: only text matches files (.txt) are read, as kapture")
    k = import_openmvg(source, args.kapture, OpenMVGImportOptions(
        regions=regions, matches=matches, image_action=args.image_action, keypoints_type=args.keypoints_type,
        force=args.force))
    print(f"{len(k.image_names())} images, {0 if k.points3d is None else len(k.points3d)} points -> {args.kapture}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
