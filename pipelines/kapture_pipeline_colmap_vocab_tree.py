"""kapture_pipeline_colmap_vocab_tree: SIFT map from the map kapture's poses (unless --colmap-map names one
built before), query images localized in it, eval/ and LTVL2020_style_result.txt, as kapture-localization's
pipeline; pairs come from kapturelike's retrieval, the vocabulary tree (-voc) is not read. See
kapturelike.pipelines.sift_pipeline."""

from __future__ import annotations

import argparse

from kapturelike.pipelines.sift_pipeline import run_sift_pipeline
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_pipeline_colmap_vocab_tree", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--kapture-map", required=True, help="map kapture dataset folder")
    parser.add_argument("--query", help="query kapture dataset folder")
    parser.add_argument("--colmap-map", help="COLMAP map folder")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    flags.add_colmap_binary(parser)
    flags.add_python_binary(parser)
    parser.add_argument("-voc", "--vocab_tree_path", required=True, help="vocabulary tree file")
    parser.add_argument("--mapping-config", type=int, choices=[0, 1], default=1, help="mapping configuration")
    parser.add_argument("--localize-config", type=int, choices=[0, 1, 2, 3], default=1, help="localize configuration")
    parser.add_argument(
        "--benchmark-style",
        choices=[
            "Default",
            "RobotCar_Seasons",
            "Gangnam_Station",
            "Hyundai_Department_Store",
            "RIO10",
            "ETH_Microsoft",
        ],
        default="Default",
        help="benchmark file naming",
    )
    parser.add_argument("--bins", nargs="+", default=["0.25 2", "0.5 5", "5 10"], help="'METRES DEGREES' accuracy bins")
    parser.add_argument(
        "-s",
        "--skip",
        nargs="+",
        choices=["colmap_build_sift_mapcolmap_localize_sift.py", "import_colmap", "evaluate", "export_LTVL2020"],
        default=[],
        help="steps to skip",
    )
    parser.add_argument("--remove-intermediate", action="store_true", help="remove intermediate files")
    return parser


def action(args: argparse.Namespace) -> int:
    result = run_sift_pipeline(args)
    for line in result.notes:
        print(line)
    print(f"map -> {result.colmap_map}")
    if result.localized is not None:
        print(f"poses -> {result.localized}")
    if result.stats is not None:
        print(result.stats)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
