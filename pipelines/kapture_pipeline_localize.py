"""kapture_pipeline_localize: map + query kapture -> poses, post-processing, evaluation, benchmark file."""

from __future__ import annotations

import argparse
import logging

from kapturelike.evaluation.report import format_table
from kapturelike.pipelines.config import load_config
from kapturelike.pipelines.localization import run_localization
from kapturelike.tools.cli import run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kapture_pipeline_localize", description=__doc__)
    parser.add_argument("-m", "--map", required=True, help="MAP_DIR written by kapture_pipeline_mapping")
    parser.add_argument("-q", "--query", required=True, help="query kapture dataset (ground truth, if any, "
                        "is used only for evaluation)")
    parser.add_argument("-o", "--output", required=True, help="OUT_DIR (resumable)")
    parser.add_argument("--config", help="YAML configuration (see datasets/configs/default.yaml)")
    parser.add_argument("--overwrite", action="store_true", help="recompute what already exists")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def print_run(run_result) -> None:
    for report in run_result.reports:
        print(report.summary())
    counts = run_result.counts()
    print("queries: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    if run_result.evaluation is not None:
        print(format_table(run_result.evaluation))


def action(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    result = run_localization(args.map, args.query, args.output, load_config(args.config), overwrite=args.overwrite)
    print_run(result)
    print(f"poses -> {result.out_dir / 'localized'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
