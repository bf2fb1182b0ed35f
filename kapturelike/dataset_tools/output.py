"""Output folders of the dataset tools: refuse to overwrite, never overlap an input, place record and feature files."""

from __future__ import annotations

import filecmp
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import FEATURE_KINDS, Kapture
from kapturelike.core.records import FILE_RECORD_KINDS
from kapturelike.errors import KapturelikeError
from kapturelike.io import output as io_output
from kapturelike.io.dataset import load_kapture, records_data_path, save_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.output import refuse_overlap  # noqa: F401 -- the dataset tools' import point
from kapturelike.io.paths import inside


class DatasetToolError(KapturelikeError, ValueError):
    """A dataset tool cannot do what it was asked (output not empty, conflicting inputs...)."""


def prepare_output(out: str | Path, force: bool = False, skip: Sequence[str] = (),
                   parts: Sequence[str] = io_output.KAPTURE_PARTS) -> Path:
    """Create ``out``; a non-empty folder is refused unless ``force`` (then the ``parts`` the tool writes are
    removed); callers check ``refuse_overlap`` first (see ``io.output``). kapture's COLMAP tools' ``-s
    delete_existing`` (in ``skip``): an existing output is neither refused nor emptied, and is written over."""
    if "delete_existing" in skip:
        Path(out).mkdir(parents=True, exist_ok=True)
        return Path(out)
    return io_output.prepare_output(out, (), force, parts)


# kapture's TransferAction: how record files (images) reach an output dataset
IMAGE_TRANSFERS = ("skip", "root_link", "copy", "move", "link_absolute", "link_relative")


def place_file(src: Path, dst: Path, copy: bool | str = False) -> None:
    """Put ``src`` at ``dst``: ``copy`` True or 'copy' copies, 'move' moves, 'link_relative' links relatively,
    otherwise a symlink to the real file (so links never chain)."""
    transfer = copy if isinstance(copy, str) else "copy" if copy else "link_absolute"
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    if transfer == "copy":
        shutil.copyfile(src, dst)
    elif transfer == "move":
        shutil.move(str(src), str(dst))
    elif transfer == "link_relative":
        os.symlink(os.path.relpath(os.path.realpath(src), os.path.realpath(dst.parent)), dst)
    else:
        os.symlink(os.path.realpath(src), dst)


def copy_features(src: Kapture, src_root: Path, dst_root: Path, images: set[str] | None = None) -> None:
    """Copy feature and match files (of ``images`` only, when given); refuse differing duplicates.

    Files keep their layout: a matches file stored under the reversed pair order stays so, and a
    kapture tar container is copied whole (with every image it holds, even when ``images`` is given).
    """
    src_store, dst_store = KaptureFeatureStore(src_root, src.version), KaptureFeatureStore(dst_root)
    for kind in FEATURE_KINDS:
        for name, ftype in getattr(src, kind).items():
            if src_store.tar_names(kind, name):
                copy_binary(src_store.tar_path(kind, name), dst_store.tar_path(kind, name))
            for image in ftype.images if images is None else ftype.images & images:
                if src_store.path(kind, name, image).is_file():
                    copy_binary(src_store.path(kind, name, image), dst_store.path(kind, name, image))
    for ktype, pairs in src.matches.items():
        if src_store.tar_names("matches", ktype):
            copy_binary(src_store.tar_path("matches", ktype), dst_store.tar_path("matches", ktype))
        for a, b in pairs:
            if images is None or (a in images and b in images):
                path, reversed_order, in_tar = src_store.stored_matches(ktype, a, b)
                if not in_tar:
                    copy_binary(path, dst_store.matches_path(ktype, *((b, a) if reversed_order else (a, b))))


def copy_binary(src: Path, dst: Path) -> None:
    if dst.is_file():
        if dst.read_bytes() != src.read_bytes():
            raise DatasetToolError(f"{dst}: two inputs hold different data for this file ({src})")
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def place_records_data(k: Kapture, src_root: Path | None, dst_root: Path, copy: bool | str,
                       src_folder: Path | None = None) -> int:
    """Transfer the files of file records (images, depth maps, point clouds) that exist; returns how many.

    ``copy``: a kapture transfer ('skip', 'root_link' links the whole records_data folder, 'copy',
    'move', 'link_absolute', 'link_relative') or a bool (copy, else link_absolute). A file already at
    the destination must be the same file (or hold the same bytes). ``src_folder``: where the record
    files are, when not in ``src_root``'s records_data folder (an imported image folder).
    """
    source = Path(src_folder) if src_folder is not None else records_data_path(src_root)
    transfer = copy if isinstance(copy, str) else "copy" if copy else "link_absolute"
    if transfer not in IMAGE_TRANSFERS:
        raise DatasetToolError(f"unknown image transfer '{transfer}' (known: {', '.join(IMAGE_TRANSFERS)})")
    if transfer == "skip":
        return 0
    if transfer == "root_link":
        src, dst = source, records_data_path(dst_root)
        if src.is_dir() and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.realpath(src), dst)
        return int(src.is_dir())
    count = 0
    for kind in FILE_RECORD_KINDS:
        for name in k.records[kind].paths if kind in k.records else []:
            src = records_data_path(src_root, name, kind) if src_folder is None else \
                inside(source, name, None, None, "image_path")
            dst = records_data_path(dst_root, name, kind)
            if not src.exists():
                continue
            if dst.exists():
                if os.path.realpath(dst) == os.path.realpath(src) or filecmp.cmp(dst, src, shallow=False):
                    continue
                raise DatasetToolError(f"{dst}: two inputs hold different record files of this name")
            place_file(src, dst, transfer)
            count += 1
    return count


def refuse_existing_file(path: str | Path, force: bool) -> None:
    """kapture's overwrite rule for an output file: an existing one is replaced only with --force."""
    if Path(path).exists() and not force:
        raise DatasetToolError(f"{path}: already exists (use --force to overwrite)")


def keep_images(root: str | Path, names: list[str]) -> Kapture:
    """Rewrite the dataset at ``root`` with the camera records (and their poses) of ``names`` only
    (an importer's filter list) and the cameras they use; other parts are kept as they are."""
    k = load_kapture(root)
    wanted = set(names)
    records = k.records_camera
    if records is not None:
        keep = np.array([p in wanted for p in records.paths], dtype=bool)
        kept_keys = set(records.select(keep).keys())
        k.records["camera"] = records.select(keep)
        if k.trajectories is not None:
            k.trajectories = k.trajectories.select(np.array([key in kept_keys for key in k.trajectories.keys()],
                                                            dtype=bool))
        used = {dev for _, dev in kept_keys}
        k.sensors = {sid: s for sid, s in k.sensors.items() if sid in used or sid not in set(records.device_ids)}
    for name in ("trajectories.txt", "records_camera.txt"):
        (Path(root) / "sensors" / name).unlink(missing_ok=True)
    save_kapture(k, root)
    return k
