"""The localization pipeline: map (from the mapping pipeline) + query kapture -> camera poses.

Steps: query features -> retrieval pairs -> matches -> 2D-3D correspondences -> PnP in RANSAC
(rig images jointly) -> rig and sequence post-processing -> evaluation (when the query kapture
holds ground truth, used for nothing else) -> benchmark export. OUT_DIR holds:
  sensors/, reconstruction/   query features and query-map matches (kapture layout)
  pairs_localization.txt      retrieval pairs
  localized/                  kapture of the localized images (world-to-camera, no rig poses)
  localization_results.json   per image: status, inliers, correspondences, seconds, reason
  eval/                       results.json, results.txt, errors.png (with ground truth)
  LTVL2020_style_result.txt   one line per localized image: name qw qx qy qz tx ty tz
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kapturelike.converters.ltvl import export_ltvl
from kapturelike.core.image_poses import rig_of_sensor
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.records import Records
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.errors import KapturelikeError, MissingDataError
from kapturelike.evaluation.evaluate_kapture import evaluate_and_write
from kapturelike.evaluation.metrics import EvaluationResult
from kapturelike.geometry.correspondences import keypoint_to_point_tables, lift_matches
from kapturelike.geometry.postprocess import FAILED, LOCALIZED, PoseRecords, recover_from_rig, recover_from_sequence
from kapturelike.io.dataset import load_kapture, records_data_path, save_kapture
from kapturelike.io.output import refuse_overlap
from kapturelike.io.text import atomic_write, remove_stale_temporaries
from kapturelike.pipelines.config import PipelineConfig, save_config
from kapturelike.pipelines.executor import Executor, InProcess, open_executor
from kapturelike.pipelines.front import (
    FrontHalf,
    ImageSet,
    RunControl,
    close_stores,
    run_front_half,
    side_of,
    stores_in,
)
from kapturelike.pipelines.match_features import make_matcher
from kapturelike.pipelines.query_tasks import PoseProblem, PoseTask, QueryOutcome
from kapturelike.pipelines.steps import StepReport, timed_step
from kapturelike.pipelines.workspace import is_kapture, prepare_dataset

logger = logging.getLogger("kapturelike")

PAIRS_FILE = "pairs_localization.txt"
RESULTS_FILE = "localization_results.json"
LTVL_FILE = "LTVL2020_style_result.txt"
POSE_BATCH = 4  # images (or rigs) per pose-estimation task: a PnP takes ~0.05 s, a Dask task ~1 ms more


@dataclass
class LocalizationRun:
    out_dir: Path
    outcomes: dict[str, QueryOutcome]
    evaluation: EvaluationResult | None
    reports: list[StepReport] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for o in self.outcomes.values():
            counts[o.status] += 1
        return dict(counts)


def _query_dataset(query: Kapture) -> Kapture:
    """The query kapture without its trajectories: ground truth must not reach localization."""
    return Kapture(sensors=query.sensors, rigs=query.rigs, records=query.records)


def _map_state(map_dir: Path, local_type: str) -> tuple[Kapture, np.ndarray, dict]:
    """The map's sensors, records, 3D points and keypoint -> point tables; feature folders are not walked."""
    if not (map_dir / "reconstruction" / "observations.txt").is_file():
        raise MissingDataError(f"{map_dir}: no reconstruction/observations.txt; run kapture_pipeline_mapping first")
    kmap = load_kapture(map_dir, list_features=False)
    if kmap.points3d is None or kmap.observations is None:
        raise MissingDataError(f"{map_dir}: the map has no 3D points")
    tables = keypoint_to_point_tables(kmap.observations, local_type)
    return kmap, kmap.points3d[:, :3], tables


def _correspondences(name: str, front: FrontHalf, tables: dict, points3d: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """2D keypoints and 3D points of a query's matches to its paired map images (kept from matching)."""
    matches = [(m, front.matches_of(name, m)) for m in front.pairs_of().get(name, [])]
    qidx, pids = lift_matches([(m, x) for m, x in matches if x is not None], tables)
    return front.keypoints(name)[qidx, :2].astype(np.float64), points3d[pids]


def localize_queries(query: Kapture, front: FrontHalf, tables: dict, points3d: np.ndarray,
                     config: PipelineConfig, executor: Executor | None = None) -> dict[str, QueryOutcome]:
    """PnP per image, or jointly per rig and timestamp; ground truth is not looked at.

    The correspondences are read here; the PnP of each batch of images runs on ``executor`` (default:
    here), see kapturelike.pipelines.query_tasks.
    """
    cameras = query.cameras()
    records = query.records_camera
    keys = dict(zip(records.paths, records.keys()))
    outcomes = {n: QueryOutcome(n) for n in records.paths}
    sensor_rig = rig_of_sensor(query.rigs) if config.rig_localization else {}
    groups: dict[tuple, list[str]] = defaultdict(list)
    for name, (ts, cam) in keys.items():
        groups[(sensor_rig[cam][0], ts) if cam in sensor_rig else (None, name)].append(name)

    def problem(rig_id: str | None, names: list[str]) -> PoseProblem:
        data, reasons = {}, {}
        for n in names:
            try:
                data[n] = _correspondences(n, front, tables, points3d)
            except (KapturelikeError, OSError, ValueError) as e:
                reasons[n] = f"no features: {e}"
        rig_poses = {n: (sensor_rig[keys[n][1]][1].q, sensor_rig[keys[n][1]][1].t) for n in names} \
            if rig_id is not None else {}
        return PoseProblem(names, data, {n: cameras[keys[n][1]] for n in names}, rig_id is not None, rig_poses,
                           reasons)

    items = list(groups.items())
    batches = [items[start:start + POSE_BATCH] for start in range(0, len(items), POSE_BATCH)]
    payloads = ([problem(rig_id, names) for (rig_id, _), names in batch] for batch in batches)
    task = PoseTask(config.localization_options())
    for batch, solved in zip(batches, (executor or InProcess()).map_batches(task, payloads)):
        if isinstance(solved, BaseException):
            for _, names in batch:
                for n in names:
                    outcomes[n].reason = f"{type(solved).__name__}: {solved}"
            continue
        for computed in solved:
            outcomes.update(computed.result)
    return outcomes


def postprocess(query: Kapture, outcomes: dict[str, QueryOutcome], config: PipelineConfig) -> None:
    """Rig then sequence recovery of failed images; recovered poses are marked as such."""
    records = query.records_camera
    rows = [(ts, cam, outcomes[n].status, outcomes[n].q, outcomes[n].t)
            for (ts, cam), n in zip(records.keys(), records.paths)]
    poses = PoseRecords.from_rows(rows)
    if config.postprocess_rig and query.rigs:
        calib = {r: {s: (p.q, p.t) for s, p in rig.items()} for r, rig in query.rigs.items()}
        poses = recover_from_rig(poses, calib, config.rig_time_tolerance)
    if config.postprocess_sequence:
        gap = config.sequence_gap
        if gap <= 0:
            steps = np.diff(np.unique(poses.timestamps))
            gap = 5 * float(np.median(steps)) if len(steps) else 0
        poses = recover_from_sequence(poses, gap)
    for i, n in enumerate(records.paths):
        o = outcomes[n]
        if o.status == FAILED and poses.status[i] != FAILED:
            o.status, o.q, o.t = poses.status[i], poses.q[i].copy(), poses.t[i].copy()


def write_localized(query: Kapture, outcomes: dict[str, QueryOutcome], out_dir: Path) -> Trajectories:
    """OUT_DIR/localized: the query cameras, records and world-to-camera poses of posed images."""
    records = query.records_camera
    posed = [(k, n) for k, n in zip(records.keys(), records.paths) if outcomes[n].q is not None]
    traj = Trajectories.from_items((k, Pose(outcomes[n].q, outcomes[n].t)) for k, n in posed)
    localized = Kapture(sensors=query.cameras(), trajectories=traj, records={"camera": Records.camera(posed)})
    save_kapture(localized, out_dir / "localized")
    with atomic_write(out_dir / RESULTS_FILE) as f:
        json.dump({n: {"status": o.status, "num_inliers": o.num_inliers,
                       "num_correspondences": o.num_correspondences, "seconds": round(o.seconds, 4),
                       "reason": o.reason, "q": None if o.q is None else o.q.tolist(),
                       "t": None if o.t is None else o.t.tolist()} for n, o in sorted(outcomes.items())}, f, indent=1)
    return traj


def evaluate_against(query: Kapture, outcomes: dict[str, QueryOutcome], out_dir: Path,
                     config: PipelineConfig) -> EvaluationResult | None:
    """OUT_DIR/eval from the query kapture's ground truth, per camera; None without ground truth."""
    estimates = {n: (o.q, o.t) for n, o in outcomes.items()}
    return evaluate_and_write(estimates, query, out_dir / "eval", config.eval_thresholds, group_by="camera")


def run_localization(map_dir: str | Path, query_kapture: str | Path, out_dir: str | Path, config: PipelineConfig,
                     overwrite: bool = False, control: RunControl | None = None) -> LocalizationRun:
    """Localize the images of ``query_kapture`` in the map at ``map_dir``; outputs in ``out_dir``.

    ``control`` as for mapping; the map images' features are read from the map, from the dataset the
    map was built from (its images' dataset) and from ``control.features``.
    """
    map_dir, query_kapture, out_dir = Path(map_dir), Path(query_kapture), Path(out_dir)
    refuse_overlap(out_dir, [map_dir], "map")  # before anything: nothing is written into an input
    refuse_overlap(out_dir, [query_kapture], "query kapture")
    control = control or RunControl()
    kmap, points3d, tables = _map_state(map_dir, config.features.local)
    query = load_kapture(query_kapture)
    names = query.image_names()
    if not names:
        raise KapturelikeError(f"{query_kapture}: no query images (records_camera.txt is empty or missing)")
    clash = set(names) & set(kmap.image_names())
    if clash:
        raise KapturelikeError(f"query and map share image names (e.g. '{sorted(clash)[0]}'); rename one side")
    matcher = make_matcher(config)  # before any work: a wrong matcher / feature combination fails here
    if config.query_matching not in ("points", "images"):
        raise KapturelikeError(f"query_matching: '{config.query_matching}' is not one of points, images")
    if out_dir.is_dir():
        remove_stale_temporaries(out_dir)  # of a killed run
    prepare_dataset(_query_dataset(query), query_kapture, out_dir)
    save_config(config, out_dir / "localization_config.yaml")
    queries = side_of(names, query_kapture, out_dir, control, config.features.store)
    map_source = records_data_path(map_dir).resolve().parent.parent  # the dataset whose images the map uses
    map_inputs = stores_in(map_dir) + (stores_in(map_source) if is_kapture(map_source) else [])
    map_stores = ([control.features] if control.features is not None else []) + map_inputs
    # map images the mapping could not use (their failure is in its report) have no features: left out
    usable = [n for n in kmap.image_names() if any(s.has("keypoints", config.features.local, n) for s in map_stores)]
    database = ImageSet(usable, records_data_path(map_dir), map_inputs[0], map_stores)
    try:
        with open_executor(config.scheduler) as executor:  # one cluster for matching and pose estimation
            return _localize(query, queries, database, kmap, points3d, tables, out_dir, config, overwrite, matcher,
                             control, executor)
    finally:
        close_stores(queries.stores + database.stores)


def _localize(query: Kapture, queries: ImageSet, database: ImageSet, kmap: Kapture, points3d: np.ndarray,
              tables: dict, out_dir: Path, config: PipelineConfig, overwrite: bool, matcher,
              control: RunControl, executor: Executor) -> LocalizationRun:
    verification = config.verification if config.verification.method == "ransac" else None
    cameras = {**kmap.cameras_by_image(), **query.cameras_by_image()}
    front = run_front_half(queries, database, config, out_dir / (control.pairs_name or PAIRS_FILE), cameras, None,
                           verification, overwrite, matcher, control, map_observations=kmap.observations,
                           executor=executor, map_points3d=points3d)
    reports = front.reports
    if "colmap_localize" in control.skip:
        return LocalizationRun(out_dir, {}, None, reports)
    pnp = StepReport("pose estimation")
    with timed_step(pnp):
        outcomes = localize_queries(query, front, tables, points3d, config, executor)
        pnp.items = len(outcomes)
        pnp.done = sum(o.status == LOCALIZED for o in outcomes.values())
        pnp.failures = {n: o.reason or "failed" for n, o in outcomes.items() if o.status != LOCALIZED}
    reports.append(pnp)
    postprocess(query, outcomes, config)
    traj = write_localized(query, outcomes, out_dir)
    if "export_LTVL2020" not in control.skip:
        export_ltvl((traj, query.records_camera), out_dir / LTVL_FILE, config.ltvl_convention, skip_missing=True)
    result = None if "evaluate" in control.skip else evaluate_against(query, outcomes, out_dir, config)
    with atomic_write(out_dir / "localization_report.txt") as f:
        f.write("\n".join(r.summary() for r in reports) + "\n")
    return LocalizationRun(out_dir, outcomes, result, reports)
