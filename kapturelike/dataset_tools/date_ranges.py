"""kapture_data_date_ranges: the time range of each timed file of a dataset (sensors/records_*.txt,
sensors/trajectories.txt), printed as kapture prints it.

One line per file with a version line and positive first and last timestamps: its path padded to 42
characters, the number of digits of its timestamps, their range as UTC dates (a timestamp of d digits
is read as seconds x 10^(d - 10), as kapture does), and its number of records. The first and last
timestamps are those of the first and last data lines. Difference: kapture prints a range spanning two
dates as 'first date, last time' (the first time and the last date are lost); here both ends are whole.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from kapturelike.io.dataset import SENSORS_DIR

TIMED_FILE = re.compile(r".*(records|trajectories).*\.txt")
VERSION_LINE = re.compile(r"#\s*kapture format\s*:\s*\S+")


def _date_and_time(timestamp: int, digits: int) -> tuple[str, str]:
    moment = datetime.fromtimestamp(timestamp * 10 ** (10 - digits), tz=timezone.utc)
    return moment.strftime("%Y/%m/%d"), moment.strftime("%H:%M:%S.%f")


def format_timestamp_range(first: int, last: int) -> str:
    digits = len(str(abs(first)))
    try:
        (date0, time0), (date1, time1) = _date_and_time(first, digits), _date_and_time(last, digits)
    except (ValueError, OverflowError, OSError):
        return f"{first} -> {last} ** FAIL to parse as posix timestamp of {digits} digits"
    end = time1 if date0 == date1 else f"{date1} {time1}"
    return f"{date0} {time0} -> {end} GMT"


def file_range(path: Path, shown_as: str) -> str | None:
    """The line of one timed file; None when it has no version line or no positive timestamps."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    if not lines or not VERSION_LINE.match(lines[0].strip()):
        return None
    data = [line for line in lines[1:] if line.strip() and not line.lstrip().startswith("#")]
    try:
        first, last = (int(data[i].split(",")[0]) for i in (0, -1)) if data else (0, 0)
    except ValueError:
        return None
    if first <= 0 or last <= 0:
        return None
    digits = (len(str(first)), len(str(last)))
    digits_text = f"{digits[0]}" if digits[0] == digits[1] else f"{digits[0]}-{digits[1]}"
    return (f"{shown_as:42s} timestamp {digits_text} digits from {format_timestamp_range(first, last)}"
            f" : {len(data):12,d} records").replace(",", " ")


def date_ranges(root: str | Path) -> list[str]:
    """One line per timed file of the dataset at ``root``, in file name order."""
    folder = Path(root) / SENSORS_DIR
    if not folder.is_dir():
        return []
    lines = []
    for entry in sorted(p.name for p in folder.iterdir() if p.is_file() and TIMED_FILE.match(p.name)):
        line = file_range(folder / entry, f"{SENSORS_DIR}/{entry}")
        if line is not None:
            lines.append(line)
    return lines
