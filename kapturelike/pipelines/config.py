"""The one YAML configuration of the mapping and localization pipelines, typed end to end.

Every section is the options dataclass of its step (``matching`` is ``MatchingOptions``,
``verification`` ``VerificationOptions``, ...); a section given in the file replaces only the keys
it names, the others keep ``PipelineConfig()``'s values. An unknown or misspelt key, or a value of
the wrong type, is a one-line error at load time naming the key and the known ones, before any work.
``datasets/configs/default.yaml`` lists every key with its default (a test checks they agree).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kapturelike.errors import FormatError
from kapturelike.geometry.absolute_pose import PRESETS, LocalizationOptions, options_from_dict
from kapturelike.geometry.triangulation import TriangulationOptions
from kapturelike.matching.mnn import MatchingOptions
from kapturelike.matching.points import PointMatchingOptions
from kapturelike.matching.verification import VerificationOptions
from kapturelike.retrieval.faiss_index import FaissIndexOptions


@dataclass
class FeaturesConfig:
    local: str = "sift"  # local feature type: sift, r2d2, aliked, disk, xfeat
    local_options: dict[str, Any] = field(default_factory=dict)  # fields of the extractor's options
    local_checkpoint: str | None = None  # weights file for learned local features (r2d2)
    descriptors: str | None = None  # descriptors type when it differs from the keypoints type
    global_: str = "densevlad"  # global feature type(s): densevlad, apgem; comma separated for late fusion
    global_options: dict[str, Any] = field(default_factory=dict)
    global_checkpoint: str | None = None  # AP-GeM weights file
    fusion: str = "generalized_harmonic"  # late fusion operator when several global types are given
    store: str = "kapture"  # where computed features go: kapture (per-file layout) or hdf5 (one features.h5)


@dataclass
class PairsConfig:
    topk_mapping: int = 10  # retrieved neighbours per map image
    topk_localization: int = 10  # retrieved map images per query
    # maps with at most this many images are matched exhaustively, without global features: up to ~40-50
    # images epipolar-guided matching of every pair costs less than fitting and extracting DenseVLAD
    # (benchmarks/bench_pipeline.py --scene synthetic, 24 map images: 17 s end to end instead of 33 s)
    # (global features already given, e.g. kapture-localization's -gfeat, are used with the top k instead)
    exhaustive_below: int = 40
    index: str = "dense"  # retrieval index: dense (exact, torch) | faiss (extra: faiss; saved beside the map)
    faiss: FaissIndexOptions = field(default_factory=FaissIndexOptions)  # kind, nlist, m, nprobe, ...


LocalizationOverrides = dataclasses.make_dataclass(
    "LocalizationOverrides",
    [(f.name, Any, None) for f in dataclasses.fields(LocalizationOptions) if f.name != "extra"],
    namespace={"__doc__": "Fields of LocalizationOptions that replace the preset's; None keeps the preset's."})


@dataclass
class PipelineConfig:
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    pairs: PairsConfig = field(default_factory=PairsConfig)
    matching: MatchingOptions = field(default_factory=lambda: MatchingOptions(ratio_threshold=0.8))
    # mnn: nearest neighbours with `matching`; lightglue: LightGlue (features.local disk or aliked, extra: learned)
    matcher: str = "mnn"
    # localization matches a query against: points, the 3D points seen in its retrieved map images (one
    # product, MNN only, without verification); images, each retrieved map image in turn (2D-2D)
    query_matching: str = "points"
    # points: a coarse pose from the strongest keypoints, then matching near the projected points
    point_matching: PointMatchingOptions = field(default_factory=PointMatchingOptions)
    verification: VerificationOptions = field(default_factory=VerificationOptions)
    triangulation: TriangulationOptions = field(default_factory=TriangulationOptions)
    localization_preset: str = "config1"  # paper Table 1: config1, config2, config3
    localization: LocalizationOverrides = field(default_factory=LocalizationOverrides)  # type: ignore[valid-type]
    rig_localization: bool = True  # localize rig images jointly (generalized absolute pose)
    postprocess_rig: bool = True  # recover failed cameras from localized rig siblings
    postprocess_sequence: bool = True  # recover failed images by interpolation within sequences
    rig_time_tolerance: int = 0  # timestamp units
    sequence_gap: int = 0  # timestamp gap that starts a new sequence; 0: automatic (5x median step)
    eval_thresholds: list[tuple[float, float]] = field(
        default_factory=lambda: [(0.25, 2.0), (0.5, 5.0), (5.0, 10.0)])
    ltvl_convention: str = "full"  # benchmark image-name convention (kapturelike.converters.ltvl.CONVENTIONS)
    device: str = "auto"  # torch device for networks and matching: auto, cpu, cuda
    # where extraction, matching and PnP run: "" (here), local:N (a Dask LocalCluster of N processes) or a Dask
    # scheduler address (tcp://host:8786); extra: requirements-dask.txt; see docs/scaling.md
    scheduler: str = ""

    def matching_options(self) -> MatchingOptions:
        """``matching`` with the pipeline's device when the section leaves it 'auto'."""
        if self.matching.device == "auto":
            return dataclasses.replace(self.matching, device=self.device)
        return self.matching

    def localization_options(self) -> LocalizationOptions:
        """The preset with the ``localization`` overrides applied."""
        overrides = {k: v for k, v in dataclasses.asdict(self.localization).items() if v is not None}
        return options_from_dict(self.localization_preset, overrides)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["features"] = {_key(k): v for k, v in data["features"].items()}
        data["eval_thresholds"] = [list(t) for t in self.eval_thresholds]
        return data


def _key(name: str) -> str:
    return name.rstrip("_")


def _check_type(value: Any, default: Any, where: str) -> None:
    """Values of a field whose default is a bool, number or string must be of that kind."""
    if default is None or value is None:
        return
    kinds = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}.get(type(default))
    if kinds is None:
        return
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise ValueError(f"'{where}' must be a {type(default).__name__}, got {value!r}")


def _build(default: Any, data: dict[str, Any], section: str) -> Any:
    """``default`` (a dataclass instance) with the keys of ``data`` replaced, recursively."""
    if not isinstance(data, dict):
        raise ValueError(f"'{section}' must be a mapping of settings, got {data!r}")
    fields = {_key(f.name): f for f in dataclasses.fields(default)}
    changes = {}
    for key, value in data.items():
        where = f"{section}.{key}" if section else str(key)
        if key not in fields:
            raise ValueError(f"unknown setting '{where}' (known: {', '.join(fields)})")
        current = getattr(default, fields[key].name)
        if dataclasses.is_dataclass(current):
            value = _build(current, value, where)
        else:
            _check_type(value, current, where)
        changes[fields[key].name] = value
    try:
        return dataclasses.replace(default, **changes)
    except (TypeError, ValueError) as e:
        raise ValueError(f"'{section}': {e}") from None


def _check_extractor_options(config: FeaturesConfig) -> None:
    """``local_options`` / ``global_options`` against the options dataclass of the named extractor."""
    from kapturelike.features.registry import options_class

    checks = [("local", config.local, config.local_options)]
    checks += [("global", t, config.global_options) for t in config.global_.split(",") if t.strip()]
    for kind, name, values in checks:
        if not values:
            continue
        cls = options_class(kind, name.strip())
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in values if k not in known]
        if unknown:
            raise ValueError(f"unknown setting 'features.{kind}_options.{unknown[0]}' for '{name.strip()}' "
                             f"(known: {', '.join(known)})")
        try:
            cls(**values)
        except (TypeError, ValueError) as e:
            raise ValueError(f"'features.{kind}_options': {e}") from None


FEATURE_STORES = ("kapture", "hdf5")


def _validate(config: PipelineConfig) -> None:
    if config.features.store not in FEATURE_STORES:
        raise ValueError(f"unknown setting value 'features.store: {config.features.store}' "
                         f"(known: {', '.join(FEATURE_STORES)})")
    if config.localization_preset not in PRESETS:
        raise ValueError(f"unknown setting value 'localization_preset: {config.localization_preset}' "
                         f"(known: {', '.join(PRESETS)})")
    config.localization_options()
    _check_extractor_options(config.features)
    config.eval_thresholds = [tuple(float(v) for v in t) for t in config.eval_thresholds]
    if any(len(t) != 2 for t in config.eval_thresholds):
        raise ValueError("'eval_thresholds' must be a list of [metres, degrees] pairs")


def read_yaml_settings(path: str | Path) -> dict[str, Any]:
    """The mapping of settings in a YAML file; a FormatError naming file and line otherwise."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise FormatError(f"invalid YAML: {getattr(e, 'problem', e)}", path, mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise FormatError("the configuration must be a mapping of settings", path, 1)
    return data


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> PipelineConfig:
    """Defaults, then the YAML file, then ``overrides`` (same nesting as the file); checked before use."""
    data = read_yaml_settings(path) if path is not None else {}
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    try:
        config = _build(PipelineConfig(), data, "")
        _validate(config)
    except ValueError as e:
        raise FormatError(str(e), str(path) if path is not None else "<overrides>") from None
    return config


def save_config(config: PipelineConfig, path: str | Path) -> None:
    from kapturelike.io.text import atomic_write

    with atomic_write(path) as f:
        yaml.safe_dump(config.to_dict(), f, sort_keys=False)
