"""Library functions behind the dataset tools: summary, check, import, export, merge and split.

Each tool in ``tools/`` parses its arguments and calls one function here. Outputs are kapture 1.1
folders written through ``kapturelike.io`` (every text file is written atomically); an output folder
that exists and is not empty is refused unless ``force`` is set.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import FEATURE_KINDS, Kapture, Observations
from kapturelike.core.records import FILE_RECORD_KINDS, Records
from kapturelike.core.sensors import CAMERA_MODEL_PARAMS, Camera
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.errors import FormatError, KapturelikeError
from kapturelike.io.dataset import check_record_paths, load_kapture, records_data_path, save_kapture, sensors_path
from kapturelike.io.features import KaptureFeatureStore, match_index_problem
from kapturelike.io.images import image_size
from kapturelike.io.output import prepare_output, refuse_overlap
from kapturelike.io.paths import inside, regular_file_size
from kapturelike.io.sensors import parse_pose, pose_fields
from kapturelike.io.text import atomic_write, float_str

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".webp")


class DatasetToolError(KapturelikeError, ValueError):
    """A dataset tool cannot do what it was asked (output not empty, conflicting inputs...)."""


# ------------------------------------------------------------------------------------------ helpers
def place_file(src: Path, dst: Path, copy: bool = False) -> None:
    """Copy ``src`` to ``dst``, or symlink it (to the real file, so links never chain)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    if copy:
        shutil.copyfile(src, dst)
    else:
        os.symlink(os.path.realpath(src), dst)


def _copy_features(src: Kapture, src_root: Path, dst_root: Path, images: set[str] | None = None) -> None:
    """Copy feature and match files (of ``images`` only, when given); refuse differing duplicates."""
    src_store, dst_store = KaptureFeatureStore(src_root, src.version), KaptureFeatureStore(dst_root)
    for kind in FEATURE_KINDS:
        for name, ftype in getattr(src, kind).items():
            for image in ftype.images if images is None else ftype.images & images:
                _copy_binary(src_store.path(kind, name, image), dst_store.path(kind, name, image))
    for ktype, pairs in src.matches.items():
        for a, b in pairs:
            if images is None or (a in images and b in images):
                _copy_binary(src_store.matches_path(ktype, a, b), dst_store.matches_path(ktype, a, b))


def _copy_binary(src: Path, dst: Path) -> None:
    if dst.is_file():
        if dst.read_bytes() != src.read_bytes():
            raise DatasetToolError(f"{dst}: two inputs hold different data for this file ({src})")
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def _place_records_data(k: Kapture, src_root: Path, dst_root: Path, copy: bool) -> int:
    """Link or copy the files of file records (images, depth maps, point clouds) that exist; returns how many.

    A file already at the destination must be the same file (or hold the same bytes).
    """
    count = 0
    for kind in FILE_RECORD_KINDS:
        for name in k.records[kind].paths if kind in k.records else []:
            src, dst = records_data_path(src_root, name), records_data_path(dst_root, name)
            if not src.exists():
                continue
            if dst.exists():
                if os.path.realpath(dst) == os.path.realpath(src) or filecmp.cmp(dst, src, shallow=False):
                    continue
                raise DatasetToolError(f"{dst}: two inputs hold different record files of this name")
            place_file(src, dst, copy)
            count += 1
    return count


# ------------------------------------------------------------------------------------------ summary
def summary(root: str | Path) -> dict:
    """Counts of every part of the dataset at ``root`` (feature files are listed, never read)."""
    k = load_kapture(root)
    out: dict = {"version": k.version,
                 "sensors": dict(sorted(Counter(s.sensor_type for s in k.sensors.values()).items())),
                 "rigs": {rig: len(sensors) for rig, sensors in (k.rigs or {}).items()},
                 "poses": None if k.trajectories is None else len(k.trajectories),
                 "records": {kind: len(r) for kind, r in k.records.items()}}
    for kind in FEATURE_KINDS:
        out[kind] = {n: {"dtype": t.dtype_name, "dsize": t.dsize, "images": len(t.images)}
                     for n, t in getattr(k, kind).items()}
    out["matches"] = {t: len(p) for t, p in k.matches.items()}
    out["points3d"] = None if k.points3d is None else len(k.points3d)
    out["colours"] = k.points3d is not None and k.points3d.shape[1] == 6
    out["observations"] = None if k.observations is None else len(k.observations)
    return out


def format_summary(s: dict) -> list[str]:
    """One line per part, for printing."""
    def counts(d: dict) -> str:
        return ", ".join(f"{k}: {v}" for k, v in d.items()) or "none"

    def features(d: dict) -> str:
        return ", ".join(f"{n} ({v['dtype']} x {v['dsize']}, {v['images']} images)"
                         for n, v in d.items()) or "none"

    lines = [f"kapture format: {s['version']}",
             f"sensors: {sum(s['sensors'].values())} ({counts(s['sensors'])})",
             f"rigs: {len(s['rigs'])}" + (f" ({counts(s['rigs'])} sensors)" if s["rigs"] else ""),
             f"poses: {s['poses'] if s['poses'] is not None else 'none'}",
             f"records: {counts(s['records'])}"]
    lines += [f"{kind}: {features(s[kind])}" for kind in FEATURE_KINDS]
    lines.append(f"match pairs: {counts(s['matches'])}")
    points = "none" if s["points3d"] is None else str(s["points3d"])
    points += " (with colours)" if s["colours"] else ""
    lines.append(f"points3d: {points}")
    lines.append(f"observations: {s['observations'] if s['observations'] is not None else 'none'}")
    return lines


# ------------------------------------------------------------------------------------------ check
def check_kapture(root: str | Path) -> list[KapturelikeError]:
    """Every problem found in the dataset at ``root`` (empty list: valid); never stops at the first."""
    root = Path(root)
    problems: list[KapturelikeError] = []
    k = load_kapture(root, on_error=problems.append, check_images=True)
    store = KaptureFeatureStore(root, k.version)
    n_keypoints: dict[tuple[str, str], int] = {}
    typed = [(kind, name) for kind in FEATURE_KINDS for name in getattr(k, kind)]
    typed += [("matches", name) for name in sorted(set(k.matches) | set(k.keypoints))]
    problems += [FormatError("is a directory where a file should be", folder)
                 for kind, name in typed for folder in store.misplaced_folders(kind, name)]
    for kind in FEATURE_KINDS:
        for name, ftype in getattr(k, kind).items():
            for image in sorted(ftype.images):
                try:
                    n = store.row_count(kind, name, image)
                except FormatError as e:
                    problems.append(e)
                    continue
                if kind == "keypoints":
                    n_keypoints[(name, image)] = n
    for name, ftype in k.descriptors.items():
        for image in sorted(ftype.images):
            expected = n_keypoints.get((ftype.keypoints_type, image))
            try:
                n = store.row_count("descriptors", name, image)
            except FormatError:  # already reported
                continue
            if expected is not None and n != expected:
                problems.append(FormatError(f"{n} descriptors for {expected} keypoints of type "
                                            f"'{ftype.keypoints_type}'",
                                            store.path("descriptors", name, image), None, "dsize"))
    for ktype, pairs in k.matches.items():
        images = k.keypoints[ktype].images if ktype in k.keypoints else set()
        for a, b in sorted(pairs):
            try:
                path = store.matches_path(ktype, a, b)
            except FormatError as e:
                problems.append(e)
                continue
            missing = [x for x in (a, b) if x not in images]
            if missing:
                problems.append(FormatError(f"matches name image(s) without keypoints of type '{ktype}': "
                                            f"{', '.join(missing)}", path, None, "image_path"))
                continue
            try:
                regular_file_size(path)
                m = store.read_matches(ktype, a, b)
            except FormatError as e:
                problems.append(e)
                continue
            for col, image in ((0, a), (1, b)):
                problem = match_index_problem(m[:, col], n_keypoints.get((ktype, image)))
                if problem:
                    problems.append(FormatError(f"{problem} of '{image}'", path, None, f"idx{col + 1}"))
    if k.observations is not None:
        problems += _check_observations(root, k, n_keypoints)
    return problems


def _check_observations(root: Path, k: Kapture, n_keypoints: dict[tuple[str, str], int]) -> list[FormatError]:
    path = root / "reconstruction" / "observations.txt"
    problems: list[FormatError] = []
    obs = k.observations
    n_points = None if k.points3d is None else len(k.points3d)
    if n_points is not None and len(obs) and (obs.point_ids.max() >= n_points or obs.point_ids.min() < 0):
        bad = obs.point_ids[(obs.point_ids >= n_points) | (obs.point_ids < 0)]
        problems.append(FormatError(f"{len(bad)} observation(s) name 3D points beyond the {n_points} of "
                                    f"points3d.txt (first: {int(bad[0])})", path, None, "point3d_id"))
    for ktype in sorted(set(obs.keypoints_types.tolist())):
        for image, (fids, _) in sorted(obs.for_image(ktype).items()):
            n = n_keypoints.get((ktype, image))
            if n is None and image not in (k.keypoints[ktype].images if ktype in k.keypoints else ()):
                problems.append(FormatError(f"image '{image}' has no keypoints of type '{ktype}'", path, None,
                                            "image_path"))
            elif n is None:  # its keypoints file is malformed, already reported
                continue
            elif fids.max() >= n or fids.min() < 0:
                problems.append(FormatError(f"feature id {int(fids.max())} of '{image}' is beyond its {n} "
                                            f"keypoints of type '{ktype}'", path, None, "feature_id"))
    return problems


# ------------------------------------------------------------------------------------------ import / export
@dataclass
class ImportOptions:
    camera_model: str = "UNKNOWN_CAMERA"  # model of the cameras made from image sizes
    focal_factor: float = 1.2  # guessed focal = factor x the larger image side (calibrated models only)
    copy: bool = False  # copy images instead of symlinking them
    force: bool = False  # allow a non-empty output folder


def guess_camera(model: str, width: int, height: int, focal_factor: float = 1.2) -> Camera:
    """A camera of ``model`` for an image size: focal guessed, principal point centred, no distortion."""
    if model not in CAMERA_MODEL_PARAMS:
        raise DatasetToolError(f"unknown camera model '{model}' (known: {', '.join(CAMERA_MODEL_PARAMS)})")
    f, values = focal_factor * max(width, height), {"cx": width / 2.0, "cy": height / 2.0}
    values.update(f=f, fx=f, fy=f)
    return Camera(model, width, height, tuple(values.get(p, 0.0) for p in CAMERA_MODEL_PARAMS[model]))


def list_images(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def _build_import(images_dir: Path, out: Path, entries: list[tuple[str, Camera | None, Pose | None]],
                  options: ImportOptions) -> Kapture:
    """A dataset of one record per entry (timestamp = index), cameras shared by equal calibrations."""
    cameras: dict[Camera, str] = {}
    items, poses = [], []
    for ts, (name, camera, pose) in enumerate(entries):
        src = inside(images_dir, name, None, None, "image_name")
        if not src.is_file():
            raise DatasetToolError(f"{src}: image file is missing")
        if camera is None:
            camera = guess_camera(options.camera_model, *image_size(src), options.focal_factor)
        cam_id = cameras.setdefault(camera, f"cam{len(cameras)}")
        items.append(((ts, cam_id), name))
        if pose is not None:
            poses.append(((ts, cam_id), pose))
    out = prepare_output(out, [images_dir], options.force)
    k = Kapture(sensors={cid: cam for cam, cid in cameras.items()}, records={"camera": Records.camera(items)},
                trajectories=Trajectories.from_items(poses) if poses else None)
    for name, _, _ in entries:
        place_file(inside(images_dir, name), records_data_path(out, name), options.copy)
    save_kapture(k, out)
    return k


def import_image_folder(images: str | Path, out: str | Path, options: ImportOptions | None = None) -> Kapture:
    """Every image below ``images`` (sorted names) as a camera record; one camera per image size."""
    images = Path(images)
    if not images.is_dir():
        raise DatasetToolError(f"{images}: not a folder")
    names = list_images(images)
    if not names:
        raise DatasetToolError(f"{images}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
    return _build_import(images, Path(out), [(n, None, None) for n in names], options or ImportOptions())


def parse_image_list(path: str | Path) -> list[tuple[str, Camera | None, Pose | None]]:
    """Lines of an image list, whitespace-separated (names hold no whitespace; '#' starts a comment):

    ``name``                                        camera guessed from the image size
    ``name MODEL width height params...``          intrinsics (COLMAP / hloc query-list form)
    ``name qw qx qy qz tx ty tz``                  world-to-camera pose, camera guessed
    ``name MODEL width height params... qw qx qy qz tx ty tz``   both
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"not UTF-8 text ({e.reason} at byte {e.start})", path) from None
    entries, seen = [], set()
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        name, rest, camera = fields[0], fields[1:], None
        if name in seen:
            raise FormatError(f"image '{name}' is listed twice", path, number, "name")
        seen.add(name)
        if rest and rest[0] in CAMERA_MODEL_PARAMS:
            n = 3 + len(CAMERA_MODEL_PARAMS[rest[0]])
            try:
                w, h, *params = (float(v) for v in rest[1:n])
                if not (w.is_integer() and h.is_integer()):
                    raise ValueError("width and height must be integers")
                camera = Camera(rest[0], int(w), int(h), tuple(params))
            except ValueError as e:
                raise FormatError(f"bad intrinsics: {e}", path, number, "params") from None
            rest = rest[n:]
        elif rest and not _is_number(rest[0]):
            raise FormatError(f"unknown camera model '{rest[0]}'", path, number, "model")
        if rest and len(rest) != 7:
            raise FormatError(f"expected 7 pose values (qw qx qy qz tx ty tz), got {len(rest)}", path, number,
                              "qw")
        entries.append((name, camera, parse_pose(rest, path, number) if rest else None))
    return entries


def _is_number(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def import_image_list(list_file: str | Path, images: str | Path, out: str | Path,
                      options: ImportOptions | None = None) -> Kapture:
    """The images of an image list (see ``parse_image_list``), with their intrinsics and poses if given."""
    entries = parse_image_list(list_file)
    if not entries:
        raise DatasetToolError(f"{list_file}: the image list is empty")
    return _build_import(Path(images), Path(out), entries, options or ImportOptions())


def export_image_list(root: str | Path, out_file: str | Path, intrinsics: bool = False,
                      poses: bool = False) -> int:
    """Write the image names, one per line, optionally with intrinsics and poses; returns the count.

    The output is an image list ``import_image_list`` reads back (see ``parse_image_list``)."""
    k = load_kapture(root)
    rc = k.records_camera.sorted() if k.records_camera is not None else Records("camera")
    lines = []
    for (ts, cam_id), name in zip(rc.keys(), rc.paths):
        if (intrinsics or poses) and len(name.split()) != 1:
            raise DatasetToolError(f"image name {name!r} holds whitespace: an image list with intrinsics "
                                   "or poses cannot hold it")
        fields = [name]
        camera = k.sensors.get(cam_id)
        if intrinsics and isinstance(camera, Camera):
            fields += [camera.model, str(camera.width), str(camera.height),
                       *(float_str(p) for p in camera.params)]
        pose = k.trajectories.get((ts, cam_id)) if poses and k.trajectories is not None else None
        if pose is not None and pose.q is not None and pose.t is not None:
            fields += pose_fields(pose)
        lines.append(" ".join(fields) + "\n")
    with atomic_write(out_file) as f:
        f.writelines(lines)
    return len(lines)


# ------------------------------------------------------------------------------------------ merge / split
@dataclass
class MergeOptions:
    copy: bool = False  # copy record files instead of symlinking them
    force: bool = False  # allow a non-empty output folder


def _place(device_id: str, value: object, store: dict, before: set[str], taken: set[str], keys_collide: bool,
           mapping: dict[str, str]) -> None:
    """Put a sensor or rig of one input into the merged ``store``, recording its id in ``mapping``.

    An id an earlier input already has is kept when that input holds the same device and none of
    their (timestamp, device) keys collide; otherwise the device gets a free id.
    """
    if device_id in before and store.get(device_id) == value and not keys_collide:
        mapping[device_id] = device_id
        return
    mapping[device_id] = device_id if device_id not in before else _free_id(device_id, taken)
    taken.add(mapping[device_id])
    store[mapping[device_id]] = value


def _free_id(base: str, taken: set[str]) -> str:
    i = 1
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


def merge(inputs: list[str | Path], out: str | Path, options: MergeOptions | None = None) -> Kapture:
    """Merge datasets; a sensor/rig id already used by a different definition gets a suffix _1, _2, ..."""
    options = options or MergeOptions()
    roots = [Path(p) for p in inputs]
    refuse_overlap(out, roots)  # before reading: nothing is written until every input is checked
    loaded = [load_kapture(r) for r in roots]
    for k, root in zip(loaded, roots):
        check_record_paths(root, k)
    merged = merge_kaptures(loaded)
    out = prepare_output(out, roots, options.force)
    for k, root in zip(loaded, roots):
        _place_records_data(k, root, out, options.copy)
        _copy_features(k, root, out)
    save_kapture(merged, out)
    return merged


@dataclass
class SplitOptions:
    copy: bool = False
    force: bool = False


def split(root: str | Path, images: set[str], out_a: str | Path, out_b: str | Path,
          options: SplitOptions | None = None) -> tuple[Kapture, Kapture]:
    """Cut a dataset by image names: ``images`` go to ``out_a``, the rest to ``out_b``.

    Trajectories, records (non-image records by timestamp) and features follow their images; matches
    across the two parts are dropped; sensors, rigs and points3d go to both (point ids stay valid) and
    observations to the part of their image.
    """
    options = options or SplitOptions()
    root = Path(root)
    refuse_overlap(out_a, [root, out_b])
    refuse_overlap(out_b, [root])
    k = load_kapture(root)
    check_record_paths(root, k)
    unknown = images - set(k.image_names())
    if unknown:
        raise DatasetToolError(f"{len(unknown)} image(s) of the list are not in "
                               f"{sensors_path(root, 'records_camera.txt')} (first: {sorted(unknown)[0]})")
    parts = split_kapture(k, images)
    for part, out in zip(parts, (out_a, out_b)):
        out = prepare_output(out, [root], options.force)
        names = set(part.image_names())
        _place_records_data(part, root, out, options.copy)
        _copy_features(k, root, out, names)
        save_kapture(part, out)
    return parts



def _device_keys(k: Kapture) -> dict[str, set[int]]:
    """Device id -> timestamps it has records or poses at."""
    keys: dict[str, set[int]] = defaultdict(set)
    for part in [*k.records.values(), *([k.trajectories] if k.trajectories is not None else [])]:
        for ts, dev in part.keys():
            keys[dev].add(ts)
    return keys


def _remap(devices: np.ndarray, mapping: dict[str, str]) -> np.ndarray:
    return np.array([mapping.get(d, d) for d in devices.tolist()], dtype=object)


def merge_kaptures(kaptures: list[Kapture]) -> Kapture:
    """One dataset from several, in memory (see ``merge``).

    A sensor (or rig) id already taken is shared when both definitions are equal and their records
    and poses never share a timestamp; otherwise it is renamed with a suffix _1, _2, ...
    Observations' point ids are offset by the number of points of the inputs before.
    """
    merged = Kapture(sensors={})
    merged_keys: dict[str, set[int]] = defaultdict(set)
    image_owner: dict[str, int] = {}
    points: list[np.ndarray] = []
    observations: list[Observations] = []
    n_points = 0
    for index, k in enumerate(kaptures):
        keys = _device_keys(k)
        before = set(merged.sensors) | set(merged.rigs or {})  # ids of earlier inputs
        taken = before | set(k.sensors) | set(k.rigs or {})  # new ids must not clash with this input's
        mapping: dict[str, str] = {}
        for sid, sensor in k.sensors.items():
            _place(sid, sensor, merged.sensors, before, taken, bool(keys[sid] & merged_keys[sid]), mapping)
        for rig_id, rig in (k.rigs or {}).items():
            rig = {mapping.get(s, s): pose for s, pose in rig.items()}
            merged.rigs = merged.rigs if merged.rigs is not None else {}
            _place(rig_id, rig, merged.rigs, before, taken, bool(keys[rig_id] & merged_keys[rig_id]), mapping)
        for dev, ts in keys.items():
            merged_keys[mapping.get(dev, dev)] |= ts
        if k.trajectories is not None:
            t = k.trajectories
            t = Trajectories(t.timestamps, _remap(t.device_ids, mapping), t.rotations, t.translations)
            merged.trajectories = t if merged.trajectories is None else merged.trajectories.concat(t)
        for kind, recs in k.records.items():
            recs = Records(kind, recs.timestamps, _remap(recs.device_ids, mapping), recs.values)
            merged.records[kind] = recs if kind not in merged.records else merged.records[kind].concat(recs)
        for name in k.image_names():
            if image_owner.setdefault(name, index) != index:
                raise DatasetToolError(f"image '{name}' is in input {image_owner[name] + 1} and input "
                                       f"{index + 1}")
        for kind in FEATURE_KINDS:
            target = getattr(merged, kind)
            for name, ftype in getattr(k, kind).items():
                if name in target and not target[name].same_type(ftype):
                    raise DatasetToolError(f"{kind} type '{name}' differs between inputs "
                                           f"({target[name].dtype_name} x {target[name].dsize} vs "
                                           f"{ftype.dtype_name} x {ftype.dsize})")
                if name in target:
                    target[name].images |= ftype.images
                else:
                    target[name] = replace(ftype, images=set(ftype.images))
        for ktype, pairs in k.matches.items():
            merged.matches.setdefault(ktype, set()).update(pairs)
        if k.observations is not None:
            o = k.observations
            observations.append(Observations(o.point_ids + n_points, o.keypoints_types, o.image_names,
                                             o.feature_ids))
        if k.points3d is not None:
            points.append(k.points3d)
            n_points += len(k.points3d)
    if points:
        width = min(p.shape[1] for p in points)  # colours are kept only when every input has them
        merged.points3d = np.concatenate([p[:, :width] for p in points])
    if observations:
        merged.observations = Observations(*(np.concatenate([getattr(o, c) for o in observations]) for c in
                                             ("point_ids", "keypoints_types", "image_names", "feature_ids")))
    if merged.trajectories is not None:
        merged.trajectories.index  # noqa: B018 -- raises on a (timestamp, device) present twice
    return merged


def split_kapture(k: Kapture, images: set[str]) -> tuple[Kapture, Kapture]:
    """Two datasets: the records of ``images`` and what follows them, and the rest (see ``split``)."""
    rc = k.records_camera if k.records_camera is not None else Records("camera")
    in_a = np.array([p in images for p in rc.paths], dtype=bool)
    keys = [set(rc.select(in_a).keys()), set(rc.select(~in_a).keys())]
    stamps = [{ts for ts, _ in part} for part in keys]
    rigs = k.rigs or {}

    def owned(part: int, ts: int, dev: str) -> bool:
        return (ts, dev) in keys[part] or any((ts, s) in keys[part] for s in rigs.get(dev, {}))

    parts = []
    for part in (0, 1):
        p = Kapture(sensors=dict(k.sensors), rigs=None if k.rigs is None else dict(k.rigs), version="1.1")
        names = {n for n, m in zip(rc.paths, in_a.tolist()) if m == (part == 0)}
        if k.trajectories is not None:
            mask = [owned(part, ts, dev) or (part == 1 and not owned(0, ts, dev))
                    for ts, dev in k.trajectories.keys()]
            p.trajectories = k.trajectories.select(np.array(mask, dtype=bool))
        for kind, recs in k.records.items():
            if kind == "camera":
                p.records[kind] = rc.select(in_a if part == 0 else ~in_a)
                continue
            ts = recs.timestamps.tolist()
            mask = [t in stamps[part] or (part == 1 and t not in stamps[0]) for t in ts]
            p.records[kind] = recs.select(np.array(mask, dtype=bool))
        for kind in FEATURE_KINDS:
            for name, ftype in getattr(k, kind).items():
                getattr(p, kind)[name] = replace(ftype, images=ftype.images & names)
        p.matches = {t: {(a, b) for a, b in pairs if a in names and b in names}
                     for t, pairs in k.matches.items()}
        p.points3d = k.points3d
        if k.observations is not None:
            p.observations = k.observations.select(np.array([n in names for n in k.observations.image_names],
                                                            dtype=bool))
        parts.append(p)
    return parts[0], parts[1]
