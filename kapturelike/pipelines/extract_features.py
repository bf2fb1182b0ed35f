"""Steps: local features and global features for a batch of images, written to a FeatureStore."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import FeatureType
from kapturelike.errors import FormatError, MissingDataError
from kapturelike.io.features import FeatureStore, KaptureFeatureStore
from kapturelike.io.images import load_image
from kapturelike.pipelines.config import FeaturesConfig, PipelineConfig
from kapturelike.pipelines.steps import StepReport, run_batched, timed_step

LocalExtractor = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
GlobalExtractor = Callable[[np.ndarray], np.ndarray]

DENSEVLAD_MODEL_FILE = "densevlad_model.npz"


def _ensure_type(store: FeatureStore, kind: str, name: str, array: np.ndarray, keypoints_type: str | None = None,
                 metric: str | None = None) -> None:
    try:
        existing = store.read_type(kind, name)
    except MissingDataError:
        existing = None
    wanted = FeatureType(kind, name, array.dtype, int(array.shape[-1]), keypoints_type=keypoints_type,
                         metric_type=metric)
    if existing is None:
        store.write_type(wanted)
    elif not existing.same_type(wanted):
        raise ValueError(f"{kind} type '{name}' on disk is {existing.dtype_name} x {existing.dsize}, the extractor "
                         f"gives {wanted.dtype_name} x {wanted.dsize}: choose another type name or remove it")


def extract_local_features(image_names: Sequence[str], image_root: Path, store: FeatureStore, type_name: str,
                           extractor: LocalExtractor, overwrite: bool = False) -> StepReport:
    """Keypoints and descriptors of each image not done yet (both files present). An extractor marked
    ``thread_safe`` (SIFT) runs on one image per core at a time; networks run one image at a time."""
    report = StepReport(f"local features ({type_name})")

    def is_done(name: str) -> bool:
        return store.has("keypoints", type_name, name) and store.has("descriptors", type_name, name)

    def extract(name: str) -> tuple[np.ndarray, np.ndarray]:
        return extractor(load_image(Path(image_root) / name))

    def process(batch: list[str]):
        # decoding and OpenCV's SIFT release the GIL: a batch is extracted by one thread per core
        with ThreadPoolExecutor(min(len(batch), workers)) as pool:
            features = list(pool.map(extract, batch))
        for name, (keypoints, descriptors) in zip(batch, features):
            _ensure_type(store, "keypoints", type_name, keypoints)
            _ensure_type(store, "descriptors", type_name, descriptors, keypoints_type=type_name, metric="L2")
            # descriptors first: an image counts as done once its keypoints exist too
            store.write("descriptors", type_name, name, descriptors)
            store.write("keypoints", type_name, name, keypoints)
            yield name, None

    workers = (os.cpu_count() or 1) if getattr(extractor, "thread_safe", False) else 1
    with timed_step(report):
        run_batched(report, image_names, is_done, process, batch_size=2 * workers, overwrite=overwrite)
    return report


def extract_global_features(image_names: Sequence[str], image_root: Path, store: FeatureStore, type_name: str,
                            extractor: GlobalExtractor, overwrite: bool = False) -> StepReport:
    report = StepReport(f"global features ({type_name})")

    def process(batch: list[str]):
        for name in batch:
            feature = np.asarray(extractor(load_image(Path(image_root) / name)), dtype=np.float32).reshape(-1)
            _ensure_type(store, "global_features", type_name, feature[None], metric="L2")
            store.write("global_features", type_name, name, feature)
            yield name, None

    with timed_step(report):
        run_batched(report, image_names, lambda n: store.has("global_features", type_name, n), process,
                    overwrite=overwrite)
    return report


def _resolve_device(device: str) -> str | None:
    return None if device == "auto" else device


def _options(cls: type, values: dict, where: str):
    """The extractor's options dataclass from a config section; a misspelt key names the section."""
    try:
        return cls(**(values or {}))
    except (TypeError, ValueError) as e:
        raise FormatError(str(e), None, None, where) from None


def make_local_extractor(config: FeaturesConfig, device: str = "auto") -> LocalExtractor:
    """The configured local extractor: options built from ``local_options``, weights loaded when needed."""
    from kapturelike.features.registry import get_local_extractor

    name = config.local.lower()
    options, model = config.local_options or None, None
    if name.startswith("sift"):
        from kapturelike.features.sift import SiftOptions

        options = _options(SiftOptions, config.local_options, "features.local_options")
    elif name == "r2d2":
        from kapturelike.features.r2d2 import R2D2Options, load_r2d2

        if not config.local_checkpoint:
            raise MissingDataError("features.local_checkpoint: r2d2 needs a weights file")
        options = _options(R2D2Options, config.local_options, "features.local_options")
        model, _ = load_r2d2(config.local_checkpoint, _resolve_device(device))
    try:
        return get_local_extractor(name, options, model)
    except ValueError as e:  # unknown name or unavailable module: a configuration error, in one line
        raise FormatError(str(e), None, None, "features.local") from None


def global_types(config: FeaturesConfig) -> list[str]:
    return [t.strip() for t in config.global_.split(",") if t.strip()]


def make_global_extractor(type_name: str, config: FeaturesConfig, model_dir: Path, map_images: Sequence[str],
                          image_root: Path, device: str = "auto", fit: bool = False) -> GlobalExtractor:
    """A global extractor; DenseVLAD learns its vocabulary and PCA from the map images once (``fit``)
    and saves them beside the map's global features, so queries reuse exactly the same model."""
    if type_name == "densevlad":
        from kapturelike.features.densevlad import (
            DenseVladModel,
            DenseVladOptions,
            extract_densevlad,
            fit_densevlad,
        )

        options = _options(DenseVladOptions, config.global_options, "features.global_options")
        model_path = Path(model_dir) / DENSEVLAD_MODEL_FILE
        if model_path.is_file():
            model = DenseVladModel.load(model_path)
        elif fit:
            model = fit_densevlad(lambda: (load_image(Path(image_root) / n) for n in map_images), options)
            model.save(model_path)
        else:
            raise MissingDataError(f"{model_path}: the map has no DenseVLAD model; run the mapping pipeline first")
        return lambda image: extract_densevlad(image, model, options)
    if type_name == "apgem":
        from kapturelike.features.apgem import APGeMOptions, extract_apgem, load_apgem

        if not config.global_checkpoint:
            raise MissingDataError("features.global_checkpoint: apgem needs a weights file")
        options = _options(APGeMOptions, config.global_options, "features.global_options")
        model, pcas, _ = load_apgem(config.global_checkpoint, _resolve_device(device))
        # called directly rather than through the registry so the checkpoint's PCA whitening applies
        return lambda image: extract_apgem([image], model, options, pcas)[0]
    from kapturelike.features.registry import get_global_extractor

    try:
        return get_global_extractor(type_name, config.global_options or None)
    except ValueError as e:
        raise FormatError(str(e), None, None, "features.global") from None


def output_dataset(kapture_dir: Path, output_dir: Path | None) -> Path:
    """Where features go: the input itself, or another folder made a kapture of the same images."""
    if output_dir is None or Path(output_dir).resolve() == Path(kapture_dir).resolve():
        return Path(kapture_dir)
    from kapturelike.io.dataset import load_kapture
    from kapturelike.pipelines.mapping import prepare_dataset

    output_dir = Path(output_dir)
    if not (output_dir / "sensors" / "sensors.txt").is_file():
        prepare_dataset(load_kapture(kapture_dir), Path(kapture_dir), output_dir)
    return output_dir


def _image_names(kapture_dir: Path) -> list[str]:
    from kapturelike.io.dataset import load_kapture

    names = load_kapture(kapture_dir).image_names()
    if not names:
        raise MissingDataError(f"{kapture_dir}: no images (sensors/records_camera.txt is empty or missing)")
    return names


def main(kapture_dir: str | Path, output_dir: str | Path | None = None, config: PipelineConfig | None = None,
         overwrite: bool = False) -> StepReport:
    """Local features (``config.features.local``) of every image of a kapture dataset.

    They are written to ``output_dir`` (default: the dataset itself); a separate output folder is made
    a kapture dataset of the same sensors, with its images linked, so later steps can read it alone.
    """
    from kapturelike.io.dataset import records_data_path

    config = config or PipelineConfig()
    kapture_dir = Path(kapture_dir)
    names = _image_names(kapture_dir)
    store = KaptureFeatureStore(output_dataset(kapture_dir, output_dir))
    return extract_local_features(names, records_data_path(kapture_dir), store, config.features.local,
                                  make_local_extractor(config.features, config.device), overwrite=overwrite)


def main_global(kapture_dir: str | Path, output_dir: str | Path | None = None,
                config: PipelineConfig | None = None, map_dir: str | Path | None = None,
                overwrite: bool = False) -> list[StepReport]:
    """Global features of every image, one report per type of ``config.features.global``.

    DenseVLAD needs a model fitted on map images: with ``map_dir`` (queries) the model saved there is
    used and must exist; without it the dataset is the map and the model is fitted on its images.
    """
    from kapturelike.io.dataset import records_data_path

    config = config or PipelineConfig()
    kapture_dir = Path(kapture_dir)
    names = _image_names(kapture_dir)
    if map_dir is not None and not (Path(map_dir) / "sensors" / "sensors.txt").is_file():
        raise MissingDataError(f"{map_dir}: not a kapture dataset (sensors/sensors.txt is missing)")
    store = KaptureFeatureStore(output_dataset(kapture_dir, output_dir))
    model_store = KaptureFeatureStore(map_dir) if map_dir is not None else store
    image_root = records_data_path(kapture_dir)
    reports = []
    for gtype in global_types(config.features):
        extractor = make_global_extractor(gtype, config.features, model_store.folder("global_features", gtype),
                                          names, image_root, config.device, fit=map_dir is None)
        reports.append(extract_global_features(names, image_root, store, gtype, extractor, overwrite))
    return reports
