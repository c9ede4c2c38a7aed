"""A trained module's parameters as one flat vector, evaluated functionally (``torch.func.functional_call``).

Every landscape computation (Hessian-vector products, sharpness searches, slices, the flatness certificate) moves
the parameters ``w`` of one copy of the model and evaluates the loss or the 0-1 error of ``f_w`` on the data;
:class:`FlatModel` is that one helper. The copy is in eval mode with its buffers (batch-norm statistics) fixed; only
floating-point *parameters* move. TF32 is switched off (:func:`certify.certificate.environment.strict_float_torch`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from certify.certificate.environment import strict_float_torch

__all__ = ["FlatModel", "flat_model", "layer_blocks"]


@dataclass(frozen=True, slots=True, eq=False)
class FlatModel:
    """A copy of a module in ``dtype``, its parameter names and shapes, the flat parameters ``w`` and the data.

    Attributes:
        module: the copy (eval mode, ``dtype``); names, shapes: its floating parameters in ``named_parameters`` order.
        w: the flat parameters (a detached tensor of ``dtype``); x, y: the data as tensors (``x`` in ``dtype``).
        batch: examples per forward pass.
    """

    module: Any
    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    w: Any
    x: Any
    y: Any
    batch: int

    @property
    def dim(self) -> int:
        return int(self.w.numel())

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    def split(self, flat: Any) -> dict[str, Any]:
        """The flat vector as a ``{name: tensor}`` parameter dict (views)."""
        out, i = {}, 0
        for name, shape in zip(self.names, self.shapes):
            k = int(np.prod(shape)) if shape else 1
            out[name] = flat[i : i + k].view(shape)
            i += k
        return out

    def logits(self, flat: Any, xb: Any) -> Any:
        from torch.func import functional_call

        return functional_call(self.module, self.split(flat), (xb,))

    def loss(self, flat: Any) -> Any:
        """Mean cross-entropy of ``f_flat`` over the data (a differentiable tensor)."""
        import torch.nn.functional as F

        total = 0.0
        for i in range(0, self.n, self.batch):
            out = self.logits(flat, self.x[i : i + self.batch])
            total = total + F.cross_entropy(out, self.y[i : i + self.batch], reduction="sum")
        return total / self.n

    def error_and_loss(self, flat: Any) -> tuple[float, float]:
        """``(0-1 error, mean cross-entropy)`` of ``f_flat`` over the data (floats; no gradient)."""
        import torch
        import torch.nn.functional as F

        wrong, ce = 0, 0.0
        with torch.no_grad():
            for i in range(0, self.n, self.batch):
                out = self.logits(flat, self.x[i : i + self.batch])
                yb = self.y[i : i + self.batch]
                wrong += int((out.argmax(1) != yb).sum())
                ce += float(F.cross_entropy(out, yb, reduction="sum"))
        return wrong / self.n, ce / self.n

    def numpy_w(self) -> np.ndarray:
        return self.w.detach().cpu().numpy().copy()


def flat_model(module: Any, x: np.ndarray, y: np.ndarray, *, dtype: str = "float64", batch: int = 1024) -> FlatModel:
    """The :class:`FlatModel` of ``module`` on ``(x, y)`` in ``dtype`` (``"float64"`` or ``"float32"``).

    Raises:
        InvalidInput: no floating parameters, labels outside the model's outputs, a forward pass that fails.
    """
    import torch

    strict_float_torch()
    if dtype not in ("float64", "float32"):
        raise InvalidInput(f"dtype={dtype!r} is not 'float64' or 'float32'")
    tdt = torch.float64 if dtype == "float64" else torch.float32
    m = copy.deepcopy(module).to(tdt).eval()
    named = [(n, p) for n, p in m.named_parameters() if p.is_floating_point()]
    if not named:
        raise InvalidInput("the model has no floating-point parameters: there is no loss landscape to explore")
    for _, p in named:
        p.requires_grad_(False)
    w = torch.cat([p.detach().reshape(-1) for _, p in named]).clone()
    xt = torch.as_tensor(np.ascontiguousarray(x)).to(tdt)
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64))
    fm = FlatModel(m, tuple(n for n, _ in named), tuple(tuple(p.shape) for _, p in named), w, xt, yt, int(batch))
    try:
        out = fm.logits(w, xt[:1])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"the model cannot read the data ({first}): give data of the model's input shape") from None
    if out.ndim != 2:
        raise InvalidInput(f"the model outputs shape {tuple(out.shape)} per batch: a classifier with logits "
                           "(batch, classes) is needed")
    if int(yt.max()) >= out.shape[1]:
        raise InvalidInput(f"label {int(yt.max())} is outside the model's {out.shape[1]} outputs: give matching data")
    return fm


def layer_blocks(names: tuple[str, ...], shapes: tuple[tuple[int, ...], ...]) -> dict[str, tuple[int, int]]:
    """Per-layer parameter blocks: ``{layer: (start, stop)}`` in the flat vector, a layer being the module prefix
    of a parameter name (``"0.weight"``, ``"0.bias"`` -> ``"0"``); parameters of one layer are contiguous."""
    blocks: dict[str, tuple[int, int]] = {}
    i = 0
    for name, shape in zip(names, shapes):
        k = int(np.prod(shape)) if shape else 1
        layer = name.rsplit(".", 1)[0] if "." in name else name
        start = blocks[layer][0] if layer in blocks and blocks[layer][1] == i else i
        if layer in blocks and blocks[layer][1] != i:
            layer = f"{layer}@{i}"  # a layer whose parameters are not contiguous: its pieces are separate blocks
        blocks[layer] = (start, i + k)
        i += k
    return blocks
