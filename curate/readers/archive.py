"""Reading archive members in memory, safely, for the readers that take archives.

Nothing is extracted to disk: tar members are read with ``TarFile.extractfile`` from a
streaming open (``r|*``, so a non-seekable remote stream works too), zip members with
``ZipFile.open``. Every member that is a regular file comes out as one :class:`Member`;
a member that must not be read carries ``refused`` (a reason word) instead of data:

- ``absolute_path`` / ``parent_path``: a name starting with ``/``, ``\\`` or a drive
  letter, or with a ``..`` component (path traversal);
- ``link`` (symlink or hardlink) and ``special_file`` (device, fifo);
- ``too_large``: declared or actual size over ``max_member_bytes``;
- ``compression_ratio``: a zip member whose declared size is more than
  ``max_compression_ratio`` times its compressed size (a zip bomb);
- ``corrupt_member``: the member's data fails to decompress or its CRC check.

Directories are not units and are passed over silently (they hold no text). When the
archive itself is unreadable or breaks off, or its total uncompressed size passes
``max_total_bytes``, :class:`ArchiveDamaged` is raised after the members read so far.
"""

from __future__ import annotations

import dataclasses
import io
import re
import stat
import tarfile
import zipfile
import zlib
from typing import IO, Iterator, Optional

TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
ZIP_SUFFIXES = (".zip",)


class ArchiveDamaged(Exception):
    """The archive cannot be read (further): corrupt, truncated, or over the size limit."""


@dataclasses.dataclass(frozen=True)
class ArchiveLimits:
    max_member_bytes: int
    max_total_bytes: int
    max_compression_ratio: float


@dataclasses.dataclass
class Member:
    name: str
    data: Optional[bytes] = None
    refused: Optional[str] = None  # a reason word when the member was not read
    detail: str = ""


_DRIVE_RE = re.compile(r"^[A-Za-z]:")


def unsafe_name(name: str) -> Optional[str]:
    """Why a member name must not be used as a path, or None when it is safe."""
    if name.startswith(("/", "\\")) or _DRIVE_RE.match(name):
        return "absolute_path"
    if ".." in re.split(r"[/\\]", name):
        return "parent_path"
    return None


def archive_kind(path: str) -> Optional[str]:
    low = path.lower()
    if low.endswith(ZIP_SUFFIXES):
        return "zip"
    if low.endswith(TAR_SUFFIXES):
        return "tar"
    return None


def archive_stem(path: str) -> str:
    """The archive's file name without directory and archive suffix (``repo.tar.gz`` -> ``repo``)."""
    base = path.rstrip("/").rsplit("/", 1)[-1]
    low = base.lower()
    for suffix in sorted(TAR_SUFFIXES + ZIP_SUFFIXES, key=len, reverse=True):
        if low.endswith(suffix):
            return base[: -len(suffix)]
    return base


def read_limited(f: IO[bytes], limit: int) -> Optional[bytes]:
    """Read at most ``limit`` bytes; None when there is more (the caller refuses it)."""
    data = f.read(limit + 1)
    return None if len(data) > limit else data


def iter_members(fileobj: IO[bytes], kind: str, limits: ArchiveLimits) -> Iterator[Member]:
    if kind == "zip":
        yield from _iter_zip(fileobj, limits)
    elif kind == "tar":
        yield from _iter_tar(fileobj, limits)
    else:
        raise ValueError(f"unknown archive kind {kind!r}")


class _WatchedTarInfo(tarfile.TarInfo):
    """Notes a short or missing header: tarfile ends iteration silently on those, the
    same as on the end-of-archive zero block, which would hide a truncated archive."""

    @classmethod
    def fromtarfile(cls, tar):
        try:
            return super().fromtarfile(tar)
        except (tarfile.TruncatedHeaderError, tarfile.EmptyHeaderError):
            tar.curate_broken_off = True
            raise


def _iter_tar(fileobj: IO[bytes], limits: ArchiveLimits) -> Iterator[Member]:
    total = 0
    try:
        tar = tarfile.open(fileobj=fileobj, mode="r|*", tarinfo=_WatchedTarInfo)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise ArchiveDamaged(f"not a readable tar archive: {type(e).__name__}: {e}") from None
    with tar:
        it = iter(tar)
        while True:
            try:
                info = next(it)
            except StopIteration:
                if getattr(tar, "curate_broken_off", False):
                    raise ArchiveDamaged("tar archive breaks off: truncated header, no end-of-archive block") from None
                return
            except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
                raise ArchiveDamaged(f"tar archive breaks off: {type(e).__name__}: {e}") from None
            if info.isdir():
                continue
            reason = unsafe_name(info.name)
            if reason:
                yield Member(info.name, refused=reason)
                continue
            if info.issym() or info.islnk():
                yield Member(info.name, refused="link", detail=f"-> {info.linkname}")
                continue
            if not info.isfile():
                yield Member(info.name, refused="special_file")
                continue
            if info.size > limits.max_member_bytes:
                yield Member(info.name, refused="too_large", detail=f"{info.size} bytes")
                continue
            total += info.size
            if total > limits.max_total_bytes:
                raise ArchiveDamaged(f"archive over max_total_bytes={limits.max_total_bytes}")
            try:
                f = tar.extractfile(info)
                data = f.read() if f is not None else b""
            except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
                raise ArchiveDamaged(f"tar archive breaks off in {info.name!r}: {type(e).__name__}: {e}") from None
            if len(data) != info.size:
                raise ArchiveDamaged(f"tar archive breaks off in {info.name!r}: {len(data)} of {info.size} bytes")
            yield Member(info.name, data=data)


def _zip_is_link_or_special(info: zipfile.ZipInfo) -> Optional[str]:
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_IFMT(mode):  # Unix attributes with a file type
        if stat.S_ISLNK(mode):
            return "link"
        if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            return "special_file"
    return None


def _iter_zip(fileobj: IO[bytes], limits: ArchiveLimits) -> Iterator[Member]:
    if not (hasattr(fileobj, "seekable") and fileobj.seekable()):
        # zip's directory is at the end: a non-seekable stream is buffered, within the limit.
        data = read_limited(fileobj, limits.max_total_bytes)
        if data is None:
            raise ArchiveDamaged(f"archive over max_total_bytes={limits.max_total_bytes}")
        fileobj = io.BytesIO(data)
    try:
        zf = zipfile.ZipFile(fileobj)
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as e:
        raise ArchiveDamaged(f"not a readable zip archive: {type(e).__name__}: {e}") from None
    total = 0
    with zf:
        for info in infos:
            if info.is_dir():
                continue
            reason = unsafe_name(info.filename) or _zip_is_link_or_special(info)
            if reason:
                yield Member(info.filename, refused=reason)
                continue
            if info.file_size > limits.max_member_bytes:
                yield Member(info.filename, refused="too_large", detail=f"{info.file_size} bytes")
                continue
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                yield Member(info.filename, refused="compression_ratio", detail=f"{ratio:.0f}x")
                continue
            total += info.file_size
            if total > limits.max_total_bytes:
                raise ArchiveDamaged(f"archive over max_total_bytes={limits.max_total_bytes}")
            try:
                with zf.open(info) as f:
                    data = read_limited(f, limits.max_member_bytes)
            except (zipfile.BadZipFile, EOFError, OSError, zlib.error, NotImplementedError, RuntimeError) as e:
                # RuntimeError: encrypted member; NotImplementedError: unknown compression
                yield Member(info.filename, refused="corrupt_member", detail=f"{type(e).__name__}: {e}")
                continue
            if data is None:  # the header lied about the size
                yield Member(info.filename, refused="too_large", detail="over max_member_bytes")
                continue
            yield Member(info.filename, data=data)
