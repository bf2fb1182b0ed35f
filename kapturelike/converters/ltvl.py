"""Pose file of the online long-term visual localization benchmark (visuallocalization.net, LTVL2020).

One line per query image: ``name qw qx qy qz tx ty tz``, space separated, the world-to-camera pose
(rotation as a unit quaternion, translation t, NOT the camera centre), floats as Python's ``str``, as
kapture-localization's ``kapture_export_LTVL2020`` writes them. Lines are sorted by name (kapture
writes them in set order) so a file is reproducible. Image-name convention per dataset:

  basename (aachen, aachen_v1_1, cmu, inloc, silda)   file name without folders: ``IMG_1234.jpg``
  robotcar        camera id + file name: ``rear/1417176586710385.jpg`` (kapture's ``--prepend_cam``)
  full            the whole record path (Gangnam Station, Hyundai Department Store: ``--full_file_name``)
  rio10           whole path before its first dot, and the camera-to-world pose (RIO10's format)

Queries without a pose raise MissingPoseError listing them, unless ``skip_missing``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from kapturelike.converters.common import image_table
from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.records import Records
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.errors import KapturelikeError
from kapturelike.io.dataset import load_kapture
from kapturelike.io.text import atomic_write

CONVENTIONS = ("aachen", "aachen_v1_1", "cmu", "inloc", "silda", "robotcar", "full", "rio10")
BASENAME_CONVENTIONS = ("aachen", "aachen_v1_1", "cmu", "inloc", "silda")


class MissingPoseError(KapturelikeError, ValueError):
    """Some query images have no pose; ``names`` lists them."""

    def __init__(self, names: list[str]):
        self.names = names
        shown = ", ".join(names[:20]) + (f" ... ({len(names)} in all)" if len(names) > 20 else "")
        super().__init__(f"{len(names)} query image(s) have no pose (use skip_missing / --skip-missing to leave "
                         f"them out): {shown}")


def benchmark_name(image_name: str, camera_id: str, convention: str) -> str:
    """The name the benchmark expects for a kapture record path."""
    if convention in BASENAME_CONVENTIONS:
        return posixpath.basename(image_name)
    if convention == "robotcar":
        return f"{camera_id}/{posixpath.basename(image_name)}"
    if convention == "full":
        return image_name
    if convention == "rio10":
        return image_name.split(".", 1)[0]
    raise ValueError(f"unknown LTVL naming convention '{convention}' (known: {', '.join(CONVENTIONS)})")


def _rows(source) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """(image names, camera ids, q (N, 4), t (N, 3)) with NaN rows for images without a pose."""
    if isinstance(source, (str, Path)):
        source = load_kapture(source)
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], Trajectories):
        source = Kapture(trajectories=source[0], records={"camera": source[1]})
    if isinstance(source, Kapture):
        table = image_table(source)
        return table.names, table.camera_ids, table.q, table.t
    if isinstance(source, Mapping):
        names = list(source)
        q = np.full((len(names), 4), np.nan)
        t = np.full((len(names), 3), np.nan)
        for i, name in enumerate(names):
            pose = source[name]
            if isinstance(pose, Pose):
                pose = (pose.q, pose.t)
            if pose is not None and pose[0] is not None and pose[1] is not None:
                q[i], t[i] = pose
        return names, [posixpath.basename(posixpath.dirname(n)) for n in names], q, t
    raise TypeError("export_ltvl takes a Kapture, a dataset folder, (Trajectories, Records) or a mapping "
                    "image name -> (q, t) / Pose / None")


def kapture_naming(full_file_name: bool = False, prepend_cam: bool = False,
                   truncate_extensions: bool = False) -> Callable[[str, str], str]:
    """kapture_export_LTVL2020's naming, its operations in its order: keep the full record path (else the
    file name), then prepend the camera id as a folder, then cut the name at its first dot."""
    def name(image_name: str, camera_id: str) -> str:
        out = image_name if full_file_name else posixpath.basename(image_name)
        out = f"{camera_id}/{out}" if prepend_cam else out
        return out.split(".", 1)[0] if truncate_extensions else out
    return name


def export_ltvl(trajectories_or_kapture: Kapture | str | Path | tuple[Trajectories, Records] | Mapping,
                out_path: str | Path, convention: str = "aachen", skip_missing: bool = False,
                naming: Callable[[str, str], str] | None = None, inverse_pose: bool | None = None) -> int:
    """Write the submission file atomically; returns the number of lines written.

    ``naming`` (image name, camera id) -> benchmark name and ``inverse_pose`` (camera-to-world poses)
    override the convention's (see ``kapture_naming``)."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown LTVL naming convention '{convention}' (known: {', '.join(CONVENTIONS)})")
    names, cams, q, t = _rows(trajectories_or_kapture)
    ok = ~(np.isnan(q).any(1) | np.isnan(t).any(1))
    if not ok.all() and not skip_missing:
        raise MissingPoseError(sorted(n for n, good in zip(names, ok) if not good))
    idx = np.flatnonzero(ok)
    q, t = q[idx], t[idx]
    if (convention == "rio10") if inverse_pose is None else inverse_pose:
        q, t = P.invert(q, t)
        t = t + 0.0  # -0.0 -> 0.0: the text kapture writes for a zero translation
    lines = {}
    for j, i in enumerate(idx.tolist()):
        out = naming(names[i], cams[i]) if naming else benchmark_name(names[i], cams[i], convention)
        if out in lines:
            raise KapturelikeError(f"two query images get the same benchmark name '{out}' under convention "
                                   f"'{convention}' (second: {names[i]})")
        lines[out] = " ".join([out] + [str(v) for v in q[j].tolist() + t[j].tolist()]) + "\n"
    with atomic_write(out_path) as f:
        f.write("".join(lines[k] for k in sorted(lines)))
    return len(lines)
