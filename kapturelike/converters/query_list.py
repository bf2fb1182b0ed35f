"""Query lists with intrinsics, as the long-term localization datasets ship them (Aachen, CMU, RobotCar).

One line per image, space separated: ``name MODEL width height params...`` with COLMAP's model names and
parameters (e.g. ``query/night/nexus5x/IMG_1.jpg SIMPLE_RADIAL 1600 1200 1469.2 800 600 -0.0353``).
Each line becomes a camera sensor (images with identical intrinsics share one: ``cam_00000``, ...) and a
camera record; timestamps are the line index. Pixel convention: COLMAP's, the same as kapture's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kapturelike.core.reconstruction import Kapture
from kapturelike.core.records import Records
from kapturelike.core.sensors import CAMERA_MODEL_PARAMS, Camera
from kapturelike.errors import FormatError
from kapturelike.io.dataset import save_kapture
from kapturelike.io.output import prepare_output
from kapturelike.io.text import atomic_write


@dataclass
class QueryListOptions:
    share_cameras: bool = True  # one sensor per distinct intrinsics (False: one per image)
    camera_prefix: str = "cam_"


def read_query_list(path: str | Path, options: QueryListOptions | None = None) -> Kapture:
    """Sensors and camera records of a query list (no poses)."""
    options = options or QueryListOptions()
    path = Path(path)
    sensors: dict[str, Camera] = {}
    by_camera: dict[Camera, str] = {}
    items = []
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            fields = raw.split()
            if not fields or fields[0].startswith("#"):
                continue
            if len(fields) < 4:
                raise FormatError("expected name MODEL width height params...", path, number, "MODEL")
            name, model = fields[0], fields[1]
            if model not in CAMERA_MODEL_PARAMS:
                raise FormatError(f"unknown camera model '{model}'", path, number, "MODEL")
            expected = len(CAMERA_MODEL_PARAMS[model])
            if len(fields) - 4 != expected:
                raise FormatError(f"model {model} takes {expected} parameters after width and height, got "
                                  f"{len(fields) - 4}", path, number, "params")
            try:
                width, height = int(fields[2]), int(fields[3])
            except ValueError:
                raise FormatError("width and height must be integers", path, number, "width") from None
            try:
                params = tuple(float(v) for v in fields[4:])
            except ValueError:
                raise FormatError("parameters must be numbers", path, number, "params") from None
            cam = Camera(model, width, height, params)
            cam_id = by_camera.get(cam) if options.share_cameras else None
            if cam_id is None:
                cam_id = f"{options.camera_prefix}{len(sensors):05d}"
                sensors[cam_id] = cam
                by_camera[cam] = cam_id
            items.append(((len(items), cam_id), name))
    return Kapture(sensors=dict(sensors), records={"camera": Records.camera(items)})


def write_query_list(kapture: Kapture, path: str | Path) -> None:
    """The inverse: one line per camera record, in record order."""
    recs = kapture.records_camera or Records("camera")
    cams = kapture.cameras()
    with atomic_write(path) as f:
        for (_, cam_id), name in zip(recs.keys(), recs.paths):
            cam = cams[cam_id]
            f.write(" ".join([name, cam.model, str(cam.width), str(cam.height)] + [repr(p) for p in cam.params]) + "\n")


def import_query_list(path: str | Path, output: str | Path, options: QueryListOptions | None = None,
                      force: bool = False) -> Kapture:
    prepare_output(output, [path], force)
    kapture = read_query_list(path, options)
    save_kapture(kapture, output)
    return kapture
