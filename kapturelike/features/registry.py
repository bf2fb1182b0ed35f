"""Name -> feature extractor lookup for the command line.

A local extractor is a callable ``image -> (keypoints float32 (N, >=2), descriptors (N, D))``; a global
extractor is a callable ``image -> float32 (D,)`` unit-L2. Extractors needing optional packages or other
modules (learned features, AP-GeM, R2D2) are imported only when asked for, so this module always imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

LocalExtractor = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
GlobalExtractor = Callable[[np.ndarray], np.ndarray]

LOCAL_EXTRACTORS = ("sift", "sift-opencv", "sift-pycolmap", "r2d2", "aliked", "disk", "xfeat")
GLOBAL_EXTRACTORS = ("densevlad", "apgem")


class UnknownExtractorError(ValueError):
    """The extractor name is not registered, or its module is not available."""


def _import(module: str, name: str, what: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise UnknownExtractorError(f"{what}: needs {module}.{name}, which is not available ({exc})") from exc


def _require(model: Any, what: str) -> None:
    if model is None:
        raise ValueError(f"{what}: pass model=<fitted model, loaded network or its file path>")


def _network(model: Any, module: str, loader: str, what: str) -> tuple:
    """(network, extras...) from a checkpoint path, a loader's returned tuple, or a bare network."""
    _require(model, what)
    if isinstance(model, (str, Path)):
        return tuple(_import(module, loader, what)(model))
    return tuple(model) if isinstance(model, tuple) else (model,)


def get_local_extractor(name: str, options: Any = None, model: Any = None) -> LocalExtractor:
    """Local feature extractor by name: one of LOCAL_EXTRACTORS.

    options: the extractor's options dataclass (SiftOptions, LearnedOptions, ...; None for defaults).
    For 'sift-opencv' / 'sift-pycolmap' the backend of ``options`` is overridden. model for 'r2d2': a
    checkpoint path, the tuple load_r2d2 returns, or the network (kapturelike.features.r2d2).
    """
    key = name.lower()
    if key.startswith("sift"):
        from dataclasses import replace

        from kapturelike.features.sift import SiftOptions, make_sift_extractor

        opts = options if options is not None else SiftOptions()
        if not isinstance(opts, SiftOptions):
            raise TypeError(f"{name}: options must be SiftOptions, got {type(opts).__name__}")
        if key in ("sift-opencv", "sift-pycolmap"):
            opts = replace(opts, backend=key.split("-", 1)[1])
        elif key != "sift":
            raise UnknownExtractorError(f"unknown local extractor '{name}', known: {LOCAL_EXTRACTORS}")
        return make_sift_extractor(opts)
    if key in ("aliked", "disk", "xfeat"):
        make = _import("kapturelike.features.learned", "make_learned_extractor", name)
        return make(key, options)
    if key == "r2d2":
        extract = _import("kapturelike.features.r2d2", "extract_r2d2", name)
        net = _network(model, "kapturelike.features.r2d2", "load_r2d2", name)[0]

        def r2d2(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            kp, desc = extract(image, net, options)[:2]
            return np.asarray(kp, np.float32), np.asarray(desc, np.float32)

        return r2d2
    raise UnknownExtractorError(f"unknown local extractor '{name}', known: {LOCAL_EXTRACTORS}")


def get_global_extractor(name: str, options: Any = None, model: Any = None) -> GlobalExtractor:
    """Global feature extractor by name: one of GLOBAL_EXTRACTORS.

    'densevlad': model is a fitted DenseVladModel or the path of its saved .npz (fit it first with
    kapturelike.features.densevlad.fit_densevlad on the mapping images); options a DenseVladOptions.
    'apgem': model is a checkpoint path, the (network, pca, info) tuple load_apgem returns (its PCA is then
    applied as APGeMOptions says), or a bare network; options an APGeMOptions.
    """
    key = name.lower()
    if key == "densevlad":
        from kapturelike.features.densevlad import DenseVladModel, DenseVladOptions, extract_densevlad

        _require(model, name)
        loaded = DenseVladModel.load(model) if isinstance(model, (str, Path)) else model
        opts = options if options is not None else DenseVladOptions()

        def densevlad(image: np.ndarray) -> np.ndarray:
            return extract_densevlad(image, loaded, opts)

        return densevlad
    if key == "apgem":
        extract = _import("kapturelike.features.apgem", "extract_apgem", name)
        loaded = _network(model, "kapturelike.features.apgem", "load_apgem", name)
        net, pca = loaded[0], (loaded[1] if len(loaded) > 2 else None)

        def apgem(image: np.ndarray) -> np.ndarray:
            # extract_apgem works on a batch of images; take the single row back out
            return np.asarray(extract([image], net, options, pca=pca), np.float32)[0]

        return apgem
    raise UnknownExtractorError(f"unknown global extractor '{name}', known: {GLOBAL_EXTRACTORS}")
