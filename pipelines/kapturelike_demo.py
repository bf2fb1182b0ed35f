"""kapturelike_demo: the main job on the built-in synthetic scene: map, localize, evaluate, print recall."""

from __future__ import annotations

import argparse
import logging

from kapturelike.pipeline_tools.kapture_pipeline_localize import print_run
from kapturelike.pipelines.config import load_config
from kapturelike.pipelines.demo import run_demo
from kapturelike.tools.cli import run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kapturelike_demo", description=__doc__)
    parser.add_argument("-o", "--output", default="out/demo", help="working folder (default: out/demo)")
    parser.add_argument("--config", help="YAML configuration")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic scene")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def action(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    result = run_demo(args.output, load_config(args.config), seed=args.seed)
    m = result.mapping
    print(f"map: {m.num_images} images, {m.num_pairs} pairs, {m.num_points} points, "
          f"{m.num_observations} observations, reprojection error {m.mean_reprojection_error:.2f} px")
    print_run(result.localization)
    print("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
