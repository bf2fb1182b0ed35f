"""GNSS records from NMEA 0183 files (as kapture's ``extract_gnss_from_nmea`` reads them).

``$GPRMC`` sentences give the date, ``$GPGGA`` sentences the time of day, latitude, longitude,
altitude and dilution of precision. Records are (x=longitude, y=latitude, z=altitude, utc, dop) in
EPSG:4326, keyed and stamped in nanoseconds since the epoch (UTC). Malformed sentences are skipped.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kapturelike.core.sensors import Sensor
from kapturelike.importers.common import RecordsBuilder

logger = logging.getLogger("kapturelike.importers.nmea")
TIME_RE = re.compile(r"^(?P<hours>\d{2})(?P<minutes>\d{2})(?P<seconds>\d{2})\.(?P<milliseconds>\d+)$")


def nmea_time(day: datetime, text: str) -> datetime:
    m = TIME_RE.match(text)
    if m is None:
        raise ValueError(f"'{text}' is not an NMEA time hhmmss.sss")
    parts = m.groupdict()
    parts["milliseconds"] = parts["milliseconds"].ljust(3, "0")  # '20' is 200 ms
    return day + timedelta(**{k: int(v) for k, v in parts.items()})


def nmea_degrees(lat: str, north_south: str, lon: str, east_west: str) -> tuple[float, float]:
    """ddmm.mmmm / dddmm.mmmm with cardinals -> signed decimal degrees (latitude, longitude)."""
    lat_dec = float(lat[0:2]) + float(lat[2:]) / 60.0
    split = lon.index(".") - 2  # 2 or 3 digits of degrees
    lon_dec = float(lon[0:split]) + float(lon[split:]) / 60.0
    return (-lat_dec if north_south == "S" else lat_dec), (-lon_dec if east_west == "W" else lon_dec)


def gnss_from_nmea(path: str | Path, gnss_id: str = "gnss") -> tuple[dict[str, Sensor], RecordsBuilder]:
    records = RecordsBuilder("gnss")
    day = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n\r")
            if not line.strip() or line.startswith("#"):
                continue
            fields = [v.strip() for v in line.split(",")]
            if fields[0] == "$GPRMC" and len(fields) > 9:
                try:
                    day = datetime.strptime(fields[9], "%d%m%y").replace(tzinfo=timezone.utc)
                except ValueError:
                    logger.debug("%s, line %d: bad date '%s'", path, number, fields[9])
            if day is None or fields[0] != "$GPGGA":
                continue
            try:
                time_text, lat, ns, lon, ew, _, _, dop, alt = fields[1:10]
                stamp = int(nmea_time(day, time_text).timestamp() * 1e9)
                latitude, longitude = nmea_degrees(lat, ns, lon, ew)
                records.add(stamp, gnss_id, longitude, latitude, float(alt), stamp, float(dop))
            except (ValueError, IndexError) as e:
                logger.debug("%s, line %d: malformed NMEA sentence skipped (%s)", path, number, e)
    return {gnss_id: Sensor("gnss", ("EPSG:4326",), gnss_id)}, records
