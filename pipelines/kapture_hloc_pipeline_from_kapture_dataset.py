"""kapture_hloc_pipeline_from_kapture_dataset: accepts the flags of kapture's tool of this name; not offered
here: hloc's pipeline needs the hloc package (Hierarchical-Localization)."""

from __future__ import annotations

import argparse

from kapturelike.tools import flags
from kapturelike.tools.cli import ToolUnavailable, make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_hloc_pipeline_from_kapture_dataset", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-i", "--kapture-map", required=True, help="map kapture dataset folder")
    parser.add_argument("--query", required=True, help="query kapture dataset folder")
    parser.add_argument("--pairsfile-map", required=True, help="pairs file of the map images")
    parser.add_argument("--pairsfile-query", required=True, help="pairs file of the query images")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    parser.add_argument("--feature-conf", default="superpoint_max", help="hloc feature configuration name")
    parser.add_argument("--matcher-conf", default="superglue", help="hloc matcher configuration name")
    parser.add_argument("--covisibility-clustering", action="store_true", help="cluster map images by co-visibility")
    parser.add_argument("--bins", nargs="+", default=["0.25 2", "0.5 5", "5 10"], help="'METRES DEGREES' accuracy bins")
    flags.add_benchmark_style(parser)
    flags.add_colmap_binary(parser)
    flags.add_python_binary(parser)
    parser.add_argument(
        "-s",
        "--skip",
        nargs="+",
        choices=[
            "convert_pairsfile_map",
            "convert_pairsfile_query",
            "extract_features_map",
            "extract_features_query",
            "match_map_pairs",
            "kapture_export_map_to_colmap",
            "triangulate",
            "match_query_pairs",
            "localize",
            "convert_results",
            "evaluate",
            "export_LTVL2020",
        ],
        default=[],
        help="steps to skip",
    )
    return parser


def action(args: argparse.Namespace) -> int | None:
    raise ToolUnavailable("hloc's pipeline needs the hloc package (Hierarchical-Localization)")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
