"""The one YAML configuration of the mapping and localization pipelines.

Every section maps to the options dataclass of its step; unknown keys are errors (a typo must not
silently fall back to a default). ``PipelineConfig.to_dict()`` is what the pipelines log and save.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kapturelike.errors import FormatError


@dataclass
class FeaturesConfig:
    local: str = "sift"  # local feature type: sift, r2d2, aliked, disk, xfeat
    local_options: dict[str, Any] = field(default_factory=dict)  # fields of the extractor's options
    local_checkpoint: str | None = None  # weights file for learned local features (r2d2)
    global_: str = "densevlad"  # global feature type(s): densevlad, apgem; comma separated for late fusion
    global_options: dict[str, Any] = field(default_factory=dict)
    global_checkpoint: str | None = None  # AP-GeM weights file
    fusion: str = "generalized_harmonic"  # late fusion operator when several global types are given


@dataclass
class PairsConfig:
    topk_mapping: int = 10  # retrieved neighbours per map image
    topk_localization: int = 10  # retrieved map images per query
    # maps with at most this many images are matched exhaustively, without global features: below ~20
    # images epipolar-guided matching of every pair costs less than fitting and extracting DenseVLAD
    exhaustive_below: int = 20


@dataclass
class PipelineConfig:
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    pairs: PairsConfig = field(default_factory=PairsConfig)
    matching: dict[str, Any] = field(default_factory=lambda: {"ratio_threshold": 0.8})  # mnn.MatchingOptions
    # mnn: nearest neighbours with `matching`; lightglue: LightGlue (features.local disk or aliked, extra: learned)
    matcher: str = "mnn"
    # localization matches a query against: points, the 3D points seen in its retrieved map images (one
    # product, MNN only, without verification); images, each retrieved map image in turn (2D-2D)
    query_matching: str = "points"
    verification: dict[str, Any] = field(default_factory=dict)  # kapturelike.matching.verification options
    triangulation: dict[str, Any] = field(default_factory=dict)  # kapturelike.geometry.triangulation options
    localization_preset: str = "config1"  # paper Table 1: config1, config2, config3
    localization: dict[str, Any] = field(default_factory=dict)  # overrides of the preset
    rig_localization: bool = True  # localize rig images jointly (generalized absolute pose)
    postprocess_rig: bool = True  # recover failed cameras from localized rig siblings
    postprocess_sequence: bool = True  # recover failed images by interpolation within sequences
    rig_time_tolerance: int = 0  # timestamp units
    sequence_gap: int = 0  # timestamp gap that starts a new sequence; 0: automatic (5x median step)
    eval_thresholds: list[tuple[float, float]] = field(
        default_factory=lambda: [(0.25, 2.0), (0.5, 5.0), (5.0, 10.0)])
    ltvl_convention: str = "full"  # benchmark image-name convention (kapturelike.converters.ltvl.CONVENTIONS)
    device: str = "auto"  # torch device for networks and matching: auto, cpu, cuda

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["features"]["global"] = data["features"].pop("global_")
        data["eval_thresholds"] = [list(t) for t in self.eval_thresholds]
        return data


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    names = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        attr = "global_" if key == "global" and "global_" in names else key
        if attr not in names:
            raise FormatError(f"unknown setting '{key}' (known: {', '.join(k.rstrip('_') for k in names)})",
                              where, None, key)
        sub = names[attr].default_factory if names[attr].default_factory is not dataclasses.MISSING else None
        if dataclasses.is_dataclass(sub) and isinstance(value, dict):
            value = _build(sub, value, where)
        kwargs[attr] = value
    return cls(**kwargs)


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> PipelineConfig:
    """Defaults, then the YAML file, then ``overrides`` (same nesting as the file)."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise FormatError(f"invalid YAML: {getattr(e, 'problem', e)}", path,
                              mark.line + 1 if mark else None) from None
        if not isinstance(data, dict):
            raise FormatError("the configuration must be a mapping of settings", path, 1)
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    config = _build(PipelineConfig, data, str(path) if path else "<overrides>")
    config.eval_thresholds = [tuple(t) for t in config.eval_thresholds]
    return config


def save_config(config: PipelineConfig, path: str | Path) -> None:
    from kapturelike.io.text import atomic_write

    with atomic_write(path) as f:
        yaml.safe_dump(config.to_dict(), f, sort_keys=False)
