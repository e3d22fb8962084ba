"""File access that works for local paths and, through Beam's FileSystems when Beam
is installed, for gs:// and other remote paths. The one place the core touches files."""

from __future__ import annotations

import contextlib
import os


def _beam_filesystems():
    try:
        from apache_beam.io.filesystems import FileSystems

        return FileSystems
    except ImportError:  # the core runs without Beam
        return None


def _remote_fs(*paths: str):
    """Beam's FileSystems when one of ``paths`` is remote (and Beam is installed), else
    None. Local files never import Beam: the import costs ~1.7 s and ~120 MB in every
    process, and a filter reading its word list in a worker pool
    (bench/bench_filters.py) must not pay that."""
    if not any(is_remote(p) for p in paths):
        return None
    return _beam_filesystems()


def is_remote(path: str) -> bool:
    return "://" in path


def read_bytes(path: str) -> bytes:
    fs = _remote_fs(path)
    if fs is not None:
        with fs.open(path, compression_type="uncompressed") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def open_read(path: str):
    """A seekable binary file object (remote paths through Beam's FileSystems), so a
    Parquet reader fetches the footer and the row groups it needs, not the whole file."""
    fs = _remote_fs(path)
    if fs is not None:
        return fs.open(path, compression_type="uncompressed")
    return open(path, "rb")


def write_bytes(path: str, data: bytes) -> None:
    """Write atomically (:func:`open_write`)."""
    with open_write(path) as f:
        f.write(data)


@contextlib.contextmanager
def open_write(path: str):
    """A binary file object to stream a file into, written atomically: to a temporary
    name, renamed to ``path`` when the block ends without an exception (removed when it
    raises), so a retried or killed worker never leaves a half-written file under the
    final name."""
    fs = _remote_fs(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    remote = fs is not None
    if not remote:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    try:
        with fs.create(tmp, compression_type="uncompressed") if remote else open(tmp, "wb") as f:
            yield f
    except BaseException:
        delete([tmp])
        raise
    if remote:
        if fs.exists(path):
            fs.delete([path])
        fs.rename([tmp], [path])
    else:
        os.replace(tmp, path)


def join(base: str, *parts: str) -> str:
    if is_remote(base):
        return "/".join([base.rstrip("/"), *parts])
    return os.path.join(base, *parts)


def exists(path: str) -> bool:
    fs = _remote_fs(path)
    if fs is not None:
        return fs.exists(path)
    return os.path.exists(path)


def list_files(directory: str) -> list[str]:
    """Every file below ``directory`` (recursively), as sorted paths relative to it."""
    fs = _remote_fs(directory)
    if fs is not None:
        prefix = directory.rstrip("/") + "/"
        found = fs.match([prefix + "**"])[0].metadata_list
        return sorted(m.path[len(prefix) :] for m in found)
    out = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            out.append(os.path.relpath(os.path.join(root, name), directory).replace(os.sep, "/"))
    return sorted(out)


def move(src: str, dst: str) -> None:
    """Move one file, replacing ``dst``: a rename on local disk, copy and delete on
    object stores (gs:// has no rename)."""
    fs = _remote_fs(src, dst)
    if fs is not None:
        if fs.exists(dst):
            fs.delete([dst])
        fs.rename([src], [dst])
        return
    os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
    os.replace(src, dst)


def delete(paths: list[str]) -> None:
    """Delete these files (each must be a file the caller wrote); missing ones are fine."""
    remote = [p for p in paths if is_remote(p)]
    fs = _remote_fs(*remote)
    if remote and fs is not None:
        present = [p for p in remote if fs.exists(p)]
        if present:
            fs.delete(present)
    for p in paths:
        if not is_remote(p) and os.path.lexists(p):
            os.remove(p)


def remove_empty_dirs(directory: str) -> None:
    """Remove the empty folders below ``directory`` (and it, if it ends up empty).
    Object stores have no folders: nothing to do there."""
    if is_remote(directory) or not os.path.isdir(directory):
        return
    for root, _dirs, _files in sorted(os.walk(directory, topdown=False), key=lambda t: -len(t[0])):
        try:
            os.rmdir(root)
        except OSError:  # not empty: something is still there, and stays
            pass


def match(pattern: str) -> list[tuple[str, int]]:
    """The files a path pattern names, as ``(path, size)``, with the same pattern rules as
    the pipeline's readers (Beam's: ``*`` within a folder, ``**`` across folders)."""
    fs = _beam_filesystems()  # local patterns too: the readers' pattern rules are Beam's
    if fs is None:
        import glob

        return sorted((p, os.path.getsize(p)) for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    try:
        found = fs.match([pattern])[0].metadata_list
    except Exception:  # nothing there (Beam raises for a missing folder)
        return []
    return sorted((m.path, m.size_in_bytes) for m in found)


def fixed_part(pattern: str) -> str:
    """A path pattern up to its first wildcard (``*``, ``?``, ``[``): what every match starts with."""
    for ch in "*?[":
        pattern = pattern.split(ch, 1)[0]
    return pattern


def remove_tree(path: str) -> None:
    """Delete a directory (or prefix) that curate owns whole, if it exists."""
    fs = _remote_fs(path)
    if fs is not None:
        prefix = path.rstrip("/") + "/"
        matches = fs.match([prefix + "**"])[0].metadata_list
        if matches:
            fs.delete([m.path for m in matches])
        return
    import shutil

    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)
