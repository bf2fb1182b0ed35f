"""Datasets from an image folder or an image list, and image lists from a dataset."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import Kapture
from kapturelike.core.records import Records
from kapturelike.core.sensors import CAMERA_MODEL_PARAMS, Camera, unknown_camera_guess
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.dataset_tools.output import (
    DatasetToolError,
    place_records_data,
    prepare_output,
    refuse_overlap,
)
from kapturelike.errors import FormatError, KapturelikeError
from kapturelike.io.dataset import load_kapture, save_kapture
from kapturelike.io.images import image_size, stored_image_size
from kapturelike.io.paths import inside
from kapturelike.io.sensors import first_non_unit_quaternion, parse_pose, pose_fields, read_sensors
from kapturelike.io.text import atomic_write, float_str

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".webp")


@dataclass
class ImportOptions:
    camera_model: str = "UNKNOWN_CAMERA"  # model of the cameras made from image sizes
    focal_factor: float = 1.2  # guessed focal = factor x the larger image side (calibrated models only)
    copy: bool = False  # copy images instead of symlinking them (when image_transfer is None)
    force: bool = False  # allow a non-empty output folder
    image_transfer: str | None = None  # kapture's transfer ('skip', 'copy', 'link_absolute', ...)
    camera_per_size: bool = False  # image folders: one camera per image size (cam0, ...), not kapture's naming


def guess_camera(model: str, width: int, height: int, focal_factor: float = 1.2) -> Camera:
    """A camera of ``model`` for an image size: focal guessed, principal point centred, no distortion."""
    if model not in CAMERA_MODEL_PARAMS:
        raise DatasetToolError(f"unknown camera model '{model}' (known: {', '.join(CAMERA_MODEL_PARAMS)})")
    return unknown_camera_guess(width, height, model, focal_factor)


def list_images(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def _build_import(images_dir: Path, out: Path, entries: list[tuple[str, Camera | None, Pose | None]],
                  options: ImportOptions) -> Kapture:
    """A dataset of one record per entry (timestamp = index), cameras shared by equal calibrations."""
    refuse_overlap(out, [images_dir])
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
    out = prepare_output(out, options.force)
    k = Kapture(sensors={cid: cam for cam, cid in cameras.items()}, records={"camera": Records.camera(items)},
                trajectories=Trajectories.from_items(poses) if poses else None)
    place_records_data(k, images_dir.parent, out, options.image_transfer or options.copy, images_dir)
    save_kapture(k, out)
    return k


def import_image_folder(images: str | Path, out: str | Path, options: ImportOptions | None = None) -> Kapture:
    """Every image below ``images`` (sorted names) as a camera record, named as kapture's
    kapture_import_image_folder names them: the n-th file of the sorted listing (other files count, and
    are skipped) gets timestamp n and its own camera ``sensor<n>`` (UNKNOWN_CAMERA of its size, or
    ``options.camera_model`` with a guessed focal); a ``sensors.txt`` in ``images`` gives the cameras instead
    (its only camera, or the camera named as the image's folder). ``options.camera_per_size``: one camera
    per image size (cam0, cam1, ...) and timestamps 0, 1, ... instead."""
    images = Path(images)
    options = options or ImportOptions()
    if not images.is_dir():
        raise DatasetToolError(f"{images}: not a folder")
    if options.camera_per_size:
        names = list_images(images)
        if not names:
            raise DatasetToolError(f"{images}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
        return _build_import(images, Path(out), [(n, None, None) for n in names], options)
    sensors_file = images / "sensors.txt"
    given = read_sensors(sensors_file)[1] if sensors_file.is_file() else None
    files = sorted(p.relative_to(images).as_posix() for p in images.rglob("*") if p.is_file())
    sensors: dict = dict(given or {})
    items = []
    for n, name in enumerate(files):
        if Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
            continue  # kapture skips what PIL cannot open
        try:
            width, height = stored_image_size(images / name)
        except (KapturelikeError, OSError, ValueError):
            continue
        if given is not None:
            cam_id = next(iter(given)) if len(given) == 1 else posixpath.basename(posixpath.dirname(name))
            if cam_id not in given:
                raise DatasetToolError(f"{sensors_file}: no camera '{cam_id}' (the folder of '{name}')")
        else:
            cam_id = f"sensor{n}"
            sensors[cam_id] = guess_camera(options.camera_model, width, height, options.focal_factor)
        items.append(((n, cam_id), name))
    if not items:
        raise DatasetToolError(f"{images}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
    refuse_overlap(Path(out), [images])
    out = prepare_output(out, options.force)
    k = Kapture(sensors=sensors, records={"camera": Records.camera(items)})
    place_records_data(k, images.parent, out, options.image_transfer or options.copy, images)
    save_kapture(k, out)
    return k


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
        pose = parse_pose(rest, path, number) if rest else None
        if pose is not None and first_non_unit_quaternion(pose.q) is not None:  # our own format: strict
            raise FormatError(f"quaternion norm is {np.linalg.norm(pose.q):.6g}, not 1", path, number, "qw")
        entries.append((name, camera, pose))
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


def import_kapture_image_lists(list_files: list[str | Path], images: str | Path, out: str | Path,
                               image_transfer: str = "link_absolute", force: bool = False) -> Kapture:
    """kapture_import_image_list's import: each line ``name`` or ``name MODEL width height params...``;
    every image its own camera ``sensor<i>`` and timestamp ``i`` (counted over the lines of all lists);
    an image without intrinsics gets UNKNOWN_CAMERA with its size, and is left out if it cannot be read."""
    images = Path(images)
    sensors: dict[str, Camera] = {}
    items = []
    offset = 0
    for list_file in list_files:
        lines = [line.rstrip() for line in Path(list_file).read_text(encoding="utf-8").splitlines(keepends=True)
                 if line != "\n"]
        for i, line in enumerate(lines):
            fields = line.split()
            if not fields:
                continue
            name = fields[0]
            if len(fields) > 1:
                try:
                    camera = Camera(fields[1], int(float(fields[2])), int(float(fields[3])),
                                    tuple(float(v) for v in fields[4:]))
                except (ValueError, IndexError) as e:
                    raise FormatError(f"bad camera: {e}", list_file, i + 1, "camera_params") from None
            else:
                try:
                    camera = Camera("UNKNOWN_CAMERA", *image_size(images / name))
                except (OSError, FormatError, ValueError):
                    continue  # an unreadable image is left out, as kapture does
            sensors[f"sensor{i + offset}"] = camera
            items.append(((i + offset, f"sensor{i + offset}"), name))
        offset += len(lines)
    refuse_overlap(out, [images])
    out = prepare_output(out, force)
    k = Kapture(sensors=sensors, records={"camera": Records.camera(items)})
    place_records_data(k, None, out, image_transfer, images)
    save_kapture(k, out)
    return k
