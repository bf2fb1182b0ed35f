"""kapture_pipeline_image_retrieval_benchmark: kapture-localization's image retrieval benchmark. Pairs from
global features (--topk), then each localization strategy (global_sfm against --colmap-map, local_sfm,
pose approximation EWB / BDI / CSI) writes its poses and LTVL2020 file into OUTPUT, and eval/ compares them
with the query's ground truth. See kapturelike.pipelines.retrieval_benchmark."""

from __future__ import annotations

import argparse

from kapturelike.pipelines.retrieval_benchmark import run_benchmark
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def benchmark_parser(prog: str, description: str, from_pairsfile: bool) -> argparse.ArgumentParser:
    """kapture-localization's two retrieval-benchmark pipelines differ only in where the pairs come from:
    a pairs file, or global features (then also --topk and the compute_image_pairs step)."""
    parser = make_parser(prog, description)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--kapture-map", required=True, help="map kapture dataset folder")
    parser.add_argument("--query", required=True, help="query kapture dataset folder")
    parser.add_argument("--merge-path", help="merged kapture dataset folder")
    if from_pairsfile:
        flags.add_pairsfile_path(parser, required=True)
    parser.add_argument("-kpt", "--keypoints-path", required=True, help="keypoints path")
    parser.add_argument("-desc", "--descriptors-path", required=True, help="descriptors path")
    if not from_pairsfile:
        parser.add_argument("-gfeat", "--global-features-path", required=True, help="global features path")
    parser.add_argument("-matches", "--matches-path", required=True, help="matches path")
    parser.add_argument("-matches-gv", "--matches-gv-path", required=True, help="matches gv path")
    parser.add_argument("--colmap-map", required=True, help="COLMAP map folder")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    flags.add_colmap_binary(parser)
    flags.add_python_binary(parser)
    if not from_pairsfile:
        parser.add_argument("--topk", type=int, default=20, help="number of best pairs kept per image")
    parser.add_argument("--config", type=int, choices=[0, 1, 2, 3], default=1, help="configuration number")
    flags.add_benchmark_style(parser)
    parser.add_argument(
        "-s",
        "--skip",
        nargs="+",
        choices=[*([] if from_pairsfile else ["compute_image_pairs"]),
            "compute_matches",
            "geometric_verification",
            "global_sfm",
            "local_sfm",
            "pose_approximation",
            "evaluate",
            "export_LTVL2020",
        ],
        default=[],
        help="steps to skip",
    )
    parser.add_argument("--keypoints-type", help="keypoints type")
    parser.add_argument("--descriptors-type", help="descriptors type")
    if not from_pairsfile:
        parser.add_argument("--global-features-type", help="global features type")
    parser.add_argument("--remove-intermediate", action="store_true",
                        help="remove OUTPUT/kapture_inputs (the proxies built for pose approximation) at the end")
    return parser


def build_parser() -> argparse.ArgumentParser:
    return benchmark_parser("kapture_pipeline_image_retrieval_benchmark", __doc__, from_pairsfile=False)


def benchmark_action(args: argparse.Namespace, from_pairsfile: bool) -> int:
    result = run_benchmark(args, from_pairsfile)
    for line in result.skipped:
        print(line)
    for label, path in result.localized.items():
        print(f"{label}: poses -> {path}")
    if result.stats is not None:
        print(result.stats)
    return 0


def action(args: argparse.Namespace) -> int:
    return benchmark_action(args, from_pairsfile=False)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
