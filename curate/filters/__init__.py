"""Heuristic quality filters. Each is a :class:`curate.base.Filter` with the paper's
thresholds as typed defaults in its config dataclass."""
