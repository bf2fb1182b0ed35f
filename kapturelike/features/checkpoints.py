"""Safe loading and atomic saving of the official AP-GeM / R2D2 torch checkpoints.

Safety: checkpoints are read with ``torch.load(..., weights_only=True)``, torch's restricted
unpickler. It only calls the tensor rebuild helpers torch ships plus the globals listed in
``ALLOWED_GLOBALS`` below, which is exactly what the official files need: numpy's array/dtype/scalar
reconstructors (for the PCA arrays) and scikit-learn's ``PCA`` class, which is mapped to the inert
local stand-in :class:`PCAStandIn` (scikit-learn itself is never imported, and no method of the real
class ever runs). A pickle naming any other global (``os.system``, ``builtins.eval``, a ``__reduce__``
payload, ...) is refused before anything is called, and raises :class:`CheckpointError` naming the
offending globals. Object arrays are refused after loading, so nothing reaches user code that the
allow-list did not build.
"""

from __future__ import annotations

import os
import pickle
import re
import types
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kapturelike.errors import KapturelikeError
from kapturelike.io.text import atomic_write


class CheckpointError(KapturelikeError, ValueError):
    """A checkpoint file is corrupt, unsafe, or does not fit the network it should feed."""

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = str(path) if path is not None else None
        super().__init__(f"{self.path}: {message}" if self.path else message)


class PCAStandIn:
    """Inert holder for the fitted attributes of a pickled ``sklearn.decomposition.PCA``.

    Only the attributes are kept (``mean_``, ``components_``, ``explained_variance_``, ``whiten``,
    ``n_components_``, ...); :meth:`transform` reproduces scikit-learn's ``PCA.transform``.
    """

    mean_: np.ndarray
    components_: np.ndarray
    explained_variance_: np.ndarray
    whiten: bool

    def __setstate__(self, state: dict) -> None:
        if not isinstance(state, dict):
            raise CheckpointError(f"PCA state must be a dict, got {type(state).__name__}")
        # plain data fields only: nothing may shadow a method or a dunder of the stand-in
        bad = [k for k in state if not isinstance(k, str) or k.startswith("__") or hasattr(PCAStandIn, k)]
        if bad:
            raise CheckpointError(f"PCA state has forbidden field(s) {bad}")
        self.__dict__.update(state)

    def validate(self, where: str = "pca") -> None:
        """Check the fields a transform needs; raise CheckpointError naming the bad one."""
        for name in ("components_", "explained_variance_"):
            value = getattr(self, name, None)
            if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
                raise CheckpointError(f"{where}: PCA field '{name}' missing or not a float array")
        d = self.components_.shape[-1]
        mean = getattr(self, "mean_", None)
        if mean is not None and (not isinstance(mean, np.ndarray) or mean.shape != (d,)):
            raise CheckpointError(f"{where}: PCA field 'mean_' must be a ({d},) array")
        if self.components_.ndim != 2:
            raise CheckpointError(f"{where}: PCA 'components_' must be 2-D, got {self.components_.shape}")
        if self.explained_variance_.shape != (self.components_.shape[0],):
            raise CheckpointError(f"{where}: PCA field 'explained_variance_' does not match 'components_'")

    def transform(self, x: np.ndarray, whitenp: float = 0.5, whitenv: int | None = None,
                  whitenm: float = 1.0) -> np.ndarray:
        """(N, D) -> (N, K). With the defaults this is ``sklearn.decomposition.PCA.transform``; whitenp,
        whitenv and whitenm are dirtorch's whitening power, kept components and multiplier."""
        y = np.asarray(x, np.float64)
        if getattr(self, "mean_", None) is not None:
            y = y - self.mean_
        y = y @ self.components_[:whitenv].T
        if getattr(self, "whiten", False):
            y /= whitenm * np.power(self.explained_variance_[:whitenv], whitenp)
        return y


def _allowed_globals() -> list[Any]:
    core = np._core.multiarray
    entries: list[Any] = [
        OrderedDict, np.ndarray, np.dtype,
        (core._reconstruct, "numpy.core.multiarray._reconstruct"),
        (core._reconstruct, "numpy._core.multiarray._reconstruct"),
        (core.scalar, "numpy.core.multiarray.scalar"),
        (core.scalar, "numpy._core.multiarray.scalar"),
        (PCAStandIn, "sklearn.decomposition.pca.PCA"),
        (PCAStandIn, "sklearn.decomposition._pca.PCA"),
    ]
    # BUILD on a dtype instance checks the dtype's concrete class (numpy >= 1.25).
    for kind in ("Float16DType", "Float32DType", "Float64DType", "Int32DType", "Int64DType", "BoolDType",
                 "UInt8DType"):
        cls = getattr(getattr(np, "dtypes", None), kind, None)
        if cls is not None:
            entries.append(cls)
    return entries


ALLOWED_GLOBALS = _allowed_globals()


def _reject_object_arrays(obj: Any, path: Path, depth: int = 0) -> None:
    if depth > 8:
        return
    if isinstance(obj, np.ndarray) and obj.dtype.kind == "O":
        raise CheckpointError("object arrays are not allowed in checkpoints", path)
    if isinstance(obj, Mapping):
        for v in obj.values():
            _reject_object_arrays(v, path, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _reject_object_arrays(v, path, depth + 1)
    elif isinstance(obj, PCAStandIn):
        _reject_object_arrays(obj.__dict__, path, depth + 1)


def _unsafe_globals(path: Path) -> list[str]:
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
    except Exception:  # legacy (non-zip) files cannot be scanned; the load error still names the global
        return []


def safe_load(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint dict with the restricted unpickler; raise CheckpointError on anything else."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("checkpoint file not found", path)
    try:
        with torch.serialization.safe_globals(ALLOWED_GLOBALS):
            obj = torch.load(str(path), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        msg = str(e)
        named = re.findall(r"GLOBAL ([\w.]+)", msg)
        named = named or [g for g in _unsafe_globals(path) if g not in _allowed_names()]
        if named:
            raise CheckpointError(f"unsafe checkpoint, nothing loaded: refused global(s) "
                                  f"{sorted(set(named))} "
                                  "(not in the allow-list: the file is hostile, from an unknown source, "
                                  "or truncated)", path) from None
        detail = next((ln.strip() for ln in msg.splitlines() if "WeightsUnpickler error" in ln), msg[:300])
        raise CheckpointError(f"corrupt or unsupported checkpoint ({detail})", path) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, KeyError, AttributeError,
            TypeError, IndexError) as e:
        raise CheckpointError(f"corrupt or truncated checkpoint ({type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''})", path) from e
    if not isinstance(obj, dict):
        raise CheckpointError(f"expected a dict at top level, got {type(obj).__name__}", path)
    _reject_object_arrays(obj, path)
    return obj


def _allowed_names() -> set[str]:
    names = set()
    for g in ALLOWED_GLOBALS:
        names.add(g[1] if isinstance(g, tuple) else f"{g.__module__}.{g.__qualname__}")
    return names


def strip_module_prefix(state_dict: Mapping[str, torch.Tensor]) -> OrderedDict:
    """Remove the ``module.`` prefix nn.DataParallel adds to every key."""
    return OrderedDict((k.removeprefix("module."), v) for k, v in state_dict.items())


def load_state_dict_strict(model: torch.nn.Module, state_dict: Mapping[str, torch.Tensor],
                           path: str | Path | None = None) -> None:
    """Load weights into ``model``; any missing/unexpected key or shape mismatch is a CheckpointError."""
    if not isinstance(state_dict, Mapping):
        raise CheckpointError(f"field 'state_dict' must be a mapping, got {type(state_dict).__name__}", path)
    state_dict = strip_module_prefix(state_dict)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    if missing or unexpected:
        more = lambda keys: " ..." if len(keys) > 20 else ""  # noqa: E731
        raise CheckpointError(f"state_dict does not fit {type(model).__name__}: "
                              f"{len(missing)} missing keys {missing[:20]}{more(missing)}, "
                              f"{len(unexpected)} unexpected keys {unexpected[:20]}{more(unexpected)}", path)
    bad = [f"{k}: file {tuple(v.shape)} vs model {tuple(expected[k].shape)}"
           for k, v in state_dict.items() if not isinstance(v, torch.Tensor) or v.shape != expected[k].shape]
    if bad:
        raise CheckpointError(f"state_dict shape mismatch: {bad[:10]}", path)
    model.load_state_dict(state_dict, strict=True)


class _OfficialNamePickler(pickle._Pickler):
    """Writes PCAStandIn under scikit-learn's class name, so saved files keep the official layout."""

    def save_global(self, obj: Any, name: str | None = None) -> None:
        if obj is PCAStandIn:
            self.write(pickle.GLOBAL + b"sklearn.decomposition._pca\nPCA\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)


_OFFICIAL_PICKLE_MODULE = types.SimpleNamespace(__name__="kapturelike_pickle", Pickler=_OfficialNamePickler)


def save_checkpoint_atomic(checkpoint: dict, path: str | Path) -> Path:
    """torch.save to a temporary file in the same folder, then rename: readers never see half a file.

    PCAStandIn objects are written as ``sklearn.decomposition._pca.PCA`` (the official name)."""
    path = Path(path)
    with atomic_write(path, "wb") as f:
        torch.save(checkpoint, f, pickle_module=_OFFICIAL_PICKLE_MODULE)
        f.flush()
        os.fsync(f.fileno())
    return path
