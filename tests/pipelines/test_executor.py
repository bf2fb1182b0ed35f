"""Batches in-process or on Dask: same outputs byte for byte, resumable, a killed worker retried."""

from __future__ import annotations

import filecmp
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from kapturelike.core.reconstruction import FeatureType
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.matching.mnn import MatchingOptions, match_pairs_with_scores
from kapturelike.pipelines.executor import Computed, InProcess, make_executor, run_batches
from kapturelike.pipelines.match_features import FeatureSource, match_and_verify
from kapturelike.pipelines.steps import StepReport


def test_run_batches_reports_failures_and_resumes():
    written: dict[int, int] = {}

    def compute(batch):
        if 13 in batch:
            raise ValueError("unlucky batch")
        return [Computed(i, i * i) if i % 5 else Computed(i, error="multiple of five") for i in batch]

    def write(item, result):
        if item == 7:
            raise OSError("disk full")
        written[item] = result
        return "negative" if item == 8 else None

    report = StepReport("squares")
    run_batches(report, list(range(1, 16)), lambda i: i in written, compute, write, InProcess(), batch_size=3,
                progress=False)
    assert report.items == 15 and report.skipped == 0
    assert report.failures == {"5": "multiple of five", "10": "multiple of five", "15": "ValueError: unlucky batch",
                               "7": "OSError: disk full", "8": "negative", "13": "ValueError: unlucky batch",
                               "14": "ValueError: unlucky batch"}
    assert report.done == 15 - 7 and written[4] == 16
    again = StepReport("squares")
    run_batches(again, list(range(1, 16)), lambda i: i in written, compute, write, InProcess(), batch_size=3,
                progress=False)
    assert again.skipped == len(written) and again.done == 0  # only the failed ones were tried again


def test_make_executor_rejects_bad_local_count():
    pytest.importorskip("distributed")
    with pytest.raises(ValueError, match="local:N"):
        make_executor("local:two")
    assert isinstance(make_executor(""), InProcess)


def _features(root: Path, names: list[str]) -> KaptureFeatureStore:
    rng = np.random.default_rng(0)
    store = KaptureFeatureStore(root)
    store.write_type(FeatureType("keypoints", "sift", np.float32, 2, dtype_name="float32"))
    store.write_type(FeatureType("descriptors", "sift", np.float32, 32, keypoints_type="sift", metric_type="L2",
                                 dtype_name="float32"))
    base = rng.normal(size=(300, 32)).astype(np.float32)
    for name in names:
        pick = rng.choice(300, 200, replace=False)
        store.write("keypoints", "sift", name, (rng.random((200, 2)) * 640).astype(np.float32))
        store.write("descriptors", "sift", name, base[pick] + 0.1 * rng.normal(size=(200, 32)).astype(np.float32))
    return store


def _kill_when_written(pid: int, matches_dir: Path) -> tuple[threading.Thread, list[int]]:
    """A started thread that SIGKILLs the worker process ``pid`` once the first matches file is written
    (tasks are then in flight); the list receives ``pid`` when it is done."""
    killed: list[int] = []

    def kill() -> None:
        deadline = time.time() + 60
        while time.time() < deadline and not (matches_dir.exists() and any(matches_dir.rglob("*.matches"))):
            time.sleep(0.01)
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill)
    killer.start()
    return killer, killed


def _matches_files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in (root / "reconstruction" / "matches").rglob("*") if p.is_file())


def test_dask_matching_is_byte_identical_and_survives_a_killed_worker(tmp_path):
    pytest.importorskip("distributed")
    names = [f"img{i:02d}.jpg" for i in range(8)]
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    options = MatchingOptions(ratio_threshold=0.9)
    here = _features(tmp_path / "here", names)
    report, _ = match_and_verify(pairs, FeatureSource([here], "sift"), here, options, batch_size=2)
    assert report.done == len(pairs) and not report.failures

    def slow_mnn(loaded, sizes):  # pickled by value: slow enough to be killed mid-task
        time.sleep(0.4)
        return match_pairs_with_scores([(f1[1], f2[1]) for f1, f2 in loaded], options)

    there = _features(tmp_path / "there", names)
    executor = make_executor("local:2")
    try:
        pids = list(executor.client.run(os.getpid).values())
        assert len(set(pids)) == 2 and os.getpid() not in pids
        killer, killed = _kill_when_written(pids[0], tmp_path / "there" / "reconstruction" / "matches")
        report, _ = match_and_verify(pairs, FeatureSource([there], "sift"), there, options, batch_size=2,
                                     matcher=slow_mnn, executor=executor)
        killer.join()
    finally:
        executor.close()
    assert killed and report.done == len(pairs) and not report.failures
    files = _matches_files(tmp_path / "here")
    assert files == _matches_files(tmp_path / "there") and len(files) == len(pairs)
    for rel in files:
        assert filecmp.cmp(tmp_path / "here" / rel, tmp_path / "there" / rel, shallow=False), rel
    assert not list((tmp_path / "there").rglob("*.tmp"))


def test_mapping_on_a_local_cluster_writes_the_same_files(synthetic_map, tmp_path):
    """Extraction and matching as Dask tasks (2 worker processes): every feature, matches and 3D file
    is byte-identical to the in-process map of the session fixture."""
    pytest.importorskip("distributed")
    import dataclasses

    from kapturelike.pipelines.config import PipelineConfig
    from kapturelike.pipelines.mapping import run_mapping

    scene, map_dir, result = synthetic_map
    dask_map = run_mapping(scene.mapping, tmp_path / "map", dataclasses.replace(PipelineConfig(), scheduler="local:2"))
    assert dask_map.num_points == result.num_points
    here = sorted(p.relative_to(map_dir) for p in (map_dir / "reconstruction").rglob("*") if p.is_file())
    there = sorted(p.relative_to(tmp_path / "map") for p in (tmp_path / "map" / "reconstruction").rglob("*")
                   if p.is_file())
    assert here == there
    for rel in here:
        assert filecmp.cmp(map_dir / rel, tmp_path / "map" / rel, shallow=False), rel


def _files_under(root: Path, *folders: str) -> list[Path]:
    return sorted(p.relative_to(root) for f in folders for p in (root / f).rglob("*") if p.is_file())


def test_localization_on_a_cluster_gives_the_same_matches_and_poses(synthetic_map, tmp_path):
    """Query-to-points matching and PnP as Dask tasks on a cluster given by its address, one of its two
    worker processes SIGKILLed once the first query's matches are written: the same matches files, poses
    and results as in-process (RANSAC seeded), no partial file; a second run resumes (computes nothing
    before pose estimation) and leaves the same files."""
    pytest.importorskip("distributed")
    import dataclasses
    import json

    from kapturelike.pipelines.config import PipelineConfig
    from kapturelike.pipelines.localization import run_localization

    scene, map_dir, _ = synthetic_map
    config = PipelineConfig()
    config = dataclasses.replace(config, localization=dataclasses.replace(config.localization, random_seed=0))
    here = run_localization(map_dir, scene.query, tmp_path / "here", config)
    assert [r.step for r in here.reports if r.step.startswith("matching")] == ["matching (query to map points)"]
    cluster = make_executor("local:2")  # started here so that the test knows its worker processes
    try:
        pids = list(cluster.client.run(os.getpid).values())
        killer, killed = _kill_when_written(pids[0], tmp_path / "there" / "reconstruction" / "matches")
        there = run_localization(map_dir, scene.query, tmp_path / "there",
                                 dataclasses.replace(config, scheduler=cluster.client.scheduler.address))
        killer.join()
        again = run_localization(map_dir, scene.query, tmp_path / "there",
                                 dataclasses.replace(config, scheduler=cluster.client.scheduler.address))
    finally:
        cluster.close()
    assert killed
    resumed = [r for r in again.reports if r.step.startswith(("local features", "global features", "matching"))]
    # the synthetic map (24 images) is matched exhaustively: no global features to resume
    assert [r.step.split(" (")[0] for r in resumed] == ["local features", "matching"]
    assert all(r.done == 0 and r.skipped == r.items == 16 for r in resumed)
    for a, b in zip(here.reports, there.reports):
        assert (a.step, a.items, a.done, a.failures) == (b.step, b.items, b.done, b.failures)
    assert sum(o.status == "localized" for o in there.outcomes.values()) >= 15
    files = _files_under(tmp_path / "here", "reconstruction", "localized")
    assert files == _files_under(tmp_path / "there", "reconstruction", "localized") and len(files) > 16
    for rel in files + [Path("LTVL2020_style_result.txt"), Path("pairs_localization.txt")]:
        assert filecmp.cmp(tmp_path / "here" / rel, tmp_path / "there" / rel, shallow=False), rel
    results = [json.loads((tmp_path / side / "localization_results.json").read_text()) for side in ("here", "there")]
    for r in results:
        for value in r.values():
            value.pop("seconds")
    assert results[0] == results[1]
    assert not list((tmp_path / "there").rglob("*.tmp"))


def _die_once(marker: Path, batch: list[int]) -> list[Computed]:
    """Kills its worker process the first time it runs (the marker file remembers), then squares."""
    if batch == [3] and not marker.exists():
        marker.touch()
        os._exit(1)
    return [Computed(i, i * i) for i in batch]


def test_a_task_the_cluster_loses_is_submitted_again(tmp_path):
    """With no retry left in Dask (allowed-failures 0), a task whose worker dies reaches the client as
    KilledWorker: the executor submits it again and the step completes."""
    pytest.importorskip("distributed")
    import functools

    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        executor = make_executor("local:2")
    try:
        written: dict[int, int] = {}
        report = StepReport("squares")
        run_batches(report, list(range(6)), lambda i: i in written, functools.partial(_die_once, tmp_path / "died"),
                    lambda i, r: written.__setitem__(i, r), executor, progress=False)
    finally:
        executor.close()
    assert (tmp_path / "died").exists()
    assert report.done == 6 and not report.failures and written == {i: i * i for i in range(6)}
