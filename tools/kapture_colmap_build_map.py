"""kapture_colmap_build_map: accepts the flags of kapture's tool of this name; not offered here: not offered;
kapture_pipeline_mapping triangulates the map with pycolmap."""

from __future__ import annotations

import argparse

from kapturelike.tools import flags
from kapturelike.tools.cli import ToolUnavailable, make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_colmap_build_map", __doc__)
    parser.passes_unknown_to_colmap = True
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="input")
    parser.add_argument("-o", "--output", required=True, help="output")
    flags.add_colmap_binary(parser)
    parser.add_argument("--use-colmap-matches-importer", action="store_true", help="use colmap matches importer")
    parser.add_argument("--pairs-file-path", help="pairs file path")
    flags.add_keypoints_type(parser)
    parser.add_argument(
        "-s",
        "--skip",
        nargs="+",
        choices=["delete_existing", "colmap_db", "priors_for_reconstruction", "triangulation", "model_converter"],
        default=[],
        help="skip",
    )
    return parser


def action(args: argparse.Namespace) -> int | None:
    raise ToolUnavailable("not offered; kapture_pipeline_mapping triangulates the map with pycolmap")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
