"""Running a classifier in float32 on the CPU (TF32 off, eval mode): argmax predictions and the one error count.

Every count of misclassified examples that enters a certificate (``k`` of the test-set bounds, the training errors
of a rebuilt compressed network, the Monte Carlo errors of sampled posteriors) is ``count_errors`` of argmax
predictions: an exact integer for the float32 execution of the network (ties go to the lowest index, as
``torch.argmax``; a tie is an error unless the lowest tied index is the label).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from boundcert.errors import InvalidInput

__all__ = ["predict", "count_errors", "mlp_logits", "mlp_errors"]


def count_errors(predictions: Any, y: Any) -> int:
    """Exact number of positions where ``predictions`` differs from the labels ``y``."""
    return int(np.count_nonzero(np.asarray(predictions) != np.asarray(y)))


def predict(model: Any, x: np.ndarray, *, name: str = "data", labels: np.ndarray | None = None,
            batch: int = 4096) -> np.ndarray:
    """Argmax predictions of a torch module in eval mode on the rows of ``x`` (float32 CPU, TF32 off).

    Raises:
        InvalidInput: the model cannot take inputs of this shape, does not output (batch, classes), or has fewer
            outputs than the largest label in ``labels``.
    """
    import torch

    from certify.certificate.environment import strict_float_torch

    strict_float_torch()
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i : i + batch])
            try:
                logits = model(xb)
            except RuntimeError as exc:
                raise InvalidInput(
                    f"the model cannot take data {name!r} of shape {tuple(x.shape[1:])} per example "
                    f"({str(exc).splitlines()[0]}): give data that matches the model's input"
                ) from None
            if logits.ndim != 2:
                raise InvalidInput(f"the model outputs shape {tuple(logits.shape)}: a classifier must output (batch, classes)")
            if i == 0 and labels is not None and int(labels.max()) >= logits.shape[1]:
                raise InvalidInput(
                    f"data {name!r} has label {int(labels.max())} but the model has {logits.shape[1]} classes: "
                    "labels must be class indices below the number of outputs"
                )
            outs.append(torch.argmax(logits, dim=1).numpy())
    return np.concatenate(outs).astype(np.int64)


def mlp_logits(weights: Sequence[Any], x: Any) -> Any:
    """Logits of the ReLU MLP ``weights = [W1, b1, W2, b2, ...]`` (torch tensors) on the rows of ``x`` (a tensor)."""
    import torch.nn.functional as F

    h = x
    for li in range(len(weights) // 2):
        h = F.linear(h, weights[2 * li], weights[2 * li + 1])
        if li < len(weights) // 2 - 1:
            h = F.relu(h)
    return h


def mlp_errors(weights: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray) -> int:
    """Exact number of argmax errors of the ReLU MLP ``weights`` (numpy arrays) on ``(x, y)`` (float32 torch CPU)."""
    import torch

    from certify.certificate.environment import strict_float_torch

    strict_float_torch()
    h = torch.from_numpy(np.ascontiguousarray(x.reshape(len(x), -1)))
    with torch.no_grad():
        logits = mlp_logits([torch.from_numpy(w) for w in weights], h)
    return count_errors(logits.argmax(1).numpy(), y)
