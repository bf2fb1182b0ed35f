"""A Dask worker's share of its machine's cores for OpenCV and torch (imported with the dask extra only).

Each library sizes its own thread pool to the whole machine (and Dask's nanny sets OMP_NUM_THREADS=1,
which caps torch at one thread whatever the share): N single-threaded workers on N cores would then
run N x N OpenCV threads and one torch thread each. ``ThreadShare`` gives every worker
cores / (worker threads on its host) threads in both, also to a worker the nanny restarts.
"""

from __future__ import annotations

import os

from distributed.comm import get_address_host
from distributed.diagnostics.plugin import WorkerPlugin


def limit_threads(threads: int) -> None:
    import cv2
    import torch

    cv2.setNumThreads(threads)
    torch.set_num_threads(threads)


def threads_by_host(nthreads: dict[str, int], cpus: dict[str, int]) -> dict[str, int]:
    """Per host, its cores over the threads of its workers (at least 1); ``nthreads`` and ``cpus`` by worker address."""
    threads: dict[str, int] = {}
    cores: dict[str, int] = {}
    for address, n in nthreads.items():
        host = get_address_host(address)
        threads[host] = threads.get(host, 0) + n
        cores[host] = cpus.get(address) or 1
    return {host: max(1, cores[host] // threads[host]) for host in threads}


class ThreadShare(WorkerPlugin):
    """Sets each worker's OpenCV and torch threads to its host's share (``threads_by_host``); a worker on a
    host not seen at registration takes its cores over its own threads."""

    name = "kapturelike-thread-share"

    def __init__(self, shares: dict[str, int]):
        self.shares = shares

    def setup(self, worker) -> None:
        share = self.shares.get(get_address_host(worker.address))
        limit_threads(share or max(1, (os.cpu_count() or 1) // max(1, worker.state.nthreads)))
