"""RIO10 -> kapture (kapture's ``kapture_import_RIO10``).

Raw layout: ``sceneXX/seqXX/seqXX_YY/frame-NNNNNN.{color.jpg, pose.txt, rendered.depth.png}``.
Sequence ``_01`` of a scene is its mapping (training) sequence, ``_02`` its validation sequence,
the others its (hidden) test sequences, without poses. Output: ``<out>/sceneXX/{mapping,
validation, testing}``, the test sequences of a scene together in one kapture.

Conventions:
- ``pose.txt`` is camera-to-world 4x4 (metres); kapture stores its inverse for the rig named as
  the sequence; a pose holding INF is left out.
- Sensors ``<seq>_rgb`` (PINHOLE 540x960, the sequence's intrinsics published by the authors)
  and ``<seq>_depth`` (same intrinsics), both at identity in the rig ``<seq>``.
- Timestamps are frame numbers, shifted in a kapture holding several sequences by the previous
  sequence's last frame + 1000 (kapture's sequence break).
- Depth: rendered depth PNGs in millimetres -> float32 metres.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import Kapture
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Pose
from kapturelike.importers.common import (
    DatasetImportError,
    RecordsBuilder,
    TrajectoriesBuilder,
    TransferAction,
    prepare_output,
    require_dir,
    transfer_records_data,
    world_to_camera_from_camera_to_world,
)
from kapturelike.importers.rgbd import convert_depth_maps, depth_name, millimetres_to_metres, read_pose_matrix
from kapturelike.io.dataset import save_kapture

logger = logging.getLogger("kapturelike.importers.RIO10")
WIDTH, HEIGHT = 540, 960
SEQUENCE_BREAK = 999
FRAME_RE = re.compile(r"^frame-(?P<frame_id>\d{6})\.(?P<suffix>.*)\.(?P<ext>\w*)$")
SEQUENCE_RE = re.compile(r"seq(?P<scene_id>\d{2})_(?P<seq_id>\d{2})")
# fx, fy, cx, cy of each sequence (RIO10's published intrinsics), listed per scene in sequence order
_A, _A2 = (756.026, 756.832, 270.419, 492.889), (756.026, 756.832, 270.418, 492.889)
_B, _B2 = (758.792, 760.052, 266.208, 485.694), (758.792, 760.051, 266.208, 485.693)
_C, _D = (759.611, 760.513, 268.301, 491.445), (759.507, 760.646, 268.339, 487.215)
_E, _G = (755.581, 756.525, 269.186, 488.945), (757.958, 759.273, 263.450, 490.819)
_H = (758.754, 759.788, 269.799, 489.091)
_F, _F2 = (760.420, 761.683, 268.748, 486.778), (760.420, 761.683, 268.747, 486.778)
_PER_SCENE = {1: [_A, _A2, _A, _B, _C, _C], 2: [_A, _B2, _A, _A, _E, _D, _D, _A], 3: [_A, _A2, _A, _A, _A, _B, _A],
              4: [_B, _A2, _A, _A, _A, _A, _A, _A, _A, _F], 5: [_A, _F2, _A, _A, _B],
              6: [_A, _A2] + [_A] * 9 + [_B], 7: [_F, _F2, _F, _F, _C, _C, _D, _D], 8: [_D, _G, _D, _H, _D],
              9: [_B, _B2, _B, _B, _B], 10: [_A, _A2, _A, _A, _A, _E, _A, _C]}
INTRINSICS = {f"seq{scene:02d}_{i:02d}": k for scene, ks in _PER_SCENE.items() for i, k in enumerate(ks, 1)}


@dataclass
class Rio10Options:
    transfer: TransferAction = TransferAction.link_absolute
    force: bool = False
    progress: bool = True


def import_rio10_sequences(folder: Path, sequences: list[str], output: Path, o: Rio10Options) -> Kapture:
    """One kapture of the given sequences of a scene folder ``seqXX``."""
    out = prepare_output(output, o.force, inputs=[folder])
    sensors, rigs = {}, {}
    images, depths, poses = RecordsBuilder("camera"), RecordsBuilder("depth"), TrajectoriesBuilder()
    depth_pngs, pose_stamps, pose_devices, pose_matrices = [], [], [], []
    offset = 0
    for seq in sequences:
        if seq not in INTRINSICS:
            raise DatasetImportError(f"{folder / seq}: no intrinsics known for sequence '{seq}'")
        rgb_id, depth_id = f"{seq}_rgb", f"{seq}_depth"
        sensors[rgb_id] = Camera("PINHOLE", WIDTH, HEIGHT, INTRINSICS[seq])
        sensors[depth_id] = Camera("PINHOLE", WIDTH, HEIGHT, INTRINSICS[seq], sensor_type="depth")
        rigs[seq] = {rgb_id: Pose.identity(), depth_id: Pose.identity()}
        shots: dict[int, dict[str, str]] = {}
        for name in sorted(os.listdir(folder / seq)):
            m = FRAME_RE.search(name)
            if m:
                shots.setdefault(int(m.group("frame_id")), {})[m.group("suffix")] = name
        for frame, shot in shots.items():
            ts = frame + offset
            if "color" in shot:
                images.add(ts, rgb_id, f"{seq}/{shot['color']}")
            if "rendered.depth" in shot:
                depths.add(ts, depth_id, f"{seq}/{depth_name(shot['rendered.depth'])}")
                depth_pngs.append(f"{seq}/{shot['rendered.depth']}")
            if "pose" in shot:
                matrix = read_pose_matrix(folder / seq / shot["pose"])
                if np.isfinite(matrix).all():  # INF: frame not tracked
                    pose_stamps.append(ts)
                    pose_devices.append(seq)
                    pose_matrices.append(matrix)
        if shots:
            offset += max(shots) + 1 + SEQUENCE_BREAK
    if pose_stamps:
        poses.add(pose_stamps, pose_devices, *world_to_camera_from_camera_to_world(np.stack(pose_matrices)))
    k = Kapture(sensors=sensors, rigs=rigs, trajectories=poses.build() if len(poses) else None,
                records={"camera": images.build(), "depth": depths.build()})
    transfer_records_data(folder, out, k.records["camera"].paths, o.transfer, progress=o.progress)
    convert_depth_maps(folder, out, depth_pngs, lambda png: {"": millimetres_to_metres(png)}, ("",), o.progress)
    save_kapture(k, out)
    return k


def import_rio10(input_dir: str | Path, output: str | Path, options: Rio10Options | None = None) -> dict[str, Kapture]:
    o = options or Rio10Options()
    root = require_dir(input_dir, "RIO10 folder")
    written = {}
    for scene in range(1, 11):
        folder = root / f"scene{scene:02d}" / f"seq{scene:02d}"
        if not folder.is_dir():
            logger.warning("%s does not exist", folder)
            continue
        sequences = {}
        for name in os.listdir(folder):
            m = SEQUENCE_RE.search(name)
            if m and int(m.group("scene_id")) == scene:
                sequences[int(m.group("seq_id"))] = name
            elif m:
                logger.warning("%s: sequence of another scene, skipped", folder / name)
        parts = {"mapping": [sequences[1]] if 1 in sequences else [],
                 "validation": [sequences[2]] if 2 in sequences else [],
                 "testing": [v for k, v in sorted(sequences.items()) if k not in (1, 2)]}
        for part, seqs in parts.items():
            if seqs:
                written[f"scene{scene:02d}/{part}"] = import_rio10_sequences(
                    folder, seqs, Path(output) / f"scene{scene:02d}" / part, o)
    return written
