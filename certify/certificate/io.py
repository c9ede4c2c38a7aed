"""Writing files atomically (a temp file in the same directory, then a rename: never half-written) and the
``created`` timestamp. The one writer of every certificate, report, code and posterior file."""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import os
import secrets
import tempfile
from pathlib import Path

from boundcert.errors import InvalidInput

__all__ = ["utc_timestamp", "atomic_write_text", "atomic_write_bytes"]


def utc_timestamp() -> str:
    """The ``created`` field: UTC time to the second (the only field that differs between identical runs)."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same directory and a rename: never half-written."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, never half-written and never through a symlink.

    The bytes go to an unnamed file in the target directory (Linux ``O_TMPFILE``: a run killed while writing leaves
    nothing), flushed to disk, then linked under a fresh hidden name and renamed over ``path`` (``rename`` replaces a
    symlink at ``path``, it never writes to its target). A filesystem without ``O_TMPFILE`` gets a named temp file
    (``mkstemp``, removed on any error); both are exactly as atomic, the unnamed one also survives ``kill -9`` clean.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = _unnamed(directory), None
        if fd is None:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InvalidInput(f"--out={str(directory)!r} is not writable ({exc.strerror}): choose a writable directory") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            if tmp is None:
                tmp = _link(fh.fileno(), directory, path.name)
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def _unnamed(directory: Path) -> int | None:
    """An unnamed writable file in ``directory`` (``O_TMPFILE``), or None where the system or filesystem has none."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY, 0o644)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return None
        raise


def _link(fd: int, directory: Path, name: str) -> str:
    """Give the unnamed file ``fd`` a fresh hidden name in ``directory`` (renamed over the target right after)."""
    proc = os.open("/proc/self/fd", os.O_RDONLY)  # linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N: see open(2)
    try:
        while True:
            tmp = str(directory / f".{name}.{secrets.token_hex(6)}.tmp")
            try:
                os.link(str(fd), tmp, src_dir_fd=proc, follow_symlinks=True)
                return tmp
            except FileExistsError:
                continue
    finally:
        os.close(proc)
