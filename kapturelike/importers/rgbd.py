"""RGB-D frame datasets (7-Scenes, 12-Scenes): frame files grouped into shots, depth PNGs converted.

Both datasets store one frame as ``frame-XXXXXX.<suffix>.<ext>`` files (``color.png``/``jpg``,
``depth.png`` in millimetres, ``pose.txt`` camera-to-world 4x4). kapture stores depth maps as raw
float32 metres; the registered copy (``.reg``) is the depth re-projected into the colour camera.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from kapturelike.importers.common import write_depth_map
from kapturelike.io.dataset import records_data_path
from kapturelike.io.images import load_image_unchanged

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
