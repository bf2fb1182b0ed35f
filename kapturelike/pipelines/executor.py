"""Where a step's batches run: in this process (the default) or as tasks on a Dask cluster.

Workers compute, the client writes. A step is split in two: ``compute(batch)`` reads its inputs (through
a ``FeatureStore``, so a cluster's workers must see the dataset folders at the same paths: one
machine, or a shared file system) and returns results; ``write(item, result)`` runs in the client,
which writes every output through its own ``FeatureStore``, one atomic file per item, in batch order.
Hence:
- no two processes ever write to one HDF5 file (workers open HDF5 stores read-only);
- the outputs are byte-identical to an in-process run (same computation, same writer, same order);
- a step resumes the same way: items whose output exists are skipped before any task is sent;
- a worker that dies mid-task leaves no file behind: Dask runs its task again on another worker.

``scheduler``: '' (in-process), 'local:N' (a ``distributed.LocalCluster`` of N single-threaded worker
processes started and stopped here) or a scheduler address ('tcp://host:8786', from ``dask scheduler``).
dask is an optional extra: requirements-dask.txt.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from tqdm import tqdm

from kapturelike.errors import KapturelikeError
from kapturelike.pipelines.steps import StepReport

logger = logging.getLogger("kapturelike")
T = TypeVar("T")
R = TypeVar("R")

STEP_ERRORS = (KapturelikeError, ValueError, OSError, RuntimeError)
"""Errors that fail a batch's items with a reason instead of stopping the step."""


@dataclass
class Computed(Generic[T, R]):
    """One item's outcome on a worker: its result, or why it failed."""

    item: T
    result: R | None = None
    error: str | None = None


class Executor(Protocol):
    def map_batches(self, compute: Callable[[Any], list[Computed]],
                    payloads: Iterable[Any]) -> Iterator[list[Computed] | BaseException]:
        """``compute`` of each payload, yielded in order; an exception of ``compute`` is yielded instead."""

    def close(self) -> None: ...


class InProcess:
    """Runs each batch here, one after the other."""

    def map_batches(self, compute, payloads):
        for payload in payloads:
            try:
                yield compute(payload)
            except STEP_ERRORS as e:
                yield e

    def close(self) -> None:
        pass


def _call(compute: Callable[[Any], list[Computed]], payload: Any) -> list[Computed]:
    return compute(payload)


class DaskExecutor:
    """Batches as tasks on a Dask cluster (``dask.distributed``: its scheduler, retries and dashboard)."""

    def __init__(self, scheduler: str, in_flight: int = 0):
        try:
            from distributed import Client, LocalCluster
        except ImportError as e:
            raise ImportError("distributed execution needs the dask extra: pip install -r requirements-dask.txt") \
                from e
        self.cluster = None
        if scheduler.startswith("local:"):
            try:
                workers = int(scheduler.split(":", 1)[1])
            except ValueError:
                raise ValueError(f"scheduler '{scheduler}': expected local:N with N worker processes") from None
            if workers < 1:
                raise ValueError(f"scheduler '{scheduler}': needs at least one worker")
            # one task at a time per worker; ThreadShare gives its torch and OpenCV the worker's share of cores
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=":0")  # a free port: 8787 may be another's
            self.client = Client(self.cluster)
        else:
            self.client = Client(scheduler)
        nthreads = self.client.nthreads()
        threads = sum(nthreads.values()) or 1
        from kapturelike.pipelines.dask_threads import ThreadShare, threads_by_host

        self.client.register_plugin(ThreadShare(threads_by_host(nthreads, self.client.run(os.cpu_count))))
        self.in_flight = in_flight or 2 * threads
        logger.info(f"dask: {len(self.client.nthreads())} workers, {threads} threads at "
                    f"{self.client.scheduler.address} (dashboard: {self.client.dashboard_link or 'none'})")

    def map_batches(self, compute, payloads):
        # the step's function (with its extractor or matcher) goes to the workers once, not per task
        [remote] = self.client.scatter([compute], broadcast=True, hash=False)
        pending: deque = deque()
        payloads = iter(payloads)
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < self.in_flight:
                    payload = next(payloads, _END)
                    if payload is _END:
                        exhausted = True
                    else:
                        # the payload (a batch's features) stays in the task, not scattered to one worker:
                        # the scheduler keeps it, so the task can rerun elsewhere when its worker dies
                        with warnings.catch_warnings():
                            warnings.filterwarnings("ignore", message="Sending large graph")
                            pending.append(self.client.submit(_call, remote, payload, pure=False))
                if not pending:
                    return
                future = pending.popleft()
                try:
                    yield future.result()
                except STEP_ERRORS as e:
                    yield e
                finally:
                    future.release()
        finally:
            for future in pending:
                future.cancel()
            remote.release()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


_END = object()


def make_executor(scheduler: str | None) -> Executor:
    """In-process for '' / None / 'inprocess', else a ``DaskExecutor`` (see the module docstring)."""
    if not scheduler or scheduler == "inprocess":
        return InProcess()
    return DaskExecutor(scheduler)


@contextmanager
def open_executor(scheduler: str | None) -> Iterator[Executor]:
    """``make_executor(scheduler)``, closed (its LocalCluster stopped) on leaving the block."""
    executor = make_executor(scheduler)
    try:
        yield executor
    finally:
        executor.close()


def run_batches(report: StepReport, items: Sequence[T], is_done: Callable[[T], bool],
                compute: Callable[[Any], list[Computed]], write: Callable[[T, Any], str | None],
                executor: Executor | None = None, prepare: Callable[[list[T]], Any] | None = None,
                key: Callable[[T], str] = str, batch_size: int = 1, overwrite: bool = False,
                progress: bool = True) -> None:
    """``compute`` the items not done yet in batches (on ``executor``), ``write`` each result here.

    ``prepare`` (in this process) turns a batch into what ``compute`` receives (default: the batch
    itself), e.g. the features read from the client's stores. ``write`` returns None or why the item
    failed. Like ``steps.run_batched``: a failing item (or batch) is recorded with its reason and the
    rest goes on.
    """
    executor = executor or InProcess()
    todo = list(items) if overwrite else [it for it in items if not is_done(it)]
    report.items += len(items)
    report.skipped += len(items) - len(todo)
    batches = [todo[start:start + batch_size] for start in range(0, len(todo), batch_size)]
    failed_prepare: dict[int, BaseException] = {}

    def payloads() -> Iterator[Any]:
        for i, batch in enumerate(batches):
            try:
                yield batch if prepare is None else prepare(batch)
            except STEP_ERRORS as e:
                failed_prepare[i] = e
                yield []

    with tqdm(total=len(todo), desc=report.step, disable=not progress or not todo, leave=False) as bar:
        for i, (batch, outcome) in enumerate(zip(batches, executor.map_batches(compute, payloads()))):
            outcome = failed_prepare.pop(i, outcome)
            if isinstance(outcome, BaseException):
                outcome = [Computed(it, error=f"{type(outcome).__name__}: {outcome}") for it in batch]
            for computed in outcome:
                error = computed.error
                if error is None:
                    try:
                        error = write(computed.item, computed.result)
                    except STEP_ERRORS as e:
                        error = f"{type(e).__name__}: {e}"
                if error is None:
                    report.done += 1
                else:
                    report.failures[key(computed.item)] = error
            bar.update(len(batch))
