"""What every pipeline step reports, and the loop that runs a step over a batch of items.

A step is resumable because each item's output is one atomically written file: an item whose
file exists is skipped, and an interrupted run leaves no partial file behind. A failure in one
item is recorded with its reason and the rest goes on.
"""

from __future__ import annotations

import logging
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from tqdm import tqdm

from kapturelike.errors import KapturelikeError

logger = logging.getLogger("kapturelike")
T = TypeVar("T")


@dataclass
class StepReport:
    """What a step did: counts, failures with their reasons, time and peak Python memory."""

    step: str
    items: int = 0
    done: int = 0
    skipped: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    peak_mb: float = 0.0
    input_step: bool = False  # its items are input images: a failure means the input is damaged (exit code)

    def summary(self) -> str:
        line = (f"{self.step}: {self.done} done, {self.skipped} already there, {len(self.failures)} failed "
                f"in {self.seconds:.1f} s")
        if self.failures:
            reasons: dict[str, int] = {}
            for reason in self.failures.values():
                reasons[reason.split(":")[0]] = reasons.get(reason.split(":")[0], 0) + 1
            line += " (" + "; ".join(f"{n} x {r}" for r, n in sorted(reasons.items(), key=lambda x: -x[1])) + ")"
        return line


class timed_step:
    """Context manager filling a StepReport's time and peak memory."""

    def __init__(self, report: StepReport):
        self.report = report

    def __enter__(self) -> StepReport:
        self.start = time.perf_counter()
        self.was_tracing = tracemalloc.is_tracing()
        if not self.was_tracing:
            tracemalloc.start()
        tracemalloc.reset_peak()
        return self.report

    def __exit__(self, *exc) -> None:
        self.report.seconds = time.perf_counter() - self.start
        self.report.peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        if not self.was_tracing:
            tracemalloc.stop()
        logger.info(self.report.summary())


def run_batched(report: StepReport, items: Sequence[T], is_done: Callable[[T], bool],
                process: Callable[[list[T]], Iterable[tuple[T, str | None]]], key: Callable[[T], str] = str,
                batch_size: int = 1, overwrite: bool = False, progress: bool = True) -> None:
    """Run ``process`` over the batches of ``items`` not all done yet; it yields (item, error or None).

    Batches are fixed slices of ``items`` and a batch not wholly done is run whole again (its done
    items are rewritten with the same bytes): a batched computation (padded matrix products) then
    sees the same batches in a resumed run as in an uninterrupted one, so their outputs are equal.
    """
    batches = [list(items[start:start + batch_size]) for start in range(0, len(items), batch_size)]
    todo = batches if overwrite else [b for b in batches if not all(is_done(it) for it in b)]
    report.items += len(items)
    report.skipped += len(items) - sum(map(len, todo))
    with tqdm(total=sum(map(len, todo)), desc=report.step, disable=not progress or not todo, leave=False) as bar:
        for batch in todo:
            try:
                results = list(process(batch))
            except (KapturelikeError, ValueError, OSError, RuntimeError) as e:
                results = [(it, f"{type(e).__name__}: {e}") for it in batch]
            for it, error in results:
                if error is None:
                    report.done += 1
                else:
                    report.failures[key(it)] = error
            bar.update(len(batch))


def failures_of(reports: Sequence[StepReport]) -> dict[str, str]:
    """Item -> "step: reason" over the reports of a run, for its final summary."""
    return {item: f"{r.step}: {reason}" for r in reports for item, reason in r.failures.items()}


def damaged_inputs(reports: Sequence[StepReport]) -> dict[str, str]:
    """Input images a step could not use (unreadable, truncated, missing): the run finished without them
    and its command exits with a non-zero code."""
    return {item: f"{r.step}: {reason}" for r in reports if r.input_step for item, reason in r.failures.items()}


def exit_code(reports: Sequence[StepReport]) -> int:
    """A pipeline command's exit code: 0, or 1 when some input images could not be used (listed on stderr)."""
    damaged = damaged_inputs(reports)
    for item, reason in sorted(damaged.items()):
        print(f"failed: {item}: {reason}", file=sys.stderr)
    if damaged:
        print(f"error: {len(damaged)} input image(s) could not be used; the run finished without them",
              file=sys.stderr)
    return 1 if damaged else 0
