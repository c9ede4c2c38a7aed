"""IDX files (the MNIST format): the reader and a directory of ``{train,t10k}-{images,labels}`` files;
Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` lives in :data:`FASHION_MNIST_DIR`.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from boundcert.errors import InvalidInput
from certify.data.dataset import Split

__all__ = ['FASHION_MNIST_DIR', 'load_idx_dir']


FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise InvalidInput(f"IDX file {str(path)!r} cannot be read ({exc}): check the path") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise InvalidInput(f"{str(path)!r} is not an unsigned-byte IDX file: give MNIST-format files")
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise InvalidInput(f"IDX file {str(path)!r} is truncated: expected {int(np.prod(dims))} values, got {body.size}")
    return body.reshape(dims)


def load_idx_dir(directory: str | Path, split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Read ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` from a directory (Fashion-MNIST or MNIST)."""
    d = Path(directory)
    stem = "train" if split == "train" else "t10k"
    found = {}
    for kind, tag in (("images", "idx3"), ("labels", "idx1")):
        for name in (f"{stem}-{kind}-{tag}-ubyte.gz", f"{stem}-{kind}-{tag}-ubyte", f"{stem}-{kind}.{tag}-ubyte"):
            if (d / name).exists():
                found[kind] = d / name
                break
        else:
            hint = " (install the Debian package dataset-fashion-mnist)" if d == FASHION_MNIST_DIR else ""
            raise InvalidInput(f"no {stem} {kind} IDX file in {str(d)!r}{hint}: give a directory of MNIST-format files")
    images = _read_idx(found["images"]).astype(np.float32) / 255.0
    return images.reshape(images.shape[0], 1, *images.shape[1:]), _read_idx(found["labels"]).astype(np.int64)
