"""COLMAP sparse model <-> kapture dataset (the database lives in ``colmap_database``).

Conventions: COLMAP's image pose is world-to-camera with quaternion qw, qx, qy, qz, as kapture's, and
both put the centre of the top-left pixel at (0.5, 0.5): poses and keypoints pass unchanged.
Ids: COLMAP camera ``k`` is kapture sensor ``cam_%05d`` (kapture's own importer naming) and an image's
timestamp is its COLMAP frame id (its image id when the model has no frames.txt). On export, sensors named
``cam_N`` keep N and images keep their timestamp as image id when timestamps are unique; otherwise ids
are numbered 1.. in (timestamp, camera) order. kapture 3D point ``i`` is COLMAP point ``i + 1``.
A model's points2D are all of an image's keypoints: they become keypoints of type ``keypoints_type``.
Rigs (rigs.txt with more than one camera) become kapture rigs ``rig_%05d``; poses stay per camera.
UNKNOWN_CAMERA cannot be written to COLMAP: an error, or with ``approximate`` a SIMPLE_PINHOLE guess.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kapturelike.converters.colmap_binary import read_model_binary, write_model_binary
from kapturelike.converters.colmap_common import (
    ColmapImages,
    ColmapModel,
    ColmapPoints,
    camera_numbers,
    camera_sensor_id,
    colmap_camera,
    model_format,
)
from kapturelike.converters.colmap_database import export_database, import_database
from kapturelike.converters.colmap_text import read_model_text, write_model_text
from kapturelike.converters.common import ConversionError, cameras_required, image_table
from kapturelike.converters.features_io import keypoints_reader, save_with_features
from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture, Observations
from kapturelike.core.records import Records
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.errors import FormatError
from kapturelike.io.dataset import load_kapture
from kapturelike.io.output import prepare_output
from kapturelike.io.text import atomic_write


def read_colmap_model(path: str | Path) -> ColmapModel:
    """A model folder, binary when the three .bin files exist, else text."""
    return read_model_binary(path) if model_format(path) == "binary" else read_model_text(path)


def write_colmap_model(model: ColmapModel, path: str | Path, binary: bool = False) -> None:
    (write_model_binary if binary else write_model_text)(model, path)


def model_to_kapture(model: ColmapModel) -> tuple[Kapture, dict[str, np.ndarray]]:
    """The dataset (sensors, rigs, trajectories, records, points3d, observations) and the keypoints
    (image name -> float32 (K, 2)) of a COLMAP model."""
    im = model.images
    sensors = {camera_sensor_id(k): c for k, c in model.cameras.items()}
    stamps = np.array([model.frames.get(int(i), int(i)) for i in im.ids], dtype=np.int64)
    devices = np.array([camera_sensor_id(int(c)) for c in im.camera_ids], dtype=object)
    trajectories = Trajectories(stamps, devices, im.qvecs, im.tvecs)
    records = Records("camera", stamps, devices, [(n,) for n in im.names])
    rigs = {f"rig_{rid:05d}": {camera_sensor_id(c): Pose(q, t) for c, (q, t) in rig.items()}
            for rid, rig in model.rigs.items() if len(rig) > 1} or None
    pts = model.points
    points3d = np.concatenate([pts.xyz, pts.rgb.astype(np.float64)], 1)
    order = np.argsort(pts.ids)
    rows = order[np.searchsorted(pts.ids[order], pts.track_point_ids)] if len(pts) else np.zeros(0, np.int64)
    iorder = np.argsort(im.ids)
    img_rows = iorder[np.searchsorted(im.ids[iorder], pts.track_image_ids)] if len(im) else np.zeros(0, np.int64)
    if len(img_rows) and not np.array_equal(im.ids[img_rows], pts.track_image_ids):
        bad = pts.track_image_ids[im.ids[img_rows] != pts.track_image_ids][0]
        raise ConversionError(f"points3D track names image id {bad}, which is not in the model's images")
    names = np.array(im.names, dtype=object)
    obs = Observations(rows, np.full(len(rows), "colmap", dtype=object), names[img_rows], pts.track_point2d_idx)
    kapture = Kapture(sensors=sensors, rigs=rigs, trajectories=trajectories, records={"camera": records},
                      points3d=points3d, observations=obs)
    keypoints = {n: np.asarray(p, np.float32) for n, p in zip(im.names, im.points2d)}
    return kapture, keypoints


@dataclass
class ColmapExportOptions:
    keypoints_type: str | None = None  # None: the only keypoints type of the dataset (if any)
    approximate: bool = False  # UNKNOWN_CAMERA -> SIMPLE_PINHOLE guess instead of an error
    pairs: frozenset[tuple[str, str]] | None = None  # database: only the matches of these pairs (any order)


def kapture_to_model(kapture: Kapture, keypoints: Callable[[str], np.ndarray | None],
                     keypoints_type: str | None = None, approximate: bool = False) -> ColmapModel:
    """The posed images of ``kapture`` as a COLMAP model; ``keypoints(name)`` gives an image's keypoints.

    Observations of ``keypoints_type`` become tracks; they need the image's keypoints.
    """
    table = image_table(kapture)
    posed = np.flatnonzero(table.has_pose)
    cam_ids = [table.camera_ids[i] for i in posed]
    cams = cameras_required(kapture, cam_ids)
    numbers = camera_numbers(sorted(cams))
    cameras = {numbers[c]: colmap_camera(c, cams[c], approximate) for c in sorted(cams)}
    stamps = table.timestamps[posed]
    ids = stamps if len(np.unique(stamps)) == len(stamps) and (len(stamps) == 0 or (
        stamps.min() > 0 and stamps.max() < 2**31 - 1)) else np.arange(1, len(posed) + 1)
    names = [table.names[i] for i in posed]
    row_of = {n: r for r, n in enumerate(names)}
    pts2d, p3d = [], []
    for n in names:
        kp = keypoints(n)
        kp = np.zeros((0, 2)) if kp is None else np.asarray(kp, np.float64)[:, :2]
        pts2d.append(kp)
        p3d.append(np.full(len(kp), -1, np.int64))
    points = ColmapPoints()
    if kapture.points3d is not None:
        obs = kapture.observations or Observations()
        if keypoints_type is not None:
            obs = obs.select(obs.keypoints_types == keypoints_type)
        keep = np.array([n in row_of for n in obs.image_names.tolist()], dtype=bool)
        obs = obs.select(keep).sorted()
        img_rows = np.array([row_of[n] for n in obs.image_names.tolist()], dtype=np.int64)
        for r in np.unique(img_rows):
            m = img_rows == r
            fids = obs.feature_ids[m]
            if len(fids) and fids.max() >= len(p3d[r]):
                raise ConversionError(f"observation of image '{names[r]}' uses keypoint {fids.max()} but the image "
                                      f"has {len(p3d[r])} keypoints of type '{keypoints_type}'")
            p3d[r][fids] = obs.point_ids[m] + 1
        xyzrgb = np.asarray(kapture.points3d, np.float64)
        rgb = xyzrgb[:, 3:6] if xyzrgb.shape[1] == 6 else np.zeros((len(xyzrgb), 3))
        counts = np.bincount(obs.point_ids, minlength=len(xyzrgb))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        points = ColmapPoints(np.arange(1, len(xyzrgb) + 1, dtype=np.int64), xyzrgb[:, :3].copy(),
                              np.clip(np.rint(rgb), 0, 255).astype(np.uint8), np.full(len(xyzrgb), -1.0), offsets,
                              np.asarray(ids, np.int64)[img_rows], obs.feature_ids.copy())
    images = ColmapImages(np.asarray(ids, np.int64), table.q[posed], table.t[posed],
                          np.array([numbers[c] for c in cam_ids], np.int64), names, pts2d, p3d)
    model = ColmapModel(cameras, images, points)
    if kapture.rigs:
        _add_rigs(model, kapture, numbers, stamps)
    return model


def _add_rigs(model: ColmapModel, kapture: Kapture, numbers: dict[str, int], stamps: np.ndarray,
              tolerance: float = 1e-6) -> None:
    """COLMAP rigs (reference: the rig's first camera, so its sensor_from_rig is the identity) and frames
    (one per rig and timestamp; frame id = timestamp when that is unique, else numbered)."""
    rig_of: dict[int, int] = {}
    for colmap_id, (rig_id, rig) in enumerate(sorted(kapture.rigs.items()), 1):
        cams = [c for c in rig if c in numbers and rig[c].q is not None and rig[c].t is not None]
        if not cams:
            continue
        q_ref, t_ref = P.invert(rig[cams[0]].q, rig[cams[0]].t)
        model.rigs[colmap_id] = {numbers[c]: P.compose(rig[c].q, rig[c].t, q_ref, t_ref) for c in cams}
        for c in cams:
            if numbers[c] in rig_of:
                raise ConversionError(f"camera '{c}' belongs to two rigs; COLMAP allows one ({rig_id})")
            rig_of[numbers[c]] = colmap_id
    im = model.images
    keys = [(rig_of.get(int(c), -int(c)), int(s)) for c, s in zip(im.camera_ids.tolist(), stamps.tolist())]
    uniq = list(dict.fromkeys(keys))
    by_stamp = len({s for _, s in uniq}) == len(uniq) and all(0 < s < 2**31 - 1 for _, s in uniq)
    frame_ids = {k: (k[1] if by_stamp else i) for i, k in enumerate(uniq, 1)}
    model.frames = {int(i): frame_ids[k] for i, k in zip(im.ids.tolist(), keys)}
    # COLMAP derives each image pose from its frame: refuse per-camera poses that disagree with the rig
    frame_pose: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for row, k in enumerate(keys):
        if k[0] < 0:
            continue
        q, t = P.invert(*model.rigs[k[0]][int(im.camera_ids[row])])
        q, t = P.compose(q, t, im.qvecs[row], im.tvecs[row])  # rig_from_world seen from this image
        q0, t0 = frame_pose.setdefault(frame_ids[k], (q, t))
        if (np.abs(P.canonical_quaternions(q) - P.canonical_quaternions(q0)).max() > tolerance
                or np.abs(t - t0).max() > tolerance):
            raise ConversionError(f"image '{im.names[row]}' disagrees with its rig's pose at timestamp {k[1]}: "
                                  "COLMAP derives every image pose from its frame")


def _database_has_keypoints(database: str | Path) -> bool:
    import sqlite3

    conn = sqlite3.connect(f"file:{Path(database)}?mode=ro", uri=True)
    try:
        return bool(conn.execute("SELECT count(*) FROM keypoints WHERE rows > 0").fetchone()[0])
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()


def import_colmap(output: str | Path, model: str | Path | None = None, database: str | Path | None = None,
                  keypoints_type: str = "colmap", descriptors_type: str = "colmap", force: bool = False,
                  geometric_filtering: bool = True) -> Kapture:
    """Write a kapture dataset at ``output`` from a COLMAP model folder and/or database (its verified matches,
    or its raw ones without ``geometric_filtering``).

    With both, the model gives cameras, poses and points, the database keypoints, descriptors and matches.
    A non-empty ``output`` is refused unless ``force`` (see ``io.output.prepare_output``).
    """
    if model is None and database is None:
        raise ValueError("give a COLMAP model folder, a database, or both")
    prepare_output(output, [model, database], force)

    kapture, keypoints = model_to_kapture(read_colmap_model(model)) if model is not None else (Kapture(), {})
    if kapture.observations is not None:
        kapture.observations.keypoints_types[:] = keypoints_type
    if database is not None:
        if not _database_has_keypoints(database):
            save_with_features(kapture, output, keypoints_type, iter(keypoints.items()))
        return import_database(database, output, kapture, keypoints_type, descriptors_type, geometric_filtering)
    return save_with_features(kapture, output, keypoints_type, iter(keypoints.items()))


def export_colmap(kapture_root: str | Path, output: str | Path | None, binary: bool = False,
                  database: str | Path | None = None,
                  options: ColmapExportOptions | None = None) -> ColmapModel:
    """Write the model of the kapture dataset at ``kapture_root`` to ``output`` (and a database if given)."""
    options = options or ColmapExportOptions()
    kapture = load_kapture(kapture_root)
    kpt_type, keypoints = keypoints_reader(kapture_root, kapture, options.keypoints_type)
    model = kapture_to_model(kapture, keypoints, kpt_type, options.approximate)
    if output is not None:  # None: the database only
        write_colmap_model(model, output, binary)
    if database is not None:
        export_database(kapture_root, database, kpt_type, approximate=options.approximate, pairs=options.pairs)
    return model



def write_colmap_rig_json(path: str | Path, kapture: Kapture, model: ColmapModel) -> list[dict]:
    """COLMAP's rig configuration (rig_bundle_adjuster's JSON) of the kapture's rigs, as kapture_export_colmap -rig
    writes it: per rig, its cameras' COLMAP ids (those of ``model``) and image prefixes (the one folder of each
    camera's images), the first camera as reference."""
    if not kapture.rigs:
        raise ConversionError("-rig: the dataset has no rig to export")
    records = kapture.records_camera
    sensor_of = dict(zip(records.paths, records.device_ids.tolist())) if records is not None else {}
    camera_id = {sensor_of[name]: int(cid) for name, cid in zip(model.images.names, model.images.camera_ids.tolist())
                 if name in sensor_of}
    rigs = []
    for rig_id, rig in kapture.rigs.items():
        cameras = []
        for sensor in rig:
            if sensor not in camera_id:
                continue  # kapture warns and leaves it out: not a COLMAP camera
            folders = {posixpath.dirname(name) for name, s in sensor_of.items() if s == sensor}
            if len(folders) != 1 or not next(iter(folders)):
                raise ConversionError(f"-rig: the images of camera '{sensor}' of rig '{rig_id}' are not in one "
                                      "folder of their own (COLMAP names a rig camera by its images' prefix)")
            cameras.append({"camera_id": camera_id[sensor], "image_prefix": next(iter(folders))})
        if cameras:
            rigs.append({"cameras": cameras, "ref_camera_id": cameras[0]["camera_id"]})
    with atomic_write(path) as f:
        json.dump(rigs, f, indent=4)
    return rigs


def apply_colmap_rig_json(kapture: Kapture, path: str | Path) -> Kapture:
    """kapture_import_colmap -rig: the rigs of COLMAP's rig configuration (``rig<n>`` holding its cameras
    ``cam_<id>``, poses unknown), and the images re-timed so that a rig's images share a timestamp: the
    rank of the image name without its camera's prefix, as kapture does."""
    path = Path(path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        prefixes = {camera_sensor_id(int(cam["camera_id"])): str(cam["image_prefix"])
                    for rig in config for cam in rig["cameras"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise FormatError(f"not a COLMAP rig configuration ({e})", path) from None
    rigs = {f"rig{i}": {camera_sensor_id(int(cam["camera_id"])): Pose(None, None) for cam in rig["cameras"]}
            for i, rig in enumerate(config)}
    records = kapture.records_camera
    if records is None or not len(records):
        return replace(kapture, rigs=rigs)
    suffix_of = {}
    for (ts, cam), name in zip(records.keys(), records.paths):
        if cam not in prefixes:
            raise ConversionError(f"{path}: camera '{cam}' of image '{name}' is in no rig")
        if not name.startswith(prefixes[cam]):
            raise ConversionError(f"{path}: image '{name}' does not start with its camera's prefix "
                                  f"'{prefixes[cam]}'")
        suffix_of[ts] = name[len(prefixes[cam]):]
    rank = {suffix: i for i, suffix in enumerate(sorted(set(suffix_of.values())))}
    new_ts = {ts: rank[suffix] for ts, suffix in suffix_of.items()}
    retimed = Records.camera([((new_ts[ts], cam), name) for (ts, cam), name in zip(records.keys(), records.paths)])
    trajectories = kapture.trajectories
    if trajectories is not None and len(trajectories):
        trajectories = Trajectories.from_items(((new_ts[ts], dev), pose) for (ts, dev), pose in trajectories.items()
                                               if ts in new_ts)
    return replace(kapture, rigs=rigs, records={**kapture.records, "camera": retimed}, trajectories=trajectories)
