"""kapture_colmap_localize_localsfm: accepts the flags of kapture's tool of this name; not offered here: this
localizer is not offered; kapture_pipeline_localize localizes with pycolmap."""

from __future__ import annotations

import argparse

from kapturelike.tools import flags
from kapturelike.tools.cli import ToolUnavailable, make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_colmap_localize_localsfm", __doc__)
    parser.passes_unknown_to_colmap = True
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("--map_plus_query", required=True, help="merged map+query kapture dataset")
    parser.add_argument("--map_plus_query_gv", required=True, help="map+query dataset, verified matches")
    parser.add_argument("--query", required=True, help="query kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    flags.add_colmap_binary(parser)
    flags.add_pairsfile_path(parser, required=False)
    flags.add_descriptors_type(parser)
    return parser


def action(args: argparse.Namespace) -> int | None:
    raise ToolUnavailable("this localizer is not offered; kapture_pipeline_localize localizes with pycolmap")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
