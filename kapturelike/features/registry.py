"""The one name -> feature extractor registry, for the command line and the pipelines.

A local extractor is a callable ``image -> (keypoints float32 (N, >=2), descriptors (N, D))``; a global
extractor is a callable ``image -> float32 (D,)`` unit-L2. Extractors needing optional packages or other
modules (learned features, AP-GeM, R2D2) are imported only when asked for, so this module always imports.
Options are the extractor's options dataclass (``options_class`` names it; ``options_from_mapping``
builds it from a config section).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

LocalExtractor = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
GlobalExtractor = Callable[[np.ndarray], np.ndarray]

LOCAL_EXTRACTORS = ("sift", "sift-opencv", "sift-pycolmap", "r2d2", "aliked", "disk", "xfeat")
GLOBAL_EXTRACTORS = ("densevlad", "apgem")

# extractor name -> (module, options dataclass)
_OPTIONS = {
    ("local", "sift"): ("kapturelike.features.sift", "SiftOptions"),
    ("local", "r2d2"): ("kapturelike.features.r2d2", "R2D2Options"),
    ("local", "learned"): ("kapturelike.features.learned", "LearnedOptions"),
    ("global", "densevlad"): ("kapturelike.features.densevlad", "DenseVladOptions"),
    ("global", "apgem"): ("kapturelike.features.apgem", "APGeMOptions"),
}


class UnknownExtractorError(ValueError):
    """The extractor name is not registered, or its module is not available."""


def is_extractor(kind: str, name: str) -> bool:
    """Whether ``name`` is one of our ``kind`` ('local' or 'global') extractors."""
    return name.lower() in (LOCAL_EXTRACTORS if kind == "local" else GLOBAL_EXTRACTORS)


def _import(module: str, name: str, what: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise UnknownExtractorError(f"{what}: needs {module}.{name}, which is not available ({exc})") from exc


def options_class(kind: str, name: str) -> type:
    """The options dataclass of the ``kind`` ('local' or 'global') extractor ``name``."""
    key = name.lower()
    if not is_extractor(kind, key):
        known = LOCAL_EXTRACTORS if kind == "local" else GLOBAL_EXTRACTORS
        raise UnknownExtractorError(f"unknown {kind} extractor '{name}', known: {known}")
    family = "sift" if key.startswith("sift") else "learned" if key in ("aliked", "disk", "xfeat") else key
    return _import(*_OPTIONS[(kind, family)], name)


def options_from_mapping(kind: str, name: str, values: Mapping[str, Any] | None) -> Any:
    """The options dataclass of an extractor from a mapping of its fields (a config section)."""
    cls = options_class(kind, name)
    unknown = sorted(set(values or {}) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise ValueError(f"{name}: unknown option(s) {unknown} of {cls.__name__}")
    return cls(**(values or {}))


def _options(kind: str, name: str, options: Any) -> Any:
    """The options dataclass given, or its defaults for None."""
    cls = options_class(kind, name)
    if options is None:
        return cls()
    if isinstance(options, Mapping) and cls.__name__ == "LearnedOptions":  # the learned extractors' own API
        return options_from_mapping(kind, name, options)
    if not isinstance(options, cls):
        raise TypeError(f"{name}: options must be {cls.__name__}, got {type(options).__name__}")
    return options


def _require(model: Any, what: str) -> None:
    if model is None:
        raise ValueError(f"{what}: pass model=<fitted model, loaded network or its file path>")


def _network(model: Any, module: str, loader: str, what: str, device: str | None) -> tuple:
    """(network, extras...) from a checkpoint path, a loader's returned tuple, or a bare network."""
    _require(model, what)
    if isinstance(model, (str, Path)):
        return tuple(_import(module, loader, what)(model, device))
    return tuple(model) if isinstance(model, tuple) else (model,)


def get_local_extractor(name: str, options: Any = None, model: Any = None, device: str = "auto") -> LocalExtractor:
    """Local feature extractor by name: one of LOCAL_EXTRACTORS.

    options: the extractor's options dataclass (SiftOptions, LearnedOptions, ...; see
    ``options_from_mapping`` for a config section), or None for defaults. For 'sift-opencv' /
    'sift-pycolmap' the backend of ``options`` is overridden. model for 'r2d2': a checkpoint path
    (loaded on ``device``), the tuple load_r2d2 returns, or the network (kapturelike.features.r2d2).
    """
    key = name.lower()
    opts = _options("local", key, options)
    if key.startswith("sift"):
        from kapturelike.features.sift import make_sift_extractor

        if key in ("sift-opencv", "sift-pycolmap"):
            opts = dataclasses.replace(opts, backend=key.split("-", 1)[1])
        return make_sift_extractor(opts)
    if key in ("aliked", "disk", "xfeat"):
        if device != "auto" and opts.device == "auto":
            opts = dataclasses.replace(opts, device=device)
        return _import("kapturelike.features.learned", "make_learned_extractor", name)(key, opts)
    extract = _import("kapturelike.features.r2d2", "extract_r2d2", name)
    net = _network(model, "kapturelike.features.r2d2", "load_r2d2", name, device)[0]

    def r2d2(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kp, desc = extract(image, net, opts)[:2]
        return np.asarray(kp, np.float32), np.asarray(desc, np.float32)

    return r2d2


def get_global_extractor(name: str, options: Any = None, model: Any = None, device: str = "auto") -> GlobalExtractor:
    """Global feature extractor by name: one of GLOBAL_EXTRACTORS.

    'densevlad': model is a fitted DenseVladModel or the path of its saved .npz (fit it first with
    kapturelike.features.densevlad.fit_densevlad on the mapping images); options a DenseVladOptions.
    'apgem': model is a checkpoint path (loaded on ``device``), the (network, pca, info) tuple load_apgem
    returns (its PCA is then applied as APGeMOptions says), or a bare network; options an APGeMOptions.
    """
    key = name.lower()
    opts = _options("global", key, options)
    if key == "densevlad":
        from kapturelike.features.densevlad import DenseVladModel, extract_densevlad

        _require(model, name)
        loaded = DenseVladModel.load(model) if isinstance(model, (str, Path)) else model

        def densevlad(image: np.ndarray) -> np.ndarray:
            return extract_densevlad(image, loaded, opts)

        return densevlad
    extract = _import("kapturelike.features.apgem", "extract_apgem", name)
    loaded = _network(model, "kapturelike.features.apgem", "load_apgem", name, device)
    net, pca = loaded[0], (loaded[1] if len(loaded) > 2 else None)

    def apgem(image: np.ndarray) -> np.ndarray:
        # extract_apgem works on a batch of images; take the single row back out
        return np.asarray(extract([image], net, opts, pca=pca), np.float32)[0]

    return apgem
