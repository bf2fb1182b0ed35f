"""OpenMVG ``sfm_data.json`` <-> kapture: views, intrinsics, extrinsics and structure with observations.

Poses: OpenMVG extrinsics hold the world-to-camera ``rotation`` (3x3, rows) and the camera ``center``:
t = -R C. Pixels: OpenMVG (like OpenCV) puts the centre of the top-left pixel at (0, 0); kapture at
(0.5, 0.5): principal points and observations get ``+pixel_shift`` (0.5) on import, ``-`` on export.
Intrinsics, one-to-one: pinhole <-> SIMPLE_PINHOLE, pinhole_radial_k1 <-> SIMPLE_RADIAL,
pinhole_radial_k3 <-> FULL_OPENCV (p1 = p2 = k4..k6 = 0), pinhole_brown_t2 <-> FULL_OPENCV with
tangential terms (k4..k6 = 0; written as brown when p1 or p2 is not 0), fisheye <-> OPENCV_FISHEYE
(fx = fy). Other cameras raise a ConversionError unless ``approximate`` (nearest: pinhole with the mean
focal, distortion dropped). Observations keep ``id_feat`` as the kapture keypoint id; keypoints are the
observed features (other entries of the keypoint array are NaN, as OpenMVG does not hold them).
Views are ordered by id_view, which becomes the timestamp.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kapturelike.converters.common import ConversionError, cameras_required, image_table
from kapturelike.converters.features_io import save_with_features
from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture, Observations
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Trajectories
from kapturelike.errors import FormatError
from kapturelike.io.output import prepare_output
from kapturelike.io.text import atomic_write

PIXEL_SHIFT = 0.5
_PTR_VIEW = 1073741824  # OpenMVG's polymorphic ids: first object of a type gets 2**31 | n
_DISTO = {"pinhole": None, "pinhole_radial_k1": "disto_k1", "pinhole_radial_k3": "disto_k3",
          "pinhole_brown_t2": "disto_t2", "fisheye": "fisheye"}


def _camera_from_intrinsic(name: str, d: dict, path: Path, key) -> Camera:
    try:
        w, h, f = int(d["width"]), int(d["height"]), float(d["focal_length"])
        cx, cy = (float(v) + PIXEL_SHIFT for v in d["principal_point"])
        if name == "pinhole":
            return Camera("SIMPLE_PINHOLE", w, h, (f, cx, cy))
        if name == "pinhole_radial_k1":
            return Camera("SIMPLE_RADIAL", w, h, (f, cx, cy, float(d["disto_k1"][0])))
        if name == "pinhole_radial_k3":
            k1, k2, k3 = (float(v) for v in d["disto_k3"])
            return Camera("FULL_OPENCV", w, h, (f, f, cx, cy, k1, k2, 0, 0, k3, 0, 0, 0))
        if name == "pinhole_brown_t2":
            k1, k2, k3, t1, t2 = (float(v) for v in d["disto_t2"])
            return Camera("FULL_OPENCV", w, h, (f, f, cx, cy, k1, k2, t1, t2, k3, 0, 0, 0))
        if name == "fisheye":
            return Camera("OPENCV_FISHEYE", w, h, (f, f, cx, cy, *(float(v) for v in d["fisheye"])))
    except (KeyError, TypeError, ValueError) as e:
        raise FormatError(f"intrinsic {key} ({name}): missing or bad value ({e})", path, None, "intrinsics") from None
    raise FormatError(f"intrinsic {key}: unsupported model '{name}' (known: {', '.join(_DISTO)})", path, None,
                      "intrinsics")


def _intrinsic_from_camera(sensor_id: str, cam: Camera, approximate: bool) -> tuple[str, dict]:
    p = cam.param_dict
    fx, fy = cam.focal
    cx, cy = cam.principal_point
    base = {"width": cam.width, "height": cam.height, "focal_length": fx,
            "principal_point": [cx - PIXEL_SHIFT, cy - PIXEL_SHIFT]}
    rest = lambda *names: all(p.get(n, 0.0) == 0.0 for n in names)  # noqa: E731
    if cam.model == "SIMPLE_PINHOLE" or (cam.model == "PINHOLE" and fx == fy):
        return "pinhole", base
    if cam.model == "SIMPLE_RADIAL":
        return "pinhole_radial_k1", {**base, "disto_k1": [p["k"]]}
    if cam.model == "FULL_OPENCV" and fx == fy and rest("k4", "k5", "k6"):
        if rest("p1", "p2"):
            return "pinhole_radial_k3", {**base, "disto_k3": [p["k1"], p["k2"], p["k3"]]}
        return "pinhole_brown_t2", {**base, "disto_t2": [p["k1"], p["k2"], p["k3"], p["p1"], p["p2"]]}
    if cam.model == "OPENCV_FISHEYE" and fx == fy:
        return "fisheye", {**base, "fisheye": [p["k1"], p["k2"], p["k3"], p["k4"]]}
    if not approximate:
        raise ConversionError(f"camera '{sensor_id}' ({cam.model} {cam.params}) has no OpenMVG counterpart "
                              "(pass approximate=True for a pinhole without distortion)")
    return "pinhole", {**base, "focal_length": (fx + fy) / 2}


def _items(doc: dict, key: str, path: Path) -> list:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise FormatError(f"'{key}' must be a list", path, None, key)
    return value


def openmvg_to_kapture(path: str | Path, keypoints_type: str = "openmvg") -> tuple[Kapture, dict[str, np.ndarray]]:
    """The dataset and the observed keypoints (image name -> float32 (K, 2)) of an sfm_data.json."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise FormatError(f"invalid JSON: {e.msg}", path, e.lineno, "json") from None
    if not isinstance(doc, dict):
        raise FormatError("expected a JSON object", path, 1, "json")
    section = ["intrinsics"]
    try:
        return _parse(doc, path, keypoints_type, section)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        if isinstance(e, FormatError):
            raise
        raise FormatError(f"missing or malformed entry ({type(e).__name__}: {e})", path, None, section[0]) from None


def _parse(doc: dict, path: Path, keypoints_type: str, section: list[str]) -> tuple[Kapture, dict[str, np.ndarray]]:
    intrinsics = {}
    for item in _items(doc, "intrinsics", path):
        v = item["value"]
        intrinsics[item["key"]] = _camera_from_intrinsic(v.get("polymorphic_name", ""), v["ptr_wrapper"]["data"],
                                                         path, item["key"])
    poses = {}
    section[0] = "extrinsics"
    for item in _items(doc, "extrinsics", path):
        try:
            R = np.array(item["value"]["rotation"], np.float64).reshape(3, 3)
            C = np.array(item["value"]["center"], np.float64).reshape(3)
        except (KeyError, ValueError) as e:
            raise FormatError(f"extrinsic {item.get('key')}: {e}", path, None, "extrinsics") from None
        poses[item["key"]] = (P.rotmat_to_quat(R), -R @ C)
    section[0] = "views"
    views = sorted((item["value"]["ptr_wrapper"]["data"] for item in _items(doc, "views", path)),
                   key=lambda d: d["id_view"])
    sensors = {f"cam_{k:05d}": c for k, c in intrinsics.items()}
    names, stamps, devs, qs, ts, view_name = [], [], [], [], [], {}
    for d in views:
        name = (d.get("local_path", "").strip("/") + "/" + d["filename"]).lstrip("/")
        view_name[d["id_view"]] = name
        cam_id = f"cam_{d['id_intrinsic']:05d}"
        if cam_id not in sensors:
            raise FormatError(f"view {d['id_view']} names unknown intrinsic {d['id_intrinsic']}", path, None, "views")
        names.append(name)
        stamps.append(d["id_view"])
        devs.append(cam_id)
        if d.get("id_pose") in poses:
            qs.append(poses[d["id_pose"]][0])
            ts.append(poses[d["id_pose"]][1])
        else:
            qs.append(np.full(4, np.nan))
            ts.append(np.full(3, np.nan))
    section[0] = "structure"
    structure = _items(doc, "structure", path)
    pts = np.zeros((len(structure), 3))
    pids, onames, fids, xys = [], [], [], []
    for i, item in enumerate(structure):
        pts[i] = item["value"]["X"]
        for ob in item["value"]["observations"]:
            if ob["key"] not in view_name:
                raise FormatError(f"structure point {item['key']} observed in unknown view {ob['key']}", path, None,
                                  "observations")
            pids.append(i)
            onames.append(view_name[ob["key"]])
            fids.append(int(ob["value"]["id_feat"]))
            xys.append(ob["value"]["x"])
    xy = np.array(xys, np.float64).reshape(-1, 2) + PIXEL_SHIFT
    fid = np.array(fids, np.int64)
    onames_a = np.array(onames, dtype=object)
    keypoints = {}
    for name in dict.fromkeys(onames):
        m = onames_a == name
        kp = np.full((int(fid[m].max()) + 1, 2), np.nan, np.float32)
        kp[fid[m]] = xy[m]
        keypoints[name] = kp
    has = ~np.isnan(np.array(qs).reshape(-1, 4)).any(1)
    st, dv = np.array(stamps, np.int64), np.array(devs, dtype=object)
    kapture = Kapture(sensors=dict(sensors),
                      trajectories=Trajectories(st[has], dv[has], np.array(qs).reshape(-1, 4)[has],
                                                np.array(ts).reshape(-1, 3)[has]),
                      records={"camera": Records("camera", st, dv, [(n,) for n in names])},
                      points3d=pts,
                      observations=Observations(np.array(pids, np.int64),
                                                np.full(len(pids), keypoints_type, dtype=object), onames_a, fid))
    return kapture, keypoints


def import_openmvg(path: str | Path, output: str | Path, keypoints_type: str = "openmvg",
                   force: bool = False) -> Kapture:
    prepare_output(output, [path], force)
    kapture, keypoints = openmvg_to_kapture(path, keypoints_type)
    return save_with_features(kapture, output, keypoints_type, keypoints.items())


def _wrap(key: int, name: str | None, data: dict, ptr_id: int) -> dict:
    value = {"polymorphic_id": _PTR_VIEW if name is None else 2147483649, "ptr_wrapper": {"id": ptr_id,
                                                                                          "data": data}}
    if name is not None:
        value["polymorphic_name"] = name
    return {"key": key, "value": value}


def export_openmvg(kapture: Kapture, path: str | Path, keypoints: Callable[[str], np.ndarray | None] | None = None,
                   keypoints_type: str | None = None, root_path: str = "", approximate: bool = False) -> dict:
    """Write sfm_data.json (views for every image, extrinsics for posed ones, structure); returns the document."""
    table = image_table(kapture)
    cams = cameras_required(kapture, table.camera_ids)
    cam_keys = {c: k for k, c in enumerate(sorted(cams))}
    ptr = iter(range(2147483649, 2**32))
    intrinsics = [_wrap(cam_keys[c], *_intrinsic_from_camera(c, cams[c], approximate), next(ptr))
                  for c in sorted(cams)]
    views, extrinsics = [], []
    has = table.has_pose
    R = P.quat_to_rotmat(np.where(has[:, None], table.q, [1.0, 0, 0, 0])).reshape(-1, 3, 3)
    centres = P.camera_centers(np.where(has[:, None], table.q, [1.0, 0, 0, 0]), np.nan_to_num(table.t)).reshape(-1, 3)
    for i, name in enumerate(table.names):
        folder, _, filename = name.rpartition("/")
        data = {"local_path": folder, "filename": filename, "width": cams[table.camera_ids[i]].width,
                "height": cams[table.camera_ids[i]].height, "id_view": i, "id_intrinsic": cam_keys[table.camera_ids[i]],
                "id_pose": i if has[i] else 4294967295}
        views.append(_wrap(i, None, data, next(ptr)))
        if has[i]:
            extrinsics.append({"key": i, "value": {"rotation": R[i].tolist(), "center": centres[i].tolist()}})
    row_of = {n: i for i, n in enumerate(table.names)}
    structure = []
    if kapture.points3d is not None:
        obs = (kapture.observations or Observations()).sorted()
        if keypoints_type is not None:
            obs = obs.select(obs.keypoints_types == keypoints_type)
        cache: dict[str, np.ndarray] = {}
        bounds = np.searchsorted(obs.point_ids, np.arange(len(kapture.points3d) + 1))
        for p, X in enumerate(np.asarray(kapture.points3d)[:, :3].tolist()):
            ob_list = []
            for j in range(bounds[p], bounds[p + 1]):
                name, fid = obs.image_names[j], int(obs.feature_ids[j])
                if name not in row_of:
                    continue
                if name not in cache:
                    kp = keypoints(name) if keypoints is not None else None
                    if kp is None:
                        raise ConversionError(f"image '{name}' has observations but no keypoints")
                    cache[name] = np.asarray(kp, np.float64)[:, :2] - PIXEL_SHIFT
                ob_list.append({"key": row_of[name], "value": {"id_feat": fid, "x": cache[name][fid].tolist()}})
            structure.append({"key": p, "value": {"X": X, "observations": ob_list}})
    doc = {"sfm_data_version": "0.3", "root_path": root_path, "views": views, "intrinsics": intrinsics,
           "extrinsics": extrinsics, "structure": structure, "control_points": []}
    with atomic_write(path) as f:
        json.dump(doc, f, indent=1)
    return doc
