"""The figures of ``certify landscape --out``: filter-normalised 1D / 2D slices, the linear path between two
checkpoints, and the SLQ spectral density with the Lanczos eigenvalue brackets. Each function returns PNG bytes
(matplotlib, Agg backend); the caller writes them atomically (:func:`certify.certificate.io.atomic_write_bytes`)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from certify.landscape.hessian import BlockSpectrum
from certify.landscape.slices import LandscapeSlice, LinearPath

__all__ = ["slice_png", "path_png", "density_png"]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    _plt().close(fig)
    return buf.getvalue()


def slice_png(s: LandscapeSlice, title: str = "") -> bytes:
    """1D: loss and 0-1 error against ``a``; 2D: filled contours of the loss over ``(a, b)``."""
    plt = _plt()
    if not s.b:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(s.a, s.loss, "-o", ms=3, color="C0", label="cross-entropy")
        ax.set_xlabel("a (filter-normalised direction)")
        ax.set_ylabel("training loss")
        ax2 = ax.twinx()
        ax2.plot(s.a, s.error, "--", color="C3", label="0-1 error")
        ax2.set_ylabel("training 0-1 error")
        fig.legend(loc="upper center", fontsize=8, ncol=2, bbox_to_anchor=(0.5, 0.9))
        ax.set_title(title or "1D filter-normalised slice (Li et al. 2018)", fontsize=9)
        return _png(fig)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    z = np.log10(np.maximum(np.asarray(s.loss, dtype=np.float64), 1e-12))
    cs = ax.contourf(s.b, s.a, z, levels=20, cmap="viridis")
    ax.contour(s.b, s.a, z, levels=10, colors="k", linewidths=0.4)
    fig.colorbar(cs, ax=ax, label="log10 training loss")
    ax.plot([0], [0], "r*", ms=10)
    ax.set_xlabel("b (direction 2)")
    ax.set_ylabel("a (direction 1)")
    ax.set_title(title or "2D filter-normalised slice (Li et al. 2018)", fontsize=9)
    return _png(fig)


def path_png(p: LinearPath) -> bytes:
    """Loss and error along the linear path, with the chord whose largest gap is the barrier estimate."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    t = np.asarray(p.t)
    ax.plot(t, p.loss, "-o", ms=3, color="C0", label="cross-entropy")
    ax.plot(t, (1 - t) * p.loss[0] + t * p.loss[-1], ":", color="C0", label="chord")
    ax.set_xlabel("t: (1 - t) w_A + t w_B")
    ax.set_ylabel("training loss")
    ax2 = ax.twinx()
    ax2.plot(t, p.error, "--", color="C3", label="0-1 error")
    ax2.set_ylabel("training 0-1 error")
    ax.set_title(f"linear path; loss barrier estimate {p.loss_barrier_estimate:.4g}, error barrier estimate "
                 f"{p.error_barrier_estimate:.4g}", fontsize=9)
    fig.legend(loc="upper right", fontsize=8, bbox_to_anchor=(0.85, 0.88))
    return _png(fig)


def density_png(b: BlockSpectrum) -> bytes:
    """The SLQ density estimate (log scale) with the top eigenvalue brackets marked."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    d = b.density
    if d is not None:
        ax.semilogy(d.grid, np.maximum(np.asarray(d.density), 1e-12), color="C0", label="SLQ density estimate")
    if b.brackets is not None:
        for i, e in enumerate(b.brackets.eigenvalues):
            ax.axvspan(e.lo, e.hi, color="C3", alpha=0.6, lw=0)
            ax.axvline(0.5 * (e.lo + e.hi), color="C3", lw=0.8, label="top eigenvalue brackets" if i == 0 else None)
    ax.set_xlabel("eigenvalue of the float64 Hessian operator")
    ax.set_ylabel("density")
    ax.set_title(f"Hessian spectrum, block {b.block} ({b.dim} parameters)", fontsize=9)
    ax.legend(fontsize=8)
    return _png(fig)
