"""Build a SIFT map of a posed kapture dataset (kapture-localization's kapture_colmap_build_sift_map, done
without the COLMAP executable): kapturelike's SIFT of every image, image pairs matched and verified with the known
poses, the matches triangulated with pycolmap; -o gets reconstruction/ (COLMAP text), colmap.db (with the SIFT
keypoints and descriptors kapture_colmap_localize_sift matches against) and sift_kapture/ (the SIFT features
as a kapture dataset). Image pairs come from the vocabulary tree (-voc, with COLMAP's --VocabTreeMatching.*
options) when pycolmap reads it (COLMAP 3.12+'s faiss trees); without one (absent, or a pre-2025 flann tree: a
warning says so), up to 101 images every pair is matched, beyond each image with its 100 nearest images looking
the same way. -s skips kapture's steps (feature_extract and matches: an earlier run's are used; model_converter:
the model stays binary; update_db_cameras has nothing to skip, the cameras come from the kapture sensors).
--cpu runs on the CPU; -gpu_idx and COLMAP's other options are accepted and not applied."""

from __future__ import annotations

import argparse
import sys

from kapturelike.dataset_tools.sift_map import BUILD_SIFT_MAP_STEPS, build_sift_map, vocab_tree_options
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, note_ignored, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_colmap_build_sift_map", __doc__)
    parser.passes_unknown_to_colmap = True
    parser.reads_colmap_options = True
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    flags.add_colmap_binary(parser)
    parser.add_argument("--cpu", action="store_true", help="run on the CPU")
    parser.add_argument("-gpu_idx", "--colmap_gpu_index", help="GPU index")
    parser.add_argument("-voc", "--vocab_tree_path", required=True, help="vocabulary tree file")
    parser.add_argument(
        "-s",
        "--skip",
        nargs="+",
        choices=list(BUILD_SIFT_MAP_STEPS),
        default=[],
        help="steps to skip",
    )
    return parser


def action(args: argparse.Namespace) -> None:
    note_ignored(build_parser(), args, ["colmap_gpu_index"])
    tree_options, unused = vocab_tree_options(getattr(args, "colmap_options", []))
    if unused:
        print(f"kapture_colmap_build_sift_map: note: {' '.join(unused)}: COLMAP options with no effect here",
              file=sys.stderr)
    result = build_sift_map(args.input, args.output, args.force, "cpu" if args.cpu else "auto", args.vocab_tree_path,
                            tree_options, args.skip)
    points = 0 if result is None else len(result.points3d)
    print(f"{points} points triangulated -> {args.output}/reconstruction, {args.output}/colmap.db")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
