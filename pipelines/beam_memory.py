"""Let Beam's SDK worker free each step's output buffer when the step's bundle is done.

Why: the runner caches every stage's bundle processor for reuse, and a processor's
output operations (``DataOutputOperation``) keep the output stream of their last bundle
after closing it. That stream is a Cython ``OutputStream`` whose C buffer grows by
doubling until it is flushed at 10 MB (so up to 16 MB), and it is freed only with the
stream. On a local run a stage's whole output is one bundle, so every stage that emitted
a few MB kept up to 16 MB of C memory, which tracemalloc does not see, until the end of
the run. In the near-duplicate run at 8N (``bench/bench_memory.py --minhash``) the dedup
stage's steps still held ~20 MB of these buffers (glibc's mmapped chunks: 23 MB against
3 MB in the same run without the stage) while the documents were tokenized and the
shards written, the part of the run that sets its peak: the bench's peak RSS (process
tree, `--scales 1,8 --before main`) 244 -> 226 MB, `/usr/bin/time` of `curate run` on the
8N file 244-248 -> 231-234 MB, the same shard bytes (docs/dedup-minhash.md).

The fix drops the stream once the operation has closed it; the next bundle gets a new one
from ``BundleProcessor.process_bundle``, which sets one on every output operation before
each bundle. It changes a method of a Beam class, so it is applied only in the process of
a local ``curate run`` (where FnApiRunner runs the bundles in process; with
``--direct_running_mode multi_processing`` its worker processes keep Beam's behaviour, and
Dataflow's workers are not touched), and tests/test_beam_memory.py fails if the Beam
version at hand no longer behaves as described.
"""

from __future__ import annotations

_installed = False


def release_output_streams() -> None:
    """Make ``DataOutputOperation.finish`` drop its closed output stream (see the module
    docstring). Idempotent."""
    global _installed
    if _installed:
        return
    from apache_beam.runners.worker import bundle_processor

    operation = bundle_processor.DataOutputOperation
    finish = operation.finish

    def finish_and_release(self) -> None:
        finish(self)
        self.output_stream = None  # frees the stream's C buffer (set again for the next bundle)

    operation.finish = finish_and_release  # type: ignore[method-assign]
    _installed = True
