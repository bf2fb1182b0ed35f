"""The folders a pipeline reads and writes: checks that a folder is a kapture dataset (with images),
and prepares output datasets that share the input's sensors and link its images.

Every pipeline step imports down to this module; it imports only ``core`` and ``io``.
"""

from __future__ import annotations

import os
from pathlib import Path

from kapturelike.core.reconstruction import Kapture
from kapturelike.errors import FormatError, MissingDataError
from kapturelike.io.dataset import load_kapture, records_data_path, save_kapture


def is_kapture(folder: str | Path) -> bool:
    return (Path(folder) / "sensors" / "sensors.txt").is_file()


def require_kapture(folder: str | Path) -> Path:
    """``folder`` as a Path, or a one-line error when it is not a kapture dataset."""
    folder = Path(folder)
    if not is_kapture(folder):
        raise MissingDataError(f"{folder}: not a kapture dataset (sensors/sensors.txt is missing)")
    return folder


def image_names_of(kapture: Kapture, where: str | Path, what: str = "images") -> list[str]:
    """The dataset's image names, or a one-line error when it has none."""
    names = kapture.image_names()
    if not names:
        raise MissingDataError(f"{where}: no {what} (sensors/records_camera.txt is empty or missing)")
    return names


def load_with_images(folder: str | Path, what: str = "images") -> tuple[Kapture, list[str]]:
    """The kapture dataset at ``folder`` and its image names; one-line errors when either is missing."""
    folder = require_kapture(folder)
    kapture = load_kapture(folder)
    return kapture, image_names_of(kapture, folder, what)


def link_records_data(source_root: Path, target_root: Path) -> None:
    """Make the target dataset's records_data point at the source's images (no copy)."""
    source, target = records_data_path(source_root).resolve(), records_data_path(target_root)
    if target.resolve() == source:
        return
    if target.is_symlink() or target.exists():
        if target.is_symlink() and target.resolve() == source:
            return
        raise FormatError(f"{target} exists and is not a link to {source}; use a new output folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(source, target, target_is_directory=True)


def prepare_dataset(kapture: Kapture, source_root: Path, target_root: Path) -> None:
    """Write the sensor part of ``kapture`` into ``target_root`` and link its images."""
    sensors_only = Kapture(sensors=kapture.sensors, rigs=kapture.rigs, trajectories=kapture.trajectories,
                           records=kapture.records)
    save_kapture(sensors_only, target_root)
    link_records_data(Path(source_root), Path(target_root))


def output_dataset(kapture_dir: Path, output_dir: Path | None, kapture: Kapture | None = None) -> Path:
    """Where a step's output goes: the input itself, or another folder made a kapture of the same images."""
    if output_dir is None or Path(output_dir).resolve() == Path(kapture_dir).resolve():
        return Path(kapture_dir)
    output_dir = Path(output_dir)
    if not is_kapture(output_dir):
        prepare_dataset(kapture if kapture is not None else load_kapture(kapture_dir), Path(kapture_dir), output_dir)
    return output_dir
