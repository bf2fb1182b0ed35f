"""SIFT keypoints and (Root)SIFT descriptors with an OpenCV or a pycolmap backend.

Keypoints come back as float32 (N, 4) [x, y, scale, orientation] in COLMAP's pixel convention (centre of
the top-left pixel at (0.5, 0.5)); scale is the Gaussian sigma of the detection in original-image pixels
and orientation is in radians in [-pi, pi], measured in image axes (x right, y down), as COLMAP stores
them. Both backends give the same keypoints to 1e-3 px (OpenCV runs with its precise 2x upscaling).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

SIFT_BACKENDS = ("opencv", "pycolmap")
Extractor = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class SiftOptions:
    """Options of :func:`extract_sift`.

    max_keypoints: keep at most this many keypoints. OpenCV: the strongest by DoG response. pycolmap does
        not expose the response; it keeps COLMAP's choice (coarsest scales first).
    max_image_size: downscale (area interpolation) so the longest side is at most this; keypoints are
        mapped back to original pixel coordinates. 0 or negative disables resizing.
    root_sift: RootSIFT descriptors (L1-normalise, square root, unit L2) instead of unit-L2 SIFT.
    upright: all orientations fixed to 0 (one descriptor per location) for upright cameras.
    backend: 'opencv' or 'pycolmap'. OpenCV is the default: in benchmarks/bench_features.py it is 4-6x
        faster on 1536x1024 Strecha images, with the same match precision (0.98-0.99) but about 10% fewer
        correct matches at 8000 keypoints (pycolmap keeps coarser scales and fewer duplicate orientations);
        pick 'pycolmap' when extraction time does not matter.
    peak_threshold: DoG contrast threshold on a [0, 1] image, COLMAP's convention. OpenCV's final test is
        |DoG| * layers < contrastThreshold, so it gets contrastThreshold = 3 * peak_threshold (0.02 rather
        than OpenCV's own default 0.04, i.e. more keypoints, as in COLMAP).
    edge_threshold: curvature ratio threshold rejecting edge responses.
    num_threads: pycolmap threads (-1: all cores); OpenCV uses its own global thread pool.
    """

    max_keypoints: int = 8000
    max_image_size: int = 1600
    root_sift: bool = True
    upright: bool = False
    backend: str = "opencv"
    peak_threshold: float = 0.02 / 3
    edge_threshold: float = 10.0
    num_threads: int = -1

    def __post_init__(self):
        if self.backend not in SIFT_BACKENDS:
            raise ValueError(f"SiftOptions.backend: '{self.backend}' is not one of {SIFT_BACKENDS}")
        if self.max_keypoints <= 0:
            raise ValueError(f"SiftOptions.max_keypoints must be positive, got {self.max_keypoints}")


def to_gray_uint8(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W) grey from a uint8 (H, W) grey or (H, W, 3) RGB image, per docs/CONVENTIONS.md."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"image: expected dtype uint8, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if image.ndim == 3 and image.shape[2] == 1:
        return np.ascontiguousarray(image[:, :, 0])
    if image.ndim != 2:
        raise ValueError(f"image: expected shape (H, W) or (H, W, 3), got {image.shape}")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise ValueError(f"image: too small, shape {image.shape}")
    return np.ascontiguousarray(image)


def resize_max_side(gray: np.ndarray, max_size: int) -> tuple[np.ndarray, float, float]:
    """Downscale so that max(H, W) <= max_size; returns (image, sx, sy) with original = resized * (sx, sy)."""
    h, w = gray.shape[:2]
    if max_size <= 0 or max(h, w) <= max_size:
        return gray, 1.0, 1.0
    s = max_size / max(h, w)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    small = cv2.resize(gray, (nw, nh), interpolation=cv2.INTER_AREA)
    # With the pixel-centre-at-0.5 convention, coordinates scale exactly with the image extent.
    return small, w / nw, h / nh


def normalize_descriptors(desc: np.ndarray, root_sift: bool) -> np.ndarray:
    """Unit-L2 SIFT, or RootSIFT (Arandjelovic & Zisserman 2012): L1-normalise, sqrt, then unit L2."""
    desc = np.maximum(np.asarray(desc, dtype=np.float32), 0.0)
    if root_sift:
        desc = np.sqrt(desc / np.maximum(desc.sum(axis=1, keepdims=True), 1e-12))
    return desc / np.maximum(np.linalg.norm(desc, axis=1, keepdims=True), 1e-12)


def _opencv_sift(gray: np.ndarray, options: SiftOptions) -> tuple[np.ndarray, np.ndarray]:
    # Upright mode needs every detection (duplicates collapse later), otherwise let OpenCV keep the best.
    sift = cv2.SIFT_create(nfeatures=0 if options.upright else options.max_keypoints,
                           contrastThreshold=options.peak_threshold * 3.0,
                           edgeThreshold=options.edge_threshold,
                           # without it the 2x upsampled octave shifts keypoints by -0.25 px
                           enable_precise_upscale=True)
    if options.upright:
        kps = sift.detect(gray, None)
        if not kps:
            return np.zeros((0, 4), np.float32), np.zeros((0, 128), np.float32)
        attrs = np.array([(k.pt[0], k.pt[1], k.size, k.response, k.octave) for k in kps], dtype=np.float64)
        # One detection per (x, y, size): OpenCV emits one keypoint per dominant orientation.
        _, first = np.unique(attrs[:, :3], axis=0, return_index=True)
        attrs = attrs[first]
        attrs = attrs[np.argsort(-attrs[:, 3], kind="stable")[:options.max_keypoints]]
        kps = [cv2.KeyPoint(float(x), float(y), float(s), 0.0, float(r), int(o)) for x, y, s, r, o in attrs]
        kps, desc = sift.compute(gray, kps)
    else:
        kps, desc = sift.detectAndCompute(gray, None)
    if not kps or desc is None:
        return np.zeros((0, 4), np.float32), np.zeros((0, 128), np.float32)
    attrs = np.array([(k.pt[0], k.pt[1], k.size, k.angle, k.response) for k in kps], dtype=np.float64)
    # retainBest keeps ties, so it can return a few too many; sort strongest-first and cut exactly.
    order = np.argsort(-attrs[:, 4], kind="stable")[:options.max_keypoints]
    attrs, desc = attrs[order], desc[order]
    kp = np.empty((len(attrs), 4), np.float32)
    kp[:, :2] = attrs[:, :2] + 0.5  # OpenCV's top-left pixel centre is (0, 0), COLMAP's (0.5, 0.5)
    kp[:, 2] = attrs[:, 2] / 2.0  # OpenCV size is the diameter 2 * sigma
    angle = np.deg2rad(attrs[:, 3])
    kp[:, 3] = np.arctan2(np.sin(angle), np.cos(angle)) if not options.upright else 0.0  # COLMAP's range
    return kp, desc


def _pycolmap_sift(gray: np.ndarray, options: SiftOptions) -> tuple[np.ndarray, np.ndarray]:
    import pycolmap

    from kapturelike.geometry.colmap_model import pycolmap_warnings_only

    extraction = pycolmap.FeatureExtractionOptions()
    extraction.num_threads = options.num_threads
    extraction.max_image_size = -1  # resizing is done by us, identically for both backends
    sift_opts = extraction.sift
    sift_opts.max_num_features = options.max_keypoints
    sift_opts.peak_threshold = options.peak_threshold
    sift_opts.edge_threshold = options.edge_threshold
    sift_opts.upright = options.upright
    # COLMAP quantises descriptors to uint8, so RootSIFT is better computed before quantisation, by it.
    norm = pycolmap.Normalization
    sift_opts.normalization = norm.L1_ROOT if options.root_sift else norm.L2
    # COLMAP logs one INFO line per extractor created, i.e. per image here
    with pycolmap_warnings_only(), warnings.catch_warnings():
        # pycolmap.Sift is deprecated in favour of FeatureExtractor, which returns per-keypoint Python
        # objects; Sift still returns numpy arrays directly, which is much cheaper.
        warnings.simplefilter("ignore", DeprecationWarning)
        sift = pycolmap.Sift(extraction, pycolmap.Device.cpu)
    kp, desc = sift.extract(gray)
    kp = np.asarray(kp, dtype=np.float32).reshape(-1, 4)
    desc = np.asarray(desc, dtype=np.float32).reshape(-1, 128)
    # COLMAP caps detections before orientation assignment, so extra orientations can exceed the cap;
    # keep its preference (coarsest scales) when cutting.
    order = np.argsort(-kp[:, 2], kind="stable")[:options.max_keypoints]
    kp, desc = kp[order], desc[order]
    if options.upright:
        kp[:, 3] = 0.0
    return kp, desc


def extract_sift(image: np.ndarray, options: SiftOptions | None = None) -> tuple[np.ndarray, np.ndarray]:
    """SIFT on one uint8 grey or RGB image: (keypoints float32 (N, 4), descriptors float32 (N, 128))."""
    options = options or SiftOptions()
    gray, sx, sy = resize_max_side(to_gray_uint8(image), options.max_image_size)
    backend = _opencv_sift if options.backend == "opencv" else _pycolmap_sift
    kp, desc = backend(gray, options)
    if sx != 1.0 or sy != 1.0:
        kp[:, 0] *= sx
        kp[:, 1] *= sy
        kp[:, 2] *= 0.5 * (sx + sy)
    # Whatever the backend produced, renormalise in float so the output norm is exact.
    desc = normalize_descriptors(desc, options.root_sift) if options.backend == "opencv" else \
        desc / np.maximum(np.linalg.norm(desc, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(kp, dtype=np.float32), np.ascontiguousarray(desc, dtype=np.float32)


def make_sift_extractor(options: SiftOptions | None = None) -> Extractor:
    """A callable image -> (keypoints, descriptors) bound to ``options``."""
    options = options or SiftOptions()

    def extract(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return extract_sift(image, options)

    return extract
