"""kapture-localization's proxy datasets: a dataset made of links to sensors and to feature folders kept elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

from kapturelike.dataset_tools.output import DatasetToolError, prepare_output, refuse_overlap
from kapturelike.io.dataset import RECONSTRUCTION_DIR, SENSORS_DIR


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        raise DatasetToolError(f"{link}: two folders given for the same place")
    os.symlink(os.path.realpath(target), link)


def type_name_of(folder: str | Path) -> str:
    """kapture-localization's feature folders are <features>/<type>/<kind>: the type is the parent's name."""
    return Path(os.path.realpath(folder)).parent.name


def create_proxy(src: str | Path, out: str | Path, features: dict[str, tuple[list[str] | None, list[str] | None]],
                 force: bool = False) -> Path:
    """Link ``src``'s sensors/ (and its reconstruction parts) into ``out``, then each feature folder given:
    ``features[kind] = (folders, type names)`` for keypoints, descriptors, global_features, matches;
    a type name defaults to the folder's parent's name; matches are keyed by keypoints type, so the i-th
    matches folder defaults to the i-th keypoints type when keypoints are given (kapture-localization's rule)."""
    src = Path(src)
    if not (src / SENSORS_DIR / "sensors.txt").is_file():
        raise DatasetToolError(f"{src}: not a kapture dataset (sensors/sensors.txt is missing)")
    refuse_overlap(out, [src])
    out = prepare_output(out, force)
    _link(src / SENSORS_DIR, out / SENSORS_DIR)
    if (src / RECONSTRUCTION_DIR).is_dir():
        for part in (src / RECONSTRUCTION_DIR).iterdir():
            if part.name not in features or not features[part.name][0]:
                _link(part, out / RECONSTRUCTION_DIR / part.name)
    kpt_folders, kpt_names = features.get("keypoints", (None, None))
    matches_folders, matches_names = features.get("matches", (None, None))
    if matches_folders and not matches_names and kpt_folders:
        if len(kpt_folders) != len(matches_folders):
            raise DatasetToolError(f"{len(matches_folders)} matches folder(s) for {len(kpt_folders)} keypoints "
                                   "folder(s): give one per keypoints type, in the same order")
        features = {**features, "matches": (matches_folders, kpt_names or [type_name_of(f) for f in kpt_folders])}
    for kind, (folders, names) in features.items():
        folders = folders or []
        if names and len(names) != len(folders):
            raise DatasetToolError(f"{len(names)} {kind} type name(s) for {len(folders)} folder(s)")
        for i, folder in enumerate(folders):
            if not Path(folder).is_dir():
                raise DatasetToolError(f"{folder}: no such {kind} folder")
            name = names[i] if names else type_name_of(folder)
            _link(Path(folder), out / RECONSTRUCTION_DIR / kind / name)
    return out
