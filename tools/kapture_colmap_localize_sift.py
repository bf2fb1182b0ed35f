"""Localize images in a SIFT map (kapture-localization's kapture_colmap_localize_sift, done without the COLMAP
executable): kapturelike's SIFT of the images of -i missing from the map database (-db, written by
kapture_colmap_build_sift_map), matched to the SIFT of its most similar map images in the vocabulary tree (-voc,
with COLMAP's --VocabTreeMatching.* options; without a tree pycolmap reads, e.g. a pre-2025 flann tree, to every
map image, with a warning) and verified (RANSAC), then registered with pycolmap into the map model (-txt); -o gets
reconstruction/ (COLMAP text, for kapture_import_colmap -txt) and colmap.db. COLMAP's --Mapper.abs_pose_* and
--Mapper.min_num_matches options are applied; -s skips kapture's steps (feature_extractmatches: an earlier
run's features and matches are used; model_converter: the model stays binary; fix_db_cameras has nothing to
skip); --cpu runs on the CPU; -gpu_idx is accepted and not applied."""

from __future__ import annotations

import argparse
import sys

from kapturelike.dataset_tools.colmap_localize import registrator_options
from kapturelike.dataset_tools.sift_map import LOCALIZE_SIFT_STEPS, colmap_localize_sift, vocab_tree_options
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, note_ignored, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_colmap_localize_sift", __doc__)
    parser.passes_unknown_to_colmap = True
    parser.reads_colmap_options = True
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    flags.add_database(parser)
    flags.add_reconstruction(parser)
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    flags.add_colmap_binary(parser)
    parser.add_argument("--cpu", action="store_true", help="run on the CPU")
    parser.add_argument("-gpu_idx", "--colmap_gpu_index", help="GPU index")
    parser.add_argument("-voc", "--vocab_tree_path", required=True, help="vocabulary tree file")
    parser.add_argument(
        "-s",
        "--skip",
        nargs="+",
        choices=list(LOCALIZE_SIFT_STEPS),
        default=[],
        help="steps to skip",
    )
    return parser


def action(args: argparse.Namespace) -> None:
    note_ignored(build_parser(), args, ["colmap_gpu_index"])
    tree_options, others = vocab_tree_options(getattr(args, "colmap_options", []))
    options, unused = registrator_options(others)
    if unused:
        print(f"kapture_colmap_localize_sift: note: {' '.join(unused)}: COLMAP options with no effect here",
              file=sys.stderr)
    if not args.reconstruction:
        raise ValueError("give the map's COLMAP model with -txt/--reconstruction")
    results = colmap_localize_sift(args.input, args.output, args.database, args.reconstruction, options, args.force,
                                   "cpu" if args.cpu else "auto", args.vocab_tree_path, tree_options, args.skip)
    found = sum(r.success for r in results.values())
    print(f"{found} / {len(results)} image(s) registered -> {args.output}/reconstruction")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
