"""Throughput of SIFT (OpenCV and pycolmap backends), DenseVLAD and, when their optional packages are
installed, XFeat and DISK; and SIFT matching quality.

Speed is measured on a synthetic textured image (multi-scale noise, --size) and, when present, on the
Strecha images (../shared/data/strecha, 1536x1024). Matching quality: consecutive Strecha image pairs,
mutual nearest neighbours with Lowe's ratio 0.8, counted correct when the Sampson distance under the
ground-truth fundamental matrix is below 2 px.

    .venv/bin/python benchmarks/bench_features.py [--size 1024x768] [--repeat 3] [--pairs 6]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from kapturelike.features.densevlad import DenseVladOptions, extract_densevlad, fit_densevlad
from kapturelike.features.learned import LearnedOptions, MissingExtraError, make_learned_extractor
from kapturelike.features.sift import SiftOptions, extract_sift

STRECHA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "strecha"


def synthetic_image(w: int, h: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w), np.float32)
    for cell in (2, 4, 8, 16, 32, 64):
        small = rng.random((h // cell + 1, w // cell + 1)).astype(np.float32)
        img += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) * cell**0.5
    img = (img - img.min()) / (img.max() - img.min())
    return np.repeat((img * 255).astype(np.uint8)[:, :, None], 3, axis=2)


def rate(fn, images: list[np.ndarray], repeat: int) -> tuple[float, object]:
    out = fn(images[0])  # warm-up (thread pools, allocations)
    start = time.perf_counter()
    for _ in range(repeat):
        for image in images:
            out = fn(image)
    return repeat * len(images) / (time.perf_counter() - start), out


def strecha_cameras(scene: Path) -> list[tuple[Path, np.ndarray, np.ndarray, np.ndarray]]:
    cams = []
    for f in sorted((scene / "images").glob("*.jpg")):
        v = np.array((scene / "gt_dense_cameras" / f"{f.name}.camera").read_text().split(), float)
        cams.append((f, v[:9].reshape(3, 3), v[12:21].reshape(3, 3), v[21:24]))
    return cams


def fundamental(k1, r1, c1, k2, r2, c2) -> np.ndarray:
    """F with x2^T F x1 = 0 in COLMAP pixel coordinates; R are camera-to-world, C centres."""
    r = r2.T @ r1  # camera 1 -> camera 2
    t = r2.T @ (c1 - c2)
    tx = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    # the 2 px threshold is loose enough not to care whether K's pixel centres are at 0 or 0.5
    return np.linalg.inv(k2).T @ tx @ r @ np.linalg.inv(k1)


def match_quality(backend: str, pairs, images) -> tuple[int, int]:
    opts = SiftOptions(backend=backend)
    feats = {i: extract_sift(images[i], opts) for pair in pairs for i in pair[:2]}
    correct = total = 0
    for i, j, f in pairs:
        (k1, d1), (k2, d2) = feats[i], feats[j]
        sim = d1 @ d2.T
        nn12, nn21 = sim.argmax(axis=1), sim.argmax(axis=0)
        top2 = -np.partition(-sim, 1, axis=1)[:, :2]
        dist1, dist2 = np.sqrt(np.maximum(2 - 2 * top2[:, 0], 0)), np.sqrt(np.maximum(2 - 2 * top2[:, 1], 0))
        keep = (nn21[nn12] == np.arange(len(k1))) & (dist1 < 0.8 * dist2)
        x1 = np.c_[k1[keep, :2], np.ones(keep.sum())]
        x2 = np.c_[k2[nn12[keep], :2], np.ones(keep.sum())]
        fx1, ftx2 = x1 @ f.T, x2 @ f
        denom = fx1[:, 0] ** 2 + fx1[:, 1] ** 2 + ftx2[:, 0] ** 2 + ftx2[:, 1] ** 2
        err = np.sum(x2 * fx1, axis=1) ** 2 / denom  # squared Sampson distance
        correct += int(np.sum(err < 4.0))
        total += int(keep.sum())
    return correct, total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1024x768", help="synthetic image size WxH (default 1024x768)")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the images per measurement")
    parser.add_argument("--pairs", type=int, default=6, help="Strecha fountain-P11 pairs for match quality")
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    synth = [synthetic_image(w, h, seed) for seed in range(2)]
    strecha = STRECHA / "fountain-P11"
    real = []
    if strecha.is_dir():
        cams = strecha_cameras(strecha)
        real = [cv2.cvtColor(cv2.imread(str(c[0])), cv2.COLOR_BGR2RGB) for c in cams]
    print(f"OpenCV threads: {cv2.getNumThreads()}")
    print(f"{'extractor':<34}{'images':<22}{'img/s':>8}{'feats/dim':>10}")
    rows = [("synthetic", f"{w}x{h} synthetic", synth)]
    if real:
        rows.append(("strecha", f"{real[0].shape[1]}x{real[0].shape[0]} fountain-P11", real[:3]))
    for _, label, imgs in rows:
        for backend in ("opencv", "pycolmap"):
            for upright in (False, True):
                name = f"sift {backend}{' upright' if upright else ''}"
                opts = SiftOptions(backend=backend, upright=upright)
                r, (kp, _) = rate(lambda im, o=opts: extract_sift(im, o), imgs, args.repeat)
                print(f"{name:<34}{label:<22}{r:>8.2f}{len(kp):>10}")
    for name in ("xfeat", "disk"):
        try:
            extract = make_learned_extractor(name, LearnedOptions())
        except MissingExtraError as exc:
            print(f"{name:<34}skipped: {exc}")
            continue
        for _, label, imgs in rows:
            r, (kp, _) = rate(extract, imgs, args.repeat)
            print(f"{name + ' (1024 px, 4096 kp)':<34}{label:<22}{r:>8.2f}{len(kp):>10}")
    fit_imgs = real[:6] if real else synth
    options = DenseVladOptions()
    start = time.perf_counter()
    model = fit_densevlad(fit_imgs, options)
    fit_s = time.perf_counter() - start
    for _, label, imgs in rows:
        r, g = rate(lambda im: extract_densevlad(im, model, options), imgs, args.repeat)
        print(f"{'densevlad (640 px, k=128)':<34}{label:<22}{r:>8.2f}{g.shape[0]:>10}")
    print(f"densevlad fit on {len(fit_imgs)} images: {fit_s:.1f} s (reads each image twice)")
    if real:
        n = min(args.pairs, len(real) - 1)
        pairs = [(i, i + 1, fundamental(*cams[i][1:], *cams[i + 1][1:])) for i in range(n)]
        print(f"\nSIFT matching on {len(pairs)} consecutive fountain-P11 pairs (mutual NN + ratio 0.8):")
        for backend in ("opencv", "pycolmap"):
            correct, total = match_quality(backend, pairs, real)
            print(f"  {backend:<10} correct {correct:>6} / {total:<6} precision {correct / max(total, 1):.3f}")


if __name__ == "__main__":
    main()
