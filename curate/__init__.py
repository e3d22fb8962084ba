"""curate: a pretraining data-curation pipeline.

The ``curate`` package is the runner-free core: every stage is a plain function or
class over :class:`curate.document.Document` that can be tested without Beam.
The ``pipelines`` package wires these into Apache Beam.
"""

__version__ = "0.1.0"
