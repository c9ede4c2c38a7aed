"""Architectures trained by the library's own scripts; each factory takes no arguments (for ``--arch MOD:FACTORY``)."""

from __future__ import annotations

__all__ = ["mnist1d_mlp", "digits_mlp", "digits_cnn"]


def _mlp(sizes: tuple[int, ...]):  # -> torch.nn.Sequential
    import torch.nn as nn

    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def mnist1d_mlp():
    """MLP 40-256-256-10 with ReLU for MNIST-1D (the demo's network)."""
    return _mlp((40, 256, 256, 10))


def digits_mlp():
    """MLP 64-128-10 with ReLU for scikit-learn digits."""
    return _mlp((64, 128, 10))


def digits_cnn():
    """Small CNN for scikit-learn digits as (1, 8, 8) images: conv 1->8 (3x3, pad 1), conv 8->8 (3x3, stride 2,
    pad 1), ReLU after each, flatten, linear 128->10."""
    import torch.nn as nn

    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Flatten(), nn.Linear(128, 10))
