"""Checks of the configured input files made on the driver before the run: a file that
two path entries (or two overlapping globs) of one input match is read once, with a
warning; a file that two inputs claim is a configuration error (which source would it
be?); an empty file gets a warning (it yields no records, which is rarely what was meant).

The readers apply the same rule in the pipeline (one read per matched path), so this
module only decides what to say; remote patterns are listed here too when they can be."""

from __future__ import annotations

from curate import io as cio
from curate.config import ConfigError


def check_input_files(inputs) -> list[str]:
    """Warnings for ``inputs`` (validated InputConfigs); raises ConfigError on a file
    claimed by two inputs."""
    warnings = []
    owner: dict[str, int] = {}
    for i, inp in enumerate(inputs):
        seen: dict[str, str] = {}
        for pattern in inp.paths:
            try:
                found = cio.match(pattern)
            except Exception:  # a remote store the driver cannot list: the workers will
                continue
            for path, size in found:
                if path in seen:
                    warnings.append(
                        f"inputs[{i}]: {path} is matched by both {seen[path]!r} and {pattern!r}; it is read once"
                    )
                    continue
                seen[path] = pattern
                if path in owner and owner[path] != i:
                    raise ConfigError(
                        f"inputs[{i}].paths: {path} is also an input of inputs[{owner[path]}]; "
                        f"name each file in one input only"
                    )
                owner[path] = i
                if size == 0:
                    warnings.append(f"inputs[{i}]: {path} is empty (0 bytes): it yields no records")
    return warnings
