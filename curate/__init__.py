"""curate: a pretraining data-curation pipeline.

The ``curate`` package is the runner-free core: every stage is a plain function or
class over :class:`curate.document.Document` that can be tested without Beam.
The ``pipelines`` package wires these into Apache Beam.
"""

import os
import sys

__version__ = "0.1.0"

# Arrow's default allocator (mimalloc) keeps the memory it frees for reuse: on a local run
# that reads and writes work files and shards it held 50-80 MB more peak RSS at every
# input size, for no measured speed (bench/bench_memory.py, docs/scale.md). The system
# allocator hands it back. The variable is read when pyarrow is imported, and Beam's worker
# processes inherit it; a value the user set wins.
if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    if "pyarrow" in sys.modules:  # imported before curate: switch this process's pool now
        import pyarrow

        pyarrow.set_memory_pool(pyarrow.system_memory_pool())

# glibc's malloc serves a large block (>= 128 KB) with mmap and unmaps it when freed, but
# each such free raises that threshold (up to 32 MB): from then on the run's large
# buffers (numpy blocks of MinHash, Arrow tables of sorted runs) come from the heap, and
# what is freed mostly stays in the process. A fixed threshold keeps every block of 1 MB
# or more mmapped, handed back when freed. With the MinHash buffers released after each
# bundle and 8 MB runs (curate/shard_runs.py), `bench/bench_memory.py --minhash --scales
# 1,8 --before 827cc49` gave peak RSS 270 -> 248 MB at N and 347 -> 287 MB at 8N, the same
# shard bytes (docs/scale.md). A value the user set wins.
if sys.platform.startswith("linux") and "MALLOC_MMAP_THRESHOLD_" not in os.environ:
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD; also stops the adjusting
    except (OSError, AttributeError):  # no glibc (musl has no-op mallopt; others lack it)
        pass
