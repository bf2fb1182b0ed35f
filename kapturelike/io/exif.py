"""EXIF metadata of JPEG (and TIFF) images, read with struct only (no Pillow, no piexif).

A JPEG carries EXIF in an APP1 segment: ``Exif\\0\\0`` then a TIFF structure (byte order ``II`` or
``MM``, the number 42, the offset of the first IFD). An IFD is a count then 12-byte entries (tag,
type, count, value or offset to it). IFD0 points to the Exif IFD (tag 0x8769) and the GPS IFD
(0x8825). Values come back as tuples; rationals as (numerator, denominator) pairs, ASCII as str.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

EXIF_POINTER = 0x8769
GPS_POINTER = 0x8825
# GPS IFD tags (EXIF 2.3, section 4.6.6)
GPS_LATITUDE_REF, GPS_LATITUDE, GPS_LONGITUDE_REF, GPS_LONGITUDE = 1, 2, 3, 4
GPS_ALTITUDE_REF, GPS_ALTITUDE, GPS_DOP = 5, 6, 11

# TIFF field type -> (struct code, size in bytes); rationals are two codes
_TYPES = {1: ("B", 1), 2: ("s", 1), 3: ("H", 2), 4: ("L", 4), 5: ("LL", 8), 6: ("b", 1), 7: ("B", 1),
          8: ("h", 2), 9: ("l", 4), 10: ("ll", 8), 11: ("f", 4), 12: ("d", 8)}
_MAX_ENTRIES = 4096  # a corrupt count must not make us read gigabytes


class ExifError(ValueError):
    """The EXIF block is malformed (names the file and what is wrong)."""


@dataclass
class Exif:
    """Tags by IFD: ``image`` (IFD0), ``exif`` and ``gps``, each tag id -> value tuple (or str)."""

    image: dict[int, object] = field(default_factory=dict)
    exif: dict[int, object] = field(default_factory=dict)
    gps: dict[int, object] = field(default_factory=dict)


def _read_ifd(tiff: bytes, offset: int, order: str, where: str) -> tuple[dict[int, object], int]:
    """The entries of the IFD at ``offset`` and the offset of the next IFD (0: none)."""
    if offset + 2 > len(tiff):
        raise ExifError(f"{where}: IFD offset {offset} beyond the EXIF block ({len(tiff)} bytes)")
    (count,) = struct.unpack_from(order + "H", tiff, offset)
    if count > _MAX_ENTRIES or offset + 2 + 12 * count > len(tiff):
        raise ExifError(f"{where}: IFD at {offset} claims {count} entries, beyond the EXIF block")
    tags: dict[int, object] = {}
    for i in range(count):
        tag, type_id, n = struct.unpack_from(order + "HHL", tiff, offset + 2 + 12 * i)
        if type_id not in _TYPES:
            continue  # unknown types are skipped, as EXIF readers do
        code, size = _TYPES[type_id]
        length = size * n
        value_at = offset + 2 + 12 * i + 8
        if length > 4:
            (value_at,) = struct.unpack_from(order + "L", tiff, value_at)
        if value_at + length > len(tiff):
            raise ExifError(f"{where}: tag 0x{tag:04x} value at {value_at} beyond the EXIF block")
        raw = tiff[value_at:value_at + length]
        if type_id == 2:
            tags[tag] = raw.split(b"\0", 1)[0].decode("latin-1")
        elif type_id == 7:
            tags[tag] = raw
        else:
            values = struct.unpack(order + code * n, raw)
            if len(code) == 2:  # rationals: (numerator, denominator) pairs
                values = tuple(zip(values[0::2], values[1::2]))
            tags[tag] = values
    next_at = offset + 2 + 12 * count
    (next_ifd,) = struct.unpack_from(order + "L", tiff, next_at) if next_at + 4 <= len(tiff) else (0,)
    return tags, next_ifd


def parse_tiff(tiff: bytes, where: str = "EXIF") -> Exif:
    """The tags of a TIFF structure (the body of a JPEG's EXIF segment, or a TIFF file)."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        raise ExifError(f"{where}: not a TIFF structure (byte order mark missing)")
    order = "<" if tiff[:2] == b"II" else ">"
    magic, first = struct.unpack_from(order + "HL", tiff, 2)
    if magic != 42:
        raise ExifError(f"{where}: TIFF magic number {magic}, expected 42")
    exif = Exif()
    exif.image, _ = _read_ifd(tiff, first, order, where)
    for pointer, name in ((EXIF_POINTER, "exif"), (GPS_POINTER, "gps")):
        value = exif.image.get(pointer)
        if isinstance(value, tuple) and value:
            setattr(exif, name, _read_ifd(tiff, int(value[0]), order, where)[0])
    return exif


def exif_block(data: bytes, where: str = "image") -> bytes | None:
    """The TIFF body of a JPEG's EXIF APP1 segment (None when the JPEG has none); a TIFF file is itself."""
    if data[:4] in (b"II*\0", b"MM\0*"):
        return data
    if data[:2] != b"\xff\xd8":
        raise ExifError(f"{where}: neither a JPEG nor a TIFF image")
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            raise ExifError(f"{where}: JPEG marker expected at byte {at}")
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            at += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end of image: no metadata after
            return None
        (length,) = struct.unpack_from(">H", data, at + 2)
        body = data[at + 4:at + 2 + length]
        if marker == 0xE1 and body[:6] == b"Exif\0\0":
            return body[6:]
        at += 2 + length
    return None


def read_exif(path: str | Path) -> Exif | None:
    """The EXIF tags of a JPEG or TIFF image; None when it has no EXIF block."""
    path = Path(path)
    block = exif_block(path.read_bytes(), str(path))
    return None if block is None else parse_tiff(block, str(path))


def _ratio(value: object) -> float:
    numerator, denominator = value
    return float(numerator) / float(denominator) if denominator else float("nan")


def gps_position(exif: Exif) -> tuple[float, float, float, float] | None:
    """(longitude, latitude, altitude, dop) in degrees / metres from the GPS IFD; None without latitude and
    longitude. South and west are negative; altitude below sea level (AltitudeRef 1) is negative; a
    missing altitude or DOP is 0, as kapture's extraction."""
    gps = exif.gps
    if GPS_LATITUDE not in gps or GPS_LONGITUDE not in gps:
        return None

    def degrees(tag: int, ref_tag: int, negative: str) -> float:
        dms = gps[tag]
        if not isinstance(dms, tuple) or len(dms) != 3:
            raise ExifError(f"GPS tag {tag}: expected degrees, minutes, seconds, got {dms!r}")
        value = _ratio(dms[0]) + _ratio(dms[1]) / 60.0 + _ratio(dms[2]) / 3600.0
        ref = gps.get(ref_tag)
        return -value if isinstance(ref, str) and ref.strip().upper() == negative else value

    longitude = degrees(GPS_LONGITUDE, GPS_LONGITUDE_REF, "W")
    latitude = degrees(GPS_LATITUDE, GPS_LATITUDE_REF, "S")
    altitude = _ratio(gps[GPS_ALTITUDE][0]) if GPS_ALTITUDE in gps else 0.0
    if gps.get(GPS_ALTITUDE_REF) == (1,):
        altitude = -altitude
    dop = _ratio(gps[GPS_DOP][0]) if GPS_DOP in gps else 0.0
    return longitude, latitude, altitude, dop
