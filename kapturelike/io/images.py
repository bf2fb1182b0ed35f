"""Reading and writing image files: the one place that touches image files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from kapturelike.errors import FormatError, MissingDataError
from kapturelike.io.text import atomic_write


def load_image(path: str | Path, grayscale: bool = False) -> np.ndarray:
    """uint8 (H, W) grey or (H, W, 3) RGB."""
    path = Path(path)
    if not path.is_file():
        raise MissingDataError(f"{path}: image file is missing")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR)
    if image is None:
        raise FormatError("cannot decode image", path)
    return image if grayscale else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image file."""
    image = load_image(path, grayscale=True)
    return image.shape[1], image.shape[0]


def save_image(path: str | Path, image: np.ndarray) -> None:
    """Write atomically; the format follows the extension (.png, .jpg)."""
    path = Path(path)
    bgr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(path.suffix or ".png", bgr)
    if not ok:
        raise FormatError(f"cannot encode image as {path.suffix}", path)
    with atomic_write(path, "wb") as f:
        f.write(encoded.tobytes())


def load_image_unchanged(path: str | Path) -> np.ndarray:
    """The stored samples as they are (16-bit depth PNGs stay uint16, no colour conversion)."""
    path = Path(path)
    if not path.is_file():
        raise MissingDataError(f"{path}: image file is missing")
    image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FormatError("cannot decode image", path)
    return image
