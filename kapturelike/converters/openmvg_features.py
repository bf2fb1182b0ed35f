"""OpenMVG regions and matches <-> kapture keypoints, descriptors and matches, in the files kapture writes.

Regions folder: ``image_describer.json`` (the describer and regions type, as cereal polymorphic objects),
then per image ``<stem>.feat`` (text, one keypoint per line: x y scale orientation, ``%10.5f``) and
``<stem>.desc`` (binary: a size_t count of descriptors, then the descriptors' bytes row by row). ``<stem>``
is the image file name without folder and extension (with ``--image_path_flatten``: the flattened name).
kapture exports SIFT only (both types named SIFT, any case); it imports SIFT_Regions and
AKAZE_Float_Regions keypoints (float, 4 columns) into a folder named after the regions type, and
SIFT / AKAZE-SURF descriptors into a folder named after the describer.

Matches file (text): per pair ``i j`` (openMVG view ids), the number of matches, then one ``k1  k2``
line per match (two spaces). Keypoint coordinates are written as they are in kapture (no pixel shift).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from kapturelike.converters.common import ConversionError
from kapturelike.converters.features_io import add_feature_arrays, add_matches
from kapturelike.core.reconstruction import Kapture
from kapturelike.errors import FormatError
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.text import atomic_write

log = logging.getLogger(__name__)

IMAGE_DESCRIBER_FILE = "image_describer.json"
DESC_HEADER = np.dtype(np.uint64)  # openMVG's size_t descriptor count
_POLY_FIRST = 1 << 31  # cereal: the first object of a polymorphic type carries its name and id | 2**31
# openMVG regions / describer polymorphic names -> kapture (declared type name, dtype, dsize)
_KEYPOINT_NAMES = {"SIFT_Regions": "SIFT", "AKAZE_Float_Regions": "AKAZE"}
_DESCRIPTOR_TYPES = {"SIFT_Image_describer": ("SIFT", np.uint8, 128),
                     "AKAZE_Image_describer_SURF": ("AKAZE", np.int32, 128)}


def regions_stem(image_name: str, flatten: bool) -> str:
    """The file name (no extension) of an image's regions: its base name, of the flattened path if asked."""
    name = image_name.replace("/", "_") if flatten else image_name
    return Path(Path(name).name).stem


def _image_describer() -> dict:
    """kapture's image_describer.json for SIFT: key order as kapture writes it."""
    describer = {"ptr_wrapper": {"valid": 1, "data": {"params": {"root_sift": True}}, "bOrientation": True},
                 "polymorphic_id": 1 | _POLY_FIRST, "polymorphic_name": "SIFT_Image_describer"}
    regions = {"ptr_wrapper": {"valid": 1, "data": {"value0": [], "value1": []}},
               "polymorphic_id": 2 | _POLY_FIRST, "polymorphic_name": "SIFT_Regions"}
    return {"image_describer": describer, "regions_type": regions}


def export_regions(root: str | Path, kapture: Kapture, keypoints_type: str | None, descriptors_type: str | None,
                   regions_dir: str | Path, stem: Callable[[str], str]) -> int:
    """Write image_describer.json, .feat and .desc files; returns the number of images written.

    Like kapture, a dataset without keypoints or descriptors of the types, or with types not named SIFT,
    gets a logged message and no regions (the rest of the export goes on)."""
    kpt = kapture.keypoints.get(keypoints_type) if keypoints_type is not None else None
    desc = kapture.descriptors.get(descriptors_type) if descriptors_type is not None else None
    if kpt is None or desc is None:
        log.warning("no keypoints or descriptors to export as openMVG regions")
        return 0
    declared = [t.declared_name or t.name for t in (kpt, desc)]
    if any(n.upper() != "SIFT" for n in declared):
        log.error(f"unable to export other regions than SIFT (got {declared[0]}/{declared[1]})")
        return 0
    out = Path(regions_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / IMAGE_DESCRIBER_FILE) as f:
        json.dump(_image_describer(), f, indent=4)
    store = KaptureFeatureStore(root, kapture.version)
    for name in sorted(kpt.images):
        with atomic_write(out / f"{stem(name)}.feat", "wb") as f:
            np.savetxt(f, store.read("keypoints", kpt.name, name)[:, :4], fmt="%10.5f")
    for name in sorted(desc.images):
        d = store.read("descriptors", desc.name, name)
        with atomic_write(out / f"{stem(name)}.desc", "wb") as f:
            f.write(np.array([len(d)], DESC_HEADER).tobytes())
            f.write(d.astype(np.uint8).tobytes())  # openMVG SIFT regions hold unsigned char descriptors
    return len(kpt.images | desc.images)


def export_matches(root: str | Path, kapture: Kapture, keypoints_type: str | None, path: str | Path,
                   view_ids: dict[str, int]) -> int:
    """Write the matches of ``keypoints_type`` as openMVG's text matches file; returns the number of pairs."""
    pairs = kapture.matches.get(keypoints_type) if keypoints_type is not None else None
    if not pairs:
        log.warning("no matches to export")
        return 0
    path = Path(path)
    if path.suffix != ".txt":
        log.warning("matches are written as text, even if the file name does not end with .txt")
    path.parent.mkdir(parents=True, exist_ok=True)
    store = KaptureFeatureStore(root, kapture.version)
    with atomic_write(path) as f:
        for a, b in sorted(pairs):
            if a not in view_ids or b not in view_ids:
                continue
            m = store.read_matches(keypoints_type, a, b)[:, :2].astype(np.int64)
            f.write(f"{view_ids[a]} {view_ids[b]}\n{len(m)}\n")
            f.write("".join(f"{i}  {j}\n" for i, j in m.tolist()))
    return len(pairs)


def import_regions(regions_dir: str | Path, kapture: Kapture, output: str | Path) -> str | None:
    """Read image_describer.json and each image's .feat/.desc into ``output``; returns the keypoints type
    (None when the folder has no image_describer.json, as kapture)."""
    regions_dir = Path(regions_dir)
    describer_path = regions_dir / IMAGE_DESCRIBER_FILE
    if not describer_path.is_file():
        log.info(f"{describer_path}: not found, no regions imported")
        return None
    try:
        describer = json.loads(describer_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise FormatError(f"invalid JSON: {e.msg}", describer_path, e.lineno, "json") from None
    kpt_type = describer.get("regions_type", {}).get("polymorphic_name", "UNDEFINED")
    desc_type = describer.get("image_describer", {}).get("polymorphic_name", "UNDEFINED")
    if desc_type not in _DESCRIPTOR_TYPES:
        raise ConversionError(f"{describer_path}: conversion of {desc_type} descriptors is not implemented "
                              f"(known: {', '.join(_DESCRIPTOR_TYPES)})")
    desc_name, desc_dtype, desc_size = _DESCRIPTOR_TYPES[desc_type]
    found: dict[str, np.ndarray] = {}

    def keypoints() -> Iterator[tuple[str, np.ndarray]]:
        for name in kapture.image_names():
            path = regions_dir / f"{regions_stem(name, False)}.feat"
            if path.is_file():
                kp = np.loadtxt(path, dtype=np.float64, ndmin=2)
                if kp.shape[1] != 4:
                    raise FormatError(f"expected 4 columns (x y scale orientation), got {kp.shape[1]}", path, 1,
                                      "feat")
                found[name] = kp
                yield name, kp

    def descriptors() -> Iterator[tuple[str, np.ndarray]]:
        for name in kapture.image_names():
            path = regions_dir / f"{regions_stem(name, False)}.desc"
            if not path.is_file():
                continue
            if name not in found:
                raise FormatError("descriptors without a .feat keypoints file", path, None, "desc")
            raw = path.read_bytes()
            count = int(np.frombuffer(raw[:DESC_HEADER.itemsize], DESC_HEADER)[0]) if len(raw) >= 8 else -1
            n = len(found[name])
            body = np.frombuffer(raw[DESC_HEADER.itemsize:], np.uint8)
            if count != n or body.size != n * desc_size * np.dtype(desc_dtype).itemsize:
                raise FormatError(f"header counts {count} descriptors, {n} keypoints in the .feat file, "
                                  f"{body.size} bytes follow", path, None, "count")
            yield name, body.view(desc_dtype).reshape(n, desc_size)

    kpt = add_feature_arrays(output, kapture, "keypoints", kpt_type, keypoints(), dtype_name="float",
                             declared_name=_KEYPOINT_NAMES.get(kpt_type, kpt_type))
    add_feature_arrays(output, kapture, "descriptors", desc_type, descriptors(), metric_type="L2",
                       keypoints_type=kpt_type, declared_name=desc_name)
    return kpt_type if kpt is not None else None


def import_matches(path: str | Path, kapture: Kapture, output: str | Path, keypoints_type: str) -> int:
    """Read openMVG's text matches file (view ids are the timestamps of the images) into ``output``."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    rc = kapture.records_camera
    image_of = dict(zip(rc.timestamps.tolist(), rc.paths)) if rc is not None else {}

    def pairs() -> Iterator[tuple[str, str, np.ndarray]]:
        i = 0
        while i < len(lines):
            if not lines[i].strip():
                i += 1
                continue
            try:
                v1, v2 = (int(v) for v in lines[i].split())
                n = int(lines[i + 1])
                block = np.array(" ".join(lines[i + 2:i + 2 + n]).split(), dtype=np.int64)
                m = block.reshape(n, 2)
            except (ValueError, IndexError):
                raise FormatError("expected 'view1 view2', a match count, then that many 'k1 k2' lines", path,
                                  i + 1, "matches") from None
            for v in (v1, v2):
                if v not in image_of:
                    raise FormatError(f"view {v} is not an image of sfm_data", path, i + 1, "view_id")
            yield image_of[v1], image_of[v2], m
            i += 2 + n

    return add_matches(output, kapture, keypoints_type, pairs())
