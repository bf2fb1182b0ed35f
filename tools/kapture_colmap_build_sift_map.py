"""kapture_colmap_build_sift_map: accepts the flags of kapture's tool of this name; not offered here: COLMAP's
SIFT extraction and vocabulary-tree matching need the COLMAP executable."""

from __future__ import annotations

import argparse

from kapturelike.tools import flags
from kapturelike.tools.cli import ToolUnavailable, make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_colmap_build_sift_map", __doc__)
    parser.passes_unknown_to_colmap = True
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
        choices=[
            "delete_existing",
            "feature_extract",
            "update_db_cameras",
            "matches",
            "priors_for_reconstruction",
            "triangulation",
            "model_converter",
        ],
        default=[],
        help="steps to skip",
    )
    return parser


def action(args: argparse.Namespace) -> int | None:
    raise ToolUnavailable("COLMAP's SIFT extraction and vocabulary-tree matching need the COLMAP executable")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
