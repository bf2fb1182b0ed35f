"""Top-k retrieval throughput: N random unit vectors searched against themselves, self excluded.

    python benchmarks/bench_retrieval.py --sizes 10000 100000 --dim 2048 --k 20 [--device cuda]

Prints, per size, the search time, pairs per second and peak memory (process RSS on CPU, allocated
memory on CUDA). The 100k x 100k search is 4e13 flops: minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import torch

from kapturelike.retrieval.topk import DenseIndex, DenseIndexOptions


def random_unit(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.empty((n, dim), dtype=np.float32)
    for i in range(0, n, 8192):  # generate in chunks so float64 temporaries stay small
        block = rng.standard_normal((min(8192, n - i), dim), dtype=np.float32)
        x[i:i + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return x


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def run(n: int, dim: int, k: int, options: DenseIndexOptions, chunk: int) -> tuple[float, float, float]:
    feats = random_unit(n, dim, seed=n)
    index = DenseIndex(options)
    index.add(feats)
    if options.device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    exclude = np.arange(n, dtype=np.int64)
    indices = np.empty((n, k), dtype=np.int64)
    start = time.perf_counter()
    # queries go in chunks only to report progress; the index blocks them again internally
    for c0 in range(0, n, chunk):
        indices[c0:c0 + chunk] = index.search(feats[c0:c0 + chunk], k, exclude=exclude[c0:c0 + chunk])[1]
        done = min(c0 + chunk, n)
        if done < n:
            print(f"  {n}: {done} queries in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - start
    if (indices == np.arange(n)[:, None]).any():
        raise RuntimeError("self match returned although excluded")
    if options.device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = peak_rss_mib()
    return elapsed, n * k / elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--query-block", type=int, default=DenseIndexOptions.query_block)
    parser.add_argument("--db-block", type=int, default=DenseIndexOptions.db_block)
    parser.add_argument("--chunk", type=int, default=10000, help="queries per progress line")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    options = DenseIndexOptions(query_block=args.query_block, db_block=args.db_block, device=args.device)
    print(f"device={args.device} dim={args.dim} k={args.k} threads={torch.get_num_threads()} "
          f"query_block={args.query_block} db_block={args.db_block}")
    print(f"{'N':>8} {'time (s)':>10} {'pairs/s':>12} {'peak MiB':>10}")
    for n in args.sizes:
        elapsed, rate, peak = run(n, args.dim, args.k, options, args.chunk)
        print(f"{n:>8} {elapsed:>10.2f} {rate:>12.0f} {peak:>10.0f}", flush=True)


if __name__ == "__main__":
    main()
