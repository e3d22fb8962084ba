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
