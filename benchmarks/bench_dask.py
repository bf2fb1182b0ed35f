"""Mapping + localization in-process and on a Dask LocalCluster of 1 and 2 worker processes, outputs compared.

    .venv/bin/python benchmarks/bench_dask.py [--scene synthetic|fountain-P11|Herz-Jesus-P25 ...] [--work DIR]
        [--config FILE] [--schedulers "" local:1 local:2] [--extraction-only [--repeat 3]]

Needs the dask extra (requirements-dask.txt). For each scene (a Strecha scene is copied to the work folder,
imported and split like benchmarks/bench_pipeline.py: 2/3 map, every third image a query) and each
scheduler, the mapping then the localization pipeline run from scratch. A LocalCluster is started before
the runs that use it (its start is printed apart, not counted in a step) and the pipelines are pointed at
its address, as at a remote cluster. PnP RANSAC is seeded, so the poses can be compared.

Prints the seconds of each step, grouped as extraction (local + global features), matching (pairs,
or queries to map points) and localization (pose estimation), the steps that run as Dask tasks; the
global model fit and triangulation run in the client and are printed apart. Then the speed-up of
2 workers over 1 per group, the workers' compute seconds (from the scheduler's task stream) and how many
workers were busy on average during the Dask steps (2 workers on 2 idle cores: close to 2; less when
other processes hold the cores), the load average, and checks that every feature, matches, points,
localized-pose and LTVL file is byte-identical to the in-process run's.

``--extraction-only``: only the local features of all the scene's images, each scheduler in turn,
``--repeat`` times (the best is kept: on a shared machine the least disturbed run), with the workers'
compute seconds per image (equal for 1 and 2 workers when each worker has a core of its own).
"""

from __future__ import annotations

import argparse
import dataclasses
import filecmp
import logging
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from kapturelike.io.dataset import load_kapture, records_data_path
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.pipelines.config import PipelineConfig, load_config
from kapturelike.pipelines.executor import make_executor
from kapturelike.pipelines.extract_features import extract_local_features, make_local_extractor
from kapturelike.pipelines.localization import LTVL_FILE, run_localization
from kapturelike.pipelines.mapping import run_mapping
from kapturelike.pipelines.real_scenes import prepare_strecha, shared_strecha_dir
from kapturelike.synthetic.export import write_synthetic_kapture
from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset

REPO = Path(__file__).resolve().parents[1]
# the Dask steps by group; the global model (DenseVLAD's fit on the map) and triangulation run in the client
GROUPS = {"extraction": ("local features", "global features"), "matching": ("matching",),
          "localization": ("pose estimation",)}


def step_seconds(reports, prefix: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in reports:
        name = f"{prefix}: {r.step.split(' (')[0]}"
        out[name] = out.get(name, 0.0) + r.seconds
    return out


def group_seconds(steps: dict[str, float]) -> dict[str, float]:
    return {group: sum(s for name, s in steps.items() if name.split(": ", 1)[1].startswith(starts))
            for group, starts in GROUPS.items()}


def differing_files(a: Path, b: Path, folders: tuple[str, ...], files: tuple[str, ...] = ()) -> list[str]:
    def listing(root: Path) -> list[Path]:
        return sorted(p.relative_to(root) for f in folders for p in (root / f).rglob("*") if p.is_file())

    rel, other = listing(a), listing(b)
    if rel != other:
        return sorted({str(p) for p in set(rel) ^ set(other)})
    return [str(p) for p in rel + [Path(f) for f in files] if not filecmp.cmp(a / p, b / p, shallow=False)]


@contextmanager
def task_stream(cluster):
    """The scheduler's record of every task (of every client) run in the block; None without a cluster."""
    if cluster is None:
        yield None
        return
    from distributed import get_task_stream

    with get_task_stream(cluster.client) as stream:
        yield stream


def prepare_scene(scene: str, work: Path) -> tuple[Path, Path]:
    """(mapping kapture, query kapture) of the scene, written under ``work``."""
    if scene == "synthetic":
        paths = write_synthetic_kapture(generate_dataset(SyntheticOptions()), work / "scene")
        return paths.mapping, paths.query
    source = shared_strecha_dir(REPO) / scene
    if not source.is_dir():
        raise FileNotFoundError(f"{source} not found (../shared/data/strecha is needed)")
    copy = work / "source" / scene  # never run anything inside ../shared
    shutil.copytree(source, copy, dirs_exist_ok=True)
    split = prepare_strecha(copy, work / "scene")
    return split.mapping, split.query


def run_scene(scene: str, work: Path, config: PipelineConfig, schedulers: list[str]) -> bool:
    mapping, query = prepare_scene(scene, work)
    rows: dict[str, dict[str, float]] = {}
    tags = {(scheduler or "in-process"): scheduler.replace(":", "").replace("/", "") or "inprocess"
            for scheduler in schedulers}
    for scheduler in schedulers:
        label = scheduler or "in-process"
        tag = tags[label]
        cluster, address = None, scheduler
        if scheduler.startswith("local:"):
            start = time.perf_counter()
            cluster = make_executor(scheduler)
            address = cluster.client.scheduler.address
            print(f"{label}: LocalCluster started in {time.perf_counter() - start:.1f} s", flush=True)
        try:
            run_config = dataclasses.replace(config, scheduler=address)
            load = os.getloadavg()[0]
            with task_stream(cluster) as tasks:
                start = time.perf_counter()
                mapped = run_mapping(mapping, work / f"map_{tag}", run_config)
                map_seconds = time.perf_counter() - start
                start = time.perf_counter()
                localized = run_localization(work / f"map_{tag}", query, work / f"loc_{tag}", run_config)
                loc_seconds = time.perf_counter() - start
        finally:
            if cluster is not None:
                cluster.close()
        steps = {**step_seconds(mapped.reports, "map"), **step_seconds(localized.reports, "loc")}
        groups = group_seconds(steps)
        rows[label] = {**steps, **groups, "mapping (command)": map_seconds, "localization (command)": loc_seconds}
        if tasks is not None:
            compute = sum(ss["stop"] - ss["start"] for t in tasks.data for ss in t["startstops"]
                          if ss["action"] == "compute")
            rows[label]["worker compute (all tasks)"] = compute
            # how many cores the workers kept busy during the Dask steps: N workers on N idle cores give ~N
            rows[label]["busy workers during Dask steps"] = compute / max(sum(groups.values()), 1e-9)
        rows[label]["load average at start"] = load
        print(f"{label:>10}: mapping {map_seconds:.1f} s, localization {loc_seconds:.1f} s "
              f"(load average {load:.2f} at start)", flush=True)
    labels = list(rows)
    print(f"\nscene {scene}: seconds per step ({os.cpu_count()} cores)")
    ratio_of = ("local:1", "local:2") if {"local:1", "local:2"} <= set(labels) else None
    print(f"{'step':<34}" + "".join(f"{lb:>12}" for lb in labels) + (f"{'1 vs 2':>9}" if ratio_of else ""))
    names = list(dict.fromkeys(n for lb in labels for n in rows[lb]))
    for name in names:
        values = [rows[lb].get(name, float("nan")) for lb in labels]
        line = f"{name:<34}" + "".join(f"{v:>12.2f}" for v in values)
        if ratio_of and not name.startswith(("load", "busy", "worker")):
            one, two = rows[ratio_of[0]].get(name, 0.0), rows[ratio_of[1]].get(name, 0.0)
            line += f"{one / two:>8.2f}x" if two else f"{'':>9}"
        print(line)
    identical = True
    base = labels[0]
    for label in labels[1:]:
        one, two = tags[base], tags[label]
        diff = differing_files(work / f"map_{one}", work / f"map_{two}", ("reconstruction",))
        diff += differing_files(work / f"loc_{one}", work / f"loc_{two}", ("reconstruction", "localized"),
                                (LTVL_FILE,))
        identical &= not diff
        print(f"{label}: " + (f"every feature, matches, points and pose file identical to {base}" if not diff
                              else f"{len(diff)} files differ from {base}, e.g. {diff[:3]}"))
    return identical


def run_extraction(scene: str, work: Path, config: PipelineConfig, schedulers: list[str], repeat: int) -> None:
    """Local features of every image of the scene (map and queries), alone, ``repeat`` times per scheduler
    in turn; the best time of each is printed with the workers' compute seconds per image."""
    images = [(kapture, name) for kapture in prepare_scene(scene, work) for name in load_kapture(kapture).image_names()]
    extractor = make_local_extractor(config.features, config.device)
    best: dict[str, tuple[float, float]] = {}
    for attempt in range(repeat):
        for scheduler in schedulers:
            label = scheduler or "in-process"
            executor = make_executor(scheduler)
            try:
                with task_stream(executor if scheduler else None) as tasks:
                    start = time.perf_counter()
                    for kapture in dict.fromkeys(k for k, _ in images):
                        store = KaptureFeatureStore(work / f"extract_{attempt}_{label.replace(':', '')}" / kapture.name)
                        extract_local_features([n for k, n in images if k == kapture], records_data_path(kapture),
                                               store, config.features.local, extractor, executor=executor)
                    seconds = time.perf_counter() - start
            finally:
                executor.close()
            compute = float("nan") if tasks is None else sum(
                ss["stop"] - ss["start"] for t in tasks.data for ss in t["startstops"] if ss["action"] == "compute")
            if label not in best or seconds < best[label][0]:
                best[label] = (seconds, compute)
            print(f"{label:>10}: {seconds:.2f} s (load average {os.getloadavg()[0]:.2f})", flush=True)
    print(f"\nscene {scene}: local features ({config.features.local}) of {len(images)} images, best of {repeat}")
    for label, (seconds, compute) in best.items():
        print(f"{label:>10}: {seconds:6.2f} s, workers' compute {compute / len(images):.2f} s per image")
    if {"local:1", "local:2"} <= set(best):
        print(f"2 workers vs 1: {best['local:1'][0] / best['local:2'][0]:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", action="append", help="synthetic (default), fountain-P11, Herz-Jesus-P25")
    parser.add_argument("--work", help="work folder (default: a temporary one, removed at the end)")
    parser.add_argument("--config", help="YAML configuration")
    parser.add_argument("--schedulers", nargs="+", default=["", "local:1", "local:2"],
                        help="'' (in-process), local:N or an address; the first is the reference")
    parser.add_argument("--extraction-only", action="store_true",
                        help="time only the local features of all the scene's images (see --repeat)")
    parser.add_argument("--repeat", type=int, default=3, help="with --extraction-only: runs per scheduler (best)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import distributed  # noqa: F401  (its import sets its loggers' levels: quieten them after it)

    logging.getLogger("distributed").setLevel(logging.ERROR)  # its INFO lines of cluster starts and stops
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench_dask_"))
    config = load_config(args.config)
    if config.localization.random_seed is None:  # seeded RANSAC: poses comparable between runs
        config = dataclasses.replace(config, localization=dataclasses.replace(config.localization, random_seed=0))
    identical = True
    try:
        for scene in args.scene or ["synthetic"]:
            if args.extraction_only:
                run_extraction(scene, work / scene, config, args.schedulers, args.repeat)
            else:
                identical &= run_scene(scene, work / scene, config, args.schedulers)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
