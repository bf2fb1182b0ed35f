"""Renaming a feature type of a dataset: its folder, its type file and what names it."""

from __future__ import annotations

import shutil
from pathlib import Path

from kapturelike.dataset_tools.output import DatasetToolError
from kapturelike.io.dataset import RECONSTRUCTION_DIR, load_kapture
from kapturelike.io.reconstruction import write_feature_type, write_observations


def rename_feature_type(root: str | Path, kind: str, current: str, new: str, force: bool = False) -> None:
    """Rename the ``kind`` type ``current`` to ``new`` (its folder); keypoints take their matches, the
    descriptors that refer to them and the observations along."""
    root = Path(root)
    k = load_kapture(root)
    types = getattr(k, kind)
    if current not in types:
        raise DatasetToolError(f"{root}: no {kind} type '{current}' (known: {', '.join(sorted(types)) or 'none'})")
    base = root / RECONSTRUCTION_DIR
    targets = [base / kind / new] + ([base / "matches" / new] if kind == "keypoints" else [])
    for target in targets:
        if target.exists():
            if not force:
                raise DatasetToolError(f"{target}: already exists (use --force to replace it)")
            shutil.rmtree(target)
    # the type file is moved as it is: its name line keeps the old name, as kapture leaves it (a type is
    # keyed by its folder)
    shutil.move(str(base / kind / current), str(base / kind / new))
    if kind != "keypoints":
        return
    if (base / "matches" / current).is_dir():
        shutil.move(str(base / "matches" / current), str(base / "matches" / new))
    for desc in k.descriptors.values():
        if desc.keypoints_type == current:
            desc.keypoints_type = new
            write_feature_type(root, desc)
    if k.observations is not None and (k.observations.keypoints_types == current).any():
        k.observations.keypoints_types[k.observations.keypoints_types == current] = new
        write_observations(base / "observations.txt", k.observations)
