"""RGB-D frame datasets (7-Scenes, 12-Scenes): frame files grouped into shots, depth PNGs converted.

Both datasets store one frame as ``frame-XXXXXX.<suffix>.<ext>`` files (``color.png``/``jpg``,
``depth.png`` in millimetres, ``pose.txt`` camera-to-world 4x4). kapture stores depth maps as raw
float32 metres; the registered copy (``.reg``) is the depth re-projected into the colour camera.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from kapturelike.core.records import Records
from kapturelike.core.trajectories import Trajectories
from kapturelike.importers.common import (
    DatasetImportError,
    RecordsBuilder,
    TrajectoriesBuilder,
    world_to_camera_from_camera_to_world,
    write_depth_map,
)
from kapturelike.io.dataset import records_data_path
from kapturelike.io.images import load_image_unchanged

logger = logging.getLogger("kapturelike.importers.rgbd")
FRAME_RE = re.compile(r"((?P<sequence>.+)/)?frame-(?P<frame_id>\d{6})\.(?P<suffix>\w*)\.(?P<ext>\w*)")


def relative_files(root: Path) -> list[str]:
    """Every file under ``root``, as sorted posix paths relative to it."""
    return sorted(Path(os.path.relpath(os.path.join(d, f), root)).as_posix()
                  for d, _, files in os.walk(root, followlinks=True) for f in files)


def frame_shots(root: Path, key: Callable[[dict], object]) -> dict[object, dict[str, str]]:
    """Shot key -> {suffix: relative file name, 'timestamp': n}; shots in the order of their first file
    (files sorted by name), numbered 0, 1, 2... as kapture does (the datasets have no timestamps)."""
    shots: dict[object, dict] = {}
    for name in relative_files(root):
        m = FRAME_RE.search(name)
        if m:
            shots.setdefault(key(m.groupdict()), {})[m.group("suffix")] = name
    for timestamp, shot in enumerate(shots.values()):
        shot["timestamp"] = timestamp
    return shots


def millimetres_to_metres(png: np.ndarray) -> np.ndarray:
    return png.astype(np.float32) * np.float32(1.0e-3)


def read_pose_matrix(path: Path) -> np.ndarray:
    """The 4x4 matrix of a frame's pose file (16 numbers; INF for a frame the tracker lost)."""
    try:
        return np.array(path.read_text().split(), dtype=np.float64).reshape(4, 4)
    except ValueError:
        raise DatasetImportError(f"{path}: expected a 4x4 matrix of numbers") from None


@dataclass(frozen=True)
class RgbdIds:
    """Sensor ids of an RGB-D rig: colour camera, depth camera, depth registered to colour, the rig."""

    rgb: str
    depth: str
    registered: str
    rig: str


def shot_tables(root: Path, shots: dict[object, dict], ids: RgbdIds
                ) -> tuple[Records, Records, Trajectories, list[str]]:
    """Image records, depth records (raw and registered), world-to-rig poses and the depth PNGs of shots;
    a pose holding INF (frame the tracker lost) is left out."""
    images, depths = RecordsBuilder("camera"), RecordsBuilder("depth")
    depth_pngs, stamps, matrices = [], [], []
    for shot in shots.values():
        ts = shot["timestamp"]
        images.add(ts, ids.rgb, shot["color"])
        if "depth" in shot:
            depths.add(ts, ids.depth, depth_name(shot["depth"]))
            depths.add(ts, ids.registered, depth_name(shot["depth"]) + ".reg")
            depth_pngs.append(shot["depth"])
        if "pose" in shot:
            matrix = read_pose_matrix(root / shot["pose"])
            if np.isfinite(matrix).all():
                stamps.append(ts)
                matrices.append(matrix)
            else:
                logger.debug("%s: pose not tracked (INF), left out", shot["pose"])
    poses = TrajectoriesBuilder()
    if stamps:  # one vectorised inversion for every pose
        poses.add(stamps, ids.rig, *world_to_camera_from_camera_to_world(np.stack(matrices)))
    return images.build(), depths.build(), poses.build(), depth_pngs


def depth_name(depth_png: str) -> str:
    """kapture's name of a converted depth map: the PNG name without '.png'."""
    return depth_png[: -len(".png")] if depth_png.endswith(".png") else depth_png


def convert_depth_maps(source: Path, out: Path, depth_pngs: list[str],
                       convert: Callable[[np.ndarray], dict[str, np.ndarray]], suffixes: tuple[str, ...] = ("",),
                       progress: bool = True) -> int:
    """Write ``<name><suffix>`` for each depth PNG and each map ``convert`` returns by suffix (e.g. ''
    for the depth in metres, '.reg' for the registered one); one frame at a time; frames whose
    files all exist are skipped (resume). Returns how many frames were converted."""
    done = 0
    for png in tqdm(depth_pngs, desc="depth maps", unit="map", disable=not progress or not depth_pngs,
                    leave=False):
        dst = records_data_path(out, depth_name(png))
        targets = {suffix: dst.with_name(dst.name + suffix) for suffix in suffixes}
        if all(p.is_file() for p in targets.values()):
            continue
        maps = convert(load_image_unchanged(source / png))
        for suffix, path in targets.items():
            write_depth_map(path, maps[suffix])
        done += 1
    return done
