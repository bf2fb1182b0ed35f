"""Extended CMU Seasons -> one mapping and one query kapture per slice
(kapture's ``kapture_import_Extended_CMU_Seasons``).

Raw layout: ``intrinsics.txt`` (``camera_id MODEL width height params...``, e.g. ``c0 OPENCV 1024 768
fx fy cx cy k1 k2 p1 p2``), and per slice ``sliceN/database/``, ``sliceN/query/`` (images),
``sliceN/ground-truth-database-images-sliceN.txt``, ``sliceN/test-images-sliceN.txt`` and
``sliceN/camera-poses/*.txt`` (query ground truth of the extended release).

Image lists hold ``img_<n>_<camera>_<timestamp>us.jpg [qw qx qy qz cx cy cz]``: timestamp and camera
id come from the name. The pose is the world-to-camera rotation R (quaternion) and the camera
centre C; kapture stores (R, t = -R C). Output: ``<out>/sliceN/mapping`` (database list) and
``<out>/sliceN/query`` (test list merged with the camera-poses files).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.importers.common import (
    DatasetImportError,
    RecordsBuilder,
    TrajectoriesBuilder,
    TransferAction,
    prepare_output,
    require_dir,
    require_file,
    transfer_records_data,
)
from kapturelike.io.dataset import save_kapture

logger = logging.getLogger("kapturelike.importers.Extended_CMU_Seasons")
IMAGE_RE = re.compile(r"img_(?P<number>\d+)_(?P<camera>\w+)_(?P<timestamp>\d+)us\.jpg")


@dataclass
class ExtendedCmuOptions:
    slice_range: list[int] = field(default_factory=lambda: list(range(2, 26)))
    all_files: bool = False  # also images of the folders that no list names
    transfer: TransferAction = TransferAction.skip
    force: bool = False
    progress: bool = True


def read_intrinsics(path: Path) -> dict[str, Camera]:
    cameras = {}
    for number, line in enumerate(require_file(path, "intrinsics file").read_text().splitlines(), 1):
        words = line.split()
        if not words or line.startswith("#"):
            continue
        try:
            cameras[words[0]] = Camera(words[1], int(words[2]), int(words[3]), tuple(float(v) for v in words[4:]))
        except (IndexError, ValueError) as e:
            raise DatasetImportError(f"{path}, line {number}: {e}") from None
    return cameras


def read_image_list(path: Path, images: RecordsBuilder, poses: TrajectoriesBuilder, seen: set, posed: set) -> None:
    """Add the images (and poses, where given) of one list; an image (a pose) already added is not added
    again: the first list naming it wins."""
    qs, cs, keys = [], [], []
    for number, line in enumerate(require_file(path, "image list").read_text().splitlines(), 1):
        words = line.split()
        if not words or line.startswith("#"):
            continue
        m = IMAGE_RE.match(words[0])
        if not m:
            logger.warning("%s, line %d: '%s' is not an img_<n>_<camera>_<timestamp>us.jpg name", path, number,
                           words[0])
            continue
        key = (int(m.group("timestamp")), m.group("camera"))
        if key not in seen:
            seen.add(key)
            images.add(*key, words[0])
        if len(words) > 1 and key not in posed:
            posed.add(key)
            if len(words) != 8:
                raise DatasetImportError(f"{path}, line {number}: expected a name and 7 numbers (qw qx qy qz cx cy cz)")
            try:
                values = [float(v) for v in words[1:]]
            except ValueError:
                raise DatasetImportError(f"{path}, line {number}: not a number") from None
            keys.append(key)
            qs.append(values[:4])
            cs.append(values[4:])
    if keys:
        q = np.array(qs)
        poses.add([k[0] for k in keys], [k[1] for k in keys], q, -P.rotate(q, np.array(cs)))


def add_folder_images(folder: Path, images: RecordsBuilder, seen: set) -> None:
    for dirpath, _, files in os.walk(folder):
        for name in sorted(files):
            if not name.endswith("us.jpg"):
                continue
            rel = Path(os.path.relpath(os.path.join(dirpath, name), folder)).as_posix()
            m = IMAGE_RE.match(rel)
            if m and (int(m.group("timestamp")), m.group("camera")) not in seen:
                seen.add((int(m.group("timestamp")), m.group("camera")))
                images.add(int(m.group("timestamp")), m.group("camera"), rel)


def _write(out: Path, cameras: dict, images: RecordsBuilder, poses: TrajectoriesBuilder, source: Path,
           o: ExtendedCmuOptions) -> Kapture:
    records: Records = images.build()
    k = Kapture(sensors=dict(cameras), trajectories=poses.build() if len(poses) else None,
                records={"camera": records})
    transfer_records_data(source, out, records.paths, o.transfer, progress=o.progress)
    save_kapture(k, out)
    return k


def import_extended_cmu_seasons(input_dir: str | Path, output: str | Path,
                                options: ExtendedCmuOptions | None = None) -> dict[str, Kapture]:
    o = options or ExtendedCmuOptions()
    root = require_dir(input_dir, "Extended CMU Seasons folder")
    cameras = read_intrinsics(root / "intrinsics.txt")
    written = {}
    for n in o.slice_range:
        folder = require_dir(root / f"slice{n}", f"slice {n}")
        out = prepare_output(Path(output) / f"slice{n}" / "mapping", o.force, inputs=[input_dir])
        images, poses, seen, posed = RecordsBuilder("camera"), TrajectoriesBuilder(), set(), set()
        read_image_list(folder / f"ground-truth-database-images-slice{n}.txt", images, poses, seen, posed)
        if o.all_files:
            add_folder_images(folder / "database", images, seen)
        written[f"slice{n}/mapping"] = _write(out, cameras, images, poses, folder / "database", o)

        out = prepare_output(Path(output) / f"slice{n}" / "query", o.force, inputs=[input_dir])
        images, poses, seen, posed = RecordsBuilder("camera"), TrajectoriesBuilder(), set(), set()
        read_image_list(folder / f"test-images-slice{n}.txt", images, poses, seen, posed)
        gt = folder / "camera-poses"
        for path in sorted(require_dir(gt, "camera-poses folder").iterdir()):
            read_image_list(path, images, poses, seen, posed)
        if o.all_files:
            add_folder_images(folder / "query", images, seen)
        written[f"slice{n}/query"] = _write(out, cameras, images, poses, folder / "query", o)
    return written
