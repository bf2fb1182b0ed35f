"""Every problem of a dataset, with file, line and field (kapture_check)."""

from __future__ import annotations

import os
from pathlib import Path

from kapturelike.core.reconstruction import FEATURE_KINDS, Kapture
from kapturelike.errors import FormatError, KapturelikeError
from kapturelike.io.dataset import load_kapture
from kapturelike.io.features import KaptureFeatureStore, match_index_problem
from kapturelike.io.paths import regular_file_size


def check_kapture(root: str | Path) -> list[KapturelikeError]:
    """Every problem found in the dataset at ``root`` (empty list: valid); never stops at the first."""
    root = Path(root)
    problems: list[KapturelikeError] = []
    k = load_kapture(root, on_error=problems.append, check_images=True)
    store = KaptureFeatureStore(root, k.version)
    n_keypoints: dict[tuple[str, str], int] = {}
    typed = [(kind, name) for kind in FEATURE_KINDS for name in getattr(k, kind)]
    typed += [("matches", name) for name in sorted(set(k.matches) | set(k.keypoints))]
    problems += [FormatError("is a directory where a file should be", folder)
                 for kind, name in typed for folder in store.misplaced_folders(kind, name)]
    for kind in FEATURE_KINDS:
        for name, ftype in getattr(k, kind).items():
            for image in sorted(ftype.images):
                try:
                    n = store.row_count(kind, name, image)
                except KapturelikeError as e:
                    problems.append(e)
                    continue
                if kind == "keypoints":
                    n_keypoints[(name, image)] = n
    for name, ftype in k.descriptors.items():
        for image in sorted(ftype.images):
            expected = n_keypoints.get((ftype.keypoints_type, image))
            try:
                n = store.row_count("descriptors", name, image)
            except KapturelikeError:  # already reported
                continue
            if expected is not None and n != expected:
                problems.append(FormatError(f"{n} descriptors for {expected} keypoints of type "
                                            f"'{ftype.keypoints_type}'",
                                            store.path("descriptors", name, image), None, "dsize"))
    for ktype, pairs in k.matches.items():
        images = k.keypoints[ktype].images if ktype in k.keypoints else set()
        for a, b in sorted(pairs):
            try:
                path = store.matches_path(ktype, a, b)
            except FormatError as e:
                problems.append(e)
                continue
            missing = [x for x in (a, b) if x not in images]
            if missing:
                problems.append(FormatError(f"matches name image(s) without keypoints of type '{ktype}': "
                                            f"{', '.join(missing)}", path, None, "image_path"))
                continue
            try:
                if os.path.lexists(path):
                    regular_file_size(path)
                m = store.read_matches(ktype, a, b)
            except KapturelikeError as e:
                problems.append(e)
                continue
            for col, image in ((0, a), (1, b)):
                problem = match_index_problem(m[:, col], n_keypoints.get((ktype, image)))
                if problem:
                    problems.append(FormatError(f"{problem} of '{image}'", path, None, f"idx{col + 1}"))
    if k.observations is not None:
        problems += _check_observations(root, k, n_keypoints)
    return problems


def _check_observations(root: Path, k: Kapture, n_keypoints: dict[tuple[str, str], int]) -> list[FormatError]:
    path = root / "reconstruction" / "observations.txt"
    problems: list[FormatError] = []
    obs = k.observations
    n_points = None if k.points3d is None else len(k.points3d)
    if n_points is not None and len(obs) and (obs.point_ids.max() >= n_points or obs.point_ids.min() < 0):
        bad = obs.point_ids[(obs.point_ids >= n_points) | (obs.point_ids < 0)]
        problems.append(FormatError(f"{len(bad)} observation(s) name 3D points beyond the {n_points} of "
                                    f"points3d.txt (first: {int(bad[0])})", path, None, "point3d_id"))
    for ktype in sorted(set(obs.keypoints_types.tolist())):
        for image, (fids, _) in sorted(obs.for_image(ktype).items()):
            n = n_keypoints.get((ktype, image))
            if n is None and image not in (k.keypoints[ktype].images if ktype in k.keypoints else ()):
                problems.append(FormatError(f"image '{image}' has no keypoints of type '{ktype}'", path, None,
                                            "image_path"))
            elif n is None:  # its keypoints file is malformed, already reported
                continue
            elif fids.max() >= n or fids.min() < 0:
                problems.append(FormatError(f"feature id {int(fids.max())} of '{image}' is beyond its {n} "
                                            f"keypoints of type '{ktype}'", path, None, "feature_id"))
    return problems
