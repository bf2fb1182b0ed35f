"""kapture 1.0 datasets (one feature type per kind, no type folders) to format 1.1."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kapturelike.core.reconstruction import Kapture
from kapturelike.dataset_tools.output import (
    DatasetToolError,
    copy_features,
    place_records_data,
    prepare_output,
    refuse_overlap,
)
from kapturelike.io.dataset import load_kapture, save_kapture
from kapturelike.io.reconstruction import read_feature_type, write_feature_type


@dataclass
class UpgradeOptions:
    keypoints_type: str | None = None  # type (folder) names in 1.1; default: the name in the 1.0 type file
    descriptors_type: str | None = None
    descriptors_metric_type: str = "L2"
    global_features_type: str | None = None
    global_features_metric_type: str = "L2"
    image_transfer: str = "skip"
    force: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> UpgradeOptions:
        return cls(args.keypoints_type, args.descriptors_type, args.descriptors_metric_type,
                   args.global_features_type, args.global_features_metric_type,
                   getattr(args, "image_transfer", "skip"), getattr(args, "force", False))


def _renamed(k: Kapture, options: UpgradeOptions) -> Kapture:
    """The 1.0 dataset with its feature types named for 1.1 (matches follow their keypoints type)."""
    new_names = {"keypoints": options.keypoints_type, "descriptors": options.descriptors_type,
                 "global_features": options.global_features_type}
    keypoints_rename: dict[str, str] = {}
    for kind, new_name in new_names.items():
        types = getattr(k, kind)
        if new_name and types:
            (old, ftype), = types.items()  # a 1.0 dataset has one type per kind
            ftype.name, ftype.declared_name = new_name, None
            setattr(k, kind, {new_name: ftype})
            if kind == "keypoints":
                keypoints_rename[old] = new_name
    for ftype in k.descriptors.values():
        ftype.keypoints_type = keypoints_rename.get(ftype.keypoints_type, ftype.keypoints_type)
        ftype.metric_type = ftype.metric_type or options.descriptors_metric_type
    for ftype in k.global_features.values():
        ftype.metric_type = ftype.metric_type or options.global_features_metric_type
    k.matches = {keypoints_rename.get(t, t): pairs for t, pairs in k.matches.items()}
    k.version = "1.1"
    return k


def upgrade_to_1_1(src: str | Path, out: str | Path, options: UpgradeOptions | None = None) -> Kapture:
    """Write the dataset at ``src`` (1.0 or 1.1) as a 1.1 dataset at ``out``, features copied."""
    options = options or UpgradeOptions()
    src, out = Path(src), Path(out)
    refuse_overlap(out, [src])
    k = load_kapture(src)
    version = k.version
    k = _renamed(k, options)
    out = prepare_output(out, options.force)
    place_records_data(k, src, out, options.image_transfer)
    k.version = version  # features are read from the source's layout
    copy_features(k, src, out)
    k.version = "1.1"
    save_kapture(k, out)
    return k


def upgrade_in_place(root: str | Path, options: UpgradeOptions | None = None) -> Kapture:
    """``upgrade_to_1_1`` into a folder beside ``root``, then its sensors/ and reconstruction/ replace root's."""
    root = Path(root)
    options = options or UpgradeOptions()
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=f".{root.name}.upgrade.") as tmp:
        k = upgrade_to_1_1(root, Path(tmp) / "out", UpgradeOptions(**{**options.__dict__, "image_transfer": "skip",
                                                                           "force": False}))
        records_data = root / "sensors" / "records_data"
        if records_data.exists():
            shutil.move(str(records_data), str(Path(tmp) / "out" / "sensors" / "records_data"))
        for part in ("sensors", "reconstruction"):
            if (root / part).exists():
                shutil.move(str(root / part), str(Path(tmp) / f"old_{part}"))
            if (Path(tmp) / "out" / part).exists():
                shutil.move(str(Path(tmp) / "out" / part), str(root / part))
    return k


def upgrade_orphan_features(global_features: list[str], local_features: list[str]) -> None:
    """Rewrite the 1.0 type files of feature folders kept outside a dataset as 1.1 type files.

    ``local_features``: folders holding ``keypoints/`` and ``descriptors/``; ``global_features``:
    folders holding ``global_features/``. Each type is named after the folder given.
    """
    for folder, kinds in [*((g, ("global_features",)) for g in global_features),
                          *((f, ("keypoints", "descriptors")) for f in local_features)]:
        folder = Path(folder)
        for kind in kinds:
            type_file = folder / kind / f"{kind}.txt"
            if not type_file.is_file():
                raise DatasetToolError(f"{type_file}: no {kind} type file in this feature folder")
            ftype = read_feature_type(type_file, kind, "1.0")
            ftype.name = folder.name
            if kind == "descriptors":
                ftype.keypoints_type = folder.name
            # write_feature_type writes root/reconstruction/<kind>/<name>/<kind>.txt: go through a temporary root
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                write_feature_type(tmp, ftype)
                shutil.move(str(Path(tmp) / "reconstruction" / kind / ftype.name / f"{kind}.txt"), str(type_file))
