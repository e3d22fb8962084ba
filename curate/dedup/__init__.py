"""Deduplication: the pure logic of each level; Beam glue lives in ``pipelines``."""
