"""Symphony Seasons (lakeshore monitoring boat) -> kapture (kapture's ``kapture_import_symphony_seasons``).

Raw layout: ``file_list/db.txt`` (mapping) and ``file_list/<season>-<condition>.txt`` (queries), one
image a line, ``name [qw qx qy qz cx cy cz]``, image paths relative to the root folder.

Conventions: one camera ``camera_0`` (OPENCV 704x480, the dataset's calibration as kapture writes it).
Timestamps number the images 0, 1, 2... in list order (mapping list first), an image listed twice
keeping its first line. The pose is the world-to-camera rotation R (quaternion) and the camera
centre C: kapture stores (R, -R C).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture
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

MAPPING_FILES = ("db.txt",)
QUERY_FILES = ("autumn-dawn.txt", "autumn-overcast.txt", "spring-dawn.txt", "spring-sun.txt", "winter-overcast.txt",
               "autumn-dusk.txt", "autumn-sun.txt", "spring-foggy.txt", "winter-dusk.txt", "winter-sun.txt",
               "autumn-foggy.txt", "spring-overcast.txt", "winter-foggy.txt")
SENSOR_ID = "camera_0"
CAMERA = Camera("OPENCV", 704, 480, (780.170806, 709.378535, 317.745657, 246.801583,
                                     -0.295703, 0.157403, -0.001469, -0.000924))


@dataclass
class SymphonyOptions:
    transfer: TransferAction = TransferAction.link_absolute
    partition: str | None = None  # mapping (db.txt) or query (the season lists)
    force: bool = False
    progress: bool = True


def import_symphony_seasons(input_dir: str | Path, output: str | Path,
                            options: SymphonyOptions | None = None) -> Kapture:
    o = options or SymphonyOptions()
    lists = {None: MAPPING_FILES + QUERY_FILES, "mapping": MAPPING_FILES, "query": QUERY_FILES}.get(o.partition)
    if lists is None:
        raise DatasetImportError(f"unknown partition '{o.partition}' (mapping or query)")
    root = require_dir(input_dir, "Symphony Seasons folder")
    images, poses = RecordsBuilder("camera"), TrajectoriesBuilder()
    seen: set[str] = set()
    stamps, qs, cs = [], [], []
    for list_name in lists:
        path = require_file(root / "file_list" / list_name, "image list")
        for number, line in enumerate(path.read_text().splitlines(), 1):
            words = line.split()
            if not words or words[0] in seen:
                continue
            seen.add(words[0])
            ts = len(seen) - 1
            images.add(ts, SENSOR_ID, words[0])
            if len(words) > 1:
                try:
                    values = [float(v) for v in words[1:8]]
                except ValueError:
                    raise DatasetImportError(f"{path}, line {number}: not a number") from None
                if len(values) != 7:
                    raise DatasetImportError(f"{path}, line {number}: expected a name and 7 numbers")
                stamps.append(ts)
                qs.append(values[:4])
                cs.append(values[4:])
    if stamps:
        q = P.normalize_quaternions(np.array(qs))
        poses.add(stamps, SENSOR_ID, q, -P.rotate(q, np.array(cs)))
    out = prepare_output(output, o.force, inputs=[input_dir])
    k = Kapture(sensors={SENSOR_ID: CAMERA}, trajectories=poses.build() if len(poses) else None,
                records={"camera": images.build()})
    transfer_records_data(root, out, k.records["camera"].paths, o.transfer, progress=o.progress)
    save_kapture(k, out)
    return k
