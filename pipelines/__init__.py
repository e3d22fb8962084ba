"""Apache Beam wiring of the runner-free ``curate`` core, and the ``curate`` CLI."""
