"""The order of rows keyed by (timestamp, device_id): the order kapture writes its tables in."""

from __future__ import annotations

import numpy as np


def key_order(timestamps: np.ndarray, device_ids: np.ndarray) -> np.ndarray:
    """Stable order of the rows by (timestamp, device_id), device ids compared as Python strings.

    Vectorised: the few distinct ids are ranked once, then one stable numpy sort on two integer keys.
    """
    ids = np.asarray(device_ids, dtype=object).tolist()
    rank = {device: i for i, device in enumerate(sorted(set(ids)))}
    codes = np.fromiter(map(rank.__getitem__, ids), dtype=np.int64, count=len(ids))
    return np.lexsort((codes, np.asarray(timestamps, dtype=np.int64)))
