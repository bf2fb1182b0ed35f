"""kapture_colmap_localize: accepts the flags of kapture's tool of this name; not offered here: this localizer is
not offered; kapture_pipeline_localize localizes with pycolmap."""

from __future__ import annotations

import argparse

from kapturelike.tools import flags
from kapturelike.tools.cli import ToolUnavailable, make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_colmap_localize", __doc__)
    parser.passes_unknown_to_colmap = True
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    flags.add_database(parser)
    flags.add_reconstruction(parser)
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    flags.add_colmap_binary(parser)
    parser.add_argument("--use-colmap-matches-importer", action="store_true", help="use COLMAP's matches importer")
    parser.add_argument("--pairs-file-path", help="pairs file")
    flags.add_keypoints_type(parser)
    parser.add_argument(
        "-s",
        "--skip",
        nargs="+",
        choices=["delete_existing", "import_to_db", "image_registrator", "model_converter"],
        default=[],
        help="steps to skip",
    )
    return parser


def action(args: argparse.Namespace) -> int | None:
    raise ToolUnavailable("this localizer is not offered; kapture_pipeline_localize localizes with pycolmap")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
