"""Build a map from a posed kapture dataset's matches (kapture-localization's kapture_colmap_build_map):
triangulation with known poses through pycolmap, no COLMAP executable; -o gets the COLMAP text model in
reconstruction/ and the COLMAP database colmap.db (cameras, images, keypoints, matches, two-view geometries;
-s colmap_db skips it). -colmap, --use-colmap-matches-importer, the other -s steps and COLMAP's pass-through
options are accepted and not used."""

from __future__ import annotations

import argparse
import sys

from kapturelike.dataset_tools.build_map import build_map
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, note_ignored, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_colmap_build_map", __doc__)
    parser.passes_unknown_to_colmap = True
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    flags.add_colmap_binary(parser)
    parser.add_argument("--use-colmap-matches-importer", action="store_true", help="use COLMAP's matches importer")
    parser.add_argument("--pairs-file-path", "--pairsfile-path", dest="pairs_file_path", help="pairs file")
    flags.add_keypoints_type(parser)
    parser.add_argument(
        "-s",
        "--skip",
        nargs="+",
        choices=["delete_existing", "colmap_db", "priors_for_reconstruction", "triangulation", "model_converter"],
        default=[],
        help="steps to skip",
    )
    return parser


def action(args: argparse.Namespace) -> None:
    note_ignored(build_parser(), args, ["use_colmap_matches_importer"])
    unused = [step for step in args.skip if step != "colmap_db"]
    if unused:
        print(f"kapture_colmap_build_map: note: -s {' '.join(unused)} is accepted and not applied", file=sys.stderr)
    result = build_map(args.input, args.output, args.pairs_file_path, args.keypoints_type, args.force,
                       database="colmap_db" not in args.skip)
    print(f"{len(result.points3d)} points triangulated -> {args.output}/reconstruction"
          + ("" if "colmap_db" in args.skip else f", {args.output}/colmap.db"))


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
