"""Data preparation shared by ``certify optimize``, ``certify compress``, the demo and paper_repro scripts."""

from __future__ import annotations

import numpy as np

from certify._data import load_builtin

__all__ = ["load_xy", "parse_sizes", "torch_threads"]


def torch_threads(max_threads: int = 2) -> int:
    """Threads for torch on this machine now: ``max_threads``, or 1 when the load average says the cores are busy.

    On a shared machine OpenMP threads spin-wait for each other while other processes hold the cores; measured
    here (2 cores, load ~10): one thread was 2-10x faster than two for the same MLP step.
    """
    import os

    try:
        busy = os.getloadavg()[0] > (os.cpu_count() or 1) - 0.5
    except OSError:
        busy = False
    return 1 if busy else max(1, max_threads)


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
            "subsample": "first n examples of each split" if (n_train or n_test) else "none"}
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
