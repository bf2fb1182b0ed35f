"""kapture_pipeline_mapping: map kapture (images with known poses) -> features, pairs, matches, 3D points."""

from __future__ import annotations

import argparse
import logging

from kapturelike.pipelines.config import load_config
from kapturelike.pipelines.mapping import run_mapping
from kapturelike.tools.cli import run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kapture_pipeline_mapping", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="map kapture dataset (images with poses)")
    parser.add_argument("-o", "--output", required=True, help="MAP_DIR: where the map is built (resumable)")
    parser.add_argument("--config", help="YAML configuration (see datasets/configs/default.yaml)")
    parser.add_argument("--overwrite", action="store_true", help="recompute what already exists")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def action(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    result = run_mapping(args.input, args.output, load_config(args.config), overwrite=args.overwrite)
    for report in result.reports:
        print(report.summary())
    print(f"map: {result.num_images} images, {result.num_pairs} pairs, {result.num_points} points, "
          f"{result.num_observations} observations, reprojection error {result.mean_reprojection_error:.2f} px "
          f"-> {result.map_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
