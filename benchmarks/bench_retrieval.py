"""Top-k retrieval throughput.

Dense index: N random unit vectors searched against themselves, self excluded.

    python benchmarks/bench_retrieval.py --sizes 10000 100000 --dim 2048 --k 20 [--device cuda]

Prints, per size, the search time, pairs per second and peak memory (process RSS on CPU, allocated
memory on CUDA). The 100k x 100k search is 4e13 flops: minutes on 2 CPU cores.

Faiss index (extra: requirements-faiss.txt) against the exact top 10:

    python benchmarks/bench_retrieval.py --faiss --map-size 1000000 --queries 10000 --dim 256 --threads 2

The map is ``clustered_descriptors``: images along sequences (random walks around place centres) with
a variance that decays over the dimensions like PCA-reduced global descriptors; queries are new views
of map images (twice the per-image noise). Prints build time, index memory (serialised size), queries
per second and recall@10 (share of the exact top 10, from DenseIndex, that the index returns).

Measured (2026-12-04, 2 cores shared with five other jobs, load average ~12, so times are pessimistic;
faiss-cpu 1.15.1, `--kinds ivfrabitq --nprobe 8 16 32`): IVF2048,RaBitQ5 built in 189 s (k-means on
81,920 vectors, then 1M added), index 181 MiB; 10,000 queries: nprobe 8: 17.5 s, recall@10 0.925;
nprobe 16: 31.1 s, 0.950; nprobe 32 (the default for 1M): 56.4 s, 0.961. The exact top 10 of the
10,000 queries (DenseIndex) took 406 s. IVF-PQ on the same data (100k-vector runs): recall@10 0.63
(PQ128x4 fast-scan) to 0.74 (PQ64x8), and faiss trains 8-bit PQ slowly here (minutes).
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


def clustered_descriptors(n: int, dim: int, seed: int, sequence: int = 100, step: float = 0.3,
                          noise: float = 0.1) -> np.ndarray:
    """(n, dim) unit vectors: ``n / sequence`` random walks of ``sequence`` images around random place
    centres, per-dimension scale (i + 1) ** -0.5 (a PCA-like spectrum), per-image noise ``noise``."""
    rng = np.random.default_rng(seed)
    scale = np.arange(1, dim + 1, dtype=np.float32) ** -0.5
    scale /= np.linalg.norm(scale)
    out = np.empty((n, dim), dtype=np.float32)
    per_chunk = 256  # sequences generated at once: bounded temporaries
    for s0 in range(0, -(-n // sequence), per_chunk):
        count = min(per_chunk, -(-n // sequence) - s0)
        centres = rng.standard_normal((count, 1, dim), dtype=np.float32)
        walks = np.cumsum(rng.standard_normal((count, sequence, dim), dtype=np.float32) * step, axis=1)
        jitter = rng.standard_normal((count, sequence, dim), dtype=np.float32) * noise
        block = ((centres + walks + jitter) * scale).reshape(-1, dim)
        a = s0 * sequence
        out[a:a + len(block)] = block[:n - a]
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def new_views(db: np.ndarray, count: int, seed: int, noise: float = 0.2) -> np.ndarray:
    """``count`` queries: random map images with fresh noise of the same spectrum."""
    rng = np.random.default_rng(seed)
    dim = db.shape[1]
    scale = np.arange(1, dim + 1, dtype=np.float32) ** -0.5
    scale /= np.linalg.norm(scale)
    q = db[rng.choice(len(db), count, replace=False)] + rng.standard_normal((count, dim), dtype=np.float32) \
        * noise * scale
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def run_faiss(args: argparse.Namespace) -> None:
    from kapturelike.retrieval.faiss_index import FaissIndex, FaissIndexOptions

    start = time.perf_counter()
    db = clustered_descriptors(args.map_size, args.dim, seed=1)
    queries = new_views(db, args.queries, seed=2)
    print(f"data: {args.map_size} x {args.dim} map, {args.queries} queries in {time.perf_counter() - start:.1f} s",
          flush=True)
    start = time.perf_counter()
    exact = DenseIndex()
    exact.add(db)
    truth = exact.search(queries, 10)[1]
    print(f"exact top 10 (DenseIndex, {torch.get_num_threads()} threads): {time.perf_counter() - start:.1f} s",
          flush=True)
    for kind in args.kinds:
        options = FaissIndexOptions(kind=kind, nlist=args.nlist, nprobe=args.nprobe[0] if args.nprobe else 0,
                                    threads=args.threads or 0)
        rss0 = peak_rss_mib()
        start = time.perf_counter()
        index = FaissIndex(options)
        index.add(db)
        index.build()
        build = time.perf_counter() - start
        mib = index.nbytes() / 2**20
        print(f"{kind}: {index.parameters} built in {build:.1f} s, index {mib:.1f} MiB "
              f"(peak RSS grew {peak_rss_mib() - rss0:.0f} MiB while building)", flush=True)
        for nprobe in (args.nprobe or [index.parameters.nprobe]) if index.parameters else [0]:
            if nprobe:
                index.set_nprobe(nprobe)
            start = time.perf_counter()
            found = index.search(queries, 10)[1]
            elapsed = time.perf_counter() - start
            recall = np.mean([len(np.intersect1d(a, b)) for a, b in zip(found, truth)]) / 10
            print(f"  nprobe {nprobe:>4}: {args.queries} queries in {elapsed:.1f} s = "
                  f"{args.queries / elapsed:,.0f} queries/s, recall@10 {recall:.4f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--query-block", type=int, default=DenseIndexOptions.query_block)
    parser.add_argument("--db-block", type=int, default=DenseIndexOptions.db_block)
    parser.add_argument("--chunk", type=int, default=10000, help="queries per progress line")
    parser.add_argument("--threads", type=int, default=None, help="torch (and faiss) CPU threads")
    parser.add_argument("--faiss", action="store_true", help="benchmark the faiss index instead (see above)")
    parser.add_argument("--map-size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--kinds", nargs="+", default=["ivfrabitq"], help="faiss index kinds to build")
    parser.add_argument("--nlist", type=int, default=0, help="faiss: inverted lists (0: from the map size)")
    parser.add_argument("--nprobe", type=int, nargs="*", default=[], help="faiss: nprobe values to time")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.faiss:
        run_faiss(args)
        return
    options = DenseIndexOptions(query_block=args.query_block, db_block=args.db_block, device=args.device)
    print(f"device={args.device} dim={args.dim} k={args.k} threads={torch.get_num_threads()} "
          f"query_block={args.query_block} db_block={args.db_block}")
    print(f"{'N':>8} {'time (s)':>10} {'pairs/s':>12} {'peak MiB':>10}")
    for n in args.sizes:
        elapsed, rate, peak = run(n, args.dim, args.k, options, args.chunk)
        print(f"{n:>8} {elapsed:>10.2f} {rate:>12.0f} {peak:>10.0f}", flush=True)


if __name__ == "__main__":
    main()
