"""The output directory of a run: checked before any compute, written into a staging
folder, and committed whole at the end, so that no user data is ever lost.

Layout of ``OUT`` (local or ``gs://``)::

    OUT/manifest.json ...      the last complete run; ``manifest.json`` is written last and
                               lists every file that run wrote (``files``)
    OUT/.curate-staging/       the run in progress (a folder reserved for curate: each run
                               starts it afresh)
    OUT/.curate-commit.json    present only while a finished run is being moved into place
    OUT/.curate-lock           held by the run writing to a local OUT

The rules (issue 8):

- An input under ``OUT`` is refused before anything is read or written: a previous run's
  ``shards/`` read as input would be replaced by the run reading it.
- ``OUT`` must be a folder that exists or can be created, and writable (a probe file is
  written and removed), so an unwritable output fails in a second, not after the compute.
- A complete output (``manifest.json`` present) is replaced only when asked (``overwrite``).
- Files the previous run did not write are never deleted or overwritten. One lying where
  curate writes (``shards/``, ``rejected/``, ...) is refused before the run, by name; a
  commit that would still meet one stops and leaves the new output whole in the staging
  folder.
- An interrupted run leaves the previous output as it was (the new one is only in the
  staging folder, which no reader takes for an output: it has no ``manifest.json`` at ``OUT``).
- The commit writes a journal first, removes the old ``manifest.json`` (from then on ``OUT``
  is not a complete output), removes the old run's files, moves the new ones in, writes the
  new ``manifest.json`` last and removes the journal. An interrupted commit is finished by
  the next run that starts on ``OUT`` (the staged output it points to is complete).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import IO, Optional

from curate import io as cio

MANIFEST = "manifest.json"
STAGING = ".curate-staging"
JOURNAL = ".curate-commit.json"
LOCK = ".curate-lock"
PROBE = ".curate-write-probe"
# Files the writers leave in the staging folder for the driver; never committed.
SCRATCH = (
    "_shard_index.json",
    "_stats.kept.json",
    "_stats.dropped.json",
    "_stats.errors.json",
)  # stats: pipelines/stats.py
# Work files under the staging folder (curate.spill: documents waiting for a run-wide
# stage's decision; pipelines/output.py: sorted runs of the shard writers): never
# committed, removed when the run commits.
WORK = "_work"
# Top-level names a run writes (besides what its manifest lists): a file under one of
# these that no earlier run wrote is the user's, and the run refuses to start over it.
RESERVED = (
    MANIFEST,
    "shards",
    "rejected",
    "errors",
    "tokenizer",
    "validation",
    "stats.json",
    "samples",
    "decontamination.json",
    "contaminated-items",
    *SCRATCH,
)


class OutputError(Exception):
    """An output-directory problem, reported as one line before the run starts."""


def _is_under(path: str, directory: str) -> bool:
    if cio.is_remote(path) or cio.is_remote(directory):
        d = directory.rstrip("/") + "/"
        return path == directory.rstrip("/") or path.startswith(d)
    path, directory = os.path.realpath(path), os.path.realpath(directory)
    return path == directory or os.path.commonpath([path, directory]) == directory


def _legacy_files(manifest: dict) -> list[str]:
    """What a run wrote, for manifests written before they listed ``files``."""
    files = []
    for shard in manifest.get("shards") or []:
        files.append(shard["path"])
        files.append(shard["path"].replace("shards/", "rejected/", 1))
    files.append("errors/errors-00000-of-00001.jsonl")
    tokenizer = manifest.get("tokenizer") or {}
    if tokenizer.get("trained") and tokenizer.get("path"):
        files.append(tokenizer["path"])
    return files


def files_of(manifest: dict) -> list[str]:
    """The files (relative to OUT) the run behind ``manifest`` wrote, besides the manifest.
    These are what ``--overwrite`` deletes, so a path that would leave OUT (absolute, or
    with a ``..``: an edited or foreign manifest) is refused, never followed."""
    files = list(manifest["files"]) if "files" in manifest else _legacy_files(manifest)
    for rel in files:
        if not isinstance(rel, str) or rel.startswith(("/", "\\")) or ".." in rel.replace("\\", "/").split("/"):
            raise OutputError(f"manifest.json lists {rel!r}, which is not a path inside the output: not replacing it")
    return files


@dataclasses.dataclass
class OutputDir:
    """A run's output directory: ``staging`` is where the pipeline writes."""

    path: str
    previous: Optional[dict]  # the complete output's manifest being replaced, or None
    lock_file: Optional[IO] = None

    @property
    def staging(self) -> str:
        return cio.join(self.path, STAGING)

    # ------------------------------------------------------------------ before the run

    @classmethod
    def prepare(cls, path: str, input_patterns: list[str], overwrite: bool, probe: bool = True) -> "OutputDir":
        """Check ``path`` and the inputs, take the lock, finish an interrupted commit and
        start an empty staging folder. Raises :class:`OutputError` (one line)."""
        for pattern in input_patterns:
            for match_path in _pattern_paths(pattern):
                if _is_under(match_path, path):
                    raise OutputError(
                        f"input {pattern!r} lies under the output {path!r} ({match_path}); the run would "
                        f"replace what it reads: choose another --output"
                    )
        _check_location(path, probe)
        out = cls(path, None)
        out._lock()
        try:
            out._start(overwrite)
        except BaseException:
            out.release()
            raise
        return out

    def _start(self, overwrite: bool) -> None:
        path = self.path
        _finish_interrupted_commit(path)
        previous = _read_manifest(path)
        if previous is not None and not overwrite:
            raise OutputError(f"{path} already holds a complete output (manifest.json); pass --overwrite to replace it")
        self.previous = previous
        owned = set(files_of(previous)) if previous is not None else set()
        for rel in _existing_files(path):
            top = rel.split("/", 1)[0]
            if top in RESERVED and rel not in owned and rel != MANIFEST:
                raise OutputError(
                    f"{cio.join(path, rel)} was not written by the curate run in {path}; curate never deletes "
                    f"or overwrites such files: move it away or choose another --output"
                )
        cio.remove_tree(self.staging)  # a partial run left by an interrupted run (ours only)
        if not cio.is_remote(path):
            os.makedirs(self.staging)

    @classmethod
    def staged(cls, path: str) -> "OutputDir":
        """The output of a run whose job finished after its launcher returned (a Dataflow
        job submitted with ``--no_wait``): :meth:`prepare` ran at launch, the job wrote the
        staging folder, and :meth:`commit` is left to do."""
        out = cls(path, None)
        out._lock()
        out.previous = _read_manifest(path)
        return out

    def _lock(self) -> None:
        if cio.is_remote(self.path):
            return  # object stores have no locks: one run per output (README, output folder)
        import fcntl

        f = open(os.path.join(self.path, LOCK), "a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise OutputError(f"another curate run is writing to {self.path}") from None
        self.lock_file = f

    def release(self) -> None:
        if self.lock_file is not None:
            self.lock_file.close()
            self.lock_file = None

    # ------------------------------------------------------------------ after the run

    def commit(self, manifest: dict) -> None:
        """Move the finished run from the staging folder into ``OUT``; ``manifest`` (its
        ``files`` filled here) is written last."""
        cio.remove_tree(cio.join(self.staging, WORK))  # read by the run's own steps only
        staged = [f for f in cio.list_files(self.staging) if f not in SCRATCH and f != MANIFEST]
        old = files_of(self.previous) if self.previous is not None else []
        old_set = set(old)
        for rel in staged:
            dst = cio.join(self.path, rel)
            if rel not in old_set and cio.exists(dst):
                raise OutputError(
                    f"{dst} appeared during the run and was not written by curate; the new output is complete "
                    f"in {self.staging}: move that file away and move the staged files in by hand"
                )
        manifest["files"] = staged
        cio.write_bytes(cio.join(self.staging, MANIFEST), manifest_bytes(manifest))
        journal = {"staging": STAGING, "new_files": staged, "old_files": old}
        cio.write_bytes(cio.join(self.path, JOURNAL), json.dumps(journal).encode())
        _roll_forward(self.path, journal)
        self.release()


def manifest_bytes(manifest: dict) -> bytes:
    return json.dumps(manifest, indent=2, sort_keys=False, ensure_ascii=False).encode("utf-8")


def _pattern_paths(pattern: str) -> list[str]:
    """The files a pattern matches now, or its fixed leading part when it matches none
    (an input pattern under OUT is refused even if the files are not there yet)."""
    found = [p for p, _ in cio.match(pattern)]
    if found:
        return found
    fixed = cio.fixed_part(pattern)
    return [fixed.rstrip("/") or "/"] if fixed else []


def _check_location(path: str, probe: bool) -> None:
    if cio.is_remote(path):
        if probe:
            try:
                cio.write_bytes(cio.join(path, PROBE), b"")
                cio.delete([cio.join(path, PROBE)])
            except Exception as e:
                raise OutputError(f"cannot write to the output {path}: {type(e).__name__}: {e}") from None
        return
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputError(f"the output {path} is a file, not a folder")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the output folder {path}: {e.strerror}") from None
    try:
        with open(os.path.join(path, PROBE), "wb"):
            pass
        os.remove(os.path.join(path, PROBE))
    except OSError as e:
        raise OutputError(f"cannot write to the output folder {path}: {e.strerror}") from None


def _read_manifest(path: str) -> Optional[dict]:
    target = cio.join(path, MANIFEST)
    if not cio.exists(target):
        return None
    try:
        return json.loads(cio.read_bytes(target))
    except ValueError:
        raise OutputError(
            f"{target} is not a curate manifest (not JSON): move it away or choose another --output"
        ) from None


def _existing_files(path: str) -> list[str]:
    if not cio.exists(path) and not cio.is_remote(path):
        return []
    return [f for f in cio.list_files(path) if not f.startswith(STAGING + "/") and f not in (JOURNAL, LOCK)]


def _finish_interrupted_commit(path: str) -> None:
    journal_path = cio.join(path, JOURNAL)
    if cio.exists(journal_path):
        _roll_forward(path, json.loads(cio.read_bytes(journal_path)))


def _roll_forward(path: str, journal: dict) -> None:
    """Idempotent: may run again after being interrupted at any point."""
    staging = cio.join(path, journal["staging"])
    new = set(journal["new_files"])
    if cio.exists(cio.join(staging, MANIFEST)):  # else it was moved in: only clean-up is left
        cio.delete([cio.join(path, MANIFEST)])  # from here on OUT holds no complete output
        cio.delete([cio.join(path, rel) for rel in journal["old_files"] if rel not in new])
        for rel in journal["new_files"]:
            src = cio.join(staging, rel)
            if cio.exists(src):
                cio.move(src, cio.join(path, rel))
        cio.move(cio.join(staging, MANIFEST), cio.join(path, MANIFEST))
    cio.delete([cio.join(path, JOURNAL)])
    cio.remove_tree(staging)
    for rel in journal["old_files"]:  # folders the old run had and the new one does not
        top = rel.split("/", 1)[0]
        if "/" in rel:
            cio.remove_empty_dirs(cio.join(path, top))
