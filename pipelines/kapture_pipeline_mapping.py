"""kapture_pipeline_mapping: map kapture (images with known poses) -> features, pairs, matches, 3D points.

Our short interface (``-i MAP -o MAP_DIR [--config YAML]``) and kapture-localization's flags
(``-kpt -desc -gfeat -matches -matches-gv --colmap-map --topk ...``) go through one code path:
kapturelike.pipelines.command_line.
"""

from __future__ import annotations

import argparse

from kapturelike.pipelines.command_line import map_dir_of, mapping_parser, request
from kapturelike.pipelines.mapping import run_mapping
from kapturelike.pipelines.steps import exit_code
from kapturelike.tools.cli import run


def build_parser() -> argparse.ArgumentParser:
    return mapping_parser()


def action(args: argparse.Namespace) -> int:
    map_dir = map_dir_of(args, build_parser(), mapping=True)
    config, control = request(args, mapping=True, out_dir=map_dir)
    result = run_mapping(args.input, map_dir, config, overwrite=args.force, control=control)
    for report in result.reports:
        print(report.summary())
    print(f"map: {result.num_images} images, {result.num_pairs} pairs, {result.num_points} points, "
          f"{result.num_observations} observations, reprojection error {result.mean_reprojection_error:.2f} px "
          f"-> {result.map_dir}")
    return exit_code(result.reports)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
