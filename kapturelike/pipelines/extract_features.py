"""Steps: local features and global features for a batch of images, written to a FeatureStore."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import FeatureType
from kapturelike.errors import FormatError, MissingDataError
from kapturelike.features.registry import (
    GlobalExtractor,
    LocalExtractor,
    get_global_extractor,
    get_local_extractor,
    is_extractor,
    options_from_mapping,
)
from kapturelike.io.dataset import record_file, records_data_path
from kapturelike.io.features import FeatureStore, KaptureFeatureStore
from kapturelike.io.images import load_image
from kapturelike.pipelines.config import FeaturesConfig, PipelineConfig
from kapturelike.pipelines.executor import STEP_ERRORS, Computed, Executor, InProcess, run_batches
from kapturelike.pipelines.steps import StepReport, timed_step
from kapturelike.pipelines.workspace import load_with_images, output_dataset, require_kapture

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


@dataclass
class _ExtractTask:
    """A batch of images -> their features, on a worker (or here): the extractor, where the images are,
    and how many threads extract at once (a ``thread_safe`` extractor, in-process: one per core)."""

    extractor: LocalExtractor | GlobalExtractor
    image_root: Path
    threads: int = 1

    def extract(self, name: str) -> Computed:
        try:
            return Computed(name, self.extractor(load_image(record_file(self.image_root, name))))
        except STEP_ERRORS as e:
            return Computed(name, error=f"{type(e).__name__}: {e}")

    def __call__(self, names: list[str]) -> list[Computed]:
        if self.threads <= 1 or len(names) <= 1:
            return [self.extract(n) for n in names]
        # decoding and OpenCV's SIFT release the GIL: a batch is extracted by one thread per core
        with ThreadPoolExecutor(min(len(names), self.threads)) as pool:
            return list(pool.map(self.extract, names))


def extract_local_features(image_names: Sequence[str], image_root: Path, store: FeatureStore, type_name: str,
                           extractor: LocalExtractor, overwrite: bool = False,
                           executor: Executor | None = None) -> StepReport:
    """Keypoints and descriptors of each image not done yet (both files present). An extractor marked
    ``thread_safe`` runs on one image per core at a time in-process; SIFT is not marked (two 1536 x 1024
    images in flight took mapping past 1 GB for no measurable gain), networks run one image at a time.
    ``executor`` runs the extraction (default: here; a Dask worker uses one thread), this process writes."""
    report = StepReport(f"local features ({type_name})", input_step=True)

    def is_done(name: str) -> bool:
        return store.has("keypoints", type_name, name) and store.has("descriptors", type_name, name)

    def write(name: str, features: tuple[np.ndarray, np.ndarray]) -> None:
        keypoints, descriptors = features
        _ensure_type(store, "keypoints", type_name, keypoints)
        _ensure_type(store, "descriptors", type_name, descriptors, keypoints_type=type_name, metric="L2")
        # descriptors first: an image counts as done once its keypoints exist too
        store.write("descriptors", type_name, name, descriptors)
        store.write("keypoints", type_name, name, keypoints)

    in_process = executor is None or isinstance(executor, InProcess)
    workers = (os.cpu_count() or 1) if getattr(extractor, "thread_safe", False) else 1
    task = _ExtractTask(extractor, Path(image_root), workers if in_process else 1)
    with timed_step(report):
        # on Dask one image per task: small maps spread evenly over the workers (an image's result is its only cost)
        run_batches(report, image_names, is_done, task, write, executor, batch_size=2 * workers if in_process else 1,
                    overwrite=overwrite)
    return report


def extract_global_features(image_names: Sequence[str], image_root: Path, store: FeatureStore, type_name: str,
                            extractor: GlobalExtractor, overwrite: bool = False,
                            executor: Executor | None = None) -> StepReport:
    report = StepReport(f"global features ({type_name})", input_step=True)

    def write(name: str, feature: np.ndarray) -> None:
        feature = np.asarray(feature, dtype=np.float32).reshape(-1)
        _ensure_type(store, "global_features", type_name, feature[None], metric="L2")
        store.write("global_features", type_name, name, feature)

    with timed_step(report):
        run_batches(report, image_names, lambda n: store.has("global_features", type_name, n),
                    _ExtractTask(extractor, Path(image_root)), write, executor, overwrite=overwrite)
    return report


def make_local_extractor(config: FeaturesConfig, device: str = "auto") -> LocalExtractor:
    """The configured local extractor: options built from ``local_options``, weights loaded when needed."""
    name = config.local.lower()
    if name == "r2d2" and not config.local_checkpoint:
        raise MissingDataError("features.local_checkpoint: r2d2 needs a weights file")
    try:
        options = options_from_mapping("local", name, config.local_options)
        return get_local_extractor(name, options, config.local_checkpoint, device)
    except (TypeError, ValueError) as e:  # unknown name, bad option or unavailable module: one line
        raise FormatError(str(e), None, None, "features.local_options" if config.local_options and
                          is_extractor("local", name) else "features.local") from None


def global_types(config: FeaturesConfig) -> list[str]:
    return [t.strip() for t in config.global_.split(",") if t.strip()]


def make_global_extractor(type_name: str, config: FeaturesConfig, model_store: FeatureStore,
                          map_images: Sequence[str], image_root: Path, device: str = "auto",
                          fit: bool = False) -> GlobalExtractor:
    """A global extractor; DenseVLAD learns its vocabulary and PCA from the map images once (``fit``)
    and saves them beside the map's global features (in ``model_store``), so queries reuse the same model."""
    model: object = config.global_checkpoint
    if type_name == "densevlad":
        from kapturelike.features.densevlad import DenseVladModel, fit_densevlad

        model_path = model_store.aux_path("global_features", type_name, DENSEVLAD_MODEL_FILE)
        if model_path.is_file():
            model = DenseVladModel.load(model_path)
        elif fit:
            options = options_from_mapping("global", "densevlad", config.global_options)
            model = fit_densevlad(lambda: (load_image(record_file(image_root, n)) for n in map_images), options)
            model.save(model_path)
        else:
            raise MissingDataError(f"{model_path}: the map has no DenseVLAD model; run the mapping pipeline first")
    elif type_name == "apgem" and not config.global_checkpoint:
        raise MissingDataError("features.global_checkpoint: apgem needs a weights file")
    try:
        options = options_from_mapping("global", type_name, config.global_options)
        return get_global_extractor(type_name, options, model, device)
    except (TypeError, ValueError) as e:
        raise FormatError(str(e), None, None, "features.global") from None


def main(kapture_dir: str | Path, output_dir: str | Path | None = None, config: PipelineConfig | None = None,
         overwrite: bool = False) -> StepReport:
    """Local features (``config.features.local``) of every image of a kapture dataset.

    They are written to ``output_dir`` (default: the dataset itself); a separate output folder is made
    a kapture dataset of the same sensors, with its images linked, so later steps can read it alone.
    """
    config = config or PipelineConfig()
    kapture_dir = Path(kapture_dir)
    kapture, names = load_with_images(kapture_dir)
    store = KaptureFeatureStore(output_dataset(kapture_dir, output_dir, kapture))
    return extract_local_features(names, records_data_path(kapture_dir), store, config.features.local,
                                  make_local_extractor(config.features, config.device), overwrite=overwrite)


def main_global(kapture_dir: str | Path, output_dir: str | Path | None = None,
                config: PipelineConfig | None = None, map_dir: str | Path | None = None,
                overwrite: bool = False) -> list[StepReport]:
    """Global features of every image, one report per type of ``config.features.global``.

    DenseVLAD needs a model fitted on map images: with ``map_dir`` (queries) the model saved there is
    used and must exist; without it the dataset is the map and the model is fitted on its images.
    """
    config = config or PipelineConfig()
    kapture_dir = Path(kapture_dir)
    kapture, names = load_with_images(kapture_dir)
    if map_dir is not None:
        require_kapture(map_dir)
    store = KaptureFeatureStore(output_dataset(kapture_dir, output_dir, kapture))
    model_store = KaptureFeatureStore(map_dir) if map_dir is not None else store
    image_root = records_data_path(kapture_dir)
    reports = []
    for gtype in global_types(config.features):
        extractor = make_global_extractor(gtype, config.features, model_store, names, image_root, config.device,
                                          fit=map_dir is None)
        reports.append(extract_global_features(names, image_root, store, gtype, extractor, overwrite))
    return reports
