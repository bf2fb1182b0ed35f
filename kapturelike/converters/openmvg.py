"""OpenMVG ``sfm_data.json`` <-> kapture, laid out as kapture's converter lays it out.

Export (what kapture 1.1 writes): views in records order (view id = pose id = rank), intrinsics keyed
by camera rank of first use, cereal polymorphic ids (a type's first object carries its name and
``id | 2**31``, later ones the bare id; views without a pose get the null id 2**30), posed views carry
the pose as prior too, extrinsics hold the world-to-camera ``rotation`` and the camera ``center``,
structure holds the observations of the keypoints type with their keypoint ``x``; poses (through a rig too)
are computed with kapture's formulas, so that the numbers are the same to the last bit. Pixel coordinates
are written as kapture holds them (kapture's converter applies no half-pixel shift; neither do we).
Cameras as kapture maps them: PINHOLE -> pinhole with f = (fx + fy) / 2, SIMPLE_RADIAL ->
pinhole_radial_k1, RADIAL -> pinhole_radial_k3 (k3 = 0), OPENCV / FULL_OPENCV -> pinhole_brown_t2
(f = (fx + fy) / 2), OPENCV_FISHEYE / RADIAL_FISHEYE / SIMPLE_RADIAL_FISHEYE -> fisheye with its
distortion set to 0 (kapture's choice, logged), UNKNOWN_CAMERA -> pinhole_radial_k1 guessed; brown and
fisheye data nest the common part in ``value0`` unless ``use_v2_intrinsics_format``. Other models
raise a ConversionError unless ``approximate`` (pinhole with the mean focal).
``root_path`` is the folder of the images, down to the images' common sub-folder, which is left out of
the views' ``local_path``; ``image_path_flatten`` turns ``a/b/c.jpg`` into ``a_b_c.jpg``.

Import: image names are ``basename(root_path)/local_path/filename``, sensors are named by intrinsic key,
timestamps are view ids; both intrinsic layouts are read; cameras get kapture's models (pinhole_radial_k3
-> RADIAL, brown -> OPENCV, or FULL_OPENCV when k3 != 0, fisheye -> SIMPLE_RADIAL_FISHEYE) except where
kapture would drop a value (k3 of radial_k3, a fisheye distortion): FULL_OPENCV / OPENCV_FISHEYE keep it.
Without regions, the observed keypoints (their ``x``) become the keypoints type ``keypoints_type``
(kapture drops the observations instead).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kapturelike.converters.common import ConversionError, cameras_required, image_table
from kapturelike.converters.features_io import add_feature_arrays
from kapturelike.converters.openmvg_features import (
    export_matches,
    export_regions,
    import_matches,
    import_regions,
    regions_stem,
)
from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture, Observations
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Trajectories
from kapturelike.errors import FormatError
from kapturelike.importers.common import TransferAction, transfer_file
from kapturelike.io.dataset import load_kapture, records_data_path, save_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.output import prepare_output
from kapturelike.io.text import atomic_write

log = logging.getLogger(__name__)

SFM_DATA_FILE = "sfm_data.json"
_NEW_ID = 1 << 31  # cereal: the first object of a polymorphic type, or a new pointer
_NULL_ID = 1 << 30  # cereal: a view without pose prior (no polymorphic type)
_ID_MASK = _NEW_ID - 1
_NOT_LOCALIZED = 4294967295
_FOCAL_GUESS = 1.2  # kapture's focal of an UNKNOWN_CAMERA: 1.2 x the larger side
_MODELS = ("pinhole", "pinhole_radial_k1", "pinhole_radial_k3", "pinhole_brown_t2", "fisheye")


@dataclass
class OpenMVGExportOptions:
    """kapture_export_openmvg's choices; paths None leave that part out."""

    images: str | Path | None = None  # openMVG image folder the images are transferred to
    regions: str | Path | None = None  # folder for image_describer.json, .feat, .desc
    matches: str | Path | None = None  # openMVG text matches file
    image_action: str = "skip"  # kapture's TransferAction
    image_path_flatten: bool = False
    keypoints_type: str | None = None  # default: the dataset's only one
    descriptors_type: str | None = None  # default: the dataset's only one
    use_v2_intrinsics_format: bool = False  # brown / fisheye data without the value0 nesting
    approximate: bool = False  # models kapture refuses -> pinhole with the mean focal
    force: bool = False  # replace an existing sfm_data file
    root_path: str | None = None  # written instead of the computed images folder


@dataclass
class OpenMVGImportOptions:
    regions: str | Path | None = None  # folder holding image_describer.json and the .feat / .desc files
    matches: str | Path | None = None  # openMVG text matches file
    image_action: str = "skip"  # kapture's TransferAction (kapture_import_openmvg's default: root_link)
    keypoints_type: str = "openmvg"  # name of the keypoints taken from the structure when no regions
    force: bool = False


class _Registry:
    """cereal's id ticketing: a name seen before gets its bare id, a new name or any data object a new one."""

    def __init__(self, value_key: str, id_key: str) -> None:
        self.value_key, self.id_key, self.ids, self.next = value_key, id_key, {}, 1

    def wrap(self, value) -> dict:
        if isinstance(value, str) and value in self.ids:
            return {self.id_key: self.ids[value]}
        if isinstance(value, str):
            self.ids[value] = self.next
        self.next += 1
        return {self.id_key: (self.next - 1) | _NEW_ID, self.value_key: value}


def _intrinsic(sensor_id: str, cam: Camera, v2: bool, approximate: bool) -> tuple[str, dict]:
    p, m = [float(v) for v in cam.params], cam.model

    def common(f, cx, cy) -> dict:
        return {"width": int(cam.width), "height": int(cam.height), "focal_length": float(f),
                "principal_point": [float(cx), float(cy)]}

    def nested(name: str, data: dict, key: str, disto: list) -> tuple[str, dict]:
        return name, ({**data, key: disto} if v2 else {"value0": data, key: disto})

    if m == "SIMPLE_PINHOLE":
        return "pinhole", common(*p[:3])
    if m == "PINHOLE":
        return "pinhole", common((p[0] + p[1]) / 2, p[2], p[3])
    if m == "SIMPLE_RADIAL":
        return "pinhole_radial_k1", {**common(*p[:3]), "disto_k1": [p[3]]}
    if m == "RADIAL":
        return "pinhole_radial_k3", {**common(*p[:3]), "disto_k3": [p[3], p[4], 0.0]}
    if m in ("OPENCV", "FULL_OPENCV"):
        k3 = p[8] if len(p) > 8 else 0.0
        return nested("pinhole_brown_t2", common((p[0] + p[1]) / 2, p[2], p[3]), "disto_t2",
                      [p[4], p[5], k3, p[6], p[7]])
    if m in ("OPENCV_FISHEYE", "RADIAL_FISHEYE", "SIMPLE_RADIAL_FISHEYE"):
        log.warning(f"camera '{sensor_id}': {m} is written as an OpenMVG fisheye without distortion (as kapture)")
        f, rest = ((p[0] + p[1]) / 2, p[2:4]) if m == "OPENCV_FISHEYE" else (p[0], p[1:3])
        return nested("fisheye", common(f, *rest), "fisheye", [0.0, 0.0, 0.0, 0.0])
    if m == "UNKNOWN_CAMERA":
        w, h = cam.width, cam.height
        return "pinhole_radial_k1", {**common(max(w, h) * _FOCAL_GUESS, int(w / 2), int(h / 2)), "disto_k1": [0.0]}
    if not approximate:
        raise ConversionError(f"camera '{sensor_id}' ({m} {cam.params}) has no OpenMVG counterpart "
                              "(pass approximate=True for a pinhole without distortion)")
    fx, fy = cam.focal
    cx, cy = cam.principal_point
    return "pinhole", common((fx + fy) / 2, cx, cy)


def _rotation(w: float, x: float, y: float, z: float) -> np.ndarray:
    """The rotation matrix of a quaternion computed as numpy-quaternion (and so kapture) computes it, to the
    last bit: divided by the squared norm only when that is not 1 within 1e-14."""
    n = w * w + x * x + y * y + z * z
    d = 1.0 if abs(n - 1.0) < 1e-14 else n
    return np.array([[1 - 2 * (y ** 2 + z ** 2) / d, 2 * (x * y - z * w) / d, 2 * (x * z + y * w) / d],
                     [2 * (x * y + z * w) / d, 1 - 2 * (x ** 2 + z ** 2) / d, 2 * (y * z - x * w) / d],
                     [2 * (x * z - y * w) / d, 2 * (y * z + x * w) / d, 1 - 2 * (x ** 2 + y ** 2) / d]])


def _through_rig(kapture: Kapture, timestamp: int, camera_id: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The camera's pose through a rig posed at ``timestamp``, composed as kapture's rigs_remove composes it
    (Hamilton product, then R(camera in rig) t_rig + t_camera), to the last bit; None when none."""
    trajectories = kapture.trajectories
    for rig_id, members in (kapture.rigs or {}).items():
        in_rig, rig = members.get(camera_id), trajectories.get((timestamp, rig_id)) if trajectories else None
        if in_rig is None or rig is None or in_rig.q is None or rig.q is None:
            continue
        (w1, x1, y1, z1), (w2, x2, y2, z2) = (float(v) for v in in_rig.q), (float(v) for v in rig.q)
        q = np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                      w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])
        t = np.add(np.matmul(_rotation(w1, x1, y1, z1), rig.t.reshape(3, 1)), in_rig.t.reshape(3, 1))
        return q, t
    return None


def _rotation_and_centre(q: np.ndarray, t: np.ndarray) -> tuple[list, list]:
    """openMVG's world-to-camera rotation and camera centre of a kapture pose, as kapture computes them
    (the inverse quaternion is the conjugate over the squared norm) so that the JSON is the same."""
    w, x, y, z = (float(v) for v in q)
    n = w * w + x * x + y * y + z * z
    centre = np.matmul(_rotation(w / n, -x / n, -y / n, -z / n), np.asarray(t, np.float64).reshape(3, 1) * -1.0)
    return _rotation(w, x, y, z).tolist(), centre.flatten().tolist()


def _image_folders(names: list[str]) -> str:
    """kapture's sub-root: the common folder of the images ('' when they are not all in one)."""
    dirs = {os.path.dirname(n) for n in names}
    return os.path.commonpath(list(dirs)) if len(dirs) > 1 else next(iter(dirs), "")


def _view_path(name: str, sub_root: str, flatten: bool) -> str:
    rel = os.path.relpath(name, sub_root) if sub_root else name
    return rel.replace("/", "_") if flatten else rel


def _structure(root: Path, kapture: Kapture, keypoints_type: str | None, view_ids: dict[str, int]) -> list:
    if kapture.points3d is None:
        return []
    obs = kapture.observations or Observations()
    keep = obs.keypoints_types == keypoints_type
    order = np.argsort(obs.point_ids[keep], kind="stable")  # per point, in the file's order (as kapture)
    pids, names, fids = obs.point_ids[keep][order], obs.image_names[keep][order], obs.feature_ids[keep][order]
    bounds = np.searchsorted(pids, np.arange(len(kapture.points3d) + 1))
    kpt = kapture.keypoints.get(keypoints_type) if keypoints_type is not None else None
    store = KaptureFeatureStore(root, kapture.version)
    cache: dict[str, np.ndarray | None] = {}
    structure = []
    for p, X in enumerate(np.asarray(kapture.points3d, np.float64)[:, :3].tolist()):
        observations = []
        for j in range(bounds[p], bounds[p + 1]):
            name, fid = names[j], int(fids[j])
            if name not in view_ids:
                continue
            value = {"id_feat": fid}
            if kpt is not None and name not in cache:
                cache[name] = store.read("keypoints", keypoints_type, name) if name in kpt.images else None
            if cache.get(name) is not None:
                value["x"] = cache[name][fid, :2].tolist()
            observations.append({"key": view_ids[name], "value": value})
        structure.append({"key": p, "value": {"X": X, "observations": observations}})
    return structure


def _link_folder(target: Path, link: Path) -> None:
    """kapture's root_link: one link to the whole images folder (made even when that folder is absent)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        transfer_file(target, link, TransferAction.link_absolute)
    elif not link.is_symlink():
        log.warning(f"{target} does not exist: {link} links to nothing yet")
        os.symlink(os.path.abspath(target), link)


def _only(types: dict, kind: str) -> str | None:
    """The dataset's only type of ``kind`` (None when it has none); several is an error, as in kapture."""
    if len(types) > 1:
        flag = "-kpt" if kind == "keypoints" else "-desc"
        raise ConversionError(f"several {kind} types ({', '.join(types)}): choose one with {flag}")
    return next(iter(types), None)


def export_openmvg(kapture_root: str | Path, sfm_data: str | Path,
                   options: OpenMVGExportOptions | None = None) -> dict:
    """Write sfm_data.json (and the images, regions and matches asked for); returns the sfm_data document."""
    o = options or OpenMVGExportOptions()
    root, sfm_data = Path(kapture_root), Path(sfm_data)
    action = TransferAction(o.image_action)
    if sfm_data.exists() and not o.force:
        raise ConversionError(f"{sfm_data}: already exists (use --force to overwrite)")
    if action != TransferAction.skip and o.images is None:
        raise ConversionError(f"an openMVG images folder is needed to {action.value} the images")
    kapture = load_kapture(root)
    kpt_type = o.keypoints_type or _only(kapture.keypoints, "keypoints")
    desc_type = o.descriptors_type or _only(kapture.descriptors, "descriptors")
    table = image_table(kapture)
    cams = cameras_required(kapture, table.camera_ids)
    cam_keys = {c: k for k, c in enumerate(dict.fromkeys(table.camera_ids))}
    view_ids = {n: i for i, n in enumerate(dict.fromkeys(table.names))}
    sub_root = _image_folders(table.names)
    images_root = Path(os.path.abspath(records_data_path(root) if action == TransferAction.skip else o.images))
    if sub_root:
        images_root = images_root / sub_root
    elif action == TransferAction.root_link:
        images_root = images_root / "images"  # the link cannot be the images folder itself

    types, pointers = _Registry("polymorphic_name", "polymorphic_id"), _Registry("data", "id")
    intrinsics = []
    for cam_id in (c for c in kapture.sensors if c in cam_keys):  # sensors.txt order, as kapture
        name, data = _intrinsic(cam_id, cams[cam_id], o.use_v2_intrinsics_format, o.approximate)
        intrinsics.append({"key": cam_keys[cam_id], "value": {**types.wrap(name), "ptr_wrapper": pointers.wrap(data)}})
    has = table.has_pose
    views, extrinsics = [], []
    for i, name in enumerate(table.names):
        cam, vid = cams[table.camera_ids[i]], view_ids[name]
        path = _view_path(name, sub_root, o.image_path_flatten)
        data = {"local_path": os.path.dirname(path), "filename": os.path.basename(path), "width": int(cam.width),
                "height": int(cam.height), "id_view": vid, "id_intrinsic": cam_keys[table.camera_ids[i]],
                "id_pose": vid}
        view = {"polymorphic_id": _NULL_ID}
        if has[i]:
            view = types.wrap("view_priors")
            q, t = _through_rig(kapture, int(table.timestamps[i]), table.camera_ids[i]) or (table.q[i], table.t[i])
            rotation, centre = _rotation_and_centre(q, t)
            data.update({"use_pose_center_prior": True, "center_weight": [1.0, 1.0, 1.0], "center": centre,
                         "use_pose_rotation_prior": True, "rotation_weight": 1.0, "rotation": rotation})
            extrinsics.append({"key": vid, "value": {"center": centre, "rotation": rotation}})
        views.append({"key": vid, "value": {**view, "ptr_wrapper": pointers.wrap(data)}})
    doc = {"sfm_data_version": "0.3", "root_path": o.root_path if o.root_path is not None else str(images_root),
           "intrinsics": intrinsics, "views": views, "extrinsics": extrinsics,
           "structure": _structure(root, kapture, kpt_type, view_ids), "control_points": []}

    if action == TransferAction.root_link:
        _link_folder(records_data_path(root) / sub_root, images_root)
    sfm_data.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(sfm_data) as f:
        json.dump(doc, f, indent=4)
    if action not in (TransferAction.skip, TransferAction.root_link):
        for name in kapture.image_names():
            transfer_file(records_data_path(root, name), images_root / _view_path(name, sub_root,
                                                                                   o.image_path_flatten), action)
    if o.regions is not None:
        export_regions(root, kapture, kpt_type, desc_type, o.regions,
                       lambda n: regions_stem(_view_path(n, sub_root, o.image_path_flatten), False))
    if o.matches is not None:
        export_matches(root, kapture, kpt_type, o.matches, view_ids)
    return doc


# ---------------------------------------------------------------------------------------------- import


def _items(doc: dict, key: str, path: Path) -> list:
    value = doc.get(key) or []
    if not isinstance(value, list):
        raise FormatError(f"'{key}' must be a list", path, None, key)
    return value


def _camera(name: str, d: dict, path: Path, key) -> Camera:
    common = d.get("value0", d)  # kapture's default layout nests the common part of brown / fisheye
    try:
        w, h, f = int(common["width"]), int(common["height"]), float(common["focal_length"])
        cx, cy = (float(v) for v in common["principal_point"])
        if name == "pinhole":
            return Camera("SIMPLE_PINHOLE", w, h, (f, cx, cy))
        if name == "pinhole_radial_k1":
            return Camera("SIMPLE_RADIAL", w, h, (f, cx, cy, float(d["disto_k1"][0])))
        # kapture's models where they hold the values; where kapture would drop one (k3 of radial_k3, a
        # fisheye distortion), the model that keeps it
        if name == "pinhole_radial_k3":
            k1, k2, k3 = (float(v) for v in d["disto_k3"])
            if k3 == 0:
                return Camera("RADIAL", w, h, (f, cx, cy, k1, k2))
            return Camera("FULL_OPENCV", w, h, (f, f, cx, cy, k1, k2, 0, 0, k3, 0, 0, 0))
        if name == "pinhole_brown_t2":
            k1, k2, k3, t1, t2 = (float(v) for v in d["disto_t2"])
            if k3 == 0:
                return Camera("OPENCV", w, h, (f, f, cx, cy, k1, k2, t1, t2))
            return Camera("FULL_OPENCV", w, h, (f, f, cx, cy, k1, k2, t1, t2, k3, 0, 0, 0))
        if name == "fisheye":
            k = [float(v) for v in d["fisheye"]]
            if not any(k):
                return Camera("SIMPLE_RADIAL_FISHEYE", w, h, (f, cx, cy, 0.0))
            return Camera("OPENCV_FISHEYE", w, h, (f, f, cx, cy, *k))
    except (KeyError, TypeError, ValueError) as e:
        raise FormatError(f"intrinsic {key} ({name}): missing or bad value ({e})", path, None, "intrinsics") from None
    raise FormatError(f"intrinsic {key}: unsupported model '{name}' (known: {', '.join(_MODELS)})", path, None,
                      "intrinsics")


def _intrinsics(doc: dict, path: Path) -> dict[str, Camera]:
    names: dict[int, str] = {}
    cameras = {}
    for item in _items(doc, "intrinsics", path):
        v = item["value"]
        if "polymorphic_name" in v:  # a type's first object names it; later ones give its bare id
            names[v["polymorphic_id"] & _ID_MASK] = v["polymorphic_name"]
        name = names.get(v.get("polymorphic_id", -1) & _ID_MASK)
        if name is None:
            raise FormatError(f"intrinsic {item['key']}: unknown polymorphic_id {v.get('polymorphic_id')}", path,
                              None, "intrinsics")
        cameras[str(item["key"])] = _camera(name, v["ptr_wrapper"]["data"], path, item["key"])
    return cameras


def _read_json(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise FormatError(f"invalid JSON: {e.msg}", path, e.lineno, "json") from None
    if not isinstance(doc, dict):
        raise FormatError("expected a JSON object", path, 1, "json")
    return doc


def openmvg_to_kapture(path: str | Path, keypoints_type: str = "openmvg"
                       ) -> tuple[Kapture, dict[str, np.ndarray], dict[str, str]]:
    """The dataset of an sfm_data.json, the observed keypoints (image name -> float32 (K, 2), NaN where no
    observation) and each image's file (image name -> path below root_path)."""
    path = Path(path)
    doc = _read_json(path)
    section = ["intrinsics"]
    try:
        return _parse(doc, path, keypoints_type, section)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        if isinstance(e, FormatError):
            raise
        raise FormatError(f"missing or malformed entry ({type(e).__name__}: {e})", path, None, section[0]) from None


def _parse(doc: dict, path: Path, keypoints_type: str, section: list[str]
           ) -> tuple[Kapture, dict[str, np.ndarray], dict[str, str]]:
    sensors = _intrinsics(doc, path)
    section[0] = "extrinsics"
    poses = {}
    for item in _items(doc, "extrinsics", path):
        try:
            R = np.array(item["value"]["rotation"], np.float64).reshape(3, 3)
            C = np.array(item["value"]["center"], np.float64).reshape(3)
        except (KeyError, ValueError) as e:
            raise FormatError(f"extrinsic {item.get('key')}: {e}", path, None, "extrinsics") from None
        poses[item["key"]] = (P.rotmat_to_quat(R), -R @ C)
    section[0] = "views"
    folder = os.path.basename(doc.get("root_path") or "")
    views = sorted((item["value"]["ptr_wrapper"]["data"] | {"id_view": item["value"]["ptr_wrapper"]["data"].get(
        "id_view", item["key"])} for item in _items(doc, "views", path)), key=lambda d: d["id_view"])
    names, stamps, devs, qs, ts, view_name, files = [], [], [], [], [], {}, {}
    for d in views:
        file = "/".join(p for p in (d.get("local_path", "").strip("/"), d["filename"]) if p)
        name = f"{folder}/{file}" if folder else file
        view_name[d["id_view"]] = name
        files[name] = file
        cam_id = str(d["id_intrinsic"])
        if cam_id not in sensors:
            raise FormatError(f"view {d['id_view']} names unknown intrinsic {d['id_intrinsic']}", path, None, "views")
        names.append(name)
        stamps.append(d["id_view"])
        devs.append(cam_id)
        pose = poses.get(d.get("id_pose", _NOT_LOCALIZED))
        qs.append(pose[0] if pose else np.full(4, np.nan))
        ts.append(pose[1] if pose else np.full(3, np.nan))
    section[0] = "structure"
    structure = _items(doc, "structure", path)
    keys = [int(item["key"]) for item in structure]
    pts = np.zeros((max(keys, default=-1) + 1, 3))  # kapture fills ids without a point with zeros
    pids, onames, fids, xys = [], [], [], []
    for key, item in zip(keys, structure):
        pts[key] = item["value"]["X"]
        for ob in item["value"]["observations"]:
            if ob["key"] not in view_name:
                raise FormatError(f"structure point {key} observed in unknown view {ob['key']}", path, None,
                                  "observations")
            pids.append(key)
            onames.append(view_name[ob["key"]])
            fids.append(int(ob["value"]["id_feat"]))
            xys.append(ob["value"].get("x", [np.nan, np.nan]))
    xy = np.array(xys, np.float64).reshape(-1, 2)
    fid = np.array(fids, np.int64)
    onames_a = np.array(onames, dtype=object)
    keypoints = {}
    for name in dict.fromkeys(onames):
        m = onames_a == name
        kp = np.full((int(fid[m].max()) + 1, 2), np.nan, np.float32)
        kp[fid[m]] = xy[m]
        keypoints[name] = kp
    q, t = np.array(qs).reshape(-1, 4), np.array(ts).reshape(-1, 3)
    has = ~np.isnan(q).any(1)
    st, dv = np.array(stamps, np.int64), np.array(devs, dtype=object)
    kapture = Kapture(sensors=dict(sensors), trajectories=Trajectories(st[has], dv[has], q[has], t[has]),
                      records={"camera": Records("camera", st, dv, [(n,) for n in names])},
                      points3d=pts if structure else None,
                      observations=Observations(np.array(pids, np.int64),
                                                np.full(len(pids), keypoints_type, dtype=object), onames_a, fid)
                      if structure else None)
    return kapture, keypoints, files


def _transfer_images(doc_root: str, files: dict[str, str], output: Path, action: TransferAction) -> None:
    if action == TransferAction.skip:
        return
    if not doc_root:
        raise ConversionError(f"sfm_data has no root_path: cannot {action.value} the images")
    if action == TransferAction.root_link:  # kapture links records_data/<basename(root_path)> to root_path
        _link_folder(Path(doc_root), records_data_path(output) / os.path.basename(doc_root))
        return
    for name, file in files.items():
        transfer_file(Path(doc_root) / file, records_data_path(output, name), action)


def import_openmvg(sfm_data: str | Path, output: str | Path, options: OpenMVGImportOptions | None = None) -> Kapture:
    """Write the kapture dataset of an sfm_data.json (and of its regions and matches when given)."""
    o = options or OpenMVGImportOptions()
    sfm_data, output = Path(sfm_data), Path(output)
    action = TransferAction(o.image_action)
    regions_folder = Path(o.regions).resolve() if o.regions is not None else None
    inside_regions = regions_folder is not None and regions_folder in output.resolve().parents
    # kapture_import_openmvg -i DIR -o DIR/kapture is common: the regions folder may hold the output
    prepare_output(output, [sfm_data, o.matches, None if inside_regions else o.regions], o.force)
    kapture, observed, files = openmvg_to_kapture(sfm_data, o.keypoints_type)
    doc_root = _read_json(sfm_data).get("root_path") or ""
    if not doc_root:
        log.warning(f"{sfm_data}: no root_path")
    _transfer_images(doc_root, files, output, action)
    kpt_type = import_regions(o.regions, kapture, output) if o.regions is not None else None
    if kpt_type is not None:
        if kapture.observations is not None:
            kapture.observations.keypoints_types[:] = kpt_type
    else:
        kpt_type = o.keypoints_type
        add_feature_arrays(output, kapture, "keypoints", kpt_type, observed.items())
    if o.matches is not None:
        import_matches(o.matches, kapture, output, kpt_type)
    save_kapture(kapture, output)
    return kapture

