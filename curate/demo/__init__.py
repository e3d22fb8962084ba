"""The demo: what `curate demo` builds to run on (not part of the pipeline's core)."""
