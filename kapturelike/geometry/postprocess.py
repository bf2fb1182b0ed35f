"""Give poses to query images that failed to localize, from their rig siblings or their sequence.

Input and output are `PoseRecords`: columns of (timestamp, sensor_id, status, q, t), one row per
query image; a failed row has NaN q and t. Recovered rows get status 'recovered_rig' or
'recovered_sequence', so an evaluation can tell them apart from real localizations. Only rows with
a source status (by default 'localized') give poses, so one recovery never feeds on another unless
asked to (pass `sources`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from kapturelike.core.pose import camera_centers, compose, interpolate_poses, invert

LOCALIZED = "localized"
RECOVERED_RIG = "recovered_rig"
RECOVERED_SEQUENCE = "recovered_sequence"
FAILED = "failed"
STATUSES = (LOCALIZED, RECOVERED_RIG, RECOVERED_SEQUENCE, FAILED)

RigCalibration = Mapping[str, Mapping[str, tuple]]  # rig_id -> sensor_id -> (q, t) cam_from_rig


@dataclass
class PoseRecords:
    """One row per query image. q (N, 4) and t (N, 3) are cam_from_world, NaN where status is failed."""

    timestamps: np.ndarray
    sensor_ids: np.ndarray
    status: np.ndarray
    q: np.ndarray
    t: np.ndarray

    def __post_init__(self) -> None:
        self.timestamps = np.asarray(self.timestamps, dtype=np.int64).reshape(-1)
        n = len(self.timestamps)
        self.sensor_ids = np.asarray(self.sensor_ids, dtype=object).reshape(-1)
        self.status = np.asarray(self.status, dtype=object).reshape(-1)
        self.q = np.asarray(self.q, dtype=np.float64).reshape(-1, 4)
        self.t = np.asarray(self.t, dtype=np.float64).reshape(-1, 3)
        for name in ("sensor_ids", "status", "q", "t"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"PoseRecords.{name} has {len(getattr(self, name))} rows, "
                                 f"timestamps has {n}")
        bad = [s for s in set(self.status.tolist()) if s not in STATUSES]
        if bad:
            raise ValueError(f"PoseRecords.status has unknown value(s) {bad} (known: {STATUSES})")
        has_pose = self.status != FAILED
        missing = np.flatnonzero(has_pose & ~(np.isfinite(self.q).all(1) & np.isfinite(self.t).all(1)))
        if missing.size:
            raise ValueError(f"PoseRecords row {int(missing[0])} has status '{self.status[missing[0]]}' "
                             "but no finite pose")

    def __len__(self) -> int:
        return len(self.timestamps)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple]) -> PoseRecords:
        """From (timestamp, sensor_id, status, q or None, t or None) tuples."""
        rows = list(rows)
        nan_q, nan_t = np.full(4, np.nan), np.full(3, np.nan)
        return cls(timestamps=np.array([r[0] for r in rows], dtype=np.int64),
                   sensor_ids=np.array([r[1] for r in rows], dtype=object),
                   status=np.array([r[2] for r in rows], dtype=object),
                   q=np.array([nan_q if r[3] is None else r[3] for r in rows], np.float64).reshape(-1, 4),
                   t=np.array([nan_t if r[4] is None else r[4] for r in rows], np.float64).reshape(-1, 3))

    def to_rows(self) -> list[tuple]:
        out = []
        for i in range(len(self)):
            ok = self.status[i] != FAILED
            out.append((int(self.timestamps[i]), self.sensor_ids[i], self.status[i],
                        self.q[i].copy() if ok else None, self.t[i].copy() if ok else None))
        return out

    def copy(self) -> PoseRecords:
        return PoseRecords(self.timestamps.copy(), self.sensor_ids.copy(), self.status.copy(),
                           self.q.copy(), self.t.copy())


def _nearest(sorted_values: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest sorted value to each query and the absolute distance (inf when empty)."""
    if len(sorted_values) == 0:
        return np.zeros(len(queries), dtype=np.int64), np.full(len(queries), np.inf)
    right = np.clip(np.searchsorted(sorted_values, queries), 0, len(sorted_values) - 1)
    left = np.clip(right - 1, 0, len(sorted_values) - 1)
    d_right = np.abs(sorted_values[right] - queries).astype(np.float64)
    d_left = np.abs(sorted_values[left] - queries).astype(np.float64)
    use_left = d_left <= d_right
    return np.where(use_left, left, right), np.where(use_left, d_left, d_right)


def recover_from_rig(records: PoseRecords, rigs: RigCalibration, time_tolerance: int = 0,
                     sources: tuple[str, ...] = (LOCALIZED,)) -> PoseRecords:
    """Failed cameras take their pose from a localized sibling of the same rig.

    The sibling is the one whose timestamp is nearest (within `time_tolerance`, in timestamp units);
    cam_from_world = cam_from_rig * (sibling_from_rig)^-1 * sibling_from_world.
    """
    out = records.copy()
    failed = np.flatnonzero(records.status == FAILED)
    if failed.size == 0:
        return out
    is_source = np.isin(records.status, list(sources))
    best_dt = np.full(len(failed), np.inf)
    for calib in rigs.values():
        for sensor, (q_cr, t_cr) in calib.items():
            rows = failed[records.sensor_ids[failed] == sensor]
            if rows.size == 0:
                continue
            pick = np.searchsorted(failed, rows)  # positions of these rows within `failed`
            for sibling, (q_sr, t_sr) in calib.items():
                if sibling == sensor:
                    continue
                src = np.flatnonzero(is_source & (records.sensor_ids == sibling))
                if src.size == 0:
                    continue
                src = src[np.argsort(records.timestamps[src], kind="stable")]
                idx, dt = _nearest(records.timestamps[src], records.timestamps[rows])
                better = (dt <= time_tolerance) & (dt < best_dt[pick])
                if not better.any():
                    continue
                j = src[idx[better]]
                # rig_from_world = (sibling_from_rig)^-1 * sibling_from_world
                q_rs, t_rs = invert(np.asarray(q_sr, dtype=np.float64), np.asarray(t_sr, dtype=np.float64))
                q_rw, t_rw = compose(q_rs, t_rs, records.q[j], records.t[j])
                q_cw, t_cw = compose(np.asarray(q_cr, dtype=np.float64), np.asarray(t_cr, dtype=np.float64),
                                     q_rw, t_rw)
                target = rows[better]
                out.q[target], out.t[target] = q_cw, t_cw
                out.status[target] = RECOVERED_RIG
                best_dt[pick[better]] = dt[better]
    return out


def split_sequences(timestamps: np.ndarray, gap_threshold: float) -> np.ndarray:
    """Sequence id per timestamp (input order): a new sequence starts after a gap > gap_threshold."""
    ts = np.asarray(timestamps).reshape(-1)
    if len(ts) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(ts, kind="stable")
    starts = np.concatenate([[0], (np.diff(ts[order]) > gap_threshold).astype(np.int64)])
    ids = np.empty(len(ts), dtype=np.int64)
    ids[order] = np.cumsum(starts)
    return ids


def recover_from_sequence(records: PoseRecords, gap_threshold: float,
                          sources: tuple[str, ...] = (LOCALIZED, RECOVERED_RIG)) -> PoseRecords:
    """Failed images take a pose from their own sensor's sequence.

    Sequences are each sensor's images split where consecutive timestamps are more than
    `gap_threshold` apart. A failed image between two source images of its sequence gets the pose
    interpolated at its timestamp (slerp rotation, linear centre); one before the first or after the
    last gets the nearest source pose. A sequence without any source image stays failed.
    """
    out = records.copy()
    is_source = np.isin(records.status, list(sources))
    for sensor in np.unique(records.sensor_ids[records.status == FAILED]):
        rows = np.flatnonzero(records.sensor_ids == sensor)
        rows = rows[np.argsort(records.timestamps[rows], kind="stable")]
        ts = records.timestamps[rows]
        seq = split_sequences(ts, gap_threshold)
        src = rows[is_source[rows]]
        if src.size == 0:
            continue
        src_ts, src_seq = records.timestamps[src], seq[is_source[rows]]
        fail_mask = records.status[rows] == FAILED
        fail, f_ts, f_seq = rows[fail_mask], ts[fail_mask], seq[fail_mask]
        # src is sorted by time and sequences are time-contiguous, so neighbours come from searchsorted.
        after = np.searchsorted(src_ts, f_ts, side="left")
        before = after - 1
        a_ok = (after < len(src)) & (src_seq[np.minimum(after, len(src) - 1)] == f_seq)
        b_ok = (before >= 0) & (src_seq[np.maximum(before, 0)] == f_seq)
        a = src[np.minimum(after, len(src) - 1)]
        b = src[np.maximum(before, 0)]
        both = a_ok & b_ok
        if both.any():
            t0, t1 = records.timestamps[b[both]], records.timestamps[a[both]]
            span = np.maximum(t1 - t0, 1)
            frac = (f_ts[both] - t0) / span
            q, t = interpolate_poses(records.q[b[both]], records.t[b[both]], records.q[a[both]],
                                     records.t[a[both]], frac)
            out.q[fail[both]], out.t[fail[both]] = q, t
        only = (a_ok ^ b_ok)
        nearest = np.where(a_ok, a, b)[only]
        out.q[fail[only]], out.t[fail[only]] = records.q[nearest], records.t[nearest]
        out.status[fail[both | only]] = RECOVERED_SEQUENCE
    return out


def recovered_centers(records: PoseRecords) -> np.ndarray:
    """(N, 3) camera centres, NaN for rows that are still failed."""
    return camera_centers(records.q, records.t)
