"""Throughput of mutual-nearest-neighbour matching and geometric verification (prints numbers).

    python benchmarks/bench_matching.py [--pairs 8] [--keypoints 8000] [--devices cpu cuda]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pycolmap
import torch

from kapturelike.matching.mnn import MatchingOptions, match_pairs
from kapturelike.matching.verification import VerificationOptions, verify_pairs


def sift_like(rng: np.random.Generator, n: int, dim: int = 128) -> np.ndarray:
    """Non-negative uint8 descriptors with SIFT's norm (512)."""
    d = np.abs(rng.normal(size=(n, dim))) ** 2
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.clip(np.round(d * 512), 0, 255).astype(np.uint8)


def bench_mnn(num_pairs: int, num_keypoints: int, device: str, batch_size: int,
              ratio: float | None) -> tuple[float, float]:
    """(pairs per wall second, CPU seconds per pair): the latter is robust to a busy machine."""
    rng = np.random.default_rng(0)
    base = [sift_like(rng, num_keypoints) for _ in range(num_pairs + 1)]
    pairs = [(base[k], base[k + 1]) for k in range(num_pairs)]
    opts = MatchingOptions(ratio_threshold=ratio, device=device, batch_size=batch_size)
    match_pairs(pairs[:batch_size], opts)  # warm-up (CUDA context, allocator)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start, cpu_start = time.perf_counter(), time.process_time()
    match_pairs(pairs, opts)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return num_pairs / (time.perf_counter() - start), (time.process_time() - cpu_start) / num_pairs


def verification_inputs(num_pairs: int, num_matches: int, outlier_ratio: float):
    rng = np.random.default_rng(1)
    cam = pycolmap.Camera(model="PINHOLE", width=1024, height=768, params=[800.0, 800.0, 512.0, 384.0],
                          camera_id=1)
    points = rng.uniform(-1, 1, (num_matches, 3))
    names = [f"im{k}" for k in range(num_pairs + 1)]
    poses, keypoints = {}, {}
    for k, name in enumerate(names):
        angle = np.radians(-15 + 30 * k / max(num_pairs, 1))
        r = pycolmap.Rotation3d(np.array([0.0, -angle, 0.0])).matrix()
        center = 6 * np.array([np.sin(angle), 0.0, -np.cos(angle)])
        t = -r @ center
        poses[name] = (pycolmap.Rotation3d(r).quat[[3, 0, 1, 2]], t)
        keypoints[name] = np.asarray(cam.img_from_cam(points @ r.T + t)) + rng.normal(scale=0.5,
                                                                                        size=(num_matches, 2))
    matches = []
    for _ in range(num_pairs):
        m = np.stack([np.arange(num_matches)] * 2, 1)
        bad = rng.random(num_matches) < outlier_ratio
        m[bad, 1] = rng.integers(0, num_matches, bad.sum())
        matches.append(m)
    pairs = list(zip(names[:-1], names[1:]))
    return pairs, matches, keypoints, dict.fromkeys(names, cam), poses


def bench_verification(num_pairs: int, num_matches: int, method: str,
                       workers: int) -> tuple[float, float, float]:
    """(pairs per wall second, CPU milliseconds per pair, mean inliers)."""
    pairs, matches, keypoints, cameras, poses = verification_inputs(num_pairs, num_matches, 0.3)
    opts = VerificationOptions(method=method, num_workers=workers, random_seed=0)
    start, cpu_start = time.perf_counter(), time.process_time()
    results = verify_pairs(pairs, matches, keypoints, cameras, poses, opts)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return num_pairs / elapsed, 1000 * cpu / num_pairs, float(np.mean([r.num_inliers for r in results]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--keypoints", type=int, default=8000)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--devices", nargs="+", default=["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    parser.add_argument("--verify-pairs", type=int, default=32)
    parser.add_argument("--verify-matches", type=int, default=2000)
    args = parser.parse_args()

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, pycolmap {pycolmap.__version__}")
    for device in args.devices:
        for ratio in (None, 0.8):
            rate, cpu = bench_mnn(args.pairs, args.keypoints, device, args.batch_size, ratio)
            print(f"MNN {args.keypoints}x{args.keypoints}x128 uint8, device={device}, batch={args.batch_size}, "
                  f"ratio={ratio}: {rate:.2f} pairs/s, {cpu:.2f} CPU s/pair")
    for method in ("known_pose", "ransac"):
        for workers in (1, 0):
            rate, cpu_ms, inliers = bench_verification(args.verify_pairs, args.verify_matches, method, workers)
            print(f"verification {method}, {args.verify_matches} matches (30% outliers), workers={workers or 'all'}: "
                  f"{rate:.1f} pairs/s, {cpu_ms:.2f} CPU ms/pair, mean inliers {inliers:.0f}")


if __name__ == "__main__":
    main()
