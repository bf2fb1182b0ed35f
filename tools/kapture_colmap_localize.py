"""Localize images in a COLMAP map (kapture-localization's kapture_colmap_localize, done with pycolmap instead of
COLMAP's image_registrator): -i is a dataset with the keypoints of map and query images and their matches, -txt
the map's COLMAP model, -db its database; the images missing from the model are registered into it and written
to OUTPUT/reconstruction (COLMAP text, read by kapture_import_colmap -txt), with OUTPUT/colmap.db when -db is
given. COLMAP's --Mapper.abs_pose_* and --Mapper.min_num_matches options are applied;
--use-colmap-matches-importer verifies the query-map matches (RANSAC) first."""

from __future__ import annotations

import argparse
import sys

from kapturelike.dataset_tools.colmap_localize import LOCALIZE_STEPS, colmap_localize, registrator_options
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_colmap_localize", __doc__)
    parser.passes_unknown_to_colmap = True
    parser.reads_colmap_options = True
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset with keypoints and matches")
    flags.add_database(parser)
    flags.add_reconstruction(parser)
    parser.add_argument("-o", "--output", required=True, help="output folder (COLMAP folder)")
    flags.add_colmap_binary(parser)
    parser.add_argument("--use-colmap-matches-importer", action="store_true",
                        help="verify the query-map matches (RANSAC) first, as COLMAP's matches importer")
    parser.add_argument("--pairs-file-path", "--pairsfile-path", dest="pairs_file_path", type=str, default=None,
                        help="pairs file: only the matches of these pairs are used")
    flags.add_keypoints_type(parser)
    parser.add_argument("-s", "--skip", nargs="+", choices=list(LOCALIZE_STEPS), default=[], help="steps to skip")
    return parser


def action(args: argparse.Namespace) -> None:
    options, unused = registrator_options(getattr(args, "colmap_options", []))
    if unused:
        print(f"kapture_colmap_localize: note: {' '.join(unused)}: COLMAP options with no effect here",
              file=sys.stderr)
    if not args.reconstruction:
        raise ValueError("give the map's COLMAP model with -txt/--reconstruction")
    results = colmap_localize(args.input, args.output, args.database, args.reconstruction, args.pairs_file_path,
                              args.keypoints_type, options, args.skip, args.force, args.use_colmap_matches_importer)
    found = sum(r.success for r in results.values())
    print(f"{found} / {len(results)} image(s) registered -> {args.output}/reconstruction")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
