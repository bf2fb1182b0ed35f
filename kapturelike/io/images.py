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


def _header_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header, without decoding the image; None for other files."""
    with open(path, "rb") as f:
        head = f.read(26)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        if head[:2] != b"\xff\xd8":
            return None
        f.seek(2)
        while True:  # JPEG segments up to the start-of-frame marker, which holds the size
            marker = f.read(2)
            if len(marker) < 2 or marker[0] != 0xFF:
                return None
            if marker[1] in (0xD8, 0x01) or 0xD0 <= marker[1] <= 0xD7:
                continue
            length = int.from_bytes(f.read(2), "big")
            if 0xC0 <= marker[1] <= 0xCF and marker[1] not in (0xC4, 0xC8, 0xCC):
                data = f.read(5)
                return (int.from_bytes(data[3:5], "big"), int.from_bytes(data[1:3], "big")) if len(data) == 5 else None
            f.seek(length - 2, 1)


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image file."""
    image = load_image(path, grayscale=True)
    return image.shape[1], image.shape[0]


def stored_image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) as stored, read from the header for PNG and JPEG (no decoding; EXIF orientation
    is not applied, as PIL's ``Image.size`` which kapture's importers use); other formats are decoded."""
    path = Path(path)
    if not path.is_file():
        raise MissingDataError(f"{path}: image file is missing")
    size = _header_size(path)
    if size is not None and size[0] > 0 and size[1] > 0:
        return size
    return image_size(path)


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
