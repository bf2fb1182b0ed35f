"""DenseVLAD global features (Torii et al., "24/7 place recognition by view synthesis", CVPR 2015).

Dense RootSIFT on a regular multi-scale grid, a k-means vocabulary learned on the mapping images, VLAD
with intra-normalisation, signed square root and L2, then PCA-whitening learned on the mapping VLADs.

Dense SIFT follows VLFeat's fast dense SIFT (vl_phow): per scale, smooth with sigma = sqrt((b / magnif)^2
- 0.25), split gradient magnitude into 8 orientation channels (linear interpolation in angle), pool each
channel with a separable triangular kernel of half-width b (bilinear spatial binning, flat window), and
read 4x4 bins of b pixels at every grid point. ``bin_sizes`` are those SIFT bin widths b, so a descriptor
covers 4b x 4b pixels (16 to 40 px by default), as in the paper's 4 dense scales.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import scipy.sparse

from kapturelike.features.sift import resize_max_side, to_gray_uint8
from kapturelike.io.text import atomic_write

ImageSource = Iterable[np.ndarray] | Callable[[], Iterable[np.ndarray]]


@dataclass
class DenseVladOptions:
    """Options of DenseVLAD; the dense-SIFT part is stored in the model and checked at extraction.

    max_image_size: greyscale image downscaled (area) so its longest side is at most this (640, as the
        paper's 640x480 images).
    step: grid step in pixels of the downscaled image (4: about 15k descriptors per scale at 640x480).
    bin_sizes: SIFT spatial bin widths b in pixels, one scale each; a descriptor covers 4b x 4b pixels.
    magnif: smoothing sigma is b / magnif (VLFeat's default 6).
    contrast_threshold: drop descriptors whose mean gradient magnitude (image in [0, 1], per pixel) is
        below this: flat sky and walls give noise-only descriptors that pollute every VLAD.
    num_clusters: vocabulary size k; the VLAD has k * 128 dimensions before PCA.
    kmeans_iterations: Lloyd iterations (k-means++ initialisation).
    descriptors_per_image: descriptors sampled at random from each mapping image for the vocabulary.
    max_vocab_descriptors: cap on all descriptors kept for k-means (memory bound on big maps).
    pca_dim: output dimension; the effective one is min(pca_dim, n_images - 1), less if some mapping VLADs
        are (numerically) linearly dependent, e.g. duplicate images: the rank of the centred VLADs.
    pca_max_images: at most this many mapping VLADs (reservoir sample) are kept to fit the PCA.
    whiten: divide each PCA component by sqrt(eigenvalue + whiten_regularization * largest eigenvalue);
        the regularisation keeps near-zero-variance directions from exploding with few mapping images.
    seed: seeds descriptor sampling, k-means and the PCA reservoir sample.
    """

    max_image_size: int = 640
    step: int = 4
    bin_sizes: tuple[int, ...] = (4, 6, 8, 10)
    magnif: float = 6.0
    contrast_threshold: float = 0.005
    num_clusters: int = 128
    kmeans_iterations: int = 30
    descriptors_per_image: int = 2000
    max_vocab_descriptors: int = 200_000
    pca_dim: int = 4096
    pca_max_images: int = 4096
    whiten: bool = True
    whiten_regularization: float = 0.1
    seed: int = 0

    def dense_config(self) -> dict:
        """The parameters that must be identical between mapping and query images."""
        return {"max_image_size": self.max_image_size, "step": self.step,
                "bin_sizes": [int(b) for b in self.bin_sizes], "magnif": self.magnif,
                "contrast_threshold": self.contrast_threshold}


@dataclass
class DenseVladModel:
    """Everything learned on the mapping images; saved next to the global features, reused for queries.

    vocabulary: float32 (k, 128) cluster centres. pca_mean: float32 (k * 128,). pca_projection: float32
    (d, k * 128) orthonormal rows (principal directions). eigenvalues: float32 (d,). whiten and
    whiten_regularization: see DenseVladOptions. dense_config: JSON of DenseVladOptions.dense_config().
    """

    vocabulary: np.ndarray
    pca_mean: np.ndarray
    pca_projection: np.ndarray
    eigenvalues: np.ndarray
    whiten: bool
    whiten_regularization: float
    dense_config: str

    @property
    def dim(self) -> int:
        return int(self.pca_projection.shape[0])

    def save(self, path: str | Path) -> None:
        """Write an .npz atomically (temporary file in the same folder, then os.replace)."""
        path = Path(path)
        with atomic_write(path, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in asdict(self).items()})

    @classmethod
    def load(cls, path: str | Path) -> DenseVladModel:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: DenseVLAD model file is missing")
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in cls.__dataclass_fields__ if k not in data]
            if missing:
                raise ValueError(f"{path}: not a DenseVLAD model, missing fields {missing}")
            model = cls(vocabulary=data["vocabulary"].astype(np.float32),
                        pca_mean=data["pca_mean"].astype(np.float32),
                        pca_projection=data["pca_projection"].astype(np.float32),
                        eigenvalues=data["eigenvalues"].astype(np.float32),
                        whiten=bool(data["whiten"]),
                        whiten_regularization=float(data["whiten_regularization"]),
                        dense_config=str(data["dense_config"]))
        k, d = model.vocabulary.shape
        if d != 128 or model.pca_mean.shape != (k * 128,) or model.pca_projection.shape[1:] != (k * 128,) \
                or model.eigenvalues.shape != model.pca_projection.shape[:1]:
            raise ValueError(f"{path}: inconsistent DenseVLAD array shapes")
        return model


def dense_rootsift(image: np.ndarray, options: DenseVladOptions | None = None) -> np.ndarray:
    """Dense RootSIFT descriptors float32 (N, 128) of one uint8 grey or RGB image, all scales stacked."""
    options = options or DenseVladOptions()
    gray, _, _ = resize_max_side(to_gray_uint8(image), options.max_image_size)
    gray = gray.astype(np.float32) / 255.0
    h, w = gray.shape
    out = []
    for b in options.bin_sizes:
        b = int(b)
        half = 2 * b  # the descriptor spans 4 bins of b pixels around its centre
        if h <= 2 * half or w <= 2 * half:
            continue
        sigma = np.sqrt(max((b / options.magnif) ** 2 - 0.25, 0.0))
        smooth = cv2.GaussianBlur(gray, (0, 0), sigma) if sigma > 0.05 else gray
        gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=1) * 0.5  # central differences
        gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=1) * 0.5
        mag, ang = cv2.cartToPolar(gx, gy)  # float32, angle in [0, 2 pi)
        t = ang * np.float32(8 / (2 * np.pi))
        # linear interpolation between the two nearest of 8 orientation bins, as a circular hat function
        chan = np.empty((h, w, 8), np.float32)
        for k in range(8):
            d = np.abs(t - k)
            np.minimum(d, 8 - d, out=d)
            chan[:, :, k] = np.maximum(1 - d, 0) * mag
        # triangular kernel of half-width b, normalised so a bin holds a mean oriented magnitude
        tri = (1.0 - np.abs(np.arange(-b + 1, b)) / b).astype(np.float32)
        tri /= tri.sum()
        pooled = cv2.sepFilter2D(chan, -1, tri, tri, borderType=cv2.BORDER_CONSTANT)
        cy = np.arange(half, h - half + 1, options.step)
        cx = np.arange(half, w - half + 1, options.step)
        offs = (np.arange(4) - 1.5) * b  # bin centres relative to the descriptor centre
        by = np.clip(np.floor(cy[:, None] + offs[None, :] + 0.5).astype(np.int64), 0, h - 1)
        bx = np.clip(np.floor(cx[:, None] + offs[None, :] + 0.5).astype(np.int64), 0, w - 1)
        # (ny, nx, 4 bins y, 4 bins x, 8 orientations) gathered in one fancy-index
        desc = pooled[by[:, None, :, None], bx[None, :, None, :]].reshape(-1, 128)
        out.append(desc)
    if not out:
        return np.zeros((0, 128), np.float32)
    desc = np.concatenate(out)
    contrast = desc.sum(axis=1) / 16.0  # mean gradient magnitude over the 16 bins
    desc = desc[contrast >= options.contrast_threshold]
    # SIFT normalisation (unit L2, clamp at 0.2, unit L2), then RootSIFT
    desc /= np.maximum(np.linalg.norm(desc, axis=1, keepdims=True), 1e-12)
    np.minimum(desc, 0.2, out=desc)
    desc /= np.maximum(desc.sum(axis=1, keepdims=True), 1e-12)
    return np.sqrt(desc, dtype=np.float32)


def kmeans(x: np.ndarray, k: int, iterations: int = 30, seed: int = 0) -> np.ndarray:
    """Lloyd's k-means, k-means++ initialisation; float32 (k, D) centres, deterministic for a seed."""
    x = np.asarray(x, np.float32)
    if len(x) < k:
        raise ValueError(f"kmeans: {len(x)} points for {k} clusters")
    rng = np.random.default_rng(seed)
    sq = np.sum(x * x, axis=1)
    centres = np.empty((k, x.shape[1]), np.float32)
    centres[0] = x[rng.integers(len(x))]
    d2 = np.maximum(sq - 2 * x @ centres[0] + centres[0] @ centres[0], 0)
    for i in range(1, k):  # k-means++: sample proportionally to the squared distance to the chosen centres
        p = d2 / d2.sum() if d2.sum() > 0 else None
        centres[i] = x[rng.choice(len(x), p=p)]
        d2 = np.minimum(d2, np.maximum(sq - 2 * x @ centres[i] + centres[i] @ centres[i], 0))
    for _ in range(iterations):
        dist = sq[:, None] - 2 * x @ centres.T + np.sum(centres * centres, axis=1)[None, :]
        assign = np.argmin(dist, axis=1)
        counts = np.bincount(assign, minlength=k)
        onehot = scipy.sparse.csr_matrix((np.ones(len(x), np.float32), (assign, np.arange(len(x)))),
                                         shape=(k, len(x)))
        new = np.asarray(onehot @ x) / np.maximum(counts, 1)[:, None]
        empty = np.flatnonzero(counts == 0)
        if len(empty):  # re-seed empty clusters on the points worst served by their centre
            worst = np.argsort(dist[np.arange(len(x)), assign])[::-1][:len(empty)]
            new[empty] = x[worst]
        shift = float(np.max(np.sum((new - centres) ** 2, axis=1)))
        centres = new.astype(np.float32)
        if shift < 1e-10:
            break
    return centres


def vlad(descriptors: np.ndarray, vocabulary: np.ndarray) -> np.ndarray:
    """Intra-normalised, signed-square-rooted, unit-L2 VLAD float32 (k * 128,) of one descriptor set."""
    k, d = vocabulary.shape
    if len(descriptors) == 0:
        return np.zeros(k * d, np.float32)
    x = np.asarray(descriptors, np.float32)
    c = np.asarray(vocabulary, np.float32)
    assign = np.argmax(x @ c.T - 0.5 * np.sum(c * c, axis=1), axis=1)  # nearest centre
    onehot = scipy.sparse.csr_matrix((np.ones(len(x), np.float32), (assign, np.arange(len(x)))),
                                     shape=(k, len(x)))
    counts = np.bincount(assign, minlength=k).astype(np.float32)
    v = np.asarray(onehot @ x) - counts[:, None] * c  # sum of residuals per cluster
    v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)  # intra-normalisation
    v = np.sign(v) * np.sqrt(np.abs(v))
    v = v.ravel()
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def _iterate(images: ImageSource, what: str) -> Iterable[np.ndarray]:
    if callable(images):
        return images()
    if iter(images) is images:
        raise ValueError(f"{what}: fitting reads the images twice; pass a sequence or a callable returning a "
                         "fresh iterable, not a one-shot iterator")
    return images


def _project(vlads: np.ndarray, model: DenseVladModel) -> np.ndarray:
    y = (vlads - model.pca_mean) @ model.pca_projection.T
    if model.whiten:
        floor = model.whiten_regularization * float(model.eigenvalues.max(initial=0.0))
        y /= np.sqrt(model.eigenvalues + floor + 1e-12)
    return (y / np.maximum(np.linalg.norm(y, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def fit_densevlad(images: ImageSource, options: DenseVladOptions | None = None) -> DenseVladModel:
    """Learn vocabulary and PCA-whitening from mapping images, reading them twice and one at a time."""
    options = options or DenseVladOptions()
    rng = np.random.default_rng(options.seed)
    samples, kept = [], 0
    for image in _iterate(images, "fit_densevlad"):
        desc = dense_rootsift(image, options)
        if len(desc) > options.descriptors_per_image:
            desc = desc[rng.choice(len(desc), options.descriptors_per_image, replace=False)]
        samples.append(desc)
        kept += len(desc)
        if kept > 2 * options.max_vocab_descriptors:  # bound memory on big maps
            pool = np.concatenate(samples)
            samples = [pool[rng.choice(len(pool), options.max_vocab_descriptors, replace=False)]]
            kept = len(samples[0])
    if not samples:
        raise ValueError("fit_densevlad: no mapping images")
    pool = np.concatenate(samples)
    if len(pool) > options.max_vocab_descriptors:
        pool = pool[rng.choice(len(pool), options.max_vocab_descriptors, replace=False)]
    if len(pool) < options.num_clusters:
        raise ValueError(f"fit_densevlad: {len(pool)} descriptors for {options.num_clusters} clusters; "
                         "images are too small or too flat")
    vocabulary = kmeans(pool, options.num_clusters, options.kmeans_iterations, seed=options.seed)

    reservoir: list[np.ndarray] = []  # algorithm R: uniform sample of the mapping VLADs
    for n, image in enumerate(_iterate(images, "fit_densevlad")):
        v = vlad(dense_rootsift(image, options), vocabulary)
        if len(reservoir) < options.pca_max_images:
            reservoir.append(v)
        elif (j := int(rng.integers(0, n + 1))) < options.pca_max_images:
            reservoir[j] = v
    if len(reservoir) < 2:
        raise ValueError("fit_densevlad: PCA-whitening needs at least 2 mapping images")
    x = np.stack(reservoir)
    mean = x.mean(axis=0, dtype=np.float64).astype(np.float32)
    xc = x - mean
    # n << D: eigen-decompose the n x n Gram matrix instead of the D x D covariance
    evals, evecs = np.linalg.eigh((xc @ xc.T).astype(np.float64))
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    # rank <= n - 1 after centring; drop numerically null directions (duplicate images; float32 Gram
    # round-off is ~1e-7 relative) rather than dividing by ~0 and returning noise
    keep = min(options.pca_dim, len(x) - 1, int(np.sum(evals > 1e-5 * max(evals[0], 1e-30))))
    if keep < 1:
        raise ValueError("fit_densevlad: all mapping images give the same VLAD; nothing to fit a PCA on")
    evals, evecs = evals[:keep], evecs[:, :keep]
    directions = (xc.T @ evecs.astype(np.float32)) / np.sqrt(evals).astype(np.float32)
    return DenseVladModel(vocabulary=vocabulary.astype(np.float32), pca_mean=mean.astype(np.float32),
                          pca_projection=np.ascontiguousarray(directions.T, dtype=np.float32),
                          eigenvalues=(evals / max(len(x) - 1, 1)).astype(np.float32),
                          whiten=options.whiten, whiten_regularization=options.whiten_regularization,
                          dense_config=json.dumps(options.dense_config(), sort_keys=True))


def _check_config(model: DenseVladModel, options: DenseVladOptions) -> None:
    if json.loads(model.dense_config) != options.dense_config():
        raise ValueError(f"DenseVLAD options {options.dense_config()} differ from those the model was fitted "
                         f"with {model.dense_config}")


def extract_densevlad(image: np.ndarray, model: DenseVladModel,
                      options: DenseVladOptions | None = None) -> np.ndarray:
    """DenseVLAD float32 (model.dim,), unit L2, of one uint8 grey or RGB image."""
    options = options or DenseVladOptions()
    _check_config(model, options)
    return _project(vlad(dense_rootsift(image, options), model.vocabulary), model)


def extract_densevlad_batch(images: Iterable[np.ndarray], model: DenseVladModel,
                            options: DenseVladOptions | None = None) -> np.ndarray:
    """DenseVLAD of many images, float32 (N, model.dim); images are read one at a time."""
    options = options or DenseVladOptions()
    _check_config(model, options)
    vlads = [vlad(dense_rootsift(image, options), model.vocabulary) for image in images]
    if not vlads:
        return np.zeros((0, model.dim), np.float32)
    return _project(np.stack(vlads), model)
