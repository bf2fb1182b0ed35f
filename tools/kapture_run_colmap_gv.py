"""Geometric verification of the matches of a kapture dataset (pycolmap two-view geometry), into a new dataset."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.verify import run_colmap_gv
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_run_colmap_gv", __doc__)
    parser.passes_unknown_to_colmap = True
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    flags.add_pairsfile_path(parser, required=False)
    flags.add_colmap_binary(parser)
    parser.add_argument(
        "-s",
        "--skip",
        nargs="+",
        choices=["delete_existing", "matches_importer", "import", "delete_db"],
        default=[],
        help="steps to skip",
    )
    flags.add_keypoints_type(parser)
    return parser


def action(args: argparse.Namespace) -> int | None:
    run_colmap_gv(args.input, args.output, args.pairsfile_path, args.keypoints_type, args.skip, args.force)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
