"""OpenSfM ``reconstruction.json`` <-> kapture: cameras, shots (poses) and points with colours.

The file is a list of reconstructions; the first is read. Shots: ``rotation`` is the world-to-camera
rotation as an axis-angle vector and ``translation`` its t (x_cam = R X + t), as kapture's. Cameras use
focal lengths normalised by s = max(width, height); OpenSfM's normalised coordinates are
(pixel + 0.5 - size / 2) / s with OpenCV pixels, i.e. (x - size / 2) / s in kapture pixels: no half-pixel
term appears. One-to-one models: perspective <-> RADIAL (f s, w/2, h/2, k1, k2), fisheye <->
RADIAL_FISHEYE (f s, w/2, h/2, k1, k2), brown <-> FULL_OPENCV (k1 k2 p1 p2 k3, k4..k6 = 0).
SIMPLE_PINHOLE / SIMPLE_RADIAL / PINHOLE / OPENCV with a centred principal point are written exactly as
perspective / brown but read back as RADIAL / FULL_OPENCV; others raise unless ``approximate``.
Timestamps travel as ``capture_time`` (seconds in OpenSfM; kapture's integer timestamps are written as
is). Each camera is named by its id, as kapture names it. reconstruction.json holds no observations (they
are in OpenSfM's tracks.csv), so none are kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from kapturelike.converters.common import ConversionError, cameras_required, image_table
from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Trajectories
from kapturelike.errors import FormatError
from kapturelike.io.dataset import save_kapture
from kapturelike.io.output import prepare_output
from kapturelike.io.text import atomic_write


def _camera(cam_id: str, c: dict, path: Path) -> Camera:
    try:
        w, h, kind = int(c["width"]), int(c["height"]), c["projection_type"]
        s = max(w, h)
        if kind in ("perspective", "fisheye"):
            model = "RADIAL" if kind == "perspective" else "RADIAL_FISHEYE"
            return Camera(model, w, h, (c["focal"] * s, w / 2, h / 2, c.get("k1", 0.0), c.get("k2", 0.0)), cam_id)
        if kind == "brown":
            return Camera("FULL_OPENCV", w, h, (c["focal_x"] * s, c["focal_y"] * s, w / 2 + c["c_x"] * s,
                                                h / 2 + c["c_y"] * s, c["k1"], c["k2"], c["p1"], c["p2"], c["k3"],
                                                0, 0, 0), cam_id)
    except (KeyError, TypeError, ValueError) as e:
        raise FormatError(f"camera '{cam_id}': missing or bad value ({e})", path, None, "cameras") from None
    raise FormatError(f"camera '{cam_id}': unsupported projection_type '{kind}' (perspective, brown, fisheye)",
                      path, None, "projection_type")


def _opensfm_camera(sensor_id: str, cam: Camera, approximate: bool) -> dict:
    p = cam.param_dict
    fx, fy = cam.focal
    cx, cy = cam.principal_point
    s = max(cam.width, cam.height)
    centred = (cx, cy) == (cam.width / 2, cam.height / 2)
    base = {"width": cam.width, "height": cam.height}
    zero = lambda *names: all(p.get(n, 0.0) == 0.0 for n in names)  # noqa: E731
    if cam.model in ("SIMPLE_PINHOLE", "SIMPLE_RADIAL", "RADIAL", "RADIAL_FISHEYE") and centred:
        kind = "fisheye" if cam.model == "RADIAL_FISHEYE" else "perspective"
        return {**base, "projection_type": kind, "focal": fx / s, "k1": p.get("k", p.get("k1", 0.0)),
                "k2": p.get("k2", 0.0)}
    if cam.model in ("PINHOLE", "OPENCV", "FULL_OPENCV") and zero("k4", "k5", "k6"):
        return {**base, "projection_type": "brown", "focal_x": fx / s, "focal_y": fy / s,
                "c_x": (cx - cam.width / 2) / s, "c_y": (cy - cam.height / 2) / s, "k1": p.get("k1", 0.0),
                "k2": p.get("k2", 0.0), "p1": p.get("p1", 0.0), "p2": p.get("p2", 0.0), "k3": p.get("k3", 0.0)}
    if not approximate:
        raise ConversionError(f"camera '{sensor_id}' ({cam.model} {cam.params}) has no OpenSfM counterpart "
                              "(pass approximate=True for a perspective camera without distortion)")
    return {**base, "projection_type": "perspective", "focal": (fx + fy) / 2 / s, "k1": 0.0, "k2": 0.0}


def opensfm_to_kapture(path: str | Path, kapture_order: bool = False) -> Kapture:
    """The first reconstruction of ``path``. Shots are taken in name order, timestamped by their integer
    ``capture_time`` when all have a distinct one (else 0, 1, ...), points in the numeric order of their ids;
    ``kapture_order``: as kapture's importer, shots in file order timestamped 0, 1, ... and points in the
    text order of their ids."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise FormatError(f"invalid JSON: {e.msg}", path, e.lineno, "json") from None
    if not isinstance(doc, list) or not doc:
        raise FormatError("expected a non-empty list of reconstructions", path, 1, "reconstructions")
    try:
        return _parse(doc[0], path, kapture_order)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        if isinstance(e, FormatError):
            raise
        raise FormatError(f"missing or malformed entry ({type(e).__name__}: {e})", path, None, "reconstruction") \
            from None


def _parse(rec: dict, path: Path, kapture_order: bool) -> Kapture:
    sensors = {cid: _camera(cid, c, path) for cid, c in rec.get("cameras", {}).items()}
    names = list(rec.get("shots", {})) if kapture_order else sorted(rec.get("shots", {}))
    shots = [rec["shots"][n] for n in names]
    for n, s in zip(names, shots):
        if s.get("camera") not in sensors:
            raise FormatError(f"shot '{n}' names unknown camera '{s.get('camera')}'", path, None, "shots")
    times = [s.get("capture_time") for s in shots]
    stamps = (np.array(times, np.int64) if not kapture_order and None not in times
              and all(float(t).is_integer() for t in times) and len(set(times)) == len(times)
              else np.arange(len(names), dtype=np.int64))
    try:
        rotvec = np.array([s["rotation"] for s in shots], np.float64).reshape(-1, 3)
        t = np.array([s["translation"] for s in shots], np.float64).reshape(-1, 3)
    except (KeyError, ValueError) as e:
        raise FormatError(f"shot rotation / translation: {e}", path, None, "shots") from None
    q = P.quat_from_axis_angle(rotvec).reshape(-1, 4)
    devs = np.array([s["camera"] for s in shots], dtype=object)
    points = rec.get("points", {})
    order = sorted(points) if kapture_order else \
        sorted(points, key=lambda k: (0, int(k), "") if k.lstrip("-").isdigit() else (1, 0, k))
    pts = np.array([list(points[k]["coordinates"]) + list(points[k].get("color", (0, 0, 0))) for k in order],
                   np.float64).reshape(-1, 6)
    return Kapture(sensors=dict(sensors), trajectories=Trajectories(stamps, devs, q, t),
                   records={"camera": Records("camera", stamps, devs, [(n,) for n in names])},
                   points3d=pts if len(points) else None)


def import_opensfm(path: str | Path, output: str | Path, force: bool = False) -> Kapture:
    prepare_output(output, [path], force)
    kapture = opensfm_to_kapture(path)
    save_kapture(kapture, output)
    return kapture


def export_opensfm(kapture: Kapture, path: str | Path, approximate: bool = False) -> list:
    """Write reconstruction.json (one reconstruction: cameras, posed shots, points); returns the document."""
    table = image_table(kapture)
    posed = np.flatnonzero(table.has_pose)
    cams = cameras_required(kapture, [table.camera_ids[i] for i in posed])
    rotvec = Rotation.from_quat(table.q[posed][:, [1, 2, 3, 0]]).as_rotvec().reshape(-1, 3)
    shots = {table.names[i]: {"camera": table.camera_ids[i], "rotation": rotvec[r].tolist(),
                              "translation": table.t[i].tolist(), "capture_time": float(table.timestamps[i])}
             for r, i in enumerate(posed)}
    points = {}
    if kapture.points3d is not None:
        pts = np.asarray(kapture.points3d, np.float64)
        for i, row in enumerate(pts.tolist()):
            points[str(i)] = {"coordinates": row[:3], "color": row[3:6] if len(row) >= 6 else [0.0, 0.0, 0.0]}
    doc = [{"cameras": {c: _opensfm_camera(c, cam, approximate) for c, cam in cams.items()}, "shots": shots,
            "points": points}]
    with atomic_write(path) as f:
        json.dump(doc, f, indent=1)
    return doc

