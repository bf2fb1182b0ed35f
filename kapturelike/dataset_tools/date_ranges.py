"""The time range of each timed part of a dataset (trajectories, records of each kind)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from kapturelike.io.dataset import load_kapture

# timestamps this large are taken as nanoseconds, microseconds, milliseconds or seconds since 1970
_UNITS = ((1e17, 1e9, "ns"), (1e14, 1e6, "us"), (1e11, 1e3, "ms"), (1e8, 1.0, "s"))


def _as_date(timestamp: int) -> str:
    for threshold, per_second, _ in _UNITS:
        if abs(timestamp) >= threshold:
            return datetime.fromtimestamp(timestamp / per_second, tz=timezone.utc).isoformat(timespec="seconds")
    return ""


def date_ranges(root: str | Path) -> list[str]:
    """One line per timed part: count, first and last timestamp (and their UTC dates when they look like epochs)."""
    k = load_kapture(root)
    parts = ([("trajectories", k.trajectories.timestamps)] if k.trajectories is not None else []) + \
        [(f"records_{kind}", r.timestamps) for kind, r in sorted(k.records.items())]
    lines = []
    for name, stamps in parts:
        if not len(stamps):
            lines.append(f"{name}: empty")
            continue
        first, last = int(np.min(stamps)), int(np.max(stamps))
        dates = (_as_date(first), _as_date(last))
        when = f" ({dates[0]} .. {dates[1]})" if all(dates) else ""
        lines.append(f"{name}: {len(stamps)} rows, timestamps {first} .. {last}{when}")
    return lines
