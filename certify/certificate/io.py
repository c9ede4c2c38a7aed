"""Writing files atomically (a temp file in the same directory, then a rename: never half-written) and the
``created`` timestamp. The one writer of every certificate, report, code and posterior file."""

from __future__ import annotations

import datetime as _dt
import os
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
    """Write ``data`` to ``path`` via a temp file in the same directory and a rename: never half-written."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as exc:
        raise InvalidInput(f"--out={str(directory)!r} is not writable ({exc.strerror}): choose a writable directory") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
