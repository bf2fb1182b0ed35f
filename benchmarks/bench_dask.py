"""Mapping in-process against a Dask LocalCluster of 1 and 2 worker processes, outputs compared.

    .venv/bin/python benchmarks/bench_dask.py [--scene synthetic|fountain-P11|Herz-Jesus-P25] [--work DIR]

Needs the dask extra (requirements-dask.txt). Runs the mapping pipeline from scratch three times
(scheduler '', 'local:1', 'local:2'), prints the seconds of each step (local features, global
features, matching + verification, whole mapping; a LocalCluster's start is part of the first step)
and the speed-up of 2 workers over 1, then checks that every feature and matches file is byte-identical
to the in-process run's.
"""

from __future__ import annotations

import argparse
import dataclasses
import filecmp
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

from kapturelike.pipelines.config import load_config
from kapturelike.pipelines.mapping import run_mapping
from kapturelike.pipelines.real_scenes import prepare_strecha, shared_strecha_dir
from kapturelike.synthetic.export import write_synthetic_kapture
from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset

REPO = Path(__file__).resolve().parents[1]
SCHEDULERS = ("", "local:1", "local:2")


def step_seconds(reports) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in reports:
        name = r.step.split(" (")[0]
        out[name] = out.get(name, 0.0) + r.seconds
    return out


def differing_files(a: Path, b: Path) -> list[str]:
    rel = sorted(p.relative_to(a) for p in (a / "reconstruction").rglob("*") if p.is_file())
    other = sorted(p.relative_to(b) for p in (b / "reconstruction").rglob("*") if p.is_file())
    if rel != other:
        return sorted({str(p) for p in set(rel) ^ set(other)})
    return [str(p) for p in rel if not filecmp.cmp(a / p, b / p, shallow=False)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", default="synthetic")
    parser.add_argument("--work", help="work folder (default: a temporary one, removed at the end)")
    parser.add_argument("--config", help="YAML configuration")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench_dask_"))
    if args.scene == "synthetic":
        mapping = write_synthetic_kapture(generate_dataset(SyntheticOptions()), work / "scene").mapping
    else:
        scene_dir = shared_strecha_dir(REPO) / args.scene
        if not scene_dir.is_dir():
            print(f"error: {scene_dir} not found (../shared/data/strecha is needed)", file=sys.stderr)
            return 1
        mapping = prepare_strecha(scene_dir, work / "scene").mapping
    config = load_config(args.config)
    rows = {}
    for scheduler in SCHEDULERS:
        start = time.perf_counter()
        result = run_mapping(mapping, work / f"map{scheduler.replace(':', '')}",
                             dataclasses.replace(config, scheduler=scheduler))
        total = time.perf_counter() - start
        rows[scheduler] = {**step_seconds(result.reports), "mapping (total)": total}
        print(f"{scheduler or 'in-process':>10}: {total:.1f} s", flush=True)
    steps = list(rows[""])
    print(f"\nscene {args.scene}, {len(steps)} steps")
    print(f"{'step':<34}" + "".join(f"{s or 'in-process':>12}" for s in SCHEDULERS) + f"{'2 vs 1':>9}")
    for step in steps:
        values = [rows[s].get(step, float("nan")) for s in SCHEDULERS]
        ratio = values[1] / values[2] if values[2] else float("nan")
        print(f"{step:<34}" + "".join(f"{v:>12.1f}" for v in values) + f"{ratio:>8.2f}x")
    identical = True
    for scheduler in SCHEDULERS[1:]:
        diff = differing_files(work / "map", work / f"map{scheduler.replace(':', '')}")
        identical &= not diff
        print(f"{scheduler}: " + ("every feature and matches file identical to in-process" if not diff
                                  else f"{len(diff)} files differ, e.g. {diff[:3]}"))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
