"""kapture_pipeline_image_retrieval_benchmark_from_pairsfile: kapture-localization's image retrieval benchmark
with the pairs of --pairsfile-path: global_sfm against --colmap-map, local_sfm, pose approximation EWB and
CSI from the pairs (no BDI, as kapture-localization), LTVL2020 files and eval/."""

from __future__ import annotations

import argparse

from kapturelike.pipeline_tools.kapture_pipeline_image_retrieval_benchmark import benchmark_action, benchmark_parser
from kapturelike.tools.cli import run


def build_parser() -> argparse.ArgumentParser:
    return benchmark_parser("kapture_pipeline_image_retrieval_benchmark_from_pairsfile", __doc__, from_pairsfile=True)


def action(args: argparse.Namespace) -> int:
    return benchmark_action(args, from_pairsfile=True)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
