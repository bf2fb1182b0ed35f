"""kapture_colmap_localize_sift: accepts the flags of kapture's tool of this name; not offered here: COLMAP's
SIFT extraction and vocabulary-tree matching need the COLMAP executable."""

from __future__ import annotations

import argparse

from kapturelike.tools import flags
from kapturelike.tools.cli import ToolUnavailable, make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_colmap_localize_sift", __doc__)
    parser.passes_unknown_to_colmap = True
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
        choices=["delete_existing", "feature_extractmatches", "fix_db_cameras", "image_registrator", "model_converter"],
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
