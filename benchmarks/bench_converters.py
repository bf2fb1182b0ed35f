"""Time the converters on a synthetic model: COLMAP text / binary model I/O (ours and pycolmap's),
COLMAP database export / import, NVM export / import. Prints numbers; asserts nothing.

    python benchmarks/bench_converters.py [--images 200] [--keypoints 2000] [--points 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from kapturelike.converters.colmap import export_colmap, import_colmap, read_colmap_model
from kapturelike.converters.colmap_database import export_database
from kapturelike.converters.features_io import add_feature_arrays, keypoints_reader
from kapturelike.converters.nvm import export_nvm, import_nvm
from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture, Observations
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Trajectories
from kapturelike.io.dataset import load_kapture, save_kapture


def synthetic(root: Path, n_images: int, n_kp: int, n_points: int, track: int = 4) -> Kapture:
    rng = np.random.default_rng(0)
    cam = Camera("SIMPLE_RADIAL", 1024, 768, (800.0, 512.0, 384.0, 0.0))
    stamps = np.arange(1, n_images + 1, dtype=np.int64)
    devices = np.array(["cam_00001"] * n_images, dtype=object)
    q = P.quat_from_axis_angle(rng.normal(0, 0.1, (n_images, 3)))
    t = rng.normal(0, 1, (n_images, 3))
    names = [f"db/{i:06d}.jpg" for i in stamps]
    # each point seen by `track` distinct images at distinct keypoints
    images = np.stack([rng.choice(n_images, track, replace=False) for _ in range(n_points)]).ravel()
    counts = np.zeros(n_images, np.int64)
    fids = np.zeros(len(images), np.int64)
    for j, i in enumerate(images.tolist()):
        fids[j] = counts[i] % n_kp
        counts[i] += 1
    keep = counts[images] <= n_kp
    obs = Observations(np.repeat(np.arange(n_points), track)[keep], np.full(keep.sum(), "sift", dtype=object),
                       np.array(names, dtype=object)[images[keep]], fids[keep])
    kapture = Kapture(sensors={"cam_00001": cam}, trajectories=Trajectories(stamps, devices, q, t),
                      records={"camera": Records("camera", stamps, devices, [(n,) for n in names])},
                      points3d=np.concatenate([rng.normal(0, 5, (n_points, 3)),
                                               rng.integers(0, 256, (n_points, 3))], 1),
                      observations=obs)
    kps = ((n, (rng.random((n_kp, 2)) * [1024, 768]).astype(np.float32)) for n in names)
    add_feature_arrays(root, kapture, "keypoints", "sift", kps)
    save_kapture(kapture, root)
    return kapture


def timed(label: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    print(f"{label:<42s} {time.perf_counter() - t0:8.3f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--keypoints", type=int, default=2000)
    parser.add_argument("--points", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = tmp / "k"
        kapture = timed("synthetic dataset", synthetic, root, args.images, args.keypoints, args.points)
        print(f"  {args.images} images x {args.keypoints} keypoints, {args.points} points, "
              f"{len(kapture.observations)} observations")
        for binary in (False, True):
            kind = "binary" if binary else "text"
            timed(f"export_colmap ({kind})", export_colmap, root, tmp / kind, binary=binary)
            timed(f"read_colmap_model ({kind})", read_colmap_model, tmp / kind)
            try:
                import pycolmap

                timed(f"pycolmap.Reconstruction ({kind})", pycolmap.Reconstruction, str(tmp / kind))
            except ImportError:
                pass
            timed(f"import_colmap ({kind})", import_colmap, tmp / f"back_{kind}", tmp / kind)
        timed("export_database", export_database, root, tmp / "db.db")
        timed("import_colmap (database only)", import_colmap, tmp / "back_db", database=tmp / "db.db")
        loaded = load_kapture(root)
        kpt, read = keypoints_reader(root, loaded)
        timed("export_nvm", export_nvm, loaded, tmp / "m.nvm", read, kpt)
        sizes = {n: (1024, 768) for n in loaded.image_names()}
        timed("import_nvm", import_nvm, tmp / "m.nvm", tmp / "back_nvm", image_sizes=sizes)


if __name__ == "__main__":
    main()
