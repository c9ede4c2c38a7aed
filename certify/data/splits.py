"""Data preparation shared by ``certify optimize``, ``certify compress``, the demo and paper_repro scripts."""

from __future__ import annotations

import numpy as np

from certify.data.builtins import load_builtin
from certify.options import DataSpec

__all__ = ["load_xy", "load_user_data", "parse_sizes"]


def load_xy(name: str, *, binary: bool = False, n_train: int | None = None, n_test: int | None = None):
    """``(train, test, info)``: flattened float32 inputs, int64 labels (``label > 4`` when ``binary``), and what to
    record about the data (name, sha256 of each split, sizes, the binary relabelling, subsampling)."""
    tr, te = load_builtin(name, "train"), load_builtin(name, "test")
    out = []
    for ds, n in ((tr, n_train), (te, n_test)):
        x = ds.x.reshape(ds.n, -1).astype(np.float32)
        y = ds.y.astype(np.int64)
        if binary:
            y = (y > 4).astype(np.int64)
        if n is not None and n < ds.n:
            x, y = x[:n], y[:n]
        out.append((np.ascontiguousarray(x), y))
    info = {"name": name + (" (binary: label > 4)" if binary else ""), "split": "train", "train_sha256": tr.sha256,
            "test_sha256": te.sha256, "n_train": int(len(out[0][1])), "n_test": int(len(out[1][1])),
            "subsample": "first n examples of each split" if (n_train or n_test) else "none",
            "spec": DataSpec(name, binary, n_train, n_test).to_dict()}
    return out[0], out[1], info


def parse_sizes(text: str) -> tuple[int, ...]:
    from boundcert.errors import InvalidInput

    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise InvalidInput(f"--arch={text!r} must be comma-separated layer widths, e.g. 784,600,10") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise InvalidInput(f"--arch={text!r} needs at least an input and an output width, all >= 1")
    return sizes


def load_user_data(train: str, test: str | None = None, *, binary: bool = False):
    """``(train, test, info)`` for a user's module: ``(x, y)`` as stored (no flattening; the module takes them), any
    :func:`certify.data.load_data` specification. A built-in ``NAME`` means its training split here, and its test
    split is the default ``test``; a file has no default test data (``test`` is then ``None``). ``binary``: labels
    ``y > 4``. ``info["spec"]`` is what ``certify check --recompute`` loads again (``spec``, ``binary``, the sha256
    of the data as loaded, before relabelling)."""
    from certify.data.builtins import BUILTINS
    from certify.data.load import load_data

    from pathlib import Path

    text = str(train)
    if text in BUILTINS and not Path(text).is_file():
        text, test = f"{text}:train", test or f"{text}:test"
    elif Path(text).is_file():
        text = str(Path(text).resolve())  # a replay from another directory finds the same file
    ds = load_data(text)
    te = load_data(test) if test else None

    def xy(d):
        return d.x, ((d.y > 4).astype(np.int64) if binary else d.y)

    info = {"name": ds.name + (" (binary: label > 4)" if binary else ""), "split": ds.split, "sha256": ds.sha256,
            "n_train": ds.n, **({"file_sha256": ds.file_sha256} if ds.file_sha256 else {}),
            **({"test_sha256": te.sha256, "n_test": te.n} if te is not None else {}),
            "spec": {"spec": text, "binary": bool(binary), "sha256": ds.sha256}}
    return xy(ds), (xy(te) if te is not None else None), info
