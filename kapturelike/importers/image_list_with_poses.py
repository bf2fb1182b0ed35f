"""A list of images with their poses -> kapture (kapture's ``kapture_import_image_list_with_poses``).

The list is a comma-separated table, '#' starting a comment line:
``timestamp, camera_id, image_path, qw, qx, qy, qz, tx, ty, tz``. The pose is world-to-camera (kapture's
convention) and is written as given; an empty rotation or translation stays empty. Image paths are
absolute, or relative to ``top_dir_images``; image names in the kapture are relative to the folder
common to every image. Cameras come from an OpenCV calibration file or, without one, are
UNKNOWN_CAMERA of the size of each camera id's last image. kapture files the calibrated camera under
its own name only, so a list whose camera ids differ names undefined sensors; here the calibration
is given to every camera id of the list (the same as kapture's when the ids are the camera's name). A missing image
keeps its pose but gets no image record, as in kapture.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import Kapture
from kapturelike.core.sensors import Camera
from kapturelike.importers.common import (
    DatasetImportError,
    RecordsBuilder,
    TrajectoriesBuilder,
    TransferAction,
    prepare_output,
    require_file,
    transfer_records_data,
)
from kapturelike.importers.opencv_yaml import read_opencv_calibration
from kapturelike.io.dataset import save_kapture
from kapturelike.io.images import stored_image_size

logger = logging.getLogger("kapturelike.importers.image_list_with_poses")
FIELDS = ("timestamp", "camera_id", "image_path", "qw", "qx", "qy", "qz", "tx", "ty", "tz")


@dataclass
class ImageListWithPosesOptions:
    top_dir_images: str | None = None  # folder of relative image paths
    camera_model_file: str | None = None  # OpenCV calibration YAML; None: UNKNOWN_CAMERA from image sizes
    transfer: TransferAction = TransferAction.copy
    do_not_import_images: bool = False  # poses only (cameras are still made from the images found)
    force: bool = False
    progress: bool = True


def list_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, 10 stripped fields) of each data line, one at a time."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n\r")
            if not line.strip() or line.startswith("#"):
                continue
            fields = [v.strip() for v in line.split(",")]
            if len(fields) != len(FIELDS):
                raise DatasetImportError(f"{path}, line {number}: {len(fields)} fields, expected {len(FIELDS)} "
                                         f"({', '.join(FIELDS)})")
            yield number, fields


def _numbers(fields: list[str], path: Path, number: int, names: tuple[str, ...]) -> np.ndarray:
    if any(v == "" for v in fields):  # kapture: the whole rotation (or translation) is then absent
        return np.full(len(fields), np.nan)
    try:
        return np.array([float(v) for v in fields])
    except ValueError:
        bad = next(n for n, v in zip(names, fields) if not _is_float(v))
        raise DatasetImportError(f"{path}, line {number}, field '{bad}': not a number") from None


def _is_float(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def import_image_list_with_poses(list_file: str | Path, output: str | Path,
                                 options: ImageListWithPosesOptions | None = None) -> Kapture:
    o = options or ImageListWithPosesOptions()
    list_file = require_file(list_file, "image list")
    top = o.top_dir_images or None

    def full_path(image: str) -> str:
        return os.path.join(top, image) if top and not os.path.isabs(image) else image

    common = None  # first pass: the folder common to every image
    for number, fields in list_rows(list_file):
        if not o.do_not_import_images and not top and not os.path.isabs(fields[2]):
            raise DatasetImportError(f"{list_file}, line {number}: relative image path '{fields[2]}' needs "
                                     "--top_dir_images")
        path = full_path(fields[2])
        common = path if common is None else os.path.commonpath([common, path])
    sensors: dict = {}
    calibrated = read_opencv_calibration(o.camera_model_file)[1] if o.camera_model_file else None
    out = prepare_output(output, o.force, inputs=[list_file])

    images, poses = RecordsBuilder("camera"), TrajectoriesBuilder()
    last_image: dict[str, str] = {}
    names, sources = [], []
    for number, fields in list_rows(list_file):
        try:
            timestamp = int(fields[0])
        except ValueError:
            raise DatasetImportError(f"{list_file}, line {number}, field 'timestamp': not an integer") from None
        camera_id, path = fields[1], full_path(fields[2])
        if calibrated is not None and camera_id not in sensors:
            sensors[camera_id] = calibrated
        if os.path.exists(path):
            last_image[camera_id] = path
            if not o.do_not_import_images:
                name = Path(os.path.relpath(path, common)).as_posix()
                images.add(timestamp, camera_id, name)
                names.append(name)
                sources.append(path)
        else:
            logger.debug("%s: image file is missing, its pose is kept", path)
        q = _numbers(fields[3:7], list_file, number, FIELDS[3:7])
        t = _numbers(fields[7:10], list_file, number, FIELDS[7:10])
        poses.add([timestamp], camera_id, q, t)
    if not o.camera_model_file:
        for camera_id, path in last_image.items():
            try:
                width, height = stored_image_size(path)
            except (OSError, ValueError):
                logger.info("%s: not a readable image, no camera made from it", path)
                continue
            sensors[camera_id] = Camera("UNKNOWN_CAMERA", width, height, (), name=camera_id)

    k = Kapture(sensors=sensors, trajectories=poses.build(), records={"camera": images.build()})
    if not o.do_not_import_images:
        transfer_records_data(common, out, names, o.transfer, sources=sources, progress=o.progress)
    save_kapture(k, out)
    return k
