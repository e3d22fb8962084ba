"""File access that works for local paths and, through Beam's FileSystems when Beam
is installed, for gs:// and other remote paths. The one place the core touches files."""

from __future__ import annotations

import os


def _filesystems():
    try:
        from apache_beam.io.filesystems import FileSystems

        return FileSystems
    except ImportError:  # the core runs without Beam
        return None


def is_remote(path: str) -> bool:
    return "://" in path


def read_bytes(path: str) -> bytes:
    fs = _filesystems()
    if fs is not None and is_remote(path):
        with fs.open(path, compression_type="uncompressed") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def open_read(path: str):
    """A seekable binary file object (remote paths through Beam's FileSystems), so a
    Parquet reader fetches the footer and the row groups it needs, not the whole file."""
    fs = _filesystems()
    if fs is not None and is_remote(path):
        return fs.open(path, compression_type="uncompressed")
    return open(path, "rb")


def write_bytes(path: str, data: bytes) -> None:
    """Write atomically: to a temporary name, then rename, so a retried or killed
    worker never leaves a half-written file under the final name."""
    fs = _filesystems()
    tmp = f"{path}.tmp-{os.getpid()}"
    if fs is not None and is_remote(path):
        with fs.create(tmp, compression_type="uncompressed") as f:
            f.write(data)
        if fs.exists(path):
            fs.delete([path])
        fs.rename([tmp], [path])
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def join(base: str, *parts: str) -> str:
    if is_remote(base):
        return "/".join([base.rstrip("/"), *parts])
    return os.path.join(base, *parts)


def remove_tree(path: str) -> None:
    """Delete a directory (or prefix) if it exists."""
    fs = _filesystems()
    if fs is not None and is_remote(path):
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
