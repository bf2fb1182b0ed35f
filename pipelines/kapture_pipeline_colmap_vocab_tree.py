"""Build a SIFT map and localize query images in it (kapture-localization's kapture_pipeline_colmap_vocab_tree,
done without the COLMAP executable): kapture_colmap_build_sift_map (unless --colmap-map gives the map), then
kapture_colmap_localize_sift with --localize-config's registration settings (the paper's presets), the import
to kapture with the query's timestamps and ids, kapture_evaluate against the query's poses (when it has some)
and the LTVL2020 export (--benchmark-style naming). Image pairs come from the vocabulary tree (-voc) when pycolmap
reads it (COLMAP 3.12+'s faiss trees); else (a pre-2025 flann tree, or none: a warning says so) from the map poses
(all pairs up to 101 images) and every query-map pair. --remove-intermediate removes colmap_localized/ and
kapture_localized/ at the end. --mapping-config changes nothing here (the triangulation never refines
intrinsics); -colmap and -python are accepted and not applied."""

from __future__ import annotations

import argparse

from kapturelike.pipelines.colmap_vocab_tree import STEPS, colmap_vocab_tree_pipeline
from kapturelike.pipelines.command_line import BENCHMARK_STYLES
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, note_ignored, run


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
    # kapture-localization's tutorial.adoc writes --config 2 for this pipeline, which its own parser lacks
    parser.add_argument("--localize-config", "--config", dest="localize_config", type=int, choices=[0, 1, 2, 3],
                        default=1, help="localize configuration")
    flags.add_benchmark_style(parser)
    parser.add_argument("--bins", nargs="+", default=["0.25 2", "0.5 5", "5 10"], help="'METRES DEGREES' accuracy bins")
    parser.add_argument(
        "-s",
        "--skip",
        nargs="+",
        choices=list(STEPS),
        default=[],
        help="steps to skip",
    )
    parser.add_argument("--remove-intermediate", action="store_true",
                        help="remove colmap_localized/ and kapture_localized/ at the end")
    return parser


def action(args: argparse.Namespace) -> None:
    note_ignored(build_parser(), args, ["python_binary", "auto_python_binary"])
    run_ = colmap_vocab_tree_pipeline(args.kapture_map, args.query, args.output, args.colmap_map, args.localize_config,
                                      BENCHMARK_STYLES[args.benchmark_style], args.bins, args.skip, args.force,
                                      vocab_tree=args.vocab_tree_path, remove_intermediate=args.remove_intermediate)
    if run_.stats is not None:
        print(run_.stats)
    print(f"map: {run_.colmap_map}" + (f", localized: {run_.localized}" if run_.localized else ""))


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
