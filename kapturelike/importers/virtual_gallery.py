"""NAVER LABS Virtual Gallery -> kapture (kapture's ``kapture_import_virtual_gallery``).

Raw layout (v1.0): ``training/gallery_light{L}_loop{P}/`` and ``testing/gallery_light{L}_occlusion{O}/``,
each with ``intrinsic.txt`` (``frame cameraID fx fy cx cy``), ``extrinsic.txt`` (``frame cameraID`` then
a 4x4 matrix row-major) and ``frames/rgb/camera_{c}/rgb_{frame:05}.jpg``; a header line whose first
word is not a number is skipped.

Conventions:
- ``extrinsic.txt`` holds world-to-camera matrices: kapture stores them as they are.
- Training cameras ``training_camera_{c}`` (PINHOLE 1920x1080) are the six cameras of the rig
  ``training_rig`` (fixed extrinsics, as kapture defines them; the rig lists the cameras imported,
  where kapture lists all six even outside ``camera_range``, naming sensors it did not write);
  with ``as_rig`` the trajectory holds the rig's pose instead of each camera's
  (rig-from-world = camera-from-rig^-1 x camera-from-world).
- Testing images each have their own camera ``testing_light_{L}_occlusion_{O}_frame_{F}``.
- Timestamps number the (light, loop, frame) triples in file order; testing timestamps start after
  the number of training extrinsic rows (kapture's offset).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Pose
from kapturelike.importers.common import (
    DatasetImportError,
    RecordsBuilder,
    TrajectoriesBuilder,
    TransferAction,
    prepare_output,
    require_file,
    transfer_records_data,
)
from kapturelike.io.dataset import save_kapture

WIDTH, HEIGHT = 1920, 1080
RIG_ID = "training_rig"
_S3 = 0.8660254037844386
# camera-from-rig of the six training cameras (qw, qx, qy, qz), all 10 cm behind the rig centre
TRAINING_RIG_Q = {0: (1.0, 0.0, 0.0, 0.0), 1: (-_S3, 0.0, 0.5, 0.0), 2: (0.5, 0.0, -_S3, 0.0),
                  3: (0.0, 0.0, -1.0, 0.0), 4: (-0.5, 0.0, -_S3, 0.0), 5: (_S3, 0.0, 0.5, 0.0)}
TRAINING_RIG_T = (0.0, 0.0, -0.10)


def training_camera(camera: int) -> str:
    return f"training_camera_{camera}"


def testing_camera(light: int, occlusion: int, frame: int) -> str:
    return f"testing_light_{light}_occlusion_{occlusion}_frame_{frame}"


@dataclass
class VirtualGalleryOptions:
    configuration: str = "all"  # training, testing or all
    light_range: list[int] = field(default_factory=lambda: list(range(1, 7)))
    loop_range: list[int] = field(default_factory=lambda: list(range(1, 6)))
    camera_range: list[int] = field(default_factory=lambda: list(range(0, 6)))
    occlusion_range: list[int] = field(default_factory=lambda: list(range(1, 5)))
    as_rig: bool = False
    transfer: TransferAction = TransferAction.skip
    force: bool = False
    progress: bool = True


def read_table(path: Path, n_values: int) -> np.ndarray:
    """Rows whose first word is a number, as floats: frame, camera id, then ``n_values`` values."""
    rows = []
    for number, line in enumerate(require_file(path, "virtual gallery table").read_text().splitlines(), 1):
        words = line.split()
        if not words or not words[0].isdigit():
            continue
        try:
            rows.append([float(w) for w in words[:2 + n_values]])
        except ValueError:
            raise DatasetImportError(f"{path}, line {number}: not a number") from None
        if len(rows[-1]) != 2 + n_values:
            raise DatasetImportError(f"{path}, line {number}: {len(words)} words, expected {2 + n_values}")
    return np.array(rows, dtype=np.float64).reshape(-1, 2 + n_values)


def _frame_ids(keys: list[tuple]) -> dict[tuple, int]:
    """Key -> rank of its first appearance."""
    ids: dict[tuple, int] = {}
    for key in keys:
        ids.setdefault(key, len(ids))
    return ids


def import_virtual_gallery(input_dir: str | Path, output: str | Path,
                           options: VirtualGalleryOptions | None = None) -> Kapture:
    o = options or VirtualGalleryOptions()
    if o.configuration not in ("training", "testing", "all"):
        raise DatasetImportError(f"configuration '{o.configuration}': expected training, testing or all")
    root = Path(input_dir)
    sensors: dict = {}
    images, poses = RecordsBuilder("camera"), TrajectoriesBuilder()
    rigs = None
    offset = 0
    if o.configuration in ("training", "all"):
        cameras = set(o.camera_range)
        blocks = []  # (light, loop, extrinsic rows) kept per file; only one file's rows per loop below
        for light in o.light_range:
            for loop in o.loop_range:
                folder = root / "training" / f"gallery_light{light}_loop{loop}"
                intrinsics = read_table(folder / "intrinsic.txt", 4)
                for row in intrinsics[np.isin(intrinsics[:, 1], list(cameras))]:
                    sensors[training_camera(int(row[1]))] = Camera("PINHOLE", WIDTH, HEIGHT, tuple(row[2:6]))
                extrinsics = read_table(folder / "extrinsic.txt", 16)
                blocks.append((light, loop, extrinsics[np.isin(extrinsics[:, 1], list(cameras))]))
        frames = _frame_ids([(light, loop, int(f)) for light, loop, rows in blocks for f in rows[:, 0]])
        for light, loop, rows in blocks:
            stamps = np.array([frames[(light, loop, int(f))] for f in rows[:, 0]], dtype=np.int64) + offset
            q, t = P.from_matrix(rows[:, 2:].reshape(-1, 4, 4))
            cams = rows[:, 1].astype(int)
            for ts, cam, frame in zip(stamps, cams, rows[:, 0].astype(int)):
                images.add(ts, training_camera(cam), f"training/gallery_light{light}_loop{loop}/frames/rgb/"
                                                     f"camera_{cam}/rgb_{frame:05}.jpg")
            if o.as_rig:
                q_rig = np.array([TRAINING_RIG_Q[c] for c in cams])
                q, t = P.compose(*P.invert(q_rig, np.broadcast_to(TRAINING_RIG_T, (len(cams), 3))), q, t)
                first = np.unique(stamps, return_index=True)[1]  # one rig pose per frame
                poses.add(stamps[first], RIG_ID, q[first], t[first])
            else:
                poses.add(stamps, [training_camera(c) for c in cams], q, t)
        rigs = {RIG_ID: {training_camera(c): Pose(np.array(TRAINING_RIG_Q[c]), np.array(TRAINING_RIG_T))
                         for c in sorted(TRAINING_RIG_Q) if training_camera(c) in sensors}}
        offset += sum(len(rows) for _, _, rows in blocks)
    if o.configuration in ("testing", "all"):
        blocks = []
        for light in o.light_range:
            for occlusion in o.occlusion_range:
                folder = root / "testing" / f"gallery_light{light}_occlusion{occlusion}"
                for row in read_table(folder / "intrinsic.txt", 4):
                    sensors[testing_camera(light, occlusion, int(row[0]))] = Camera("PINHOLE", WIDTH, HEIGHT,
                                                                                   tuple(row[2:6]))
                blocks.append((light, occlusion, read_table(folder / "extrinsic.txt", 16)))
        frames = _frame_ids([(light, occ, int(f)) for light, occ, rows in blocks for f in rows[:, 0]])
        for light, occlusion, rows in blocks:
            q, t = P.from_matrix(rows[:, 2:].reshape(-1, 4, 4))
            stamps = [frames[(light, occlusion, int(f))] + offset for f in rows[:, 0]]
            devices = [testing_camera(light, occlusion, int(f)) for f in rows[:, 0]]
            for ts, device, frame in zip(stamps, devices, rows[:, 0].astype(int)):
                images.add(ts, device, f"testing/gallery_light{light}_occlusion{occlusion}/frames/rgb/"
                                       f"camera_0/rgb_{frame:05}.jpg")
            poses.add(stamps, devices, q, t)
    if not len(images):
        raise DatasetImportError(f"{root}: no image listed by the selected extrinsic.txt files")
    out = prepare_output(output, o.force, inputs=[input_dir])
    k = Kapture(sensors=sensors, rigs=rigs, trajectories=poses.build(), records={"camera": images.build()})
    transfer_records_data(root, out, k.records["camera"].paths, o.transfer, progress=o.progress)
    save_kapture(k, out)
    return k
