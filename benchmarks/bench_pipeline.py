"""Time every step of mapping + localization on one Strecha scene (or the synthetic scene).

    .venv/bin/python benchmarks/bench_pipeline.py [--scene fountain-P11|Herz-Jesus-P25|synthetic] [--work DIR]

Prints a table: step, seconds, peak Python memory (tracemalloc), items per second, then the
recall of the localized queries. Runs from scratch in a fresh work folder.
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from kapturelike.evaluation.report import format_table
from kapturelike.pipelines.config import load_config
from kapturelike.pipelines.localization import run_localization
from kapturelike.pipelines.mapping import run_mapping
from kapturelike.pipelines.real_scenes import prepare_strecha, shared_strecha_dir
from kapturelike.synthetic.export import write_synthetic_kapture
from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", default="fountain-P11")
    parser.add_argument("--work", help="work folder (default: a temporary one, removed at the end)")
    parser.add_argument("--config", help="YAML configuration")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    config = load_config(args.config)
    start = time.perf_counter()
    if args.scene == "synthetic":
        paths = write_synthetic_kapture(generate_dataset(SyntheticOptions()), work / "scene")
        mapping, query = paths.mapping, paths.query
    else:
        scene_dir = shared_strecha_dir(REPO) / args.scene
        if not scene_dir.is_dir():
            print(f"error: {scene_dir} not found (../shared/data/strecha is needed)", file=sys.stderr)
            return 1
        split = prepare_strecha(scene_dir, work / "scene")
        mapping, query = split.mapping, split.query
    prepare = time.perf_counter() - start
    start = time.perf_counter()
    mapped = run_mapping(mapping, work / "map", config)
    map_seconds = time.perf_counter() - start
    start = time.perf_counter()
    run = run_localization(work / "map", query, work / "loc", config)
    loc_seconds = time.perf_counter() - start
    print(f"scene {args.scene}: {mapped.num_images} map images, {len(run.outcomes)} queries, "
          f"{mapped.num_points} points (import {prepare:.1f} s)")
    print(f"{'step':<58}{'seconds':>9}{'peak MB':>9}{'items/s':>9}")
    for phase, reports in (("map", mapped.reports), ("loc", run.reports)):
        for r in reports:
            rate = r.done / r.seconds if r.seconds > 0 and r.done else 0.0
            print(f"{phase + ': ' + r.step:<58}{r.seconds:>9.2f}{r.peak_mb:>9.1f}{rate:>9.2f}")
    print(f"{'mapping total':<58}{map_seconds:>9.2f}")
    print(f"{'localization total':<58}{loc_seconds:>9.2f}")
    print(f"max resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if run.evaluation is not None:
        print(format_table(run.evaluation))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
