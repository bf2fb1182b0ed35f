"""Build a map from a kapture dataset's matches (kapture-localization's kapture_colmap_build_map) through pycolmap,
no COLMAP executable: triangulation with the known poses (without poses: pycolmap's incremental mapper, as
kapture runs COLMAP's mapper). -o gets the COLMAP text model in reconstruction/, the COLMAP database colmap.db
(cameras, images with pose priors, keypoints, matches, two-view geometries) and priors_for_reconstruction/.
--use-colmap-matches-importer verifies the matches (RANSAC) first, as COLMAP's matches importer; -s skips
kapture's steps (delete_existing, colmap_db, priors_for_reconstruction, triangulation, model_converter: the model
stays binary). COLMAP's triangulation options are applied (--Mapper.filter_max_reproj_error,
--Mapper.tri_min_angle / filter_min_tri_angle, --Mapper.tri_create_max_angle_error,
--Mapper.tri_continue_max_angle_error, --Mapper.tri_ignore_two_view_tracks; --Mapper.ba_refine_* 0 is what
is done anyway); -colmap is accepted and not used."""

from __future__ import annotations

import argparse
import sys

from kapturelike.dataset_tools.build_map import BUILD_MAP_STEPS, build_map, triangulation_options
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_colmap_build_map", __doc__)
    parser.passes_unknown_to_colmap = True
    parser.reads_colmap_options = True
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
        choices=list(BUILD_MAP_STEPS),
        default=[],
        help="steps to skip",
    )
    return parser


def action(args: argparse.Namespace) -> None:
    options, unused = triangulation_options(getattr(args, "colmap_options", []))
    if unused:
        print(f"kapture_colmap_build_map: note: {' '.join(unused)}: COLMAP options with no effect here",
              file=sys.stderr)
    build = build_map(args.input, args.output, args.pairs_file_path, args.keypoints_type, args.force, options,
                      args.skip, args.use_colmap_matches_importer)
    steps = (("reconstruction", "triangulation"), ("colmap.db", "colmap_db"))
    written = [f"{args.output}/{part}" for part, step in steps if step not in args.skip]
    print(f"{build.num_points} points triangulated -> {', '.join(written) or 'nothing written'}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
