"""Time dataset importers against kapture's own (same raw fixture, same run): 7-Scenes (depth
conversion and registration dominate) and Extended CMU Seasons (a long image list with poses).
Prints numbers; asserts nothing.

    python benchmarks/bench_importers.py [--frames 60] [--cmu-images 20000]
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from kapturelike.core import pose as P
from kapturelike.importers.common import TransferAction
from kapturelike.importers.extended_cmu_seasons import ExtendedCmuOptions, import_extended_cmu_seasons
from kapturelike.importers.seven_scenes import SevenScenesOptions, import_7scenes


def kapture_tool(name: str):
    try:
        import kapture
    except ImportError:
        return None
    path = Path(kapture.__file__).resolve().parents[1] / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    logging.getLogger().setLevel(logging.CRITICAL)
    return module


def seven_scenes(root: Path, frames: int) -> None:
    rng = np.random.default_rng(0)
    (root / "seq-01").mkdir(parents=True)
    for f in range(frames):
        stem = root / "seq-01" / f"frame-{f:06d}"
        cv2.imwrite(f"{stem}.color.png", np.zeros((48, 64, 3), np.uint8))
        cv2.imwrite(f"{stem}.depth.png", rng.integers(500, 4000, (480, 640)).astype(np.uint16))
        M = np.eye(4)
        M[:3, :3] = P.quat_to_rotmat(P.normalize_quaternions(rng.normal(size=4)))
        M[:3, 3] = rng.normal(size=3)
        np.savetxt(f"{stem}.pose.txt", M)


def cmu(root: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    s = root / "slice2"
    for sub in ("database", "query", "camera-poses"):
        (s / sub).mkdir(parents=True)
    (root / "intrinsics.txt").write_text("c0 OPENCV 1024 768 868.9 866.0 525.9 420.0 -0.39 0.18 0.0004 -0.0004\n")
    q = P.normalize_quaternions(rng.normal(size=(n, 4)))
    c = rng.normal(size=(n, 3)) * 100
    lines = (f"img_{i:05d}_c0_{1000000 + i}us.jpg {' '.join(map(str, q[i]))} {' '.join(map(str, c[i]))}\n"
             for i in range(n))
    (s / "ground-truth-database-images-slice2.txt").write_text("".join(lines))
    (s / "test-images-slice2.txt").write_text("")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--cmu-images", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        seven_scenes(tmp / "7s", args.frames)
        ours = timed(lambda: import_7scenes(tmp / "7s", tmp / "o7", SevenScenesOptions(TransferAction.skip,
                                                                                        progress=False)))
        print(f"7scenes, {args.frames} frames 640x480 depth: ours {ours:.2f} s", end="")
        oracle = kapture_tool("kapture_import_7scenes")
        if oracle is not None:
            from kapture.io.records import TransferAction as KaptureTransfer
            theirs = timed(lambda: oracle.import_7scenes(str(tmp / "7s"), str(tmp / "t7"), True,
                                                         KaptureTransfer.skip))
            print(f", kapture {theirs:.2f} s", end="")
        print()
        cmu(tmp / "cmu", args.cmu_images)
        ours = timed(lambda: import_extended_cmu_seasons(tmp / "cmu", tmp / "oc", ExtendedCmuOptions(
            [2], False, TransferAction.skip, progress=False)))
        print(f"Extended CMU, {args.cmu_images} posed images: ours {ours:.2f} s", end="")
        oracle = kapture_tool("kapture_import_Extended_CMU_Seasons")
        if oracle is not None:
            from kapture.io.records import TransferAction as KaptureTransfer
            theirs = timed(lambda: oracle.import_extended_cmu_seasons(str(tmp / "cmu"), str(tmp / "tc"), [2],
                                                                      False, True, KaptureTransfer.skip))
            print(f", kapture {theirs:.2f} s", end="")
        print()


if __name__ == "__main__":
    main()
